"""One crawl of one site in its own process, started by the service: ``python -m crawler.service.child``.

The service records the crawl run before starting this process and passes its id; this process crawls,
finishes the run record and prints a JSON summary on stdout. SIGTERM / SIGINT, or the service going
away (this process is orphaned), stop the crawl gracefully: what was fetched is stored and the run is
recorded as "interrupted". Exit codes: 0 crawl recorded, 2 configuration error, 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from crawler.config import ConfigError, load_config
from crawler.logs import setup_logging
from crawler.settings import load_settings
from crawler.store import create_db_engine, finish_run

logger = logging.getLogger(__name__)

LOCK_WAIT = 30.0  # seconds to wait for a previous crawl of the site (e.g. an orphan finishing) to end
STOP_GRACE = 30.0  # seconds a crawl gets to close once asked to stop


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m crawler.service.child", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="configuration folder")
    parser.add_argument("--site", required=True, help="site id")
    parser.add_argument("--run-id", type=int, required=True, help="crawl run recorded by the service")
    parser.add_argument("--timeout", type=float, default=None, help="seconds before the crawl is closed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Crawl the site, record the run, print its summary; the exit code says how it went."""
    args = _arguments(argv)
    settings = load_settings(args.config)
    setup_logging(settings.log_level, fmt=settings.log_format)
    try:
        config = load_config(settings.config)
        site = config.site(args.site)
    except ConfigError as exc:
        for problem in exc.problems:
            logger.error("configuration error: %s", problem)
        return 2
    except KeyError:
        logger.error("site %s is not in %s", args.site, settings.config)
        return 2
    engine = create_db_engine(settings.resolved_database_url())
    from crawler.service.locks import LockBusy, site_lock

    try:
        with site_lock(engine, settings.data_dir, site.id, wait=LOCK_WAIT):
            summary = _crawl(engine, settings, config, site, args)
    except LockBusy:
        message = "skipped: another crawl of this site is still running"
        logger.warning("crawl %s %s", site.id, message, extra={"site": site.id})
        with Session(engine) as session:
            finish_run(session, args.run_id, "skipped", {}, message, only_if_running=True)
        summary = {"site_id": site.id, "status": "skipped", "problems": [message]}
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    return 0


def _crawl(engine: Any, settings: Any, config: Any, site: Any, args: argparse.Namespace) -> dict[str, Any]:
    from crawler.alerts.cli import alert_setup
    from crawler.alerts.crashpoints import checkpoint

    checkpoint(f"crawl-{site.id}")
    from crawler.crawl import SiteRun, crawl_site, run_on_reactor
    from crawler.httpcache import http_cache
    from crawler.scrapy_settings import scrapy_settings

    parent = os.getppid()
    crawlers: list[Any] = []
    stopping: list[float] = []  # when the stop was asked for

    def stop_crawlers() -> None:
        """Stop each crawler whose engine runs; one still starting up is stopped once it runs."""
        from scrapy.utils.defer import deferred_from_coro
        from twisted.internet import reactor as installed

        reactor: Any = installed
        starting = False
        for crawler in crawlers:
            engine = getattr(crawler, "engine", None)
            if crawler.crawling and engine is not None and engine.running:
                deferred_from_coro(crawler.stop_async())
            else:  # still starting up (or already closing): look again shortly
                starting = True
        if starting or not crawlers:
            reactor.callLater(0.2, stop_crawlers)

    def stop(why: str) -> None:
        if stopping:
            return
        stopping.append(time.monotonic())
        logger.warning("crawl %s: stopping (%s)", site.id, why, extra={"site": site.id})
        stop_crawlers()

    async def run() -> Any:
        from scrapy.crawler import AsyncCrawlerRunner
        from twisted.internet import reactor
        from twisted.internet.task import LoopingCall

        def on_signal(signum: int, _frame: Any) -> None:
            reactor.callFromThread(stop, signal.Signals(signum).name)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

        def watch_parent() -> None:
            if os.getppid() != parent:
                stop("the service went away")
            if stopping and time.monotonic() - stopping[0] > STOP_GRACE:
                # A crawl that does not close after being asked to is ended here; the service records
                # its run (or, if the service is gone, the next one marks it abandoned).
                logger.error("crawl %s: did not stop within %.0fs; exiting", site.id, STOP_GRACE)
                logging.shutdown()
                os._exit(3)

        watcher = LoopingCall(watch_parent)
        watcher.start(1.0, now=False)
        try:
            runner = AsyncCrawlerRunner(scrapy_settings(http_cache(settings.http_cache_dir)))
            timeout = timedelta(seconds=args.timeout) if args.timeout else None
            if stopping:  # asked to stop before the crawl began
                message = "stopped before the crawl began"
                with Session(engine) as session:
                    finish_run(session, args.run_id, "interrupted", {}, message, only_if_running=True)
                return SiteRun(site_id=site.id, status="interrupted", problems=[message], run_id=args.run_id)
            return await crawl_site(
                runner,
                engine,
                site,
                config.ruleset(),
                alerts=alert_setup(config),
                run_id=args.run_id,
                timeout=timeout,
                started=crawlers.append,
                workers=settings.extract_workers,
            )
        finally:
            watcher.stop()

    result = run_on_reactor(run, signal_handlers=False)
    return asdict(result)


if __name__ == "__main__":
    sys.exit(main())
