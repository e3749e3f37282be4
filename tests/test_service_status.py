"""`newswatch status [--check] [--format json]`, the Sources page and the web part's /healthz and /readyz: service
mode (a fresh heartbeat) and cron mode (a recent `run --once`), a fresh install told what to do, every site's
state and last error in plain words, the table at 80 columns."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.models import CrawlRunRow, HeartbeatRow, utcnow
from crawler.service.status import beat
from crawler.store import open_database
from tests.local_site import LocalSite, Response, free_port
from tests.service_harness import REPO, local_site, run_once, service_env, status, wait_until, write_config
from tests.test_crawl import article_html, rss
from tests.test_service import NEWS

NOT_STARTED = "not started yet: run `newswatch run` for the service, or `newswatch run --once` from cron"


def setup(tmp_path: Path) -> tuple[dict[str, str], str]:
    config = write_config(tmp_path / "config", [local_site("wire", "http://127.0.0.1:9")])
    env = service_env(tmp_path, config, heartbeat_interval="5")
    return env, f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"


def test_check_fails_until_a_service_beats_and_again_when_it_stops(tmp_path: Path) -> None:
    env, url = setup(tmp_path)
    engine = open_database(url)
    never = status(env, "--check")
    assert never.returncode == 1
    assert never.stderr.strip() == NOT_STARTED and "Traceback" not in never.stderr

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
    assert stopped.returncode == 1 and "the service is stopped" in stopped.stderr
    engine.dispose()


def test_a_fresh_install_says_what_to_do(tmp_path: Path) -> None:
    """No database yet at all: not "unhealthy", but what to run; --check still exits 1 (nothing runs)."""
    env, _url = setup(tmp_path)
    shown = status(env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == f"Service: {NOT_STARTED}"
    assert "unhealthy" not in shown.stdout and "Traceback" not in shown.stderr
    assert "wire" in shown.stdout and "new" in shown.stdout
    check = status(env, "--check")
    assert check.returncode == 1 and check.stderr.strip() == NOT_STARTED
    record = json.loads(status(env, "--format", "json").stdout)
    assert record["healthy"] is False and record["mode"] == "not started" and record["summary"] == NOT_STARTED
    assert [(site["site_id"], site["state"]) for site in record["sites"]] == [("wire", "new")]


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
        assert not_ready.json()["problems"] == [NOT_STARTED]
        beat(engine, "host:1", utcnow(), "running", {}, utcnow())
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json()["database"] is True
        assert ready.json()["mode"] == "service"
        # A `run --once` that ended a moment ago (the site is crawled every 2s: it is expected within 4s).
        beat(engine, "host:1", utcnow(), "stopped", {"mode": "once"}, utcnow() + timedelta(minutes=1))
        cron = httpx.get(f"{base}/readyz")
        assert cron.status_code == 200 and cron.json()["mode"] == "cron", cron.json()
        beat(engine, "host:1", utcnow(), "stopped", {"mode": "once"}, utcnow() - timedelta(minutes=1))
        late = httpx.get(f"{base}/readyz")
        assert late.status_code == 503 and "cron mode: the last run --once was" in late.json()["problems"][0]
        assert status(env, "--check").returncode == 1  # as --check says
    finally:
        web.terminate()
        web.wait(timeout=30)
        log.close()
        engine.dispose()


# --------------------------------------------------------------------------- cron mode, sites, the Sources page

DB = "data/newswatch.db"


def sources_row(tmp_path: Path, config: Path, site_id: str) -> str:
    """The Sources page's row of ``site_id`` (as text, entities decoded)."""
    from crawler.config import load_config
    from tests.web_data import web_client, web_settings

    url = f"sqlite:///{tmp_path / DB}"
    engine = open_database(url)
    try:
        with web_client(engine, web_settings(tmp_path, url, config=config), load_config(config)) as client:
            page = client.get("/sources").text
    finally:
        engine.dispose()
    row = page[page.index(f'data-site="{site_id}"') :]
    return html.unescape(row[: row.index("</tr>")])


def shift(engine: Engine, row: type[CrawlRunRow] | type[HeartbeatRow], column: str, back: timedelta) -> None:
    """Move every row's ``column`` back in time (in the test's own database)."""
    with Session(engine) as session:
        for found in session.exec(select(row)).all():
            setattr(found, column, getattr(found, column) - back)
            session.add(found)
        session.commit()


def test_cron_mode_run_once_says_what_it_did_and_status_follows(tmp_path: Path) -> None:
    with LocalSite() as site:
        site.routes["/feed.xml"] = Response(rss(site.base_url, ["/a/"]), "application/rss+xml")
        site.routes["/a/"] = Response(article_html("SoftBank invests in robots", NEWS))
        config = write_config(tmp_path / "config", [local_site("wire", site.base_url, name="The Wire", every="1m")])
        env = service_env(tmp_path, config)
        first = run_once(env)
        assert first.returncode == 0, first.stderr[-3000:]
        assert first.stdout.strip() == (
            "run --once: 1 due site crawled (1 finished), 1 new article, 1 flagged; 0 alerts sent"
        )

        check = status(env, "--check")
        assert check.returncode == 0, check.stdout + check.stderr
        assert "Service: healthy (cron mode: last run --once " in check.stdout
        assert "next expected within 2m" in check.stdout  # twice the site's interval of one minute

        engine = open_database(f"sqlite:///{tmp_path / DB}")
        site.routes["/feed.xml"] = Response(b"gone", "text/plain", 404)
        shift(engine, CrawlRunRow, "started_at", timedelta(minutes=2))  # the site is due again
        second = run_once(env)
        assert second.returncode == 1, second.stderr[-3000:]  # its only due crawl failed
        assert second.stdout.strip() == (
            "run --once: 1 due site crawled (1 failed: wire), 0 new articles, 0 flagged; 0 alerts sent"
        )

    (wire,) = json.loads(status(env, "--format", "json").stdout)["sites"]
    assert (wire["state"], wire["alert_state"]) == ("failing", "ok")  # shown, not emailed
    assert wire["reason"] == "the last crawl failed: feed: HTTP 404 (not found)"
    assert wire["last_error"] == "feed: HTTP 404 (not found)"
    row = sources_row(tmp_path, config, "wire")
    assert "The Wire" in row and '<span class="badge state-failing">failing</span>' in row
    assert "the last crawl failed: feed: HTTP 404 (not found)" in row
    assert status(env, "--check").returncode == 0  # the run itself is recent: the setup works

    shift(engine, HeartbeatRow, "beat_at", timedelta(minutes=3))
    late = status(env, "--check")
    assert late.returncode == 1
    assert "cron mode: the last run --once was 3m ago, longer than 2m" in late.stderr
    engine.dispose()


def test_when_every_due_crawl_fails_run_once_exits_1_and_each_site_says_why(tmp_path: Path) -> None:
    """A closed port on 127.0.0.1 and a name that does not resolve (an injected failing resolver): neither site
    ever succeeded, so neither is "ok" anywhere, and each says its root cause in plain words."""
    from tests.test_errors import with_failing_dns

    port = free_port()
    nowhere = {**local_site("nowhere", "https://news.example.com", name="Nowhere News", every="1m")}
    nowhere.pop("allow_private_network")
    sites = [local_site("dead", f"http://127.0.0.1:{port}", name="Dead Port", every="1m"), nowhere]
    config = write_config(tmp_path / "config", sites)
    env = with_failing_dns(service_env(tmp_path, config), "news.example.com")
    result = run_once(env)
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stdout.strip() == (
        "run --once: 2 due sites crawled (2 failed: dead, nowhere), 0 new articles, 0 flagged; 0 alerts sent"
    )
    assert "Traceback" not in result.stderr
    record = json.loads(status(env, "--format", "json").stdout)
    assert record["healthy"] is True and record["mode"] == "cron"
    shown = {s["site_id"]: (s["state"], s["reason"], s["last_error"]) for s in record["sites"]}
    refused = f"connection refused by 127.0.0.1:{port}"
    unresolved = "cannot resolve news.example.com (DNS lookup failed)"
    assert shown == {
        "dead": ("failing", f"never succeeded: {refused}", refused),
        "nowhere": ("failing", f"never succeeded: {unresolved}", unresolved),
    }
    table = status(env).stdout
    assert f"nowhere: failing: never succeeded: {unresolved}" in table and "robots.txt" not in table
    for site_id, name, why in (("dead", "Dead Port", refused), ("nowhere", "Nowhere News", unresolved)):
        row = sources_row(tmp_path, config, site_id)
        assert name in row and ">failing<" in row and f"never succeeded: {why}" in row and ">ok<" not in row


def test_the_status_table_at_80_columns_shows_every_site_id_whole(tmp_path: Path) -> None:
    from crawler.config import load_config

    shipped = load_config(REPO / "config")
    env = service_env(tmp_path, REPO / "config", heartbeat_interval="5")
    env["COLUMNS"] = "80"
    engine = open_database(f"sqlite:///{tmp_path / DB}")
    now = utcnow()
    with Session(engine) as session:  # a success, then a failure (the longest cells), per site
        for site in shipped.sites:
            session.add(CrawlRunRow(site_id=site.id, started_at=now - timedelta(hours=3), status="finished",
                                    new_articles=12, pages=12))
            session.add(CrawlRunRow(site_id=site.id, started_at=now - timedelta(minutes=59), status="timeout",
                                    message="stopped after 3600s", stats={"http_403": 2}))
        session.commit()
    engine.dispose()
    shown = status(env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    start = lines.index(f"{len(shipped.sites)} site(s)")
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith(f"{shipped.sites[0].id}:"))
    table = lines[start:end]
    assert all(len(line) <= 80 for line in table), "\n".join(table)
    first_words = [line.split()[0] for line in table if line.strip()]
    assert [site.id for site in shipped.sites] == [w for w in first_words if w in {s.id for s in shipped.sites}]
    assert "…" not in shown.stdout
    assert "rcrwireless: failing: the last crawl failed: stopped after 3600s" in lines
    assert "rcrwireless: in the last 20 crawls: HTTP 403 x2" in lines
