"""Run crawls: one Scrapy crawler per site on the asyncio reactor, each recorded as a crawl run."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from crawler.config import SiteConfig
from crawler.process import Matcher, PageProcessor
from crawler.scrapy_settings import scrapy_settings
from crawler.store import finish_run, known_urls, start_run

if TYPE_CHECKING:
    from crawler.alerts.recorder import AlertSetup

logger = logging.getLogger(__name__)

REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


@dataclass
class SiteRun:
    """The outcome of one crawl of one site."""

    site_id: str
    status: str = "finished"  # "finished" or "failed"
    pages: int = 0
    new_articles: int = 0
    skipped: int = 0
    errors: int = 0
    flagged: int = 0
    duplicates: int = 0
    already_seen: int = 0
    robots_denied: int = 0
    duration: float = 0.0
    problems: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The counts stored with the crawl run."""
        return {
            "pages": self.pages,
            "new_articles": self.new_articles,
            "skipped": self.skipped,
            "errors": self.errors,
            "flagged": self.flagged,
        }


def _run_from_stats(site_id: str, stats: dict[str, Any], source_errors: list[str]) -> SiteRun:
    run = SiteRun(site_id=site_id)
    run.pages = int(stats.get("newswatch/pages", 0))
    run.new_articles = int(stats.get("newswatch/new", 0))
    run.skipped = int(stats.get("newswatch/skipped", 0))
    run.duplicates = int(stats.get("newswatch/duplicate", 0))
    run.flagged = int(stats.get("newswatch/flagged", 0))
    run.already_seen = int(stats.get("newswatch/already_seen", 0))
    run.robots_denied = int(stats.get("newswatch/robots_denied", 0))
    run.errors = int(stats.get("newswatch/error", 0)) + len(source_errors)
    run.problems = list(source_errors)
    reason = stats.get("finish_reason")
    if reason and reason != "finished":
        run.problems.append(f"crawl stopped: {reason}")
    entry_points_failed = source_errors and not (run.pages or run.already_seen)
    if entry_points_failed or (reason and reason not in ("finished", "closespider_timeout")):
        run.status = "failed"
    return run


def site_settings(base: Any, site: SiteConfig) -> Any:
    """The crawl settings for one site: the shared ones with the site's own delay."""
    settings = base.copy()
    settings.set("DOWNLOAD_DELAY", site.delay, priority="spider")
    settings.set("AUTOTHROTTLE_START_DELAY", max(site.delay, 0.1), priority="spider")
    return settings


async def crawl_site(
    runner: Any,
    engine: Engine,
    site: SiteConfig,
    matcher: Matcher,
    *,
    max_age: timedelta | None = timedelta(days=30),
    alerts: AlertSetup | None = None,
) -> SiteRun:
    """Crawl one site once with ``runner`` (an AsyncCrawlerRunner) and record the run. Never raises.

    With ``alerts``, each new article gets its story and its alert rows in the transaction that stores it.
    """
    from scrapy.crawler import Crawler

    from spiders.news import CrawlContext, NewsSpider

    started = time.monotonic()
    recorder = None
    with Session(engine) as session:
        if alerts is not None:
            from crawler.alerts.recorder import is_first_crawl

            recorder = alerts.for_site(site, first_crawl=is_first_crawl(session, site.id))
        run_id = start_run(session, site.id)

    def seen(urls: list[str]) -> set[str]:
        with Session(engine) as session:
            return known_urls(session, urls)

    context = CrawlContext(
        site=site, seen=seen, max_age=max_age, processor=PageProcessor(engine, matcher, recorder, (site.id, site.name))
    )
    try:
        crawler = Crawler(NewsSpider, site_settings(runner.settings, site))
        await runner.crawl(crawler, context=context)
        spider = crawler.spider
        result = _run_from_stats(site.id, crawler.stats.get_stats(), getattr(spider, "source_errors", []))
    except Exception as exc:  # a crash in one site's crawl must not stop the others
        logger.exception("crawl of site %s failed", site.id)
        result = SiteRun(site_id=site.id, status="failed", problems=[f"crawl crashed: {type(exc).__name__}: {exc}"])
    result.duration = time.monotonic() - started
    try:
        with Session(engine) as session:
            finish_run(session, run_id, result.status, result.counts(), "\n".join(result.problems) or None)
    except SQLAlchemyError as exc:
        logger.error("cannot record the crawl run of site %s: %s", site.id, exc)
    logger.info(
        "crawl %s: %s, pages=%d new=%d skipped=%d flagged=%d errors=%d duration=%.1fs",
        site.id,
        result.status,
        result.pages,
        result.new_articles,
        result.skipped,
        result.flagged,
        result.errors,
        result.duration,
    )
    return result


async def crawl_sites(
    engine: Engine,
    sites: Sequence[SiteConfig],
    matcher: Matcher,
    *,
    settings: dict[str, Any] | None = None,
    max_age: timedelta | None = timedelta(days=30),
    alerts: AlertSetup | None = None,
) -> list[SiteRun]:
    """Crawl every site once, concurrently, on the running asyncio reactor (``alerts``: see crawl_site)."""
    from scrapy.crawler import AsyncCrawlerRunner

    runner = AsyncCrawlerRunner(scrapy_settings(settings))
    crawls = (crawl_site(runner, engine, site, matcher, max_age=max_age, alerts=alerts) for site in sites)
    return list(await asyncio.gather(*crawls))


def run_on_reactor(main: Callable[[], Any]) -> Any:
    """Install the asyncio reactor, run the coroutine function ``main`` on it, stop, and return its result.

    The Twisted reactor cannot be restarted: call this once per process.
    """
    from scrapy.utils.reactor import install_reactor

    install_reactor(REACTOR)
    from scrapy.utils.defer import deferred_from_coro
    from twisted.internet import reactor as installed

    reactor: Any = installed

    outcome: dict[str, Any] = {}

    async def wrapper() -> None:
        try:
            outcome["result"] = await main()
        except BaseException as exc:  # handed back to the caller below
            outcome["error"] = exc
        finally:
            reactor.stop()

    reactor.callWhenRunning(lambda: deferred_from_coro(wrapper()))
    reactor.run()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")
