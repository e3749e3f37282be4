"""Helpers for the service tests: write a configuration, run `newswatch run` as a real process, wait."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crawler.models import CrawlRunRow

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def toml_value(value: Any) -> str:
    """A TOML literal for a string, number, bool, list or inline table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value).__name__)


def write_config(folder: Path, sites: list[dict[str, Any]], rules: str | None = None) -> Path:
    """A configuration folder with these sites and the shipped rules (or ``rules``)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    for site in sites:
        lines.append("[[site]]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in site.items())
        lines.append("")
    (folder / "sites.toml").write_text("\n".join(lines), encoding="utf-8")
    text = rules if rules is not None else (REPO / "config" / "rules.toml").read_text(encoding="utf-8")
    (folder / "rules.toml").write_text(text, encoding="utf-8")
    return folder


def local_site(site_id: str, base_url: str, **extra: Any) -> dict[str, Any]:
    """A site on 127.0.0.1 read through its /feed.xml, crawled every 2 seconds."""
    site: dict[str, Any] = {
        "id": site_id,
        "feeds": [f"{base_url}/feed.xml"],
        "every": "2s",
        "jitter": "0s",
        "delay": 0,
        "allow_private_network": True,
        "backfill": "0",
    }
    site.update(extra)
    return site


def service_env(tmp: Path, config: Path, **settings: Any) -> dict[str, str]:
    """The environment of a service under test: its own data folder, fast intervals, JSON logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_") or k == "NEWSWATCH_ENV_FILE"}
    env.update(
        {
            "NEWSWATCH_CONFIG": str(config),
            "NEWSWATCH_DATA_DIR": str(tmp / "data"),
            "NEWSWATCH_MIN_INTERVAL": "1s",
            "NEWSWATCH_SEND_INTERVAL": "1s",
            "NEWSWATCH_HEARTBEAT_INTERVAL": "1",
            "NEWSWATCH_SHUTDOWN_TIMEOUT": "20",
            "NEWSWATCH_LOG_FORMAT": "json",
            "NEWSWATCH_MAIL_TO": "reader@example.com",
            "PYTHONUNBUFFERED": "1",
            "COLUMNS": "200",
        }
    )
    env.update({f"NEWSWATCH_{k.upper()}": str(v) for k, v in settings.items()})
    return env


class ServiceProcess:
    """`newswatch run` in a real process; its logs go to a file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.env, self.log_path, self.args = env, log, args
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crawler", "run", *self.args],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=log,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, and the exit code (the test fails if it does not exit within ``timeout``)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the service process alone (its crawl processes are left to notice)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop_quietly(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def logs(self) -> list[dict[str, Any]]:
        """The JSON log records written so far."""
        records = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                records.append(value)
        return records

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def wait_until(check: Callable[[], T | None], timeout: float, what: str, service: ServiceProcess | None = None) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` (with the service's log)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if service is not None and service.process is not None and service.process.poll() is not None:
            raise AssertionError(f"the service exited ({service.process.returncode}) before {what}:\n"
                                 + service.log_text()[-4000:])
        if time.monotonic() > deadline:
            tail = service.log_text()[-4000:] if service is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tail}")
        time.sleep(0.2)


def runs(engine: Engine, site_id: str | None = None) -> list[CrawlRunRow]:
    """The crawl runs, oldest first."""
    with Session(engine) as session:
        query = select(CrawlRunRow).order_by(col(CrawlRunRow.id))
        if site_id:
            query = query.where(col(CrawlRunRow.site_id) == site_id)
        return list(session.exec(query).all())


def finished_runs(engine: Engine, site_id: str) -> list[CrawlRunRow]:
    """The site's runs that are over."""
    return [run for run in runs(engine, site_id) if run.status != "running"]


def run_once(env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`newswatch run --once` in a real process: its exit code, stdout (the summary line) and logs (stderr)."""
    command = [sys.executable, "-m", "crawler", "run", "--once"]
    return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`newswatch status ARGS` in a real process."""
    command = [sys.executable, "-m", "crawler", "status", *args]
    return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
