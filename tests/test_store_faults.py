"""The database failing under a crawl: PostgreSQL dropping its connections, a database that refuses writes."""

from __future__ import annotations

import ctypes
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlmodel import Session, col, func, select

from crawler.models import ArticleRow, MatchRow
from crawler.store import RECONNECT_PAUSES, open_database
from tests.conftest import PG_ADMIN_URL
from tests.local_site import LocalSite, Response
from tests.test_crawl import PARAGRAPH, REPO, RULES, article_html, rss, run_cli, site_toml

ARTICLES = 60


@pytest.fixture
def slow_site() -> Iterator[LocalSite]:
    """A feed of ARTICLES flagged articles, each answered after a short pause (the crawl takes seconds)."""
    with LocalSite() as site:
        paths = [f"/news/{n}/" for n in range(ARTICLES)]
        for n, path in enumerate(paths):
            body = article_html(f"SoftBank invests in robot maker number {n}", PARAGRAPH * 3)
            site.routes[path] = Response(body, delay=0.1)
        site.routes["/feed.xml"] = Response(rss(site.base_url, paths), "application/rss+xml")
        yield site


class Outage(threading.Thread):
    """PostgreSQL failing ``database`` while ``active()`` holds, until ``done()``: every ``every`` seconds
    each other connection to it is terminated (``pg_terminate_backend``, as an administrator would); with
    ``refuse``, new connections are refused meanwhile too (``ALLOW_CONNECTIONS false``, a server down)."""

    def __init__(
        self, database: str, active: Callable[[], bool], done: Callable[[], bool], every: float, refuse: bool = False
    ) -> None:
        super().__init__(daemon=True)
        self.database, self.active, self.done, self.every, self.refuse = database, active, done, every, refuse
        self.killed = 0
        self.rounds = 0
        self.seconds = 0.0  # how long the outage lasted
        self.stop = threading.Event()

    def run(self) -> None:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        kill = text(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = :name AND pid <> pg_backend_pid()"
        )
        began: float | None = None
        try:
            with admin.connect() as connection:
                while not (self.stop.is_set() or self.done()):
                    if began is None and self.active():
                        began = time.monotonic()
                        if self.refuse:
                            connection.execute(text(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false'))
                    if began is not None:
                        self.killed += int(connection.execute(kill, {"name": self.database}).scalar_one())
                        self.rounds += 1
                    time.sleep(self.every)
                if self.refuse:
                    connection.execute(text(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true'))
        finally:
            admin.dispose()
            self.seconds = time.monotonic() - began if began is not None else 0.0


def _stored(url: str) -> tuple[int, int]:
    """(articles, articles without their matches) in the database at ``url``."""
    engine = open_database(url)
    with Session(engine) as session:
        articles = session.exec(select(func.count()).select_from(ArticleRow)).one()
        bare = session.exec(
            select(func.count())
            .select_from(ArticleRow)
            .where(~select(MatchRow.id).where(col(MatchRow.article_id) == col(ArticleRow.id)).exists())
        ).one()
    engine.dispose()
    return int(articles), int(bare)


def _crawl_through(tmp_path: Path, site: LocalSite, pg_url: str, outage: Outage) -> subprocess.CompletedProcess[str]:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(RULES)
    outage.start()
    try:
        return run_cli(tmp_path, "crawl", sites=site_toml("news", site.base_url, 'feeds = ["BASE/feed.xml"]'),
                       db_url=pg_url)
    finally:
        outage.stop.set()
        outage.join(timeout=30)


def _fetched(site: LocalSite) -> int:
    return sum(1 for path, hits in site.hits.items() if path.startswith("/news/") and hits)


@pytest.mark.timeout(300)
def test_a_crawl_loses_no_article_when_postgresql_drops_its_connections(
    tmp_path: Path, slow_site: LocalSite, pg_url: str
) -> None:
    """The crawl's connections are terminated every 20 ms while it fetches the first two thirds of the
    articles: the broken transactions are done again, the crawl goes on without a traceback, and stores
    every article once, with its matches."""
    outage = Outage(make_url(pg_url).database or "", lambda: _fetched(slow_site) > 0,
                    lambda: _fetched(slow_site) >= 40, every=0.02)
    result = _crawl_through(tmp_path, slow_site, pg_url, outage)
    retried = result.stderr.count("database connection lost")
    print(f"\n{outage.killed} connections killed in {outage.seconds:.1f}s, {retried} units of work done again")
    assert outage.killed > 0
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-5000:]
    assert _stored(pg_url) == (ARTICLES, 0)


@pytest.mark.timeout(300)
def test_articles_lost_to_a_database_outage_are_stored_by_the_next_crawl(
    tmp_path: Path, slow_site: LocalSite, pg_url: str
) -> None:
    """PostgreSQL refuses every connection while the crawl fetches the first two thirds of the articles
    (seconds, longer than the retries wait): the crawl logs what it could not store and goes on without a
    traceback; the next crawl stores every article once, with its matches."""
    for path, response in slow_site.routes.items():
        if path.startswith("/news/"):
            slow_site.routes[path] = Response(response.body, delay=0.4)
    outage = Outage(make_url(pg_url).database or "", lambda: _fetched(slow_site) > 0,
                    lambda: _fetched(slow_site) >= 40, every=0.05, refuse=True)
    first = _crawl_through(tmp_path, slow_site, pg_url, outage)
    after_first = _stored(pg_url)
    print(f"\noutage of {outage.seconds:.1f}s: the crawl stored {after_first[0]} of {ARTICLES}")
    assert outage.seconds > sum(RECONNECT_PAUSES)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Traceback" not in first.stderr, first.stderr[-5000:]
    assert "cannot store" in first.stderr and "not currently accepting connections" in first.stderr
    assert after_first[0] < ARTICLES and after_first[1] == 0
    again = run_cli(tmp_path, "crawl", db_url=pg_url)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _stored(pg_url) == (ARTICLES, 0)


# --------------------------------------------------------------------------- a database that refuses writes

_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER = 1, 2, 3
_PR_CAPBSET_DROP = 24


def _without_root_powers() -> None:
    """In the child before exec: drop the capabilities that let root ignore file permissions, so that a
    0444 file is as read-only to the crawl as to any user (the interpreter under /root stays readable)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _as_user(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``command`` subject to file permissions (root: without the capabilities that override them)."""
    if os.geteuid() == 0:
        kwargs["preexec_fn"] = _without_root_powers
    return subprocess.run(command, capture_output=True, text=True, timeout=240, check=False, **kwargs)


def _can_drop_root_powers() -> bool:
    if os.geteuid() != 0:
        return True
    probe = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=_without_root_powers, check=False)
    return probe.returncode == 0


@pytest.mark.timeout(300)
@pytest.mark.parametrize("folder_writable", [False, True], ids=["read-only-folder", "read-only-file"])
def test_a_read_only_database_fails_the_crawl_clearly_and_keeps_it_whole(
    tmp_path: Path, slow_site: LocalSite, folder_writable: bool
) -> None:
    """The database file is 0444 (its folder too, or not): `newswatch crawl` exits non-zero with a message
    naming the database, without a traceback; nothing is half-written, `integrity_check` is ok, and once
    writable again the next crawl stores everything."""
    if not _can_drop_root_powers():
        pytest.skip("running as root without CAP_SETPCAP: cannot drop the powers that ignore file permissions")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(RULES)
    feed = slow_site.routes["/feed.xml"]
    paths = [p for p in slow_site.routes if p.startswith("/news/")]
    slow_site.routes["/feed.xml"] = Response(rss(slow_site.base_url, paths[:5]), "application/rss+xml")
    sites = site_toml("news", slow_site.base_url, 'feeds = ["BASE/feed.xml"]')
    assert run_cli(tmp_path, "crawl", sites=sites).returncode == 0
    database = tmp_path / "data" / "newswatch.db"
    before = _rows(database)
    assert before["article"] == 5

    slow_site.routes["/feed.xml"] = feed  # 55 more articles, while the database is read-only
    database.chmod(0o444)
    if not folder_writable:
        database.parent.chmod(0o555)
    try:
        env = {**os.environ, "NEWSWATCH_CONFIG": str(tmp_path / "config"),
               "NEWSWATCH_DATA_DIR": str(tmp_path / "data"), "NEWSWATCH_DATABASE_URL": f"sqlite:///{database}",
               "TMPDIR": str(tmp_path / "tmp"), "COLUMNS": "200"}
        result = _as_user([sys.executable, "-m", "crawler", "crawl"], cwd=REPO, env=env)
    finally:
        database.parent.chmod(0o755)
        database.chmod(0o644)
    print(f"\nexit code {result.returncode}: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-5000:]
    assert str(database) in result.stderr and "readonly database" in result.stderr
    assert _rows(database) == before  # nothing written, not even a crawl run
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    again = run_cli(tmp_path, "crawl")
    assert again.returncode == 0, again.stderr[-3000:]
    assert _rows(database)["article"] == ARTICLES


def _rows(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        return {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("article", "match", "page", "crawl_run", "story", "alert", "outbox")
        }


@pytest.mark.timeout(300)
def test_the_scheduler_records_a_crawl_whose_database_refused_writes_as_failed(
    tmp_path: Path, slow_site: LocalSite
) -> None:
    """The service records the run and starts the crawl process, whose database refuses writes (opened
    read-only): the crawl stores nothing, the service goes on and records the run as failed."""
    import asyncio
    from datetime import timedelta

    from crawler.config import load_config
    from crawler.health import FAILED_STATUSES, run_failed
    from crawler.models import CrawlRunRow
    from crawler.service.crawljob import CrawlLimits, crawl_in_child

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(RULES)
    (tmp_path / "config" / "sites.toml").write_text(
        site_toml("news", slow_site.base_url, 'feeds = ["BASE/feed.xml"]')
    )
    database = tmp_path / "data" / "newswatch.db"
    engine = open_database(f"sqlite:///{database}")
    site = load_config(tmp_path / "config").site("news")
    env = {**os.environ, "NEWSWATCH_CONFIG": str(tmp_path / "config"), "NEWSWATCH_DATA_DIR": str(tmp_path / "data"),
           "NEWSWATCH_DATABASE_URL": f"sqlite:///file:{database}?mode=ro&uri=true", "TMPDIR": str(tmp_path)}
    limits = CrawlLimits(timedelta(seconds=120))
    result = asyncio.run(crawl_in_child(engine, tmp_path / "config", site, limits, "test:1", env=env))
    with Session(engine) as session:
        run = session.get(CrawlRunRow, result.run_id)
        assert run is not None
        print(f"\nrun recorded as {run.status}: {run.message}")
        assert run.status in FAILED_STATUSES and run_failed(run)
        assert session.exec(select(func.count()).select_from(ArticleRow)).one() == 0
    assert result.status == run.status
    assert any(slow_site.hits[p] for p in slow_site.routes if p.startswith("/news/"))  # it did crawl
    engine.dispose()
