"""A crawl worker (``newswatch worker``): joins every open crawl cycle in Redis and crawls its share.

Each cycle is crawled by a :class:`spiders.cycle.CycleSpider` with the site's own settings and the cycle's
scrapy-redis queue; its pages are analysed in this worker's pool and stored in the shared database; when
the cycle closes, the worker adds its counts to the cycle's totals in Redis. Redis going away stops no
worker: it logs, waits and carries on when Redis is back (what was queued in Redis is kept if Redis keeps
its data; a page whose request was lost is fetched by the next cycle).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from redis import ConnectionPool, Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.alerts.recorder import AlertSetup
from crawler.analysis import BATCH, AnalysisPool
from crawler.config import SiteConfig
from crawler.crawl import seen_reader, site_recorder, site_settings, worker_name
from crawler.distributed.cycles import (
    GRACE,
    LIVE,
    Cycle,
    beat,
    claim,
    forget_closed,
    join,
    leave,
    listed_cycles,
    live_workers,
    mark_idle,
    report,
)
from crawler.process import Matcher, PageProcessor
from crawler.scrapy_settings import scrapy_settings
from crawler.ssrf import install_resolver, private_origins

logger = logging.getLogger(__name__)

REDIS_PARAMS = {"socket_timeout": 3, "socket_connect_timeout": 3}  # a hung Redis stalls a crawl 3 s, not 30


def cycle_settings(
    base: Any, site: SiteConfig, cycle: Cycle, redis_url: str, timeout: timedelta, in_flight: int
) -> Any:
    """A site's crawl settings for one cycle: the shared scrapy-redis queue instead of a local one, taken
    from while this worker holds fewer than ``in_flight`` of the cycle's pages."""
    settings = site_settings(base, site, timeout)
    for name, value in {
        "SCHEDULER": "crawler.distributed.scheduler.CycleScheduler",
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": cycle.queue_key,
        "SCHEDULER_DUPEFILTER_KEY": cycle.dupefilter_key,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,  # one worker closing must not empty the queue the others share
        "REDIS_URL": redis_url,
        "REDIS_PARAMS": REDIS_PARAMS,
        # Take no more from the shared queue than this worker can fetch from the site at once.
        "CONCURRENT_REQUESTS": settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
        "NEWSWATCH_IN_FLIGHT": in_flight,
        # Scrapy's memory check reads the process's all-time peak: in a worker that lives for months, one
        # heavy cycle would close every later one at its start. Pages are bounded by NEWSWATCH_IN_FLIGHT,
        # and extraction by its workers' own memory limit.
        "MEMUSAGE_ENABLED": False,
    }.items():
        settings.set(name, value, priority="spider")
    return settings


def counts_of(stats: Mapping[str, Any]) -> dict[str, int]:
    """The crawl's Newswatch counters (what adds up across workers)."""
    return {
        name: int(value)
        for name, value in stats.items()
        if name.startswith("newswatch/") and isinstance(value, int | float) and not isinstance(value, bool)
    }


@dataclass
class WorkerSetup:
    """What every cycle this worker crawls shares."""

    engine: Engine
    client: Redis
    redis_url: str
    matcher: Matcher
    alerts: AlertSetup | None
    timeout_for: Callable[[SiteConfig], timedelta]
    name: str = field(default_factory=worker_name)
    pool: AnalysisPool | None = None
    crawlers: list[Any] = field(default_factory=list)


async def crawl_cycle(runner: Any, setup: WorkerSetup, site: SiteConfig, cycle: Cycle) -> dict[str, int]:
    """Crawl this worker's share of ``cycle`` until the cycle closes, then report it; the counts reported."""
    from scrapy.crawler import Crawler

    from spiders.cycle import CycleShare, CycleSpider
    from spiders.news import CrawlContext

    timeout = setup.timeout_for(site)
    ttl = (timeout + GRACE).total_seconds()
    with Session(setup.engine) as session:
        recorder = site_recorder(session, site, setup.alerts)

    def claimer(urls: list[str]) -> set[str]:
        try:
            return claim(setup.client, cycle, urls, ttl)
        except RedisError as exc:  # left for the next cycle
            logger.warning("cycle %s: cannot claim %d URLs of site %s (left for the next cycle): %s",
                           cycle.run_id, len(urls), site.id, exc)
            return set()

    context = CrawlContext(
        site=site,
        seen=seen_reader(setup.engine, site),
        processor=PageProcessor(setup.engine, setup.matcher, recorder, (site.id, site.name)),
        pool=setup.pool,
        claim=claimer,
    )
    join(setup.client, cycle, setup.name, ttl)
    install_resolver(host for host, _port in private_origins(site))
    # Enough pages in hand to keep this worker's extraction processes busy (two batches each), no more.
    in_flight = max(8, 2 * BATCH * (setup.pool.workers if setup.pool is not None else 1))
    settings = cycle_settings(runner.settings, site, cycle, setup.redis_url, timeout, in_flight)
    # The site's delay is between two of *its* requests: with N workers on it, each waits N times as long.
    try:
        sharing = max(1, len(live_workers(setup.client, cycle.prefix)))
    except RedisError:
        sharing = 1
    settings.set("DOWNLOAD_DELAY", site.delay * sharing, priority="spider")
    crawler = Crawler(CycleSpider, settings)
    setup.crawlers.append(crawler)
    logger.info("cycle %s: crawling site %s", cycle.run_id, site.id, extra={"site": site.id})
    problems: list[str] = []
    try:
        await runner.crawl(crawler, context=context, share=CycleShare(setup.client, cycle, setup.name, ttl))
    except Exception as exc:  # this share is lost; the next cycle fetches its pages
        logger.exception("cycle %s: crawl of site %s failed", cycle.run_id, site.id)
        problems.append(f"worker {setup.name}: crawl crashed: {type(exc).__name__}: {exc}")
    finally:
        setup.crawlers.remove(crawler)
        with contextlib.suppress(RedisError):  # however it ended, this worker holds nothing of the cycle
            mark_idle(setup.client, cycle, setup.name)
    stats = crawler.stats.get_stats() if crawler.stats else {}
    spider = crawler.spider
    counts = counts_of(stats)
    problems += list(getattr(spider, "source_errors", []))
    reason = stats.get("finish_reason")
    if reason and reason != "finished":
        problems.append(f"worker {setup.name}: crawl stopped: {reason}")
    failed = dict(getattr(spider, "failed_sources", {}))
    for attempt in range(30):  # the cycle's totals wait for this report: try for a while if Redis is away
        try:
            report(setup.client, cycle, setup.name, counts, failed, problems, ttl)
            break
        except RedisError as exc:
            logger.warning("cycle %s: cannot report to redis (try %d): %s", cycle.run_id, attempt + 1, exc)
            await asyncio.sleep(2)
    logger.info("cycle %s: site %s done here: %d pages, %d new (%d requests taken from the queue, %d looks "
                "finding it empty)", cycle.run_id, site.id, counts.get("newswatch/pages", 0),
                counts.get("newswatch/new", 0), counts.get("newswatch/queue_pops", 0),
                counts.get("newswatch/queue_empty_pops", 0), extra={"site": site.id})
    return counts


async def run_worker(
    setup: WorkerSetup,
    sites: Callable[[], Mapping[str, SiteConfig]],
    *,
    prefix: str,
    stop: asyncio.Event,
    poll: float = 1.0,
    workers: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> int:
    """Crawl every open cycle's share until ``stop`` is set; the number of cycles crawled. ``overrides``:
    Scrapy settings on top of Newswatch's (the HTTP cache of entry points)."""
    from scrapy.crawler import AsyncCrawlerRunner

    runner = AsyncCrawlerRunner(scrapy_settings(overrides))
    setup.pool = AnalysisPool(setup.matcher, workers) if workers != 0 else None
    beating = Heartbeat(setup.client, prefix, setup.name)
    beating.start()
    running: dict[int, asyncio.Future[dict[str, int]]] = {}
    done: set[int] = set()
    warned = 0.0
    crawled = 0
    logger.info("worker %s: waiting for crawl cycles", setup.name)
    try:
        while not stop.is_set():
            try:
                listed = await asyncio.to_thread(listed_cycles, setup.client, prefix)
                listed = await asyncio.to_thread(forget_closed, setup.client, listed)
            except RedisError as exc:
                if time.monotonic() - warned > 30:
                    warned = time.monotonic()
                    logger.error("worker %s: redis unreachable, waiting: %s", setup.name, exc)
                listed = []
            known = sites()
            for cycle in listed:
                if cycle.run_id in running or cycle.run_id in done:
                    continue
                site = known.get(cycle.site_id)
                if site is None:
                    logger.error("cycle %s: site %s is not in this worker's configuration", cycle.run_id,
                                 cycle.site_id)
                    done.add(cycle.run_id)
                    continue
                running[cycle.run_id] = asyncio.ensure_future(crawl_cycle(runner, setup, site, cycle))
            for run_id, task in list(running.items()):
                if task.done():
                    running.pop(run_id)
                    done.add(run_id)
                    crawled += 1
            done &= {cycle.run_id for cycle in listed} | set(running)  # forget closed cycles
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)
        for crawler in list(setup.crawlers):  # finish what is in hand, report, leave
            await crawler.stop_async()
        if running:
            await asyncio.gather(*running.values(), return_exceptions=True)
    finally:
        beating.stop()
        with contextlib.suppress(RedisError):
            leave(setup.client, prefix, setup.name)
        if setup.pool is not None:
            setup.pool.close()
    return crawled + len(running)


class Heartbeat(threading.Thread):
    """This worker's sign of life, every second, from a thread of its own with its own connection: busy
    reactor or database threads do not delay it (a late sign would make a working worker look gone)."""

    def __init__(self, client: Redis, prefix: str, worker: str) -> None:
        super().__init__(name="newswatch-heartbeat", daemon=True)
        self.client = Redis(connection_pool=ConnectionPool(**client.connection_pool.connection_kwargs))
        self.prefix, self.worker = prefix, worker
        self._stop_event = threading.Event()

    def run(self) -> None:
        warned = 0.0
        while not self._stop_event.is_set():
            try:
                beat(self.client, self.prefix, self.worker, LIVE)
            except RedisError as exc:
                if time.monotonic() - warned > 30:
                    warned = time.monotonic()
                    logger.warning("worker %s: cannot give a sign of life to redis: %s", self.worker, exc)
            self._stop_event.wait(1.0)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (the worker finishes what it holds, reports and exits)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
