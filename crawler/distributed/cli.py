"""The ``newswatch worker`` command and the Redis connection the distributed commands share (thin typer)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

import typer

from crawler.cli import ConfigOpt
from crawler.settings import Settings

logger = logging.getLogger(__name__)

SOCKET_TIMEOUT = 3.0  # seconds: a hung Redis holds a worker's reactor this long per call, not 30


def redis_client(settings: Settings) -> Any:
    """A client of NEWSWATCH_REDIS_URL that answers now; exit 2 with a message when it is unset or down."""
    from redis import Redis
    from redis.exceptions import RedisError

    from crawler.cli import EXIT_CONFIG, fail

    if not settings.redis_url:
        fail("NEWSWATCH_REDIS_URL is not set: distributed crawling needs Redis (e.g. redis://127.0.0.1:6379/0)",
             EXIT_CONFIG)
    try:
        client = Redis.from_url(settings.redis_url, socket_timeout=SOCKET_TIMEOUT,
                                socket_connect_timeout=SOCKET_TIMEOUT)
        client.ping()
    except (RedisError, ValueError) as exc:
        fail(f"cannot use redis at NEWSWATCH_REDIS_URL: {type(exc).__name__}: {exc}", EXIT_CONFIG)
    return client


def require_shared_database(settings: Settings) -> None:
    """Exit 2 unless the database is one the workers can share (PostgreSQL)."""
    from crawler.cli import EXIT_CONFIG, fail
    from crawler.store import normalize_database_url

    if not normalize_database_url(settings.resolved_database_url()).startswith("postgresql"):
        fail("distributed crawling needs a PostgreSQL database shared by every worker (NEWSWATCH_DATABASE_URL)",
             EXIT_CONFIG)


def worker(
    config: ConfigOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show detailed logs.")] = False,
) -> None:
    """Crawl for a distributed deployment: join every crawl cycle `newswatch run --distributed` opens."""
    from crawler.alerts.recorder import AlertSetup
    from crawler.cli import _config, _database, start_process
    from crawler.crawl import run_on_reactor
    from crawler.distributed.worker import WorkerSetup, install_stop_signals, run_worker
    from crawler.durations import parse_duration
    from crawler.httpcache import http_cache

    settings = start_process(config, verbose)
    require_shared_database(settings)
    cfg = _config(settings)
    client = redis_client(settings)
    engine = _database(settings)
    default_timeout = parse_duration(settings.crawl_timeout)
    setup = WorkerSetup(
        engine=engine,
        client=client,
        redis_url=str(settings.redis_url),
        matcher=cfg.ruleset(),
        alerts=AlertSetup(modes={rule.id: rule.mode for rule in cfg.rules}),
        timeout_for=lambda site: site.crawl_timeout(default_timeout),
    )
    sites = {site.id: site for site in cfg.sites if site.enabled}

    async def main() -> int:
        stop = asyncio.Event()
        install_stop_signals(stop)
        return await run_worker(setup, lambda: sites, prefix=settings.redis_prefix, stop=stop,
                                workers=settings.extract_workers, overrides=http_cache(settings.http_cache_dir))

    crawled = run_on_reactor(main, signal_handlers=False)
    logger.info("worker %s: stopped after %d cycle(s)", setup.name, crawled)
