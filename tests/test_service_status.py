"""`newswatch status [--check] [--format json]` and the web part's /healthz and /readyz."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx

from crawler.models import utcnow
from crawler.service.status import beat
from crawler.store import open_database
from tests.local_site import free_port
from tests.service_harness import REPO, local_site, service_env, wait_until, write_config


def setup(tmp_path: Path) -> tuple[dict[str, str], str]:
    config = write_config(tmp_path / "config", [local_site("wire", "http://127.0.0.1:9")])
    env = service_env(tmp_path, config, heartbeat_interval="5")
    return env, f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"


def status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "crawler", "status", *args]
    return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_check_fails_until_a_service_beats_and_again_when_it_stops(tmp_path: Path) -> None:
    env, url = setup(tmp_path)
    engine = open_database(url)
    never = status(env, "--check")
    assert never.returncode == 1
    assert "never run" in never.stderr and "Traceback" not in never.stderr

    started = utcnow()
    beat(engine, "host:1", started, "running", {}, utcnow())
    alive = status(env, "--check", "--format", "json")
    assert alive.returncode == 0, alive.stderr
    record = json.loads(alive.stdout)
    assert record["healthy"] is True and record["heartbeat"]["instance"] == "host:1"
    assert [site["site_id"] for site in record["sites"]] == ["wire"]
    assert record["sites"][0]["state"] == "new"
    assert record["outbox"] == {"pending": 0, "sending": 0, "failed": 0, "sent_24h": 0}

    beat(engine, "host:1", started, "running", {}, utcnow() - timedelta(minutes=5))
    stale = status(env, "--check")
    assert stale.returncode == 1 and "no heartbeat for" in stale.stderr

    beat(engine, "host:1", started, "stopped", {}, utcnow())
    stopped = status(env, "--check")
    assert stopped.returncode == 1 and "stopped" in stopped.stderr
    engine.dispose()


def test_check_fails_clearly_when_the_database_is_unreachable(tmp_path: Path) -> None:
    env, _url = setup(tmp_path)
    env["NEWSWATCH_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"
    result = status(env, "--check")
    assert result.returncode == 1
    assert "database unreachable" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_web_probes(tmp_path: Path) -> None:
    env, url = setup(tmp_path)
    engine = open_database(url)
    port = free_port()
    env["NEWSWATCH_WEB_PORT"] = str(port)
    log = (tmp_path / "web.log").open("wb")
    web = subprocess.Popen([sys.executable, "-m", "crawler", "web"], env=env, cwd=REPO, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, 60, "the web process")
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        not_ready = httpx.get(f"{base}/readyz")
        assert not_ready.status_code == 503
        assert "never run" in " ".join(not_ready.json()["problems"])
        beat(engine, "host:1", utcnow(), "running", {}, utcnow())
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json()["database"] is True
    finally:
        web.terminate()
        web.wait(timeout=30)
        log.close()
        engine.dispose()
