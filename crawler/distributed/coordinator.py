"""The scheduler's side of a crawl cycle: record the run, seed the site's entry points into the cycle's
shared queue, wait until the workers are done (or the time limit), add up their reports, record the run.

The cycle is done when its queue is empty and no worker is busy with it, seen on ``QUIET_CHECKS`` checks
in a row: a worker marks itself busy as it takes requests and idle once it holds none. A worker killed
mid-crawl stops giving signs of life; after 15 s (``LIVE``) it no longer counts, and the requests it
held are lost to this cycle only: their pages were not recorded, so the next cycle fetches them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from redis import Redis
from redis.exceptions import RedisError
from scrapy_redis.queue import PriorityQueue
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.config import SiteConfig
from crawler.crawl import SiteRun, log_run, run_from_stats
from crawler.distributed.cycles import (
    GRACE,
    Cycle,
    Totals,
    close_cycle,
    live_workers,
    open_cycle,
    progress,
    remove_cycle,
    totals,
)
from crawler.store import finish_run, retry_lost_connection, start_run

logger = logging.getLogger(__name__)

POLL = 1.0  # seconds between two looks at a cycle's progress
QUIET_CHECKS = 3  # looks in a row with nothing queued and nobody busy: the cycle is done
REPORT_WAIT = 60.0  # seconds the workers that joined get to report once the cycle is closed
STOP_WAIT = 10.0  # the same when the scheduler is stopping (its own shutdown time is short)


def seed(client: Redis, cycle: Cycle, site: SiteConfig) -> int:
    """Queue the site's feeds, sitemaps and listing pages in the cycle's queue; how many."""
    from spiders.news import CrawlContext, NewsSpider

    spider = NewsSpider(CrawlContext(site=site, seen=lambda urls: set()))  # names the requests' callbacks
    queue = PriorityQueue(client, spider, cycle.queue_key)
    requests = spider.entry_requests()
    for request in requests:
        queue.push(request)
    return len(requests)


async def crawl_distributed(
    engine: Engine,
    client: Redis,
    site: SiteConfig,
    timeout: timedelta,
    worker: str,
    prefix: str,
    *,
    stop: asyncio.Event | None = None,
    poll: float = POLL,
) -> SiteRun:
    """One crawl run of ``site`` by the workers; recorded, and returned as recorded. Never raises for
    crawl problems (a Redis outage makes a failed or timed-out run)."""
    began = time.monotonic()
    database = engine.url.render_as_string(hide_password=True)

    def start() -> int:
        with Session(engine) as session:
            return start_run(session, site.id, worker)  # the scheduler's "host:pid": reaped if it dies

    run_id = await asyncio.to_thread(retry_lost_connection, engine, start, f"starting the crawl of {site.id}")
    cycle = Cycle(run_id, site.id, prefix)
    ttl = (timeout + GRACE).total_seconds()
    status, problems = "finished", []
    try:
        await asyncio.to_thread(seed, client, cycle, site)
        await asyncio.to_thread(open_cycle, client, cycle, ttl)
    except RedisError as exc:
        status, problems = "failed", [f"cannot queue the crawl in redis: {type(exc).__name__}: {exc}"]
    if status == "finished":
        status = await _wait(client, cycle, timeout, stop or asyncio.Event(), poll, problems)
    found = await _gather(client, cycle, problems, REPORT_WAIT if status != "interrupted" else STOP_WAIT)
    result = run_from_stats(site.id, found.counts, [], database)
    result.problems = [*problems, *found.problems, *result.problems]
    result.failed_sources = found.failed_sources
    result.errors += len(found.failed_sources)
    if status != "finished":
        result.status = status
    elif found.failed_sources and not (result.pages or result.already_seen):
        result.status = "failed"
    result.run_id = run_id
    result.duration = time.monotonic() - began

    def finish() -> None:
        with Session(engine) as session:
            message = "\n".join(result.problems) or None
            finish_run(session, run_id, result.status, result.counts(), message, result.stats())

    await asyncio.to_thread(retry_lost_connection, engine, finish, f"recording the crawl run of {site.id}")
    with contextlib.suppress(RedisError):  # else its keys expire on their own
        await asyncio.to_thread(remove_cycle, client, cycle)
    log_run(result)
    return result


async def _wait(
    client: Redis, cycle: Cycle, timeout: timedelta, stop: asyncio.Event, poll: float, problems: list[str]
) -> str:
    """Until the cycle is done: "finished", "timeout" or "interrupted"."""
    deadline = time.monotonic() + timeout.total_seconds()
    quiet = 0
    outage_since: float | None = None
    while True:
        if stop.is_set():
            return "interrupted"
        if time.monotonic() > deadline:
            problems.append(f"stopped after {timeout.total_seconds():.0f}s")
            return "timeout"
        try:
            now = await asyncio.to_thread(progress, client, cycle)
        except RedisError as exc:
            if outage_since is None:
                outage_since = time.monotonic()
                logger.error("cycle %s of site %s: redis unreachable, waiting: %s", cycle.run_id, cycle.site_id, exc)
            quiet = 0
        else:
            if outage_since is not None:
                problems.append(f"redis was unreachable for {time.monotonic() - outage_since:.0f}s")
                outage_since = None
            quiet = quiet + 1 if now.quiet else 0
            if quiet >= QUIET_CHECKS:
                return "finished"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll)


async def _gather(client: Redis, cycle: Cycle, problems: list[str], wait: float) -> Totals:
    """Close the cycle and collect the workers' reports (waiting up to ``wait`` seconds for late ones)."""
    found = Totals()
    waited = time.monotonic() + wait
    closed = read = False
    while time.monotonic() < waited:
        try:
            if not closed:
                await asyncio.to_thread(close_cycle, client, cycle)
                closed = True
            found = await asyncio.to_thread(totals, client, cycle)
            read = True
            live = await asyncio.to_thread(live_workers, client, cycle.prefix)
        except RedisError as exc:
            logger.warning("cycle %s: redis unreachable while closing: %s", cycle.run_id, exc)
        else:
            if found.joined & live <= found.reported:  # a worker that is gone will not report
                break
        await asyncio.sleep(0.5)
    if not read:
        problems.append("redis unreachable while closing: the workers' counts are missing")
    missing = sorted(found.joined - found.reported)
    if missing:
        problems.append(f"no report from worker(s) {', '.join(missing)} (gone): their counts are missing, and the "
                        "pages they held are fetched by the next crawl")
    return found
