"""Distributed crawling throughput with 1, 2 and 3 workers, and what each page costs Redis and PostgreSQL.

Usage::

    .venv/bin/python benchmarks/scale_out.py                 # 2,000 pages, 1 to 3 workers
    .venv/bin/python benchmarks/scale_out.py --pages 500 --workers 1 2

For each worker count: a fresh PostgreSQL database and Redis key prefix (both removed afterwards), the
nginx-served site of ``benchmarks/crawl_speed.py`` (``--pages`` real news pages from the extraction
benchmark, in a feed, sitemaps and listings), that many ``newswatch worker`` processes (one extraction
process each) and one ``newswatch run --distributed --once``. Prints pages per second over the crawl run
(from its recorded start to its end), Redis commands per page (Redis's own command counter: keep other
clients off it meanwhile) and PostgreSQL transactions and rows written per page; then how long one batch
of articles holds the story lock, and the ceiling that puts on all workers together.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawl_speed import Nginx, build_site, free_port, site_config  # noqa: E402
from redis import Redis  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from crawler.models import CrawlRunRow  # noqa: E402
from crawler.store import open_database  # noqa: E402
from tests.conftest import PG_ADMIN_URL, REDIS_URL  # noqa: E402
from tests.service_harness import service_env  # noqa: E402
from tests.test_distributed import Workers, scheduler_once  # noqa: E402


def _pg_stats(admin: str, name: str) -> tuple[int, int]:
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database "
                                "WHERE datname = :name"), {"name": name}).one()
    engine.dispose()
    return int(row[0]), int(row[1])


def measure(pages: int, workers: int, folder: Path) -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"newswatch_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    prefix = f"newswatch-bench-{uuid.uuid4().hex[:10]}"
    client = Redis.from_url(REDIS_URL)
    pool = Workers({}, folder / "logs")
    try:
        open_database(url).dispose()  # the schema first: its writes are not the crawl's
        port = free_port()
        os.environ["NW_BENCH_BASE"] = base = f"http://127.0.0.1:{port}"
        folder.chmod(0o755)  # nginx's workers drop privileges: they must be able to read the site
        build_site(folder / "site", pages)
        server = Nginx(folder / "site", folder / "nginx", port)
        try:
            env = service_env(folder, site_config(folder / "config", base), database_url=url, redis_url=REDIS_URL,
                              redis_prefix=prefix, extract_workers=1, crawl_timeout="30m", log_level="WARNING")
            pool.env = env
            pool.start(workers)
            commands = int(client.info("stats")["total_commands_processed"])
            xacts, rows = _pg_stats(PG_ADMIN_URL, name)
            result = scheduler_once(env)
            commands = int(client.info("stats")["total_commands_processed"]) - commands
            xacts2, rows2 = _pg_stats(PG_ADMIN_URL, name)
            pool.stop()
        finally:
            server.stop()
        if result.returncode != 0:
            return f"{workers} worker(s): the scheduler failed: {result.stderr[-500:]}"
        engine = open_database(url)
        with Session(engine) as session:
            (run,) = session.exec(select(CrawlRunRow)).all()
        engine.dispose()
        assert run.finished_at is not None
        seconds = (run.finished_at - run.started_at).total_seconds()
        return (f"{workers} worker(s): {run.pages} pages ({run.new_articles} new) in {seconds:.1f} s = "
                f"{run.new_articles / seconds:.1f} articles/s; redis {commands / max(run.pages, 1):.1f} commands/page; "
                f"postgresql {(xacts2 - xacts) / max(run.pages, 1):.2f} transactions and "
                f"{(rows2 - rows) / max(run.pages, 1):.1f} rows written per page")
    finally:
        for process in pool.processes:
            if process.poll() is None:
                process.kill()
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def story_lock_ceiling(batches: int = 20) -> str:
    """How long one batch of 16 articles holds the story lock (its whole store transaction) on PostgreSQL,
    and the articles/s all workers together cannot exceed while every store takes that lock in turn."""
    from datetime import UTC, datetime

    from crawler.alerts.recorder import AlertSetup
    from crawler.analysis import analyse
    from crawler.article import Page
    from crawler.config import SiteConfig
    from crawler.pipelines import STORE_BATCH
    from crawler.process import PageProcessor
    from crawler.rules import Rule, RuleSet
    from tests.test_distributed import article

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"newswatch_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = open_database(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        rules = RuleSet.compile([Rule("robots", "robot")])
        setup = AlertSetup(modes={"robots": "instant"})
        recorder = setup.for_site(SiteConfig(id="s", feeds=("https://s.example/feed",)), first_crawl=False)
        processor = PageProcessor(engine, rules, recorder, ("s",))
        pairs = []
        for number in range(STORE_BATCH * batches):
            page = Page("s", f"https://s.example/news/{number}/", article(number).decode(), datetime.now(UTC))
            pairs.append((page, analyse(page, rules, ("s",))))
        times = []
        for batch in range(batches):
            began = time.perf_counter()
            processor.store_many(pairs[batch * STORE_BATCH:(batch + 1) * STORE_BATCH])
            times.append(time.perf_counter() - began)
        median = statistics.median(times)
        return (f"story lock: a batch of {STORE_BATCH} articles holds it {1000 * median:.1f} ms (median of "
                f"{batches}): at most {STORE_BATCH / median:.0f} articles/s across all workers")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 3])
    args = parser.parse_args()
    for count in args.workers:
        with tempfile.TemporaryDirectory(prefix="newswatch-scale-") as folder:
            (Path(folder) / "logs").mkdir()
            print(measure(args.pages, count, Path(folder)), flush=True)
    print(story_lock_ceiling(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
