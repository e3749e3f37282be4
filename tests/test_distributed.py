"""Scale-out: `newswatch run --distributed` and three `newswatch worker` processes crawl one local site
through real Redis and PostgreSQL: every page fetched once, stored once, every alert made once."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func
from sqlmodel import Session, col, select

from crawler.models import AlertRow, ArticleRow, CrawlRunRow
from crawler.store import open_database
from tests.conftest import REDIS_URL
from tests.local_site import LocalSite, Response, free_port
from tests.service_harness import REPO, local_site, service_env, write_config

PAGES = int(os.environ.get("NEWSWATCH_DISTRIBUTED_PAGES", "2000"))  # fewer while debugging
RULES = """
[[rule]]
id = "robots"
query = "robot"
mode = "instant"
"""


SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "da", "gu", "ho", "zi", "be", "fa", "yo"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def article(number: int) -> bytes:
    """A page of made-up words of its own (no two are the same story); every fourth one is about robots."""
    rng = random.Random(number)
    topic = "robot" if number % 4 == 0 else "council"
    sentences = " ".join(
        " ".join([*(_word(rng) for _ in range(9)), topic if n == 3 else _word(rng)]).capitalize() + "."
        for n in range(14)
    )
    title = " ".join([*(_word(rng).capitalize() for _ in range(5)), topic])
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f"<article><h1>{title}</h1><p>{sentences}</p></article></body></html>").encode()


def sitemap(base: str, paths: list[str]) -> bytes:
    urls = "".join(f"<url><loc>{base}{path}</loc></url>" for path in paths)
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>").encode()


class Workers:
    """`newswatch worker` processes, logging to files."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder = env, folder
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        for _ in range(count):
            log = (self.folder / f"worker-{len(self.processes)}.log").open("ab")
            self.processes.append(subprocess.Popen([sys.executable, "-m", "crawler", "worker"], env=self.env,
                                                   cwd=REPO, stdout=log, stderr=log))
            log.close()

    def stop(self) -> list[int]:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        return [process.wait(timeout=90) for process in self.processes]

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.folder.glob("worker-*.log")))


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    (tmp_path / "logs").mkdir()
    pool = Workers({}, tmp_path / "logs")
    yield pool
    for process in pool.processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def scheduler_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crawler", "run", "--distributed", "--once"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.timeout(900)
def test_three_workers_crawl_a_site_once(tmp_path: Path, pg_url: str, redis_prefix: str, workers: Workers) -> None:
    with LocalSite() as site:
        pages = big_site(site, PAGES)
        env = service_env(tmp_path, site_config(tmp_path / "config", site), database_url=pg_url,
                          redis_url=REDIS_URL, redis_prefix=redis_prefix, extract_workers=1, crawl_timeout="10m")
        workers.env = env
        workers.start(3)
        result = scheduler_once(env)
        codes = workers.stop()
        hits = dict(site.hits)
    logs = workers.logs()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert codes == [0, 0, 0], logs[-3000:]
    assert "Traceback" not in logs + result.stderr
    # Each page fetched exactly once across the three workers.
    assert {path: hits.get(path, 0) for path in pages} == dict.fromkeys(pages, 1)
    engine = open_database(pg_url)
    with Session(engine) as session:
        urls = session.exec(select(ArticleRow.canonical_url)).all()
        alerts = session.exec(select(AlertRow)).all()
        (run,) = session.exec(select(CrawlRunRow)).all()
        flagged = session.exec(select(func.count()).select_from(ArticleRow)
                               .where(col(ArticleRow.title).endswith(" robot"))).one()
    engine.dispose()
    assert len(urls) == len(set(urls)) == PAGES
    assert flagged == PAGES // 4
    # One alert per story and rule: a copy stored by another worker joins its original's story.
    assert len(alerts) == len({a.story_id for a in alerts}) == PAGES // 4 - ROBOT_COPIES
    assert run.status == "finished" and run.pages == PAGES and run.new_articles == PAGES, run.message
    # The work was shared: every worker crawled part of it.
    shares = [int(line.split("done here: ")[1].split(" pages")[0]) for line in logs.splitlines()
              if "done here: " in line]
    assert len(shares) == 3 and sum(shares) == PAGES and min(shares) > 0, shares


def stored_articles(pg_url: str) -> tuple[list[str], int, int]:
    """(canonical URLs of the stored articles, alerts, distinct stories alerted)."""
    engine = open_database(pg_url)
    with Session(engine) as session:
        urls = list(session.exec(select(ArticleRow.canonical_url)).all())
        alerts = session.exec(select(AlertRow)).all()
    engine.dispose()
    return urls, len(alerts), len({a.story_id for a in alerts})


def wait_for_articles(pg_url: str, count: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while len(stored_articles(pg_url)[0]) < count:
        assert time.monotonic() < deadline, f"fewer than {count} articles after {timeout}s"
        time.sleep(0.3)


COPIES = 20  # the last pages of a site repeat earlier ones (5 of them about robots): same story, one alert
ROBOT_COPIES = 5


def big_site(site: LocalSite, pages: int) -> list[str]:
    """``pages`` article pages in one sitemap; the last COPIES are copies of pages half the site earlier (a
    number of pages divisible by 8 keeps each copy's topic)."""
    paths = [f"/news/{n}/" for n in range(pages)]
    for number, path in enumerate(paths):
        site.routes[path] = Response(article(number if number < pages - COPIES else number - pages // 2))
    site.routes["/sitemap.xml"] = Response(sitemap(site.base_url, paths), "application/xml")
    return paths


def site_config(folder: Path, site: LocalSite) -> Path:
    return write_config(folder, [local_site("big", site.base_url, feeds=[], sitemaps=[f"{site.base_url}/sitemap.xml"],
                                            backfill="all")], RULES)


@pytest.mark.timeout(900)
def test_a_worker_killed_mid_crawl_costs_nothing_after_the_next_cycle(
    tmp_path: Path, pg_url: str, redis_prefix: str, workers: Workers
) -> None:
    with LocalSite() as site:
        paths = big_site(site, 600)
        env = service_env(tmp_path, site_config(tmp_path / "config", site), database_url=pg_url,
                          redis_url=REDIS_URL, redis_prefix=redis_prefix, extract_workers=1, crawl_timeout="10m")
        workers.env = env
        workers.start(3)
        scheduler = subprocess.Popen([sys.executable, "-m", "crawler", "run", "--distributed", "--once"], env=env,
                                     cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for_articles(pg_url, 200)
        workers.processes[0].kill()  # SIGKILL half-way: whatever it held is lost to this cycle
        first_output, _ = scheduler.communicate(timeout=300)
        after_first = len(stored_articles(pg_url)[0])
        second = scheduler_once(env)  # the next cycle fetches what the killed worker held
        codes = workers.stop()
        hits = dict(site.hits)
    assert scheduler.returncode == 0, first_output[-3000:]
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert codes[1:] == [0, 0] and codes[0] == -signal.SIGKILL
    urls, alerts, stories = stored_articles(pg_url)
    assert len(urls) == len(set(urls)) == 600, after_first
    assert alerts == stories == 150 - ROBOT_COPIES  # every alert once
    assert all(hits.get(path, 0) >= 1 for path in paths)
    refetched = sum(1 for path in paths if hits.get(path, 0) > 1)
    assert refetched <= 600 - after_first + 40  # only what the killed worker held (or had not stored)
    print(f"\nkilled worker: {after_first} of 600 stored by the first cycle, {refetched} pages fetched again")


class RedisServer:
    """A redis-server of the test's own on 127.0.0.1 (append-only file on), to stop and start again."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except RedisError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.mark.timeout(900)
def test_redis_going_away_mid_crawl_fails_nothing_for_good(
    tmp_path: Path, pg_url: str, workers: Workers
) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary to stop and start")
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        with LocalSite() as site:
            big_site(site, 600)
            env = service_env(tmp_path, site_config(tmp_path / "config", site), database_url=pg_url,
                              redis_url=redis.url, extract_workers=1, crawl_timeout="10m")
            workers.env = env
            workers.start(2)
            scheduler = subprocess.Popen([sys.executable, "-m", "crawler", "run", "--distributed", "--once"],
                                         env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         text=True)
            wait_for_articles(pg_url, 150)
            redis.kill()  # Redis goes away mid-crawl...
            time.sleep(5)
            redis.start()  # ... and comes back with what its append-only file kept
            first_output, _ = scheduler.communicate(timeout=300)
            second = scheduler_once(env)  # whatever the outage cost is fetched by the next cycle
            codes = workers.stop()
    finally:
        redis.kill()
    logs = workers.logs()
    assert scheduler.returncode == 0, first_output[-3000:]
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert codes == [0, 0], logs[-3000:]
    assert "Traceback" not in logs + first_output
    assert "redis unreachable" in logs  # the workers said so, and carried on
    urls, alerts, stories = stored_articles(pg_url)
    assert len(urls) == len(set(urls)) == 600
    assert alerts == stories == 150 - ROBOT_COPIES
