"""Run crawls: one Scrapy crawler per site on the asyncio reactor, each recorded as a crawl run."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from crawler.analysis import AnalysisPool
from crawler.config import SiteConfig
from crawler.errors import Cause, summarize
from crawler.process import Matcher, PageProcessor
from crawler.scrapy_settings import scrapy_settings
from crawler.ssrf import install_resolver, private_origins
from crawler.store import error_text, finish_run, known_urls, retry_lost_connection, start_run

if TYPE_CHECKING:
    from crawler.alerts.recorder import AlertSetup

logger = logging.getLogger(__name__)

REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


@dataclass
class SiteRun:
    """The outcome of one crawl of one site."""

    site_id: str
    # "finished", "failed" (entry points unreadable, or a crash), "timeout" (stopped after its time limit)
    # or "interrupted" (the service was shutting down)
    status: str = "finished"
    pages: int = 0
    new_articles: int = 0
    skipped: int = 0  # pages that gave no article, the partial ones included
    partial: int = 0  # stubs (a teaser, paywall or consent wall): fetched again on later crawls
    errors: int = 0
    flagged: int = 0
    duplicates: int = 0
    already_seen: int = 0
    robots_denied: int = 0
    http_403: int = 0
    http_429: int = 0
    http_5xx: int = 0
    undated: int = 0
    wire_bytes: int = 0  # response bodies as they arrived (compressed; a 304 has none)
    not_modified: int = 0  # entry points that answered 304 Not Modified
    duration: float = 0.0
    database_errors: int = 0  # pages the database refused (fetched again on the next crawl)
    # The database refused the crawl: its run could not be recorded, or not one page could be stored.
    database_failed: bool = False
    problems: list[str] = field(default_factory=list)
    failed_sources: dict[str, str] = field(default_factory=dict)  # feed, sitemap or listing URL -> why
    run_id: int | None = None

    def counts(self) -> dict[str, int]:
        """The counts stored with the crawl run."""
        return {
            "pages": self.pages,
            "new_articles": self.new_articles,
            "skipped": self.skipped,
            "errors": self.errors,
            "flagged": self.flagged,
        }

    def stats(self) -> dict[str, Any]:
        """The health counts stored with the crawl run (and the sources that failed, for their health)."""
        return {
            "duplicates": self.duplicates,
            "already_seen": self.already_seen,
            "robots_denied": self.robots_denied,
            "http_403": self.http_403,
            "http_429": self.http_429,
            "http_5xx": self.http_5xx,
            "undated": self.undated,
            "partial": self.partial,
            "database_errors": self.database_errors,
            "wire_bytes": self.wire_bytes,
            "not_modified": self.not_modified,
            "duration": round(self.duration, 3),
            "failed_sources": {url: why[:300] for url, why in list(self.failed_sources.items())[:100]},
        }


def run_from_stats(
    site_id: str,
    stats: dict[str, Any],
    source_errors: list[str],
    database: str = "the database",
    *,
    source_causes: Sequence[tuple[str, Cause]] = (),
    article_causes: Mapping[str, int] | None = None,
) -> SiteRun:
    """The crawl's outcome from its Scrapy stats and the spider's errors. When the crawl failed, the first of
    its problems says the root cause in plain words (``source_causes``: (kind, cause) of each feed, sitemap or
    listing page that failed; ``article_causes``: plain reason -> article pages), the others the details."""
    run = SiteRun(site_id=site_id)
    run.pages = int(stats.get("newswatch/pages", 0))
    run.new_articles = int(stats.get("newswatch/new", 0))
    run.partial = int(stats.get("newswatch/partial", 0))
    run.skipped = int(stats.get("newswatch/skipped", 0)) + run.partial
    run.duplicates = int(stats.get("newswatch/duplicate", 0))
    run.flagged = int(stats.get("newswatch/flagged", 0))
    run.already_seen = int(stats.get("newswatch/already_seen", 0))
    run.robots_denied = int(stats.get("newswatch/robots_denied", 0))
    run.http_403 = int(stats.get("newswatch/http_403", 0))
    run.http_429 = int(stats.get("newswatch/http_429", 0))
    run.http_5xx = int(stats.get("newswatch/http_5xx", 0))
    run.undated = int(stats.get("newswatch/undated", 0))
    run.wire_bytes = int(stats.get("newswatch/wire_bytes", 0))
    run.not_modified = int(stats.get("newswatch/not_modified", 0))
    run.errors = int(stats.get("newswatch/error", 0)) + len(source_errors)
    run.database_errors = int(stats.get("newswatch/database_error", 0))
    run.problems = list(source_errors)
    if run.database_errors and run.database_errors >= run.pages:
        run.database_failed = True
        first = stats.get("newswatch/first_database_error")
        run.problems.append(f"the database {database} refused every page ({run.database_errors}): {first}")
    reason = stats.get("finish_reason")
    if reason and reason != "finished":
        run.problems.append(f"crawl stopped: {reason}")
    entry_points_failed = source_errors and not (run.pages or run.already_seen)
    if reason == "closespider_timeout":
        run.status = "timeout"
    elif reason == "shutdown":
        run.status = "interrupted"
    elif entry_points_failed or run.database_failed or (reason and reason != "finished"):
        run.status = "failed"
    fetched = run.new_articles + run.skipped + run.duplicates
    if entry_points_failed and source_causes and not run.database_failed:
        run.problems.insert(0, summarize(source_causes))
    elif run.errors and not fetched and not run.problems and article_causes:
        total = sum(article_causes.values())
        (why, _count), *others = Counter(article_causes).most_common()
        more = f" (and {len(others)} other reason(s))" if others else ""
        run.problems.insert(0, f"every article page failed ({total}): {why}{more}")
    return run


QUEUE_PREFIX = "newswatch-queue-"  # + the crawling process's pid: the folder of a crawl's waiting requests


def remove_stale_queues(folder: Path | None = None) -> int:
    """Remove the request queues of crawls whose process is gone (killed before it could clean up);
    how many were removed."""
    removed = 0
    for path in Path(folder or tempfile.gettempdir()).glob(f"{QUEUE_PREFIX}*"):
        pid = path.name.removeprefix(QUEUE_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def site_settings(
    base: Any, site: SiteConfig, timeout: timedelta | None = None, queue_dir: Path | None = None
) -> Any:
    """The crawl settings for one site: the shared ones with the site's own delay and time limit; with
    ``queue_dir``, the requests waiting to be fetched are kept on disk there (memory stays flat however
    many URLs the sitemaps list). The folder is this crawl's alone: a crawl never resumes another."""
    settings = base.copy()
    if queue_dir is not None and not settings.get("JOBDIR"):
        settings.set("JOBDIR", str(queue_dir), priority="spider")
    settings.set("DOWNLOAD_DELAY", site.delay, priority="spider")
    if not site.verify_tls:
        settings.set("DOWNLOAD_VERIFY_CERTIFICATES", False, priority="spider")
    settings.set("AUTOTHROTTLE_START_DELAY", max(site.delay, 0.1), priority="spider")
    if timeout is not None:
        settings.set("CLOSESPIDER_TIMEOUT", max(1, int(timeout.total_seconds())), priority="spider")
    return settings


def worker_name() -> str:
    """This process as "host:pid", recorded with the crawl runs it makes."""
    return f"{socket.gethostname()}:{os.getpid()}"


def site_recorder(session: Session, site: SiteConfig, alerts: AlertSetup | None) -> Any:
    """The recorder of stories and alerts for one crawl of ``site`` (None without ``alerts``)."""
    if alerts is None:
        return None
    from crawler.alerts.recorder import is_first_crawl

    return alerts.for_site(site, first_crawl=is_first_crawl(session, site.id))


def seen_reader(engine: Engine, site: SiteConfig) -> Callable[[list[str]], set[str]]:
    """The crawl's test of which canonical URLs need no fetch (stored, or given up on)."""

    def seen(urls: list[str]) -> set[str]:
        def read() -> set[str]:
            with Session(engine) as session:
                return known_urls(session, urls)

        try:
            return retry_lost_connection(engine, read, f"reading the page records of site {site.id}")
        except SQLAlchemyError as exc:  # treated as known: fetched on the next crawl, not lost
            logger.error("cannot read the page records of site %s, leaving %d links for the next crawl: %s",
                         site.id, len(urls), error_text(exc))
            return set(urls)

    return seen


async def crawl_site(
    runner: Any,
    engine: Engine,
    site: SiteConfig,
    matcher: Matcher,
    *,
    max_age: timedelta | None = timedelta(days=30),
    alerts: AlertSetup | None = None,
    run_id: int | None = None,
    timeout: timedelta | None = None,
    started: Callable[[Any], None] | None = None,
    pool: AnalysisPool | None = None,
    workers: int | None = None,
) -> SiteRun:
    """Crawl one site once with ``runner`` (an AsyncCrawlerRunner) and record the run. Never raises.

    With ``alerts``, each new article gets its story and its alert rows in the transaction that stores it.
    ``run_id``: a crawl run already recorded as started (by the service); ``timeout``: the crawl is closed
    after this long, keeping what it stored; ``started`` is called with the Scrapy crawler once it exists.
    Pages are analysed in ``pool``, else in a pool of ``workers`` processes made for this crawl (None: one
    per core; 0: no processes, in threads of this one).
    """
    from scrapy.crawler import Crawler

    from spiders.news import CrawlContext, NewsSpider

    began = time.monotonic()
    database = engine.url.render_as_string(hide_password=True)

    def begin() -> tuple[Any, int]:
        with Session(engine) as session:
            recorder = site_recorder(session, site, alerts)
            return recorder, run_id if run_id is not None else start_run(session, site.id, worker_name())

    try:
        recorder, run_id = retry_lost_connection(engine, begin, f"starting the crawl of site {site.id}")
    except SQLAlchemyError as exc:  # nothing could be stored: the site is not fetched
        problem = f"the database {database} refused the crawl: {error_text(exc)}"
        logger.error("crawl of site %s not started: %s", site.id, problem)
        result = SiteRun(site_id=site.id, status="failed", database_failed=True, problems=[problem], run_id=run_id)
        log_run(result)
        return result
    seen = seen_reader(engine, site)

    own_pool = pool is None and workers != 0
    if own_pool:
        pool = AnalysisPool(matcher, workers)
    context = CrawlContext(
        site=site,
        seen=seen,
        max_age=max_age,
        processor=PageProcessor(engine, matcher, recorder, (site.id, site.name)),
        pool=pool,
    )
    remove_stale_queues()
    queue_dir = Path(tempfile.mkdtemp(prefix=f"{QUEUE_PREFIX}{os.getpid()}-"))
    try:
        install_resolver(host for host, _port in private_origins(site))
        crawler = Crawler(NewsSpider, site_settings(runner.settings, site, timeout, queue_dir))
        if started is not None:
            started(crawler)
        await runner.crawl(crawler, context=context)
        spider = crawler.spider
        stats = crawler.stats.get_stats()
        result = run_from_stats(
            site.id,
            stats,
            getattr(spider, "source_errors", []),
            database,
            source_causes=list(getattr(spider, "source_causes", {}).values()),
            article_causes=getattr(spider, "article_causes", None),
        )
        result.failed_sources = dict(getattr(spider, "failed_sources", {}))
    except Exception as exc:  # a crash in one site's crawl must not stop the others
        logger.exception("crawl of site %s failed", site.id)
        result = SiteRun(site_id=site.id, status="failed", problems=[f"crawl crashed: {type(exc).__name__}: {exc}"])
    finally:
        shutil.rmtree(queue_dir, ignore_errors=True)
        if own_pool and pool is not None:
            pool.close()
    result.duration = time.monotonic() - began
    result.run_id = run_id

    def finish() -> None:
        with Session(engine) as session:
            message = "\n".join(result.problems) or None
            finish_run(session, run_id, result.status, result.counts(), message, result.stats())

    try:
        retry_lost_connection(engine, finish, f"recording the crawl run of site {site.id}")
    except SQLAlchemyError as exc:
        problem = f"the database {database} refused the crawl's record: {error_text(exc)}"
        logger.error("cannot record the crawl run of site %s: %s", site.id, problem)
        result.database_failed = True
        result.problems.append(problem)
    log_run(result)
    return result


def log_run(result: SiteRun) -> None:
    """The one summary line of a crawl run (its counts are structured fields in JSON logs)."""
    fields = {
        "site": result.site_id,
        "status": result.status,
        "pages": result.pages,
        "new": result.new_articles,
        "skipped": result.skipped,
        "partial": result.partial,
        "flagged": result.flagged,
        "errors": result.errors,
        "duration": round(result.duration, 2),
    }
    logger.info(
        "crawl %s: %s, pages=%d new=%d skipped=%d partial=%d flagged=%d errors=%d duration=%.1fs",
        result.site_id,
        result.status,
        result.pages,
        result.new_articles,
        result.skipped,
        result.partial,
        result.flagged,
        result.errors,
        result.duration,
        extra={"event": "crawl_run", **fields},
    )


async def crawl_sites(
    engine: Engine,
    sites: Sequence[SiteConfig],
    matcher: Matcher,
    *,
    settings: dict[str, Any] | None = None,
    max_age: timedelta | None = timedelta(days=30),
    alerts: AlertSetup | None = None,
    workers: int | None = None,
) -> list[SiteRun]:
    """Crawl every site once, concurrently, on the running asyncio reactor (``alerts``, ``workers``: see
    crawl_site); the sites share one pool of analysis workers."""
    from scrapy.crawler import AsyncCrawlerRunner

    runner = AsyncCrawlerRunner(scrapy_settings(settings))
    pool = AnalysisPool(matcher, workers) if workers != 0 else None
    try:
        crawls = (
            crawl_site(runner, engine, site, matcher, max_age=max_age, alerts=alerts, pool=pool, workers=0)
            for site in sites
        )
        return list(await asyncio.gather(*crawls))
    finally:
        if pool is not None:
            pool.close()


def run_on_reactor(main: Callable[[], Any], *, signal_handlers: bool = True) -> Any:
    """Install the asyncio reactor, run the coroutine function ``main`` on it, stop, and return its result.

    The Twisted reactor cannot be restarted: call this once per process. Without ``signal_handlers`` the
    reactor leaves SIGINT / SIGTERM to the caller (who then stops ``main`` gracefully itself).
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
    reactor.run(installSignalHandlers=signal_handlers)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")
