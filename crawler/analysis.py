"""Analyse fetched pages in worker processes: decode, extract, match the rules and fingerprint the story.

Extraction is CPU-bound (about 16 ms a page with trafilatura), so it runs in a pool of processes sized to
the machine's cores, off the Scrapy reactor; the rules are compiled once per worker (the pool's
initializer) and each page is parsed once. A page that takes longer than the deadline has its worker
killed and replaced (pebble); a worker that dies takes only its page with it. Only plain data crosses the
process boundary: the page's bytes in, the article, its matches and its story signature out.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from crawler.alerts.stories import Signature, signature
from crawler.article import Article, Match, Page, Skipped
from crawler.extract import decode_html, extract_page
from crawler.urls import canonicalize_url, host_of

logger = logging.getLogger(__name__)

DEADLINE = 30.0  # seconds one page may take in a worker
MAX_TASKS = 1000  # pages per worker before it is replaced (bounds slow leaks in the parsing libraries)

# The matcher of this worker process, set by the pool's initializer.
_MATCHER: Any = None


@dataclass(frozen=True)
class Analysis:
    """What became of one page in a worker: an article with its matches and story signature, a skip reason,
    or an error (a crash or the deadline)."""

    url: str
    article: Article | None = None
    matches: list[Match] = field(default_factory=list)
    signature: Signature | None = None
    skipped: str | None = None  # why no article was extracted
    error: str | None = None  # why the page could not be analysed at all


def _same_site(url: str, other: str) -> bool:
    a, b = host_of(url), host_of(other)
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def finish_article(article: Article, page: Page) -> Article:
    """Fill in what the listing knew (feed date first, title as a fallback) and canonicalise the URL."""
    from dataclasses import replace

    canonical = article.canonical_url or page.url
    if not _same_site(canonical, page.url):
        canonical = page.url
    return replace(
        article,
        url=page.url,
        canonical_url=canonicalize_url(canonical),
        published=page.listed_published or article.published,
        title=article.title or (page.listed_title or ""),
    )


def page_html(page: Page) -> str:
    """The page's HTML as text: decoded here from its bytes when the spider sent bytes."""
    if page.body is None:
        return page.html
    return decode_html(page.body, page.encoding)


def analyse(page: Page, matcher: Any, site_names: Sequence[str] = ()) -> Analysis:
    """Extract, match and fingerprint one page (in a worker, or inline). Raises only on bugs."""
    result = extract_page(page_html(page), page.url)
    if isinstance(result, Skipped):
        return Analysis(page.url, skipped=result.reason)
    article = finish_article(result, page)
    site = tuple(site_names) or (page.site_id,)
    matches = matcher.match(article.title, article.text, site=site, url=article.canonical_url) if matcher else []
    return Analysis(page.url, article, matches, signature(article.text))


def _init_worker(matcher: Any) -> None:
    global _MATCHER
    _MATCHER = matcher
    # A worker is interrupted by its pool, not by the terminal's Ctrl-C (the parent handles that).
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _analyse_in_worker(page: Page, site_names: Sequence[str]) -> Analysis:
    return analyse(page, _MATCHER, site_names)


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class AnalysisPool:
    """A pool of worker processes analysing pages for one crawl (use as a context manager, or close())."""

    def __init__(self, matcher: Any, workers: int | None = None, deadline: float = DEADLINE) -> None:
        from pebble import ProcessPool

        self.deadline = deadline
        self.workers = workers or default_workers()
        # forkserver: workers start from a clean single-threaded process (never a fork of the reactor's
        # threads), with the heavy imports already done, so a pool starts in milliseconds after the first.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crawler.analysis", "crawler.extract", "crawler.rules"])
        self._pool = ProcessPool(
            max_workers=self.workers,
            max_tasks=MAX_TASKS,
            initializer=_init_worker,
            initargs=(matcher,),
            context=context,
        )

    async def analyse(self, page: Page, site_names: Sequence[str] = ()) -> Analysis:
        """Analyse ``page`` in a worker; a deadline overrun or a worker crash becomes ``Analysis.error``."""
        try:
            future = self._pool.schedule(_analyse_in_worker, (page, tuple(site_names)), timeout=self.deadline)
        except Exception as exc:  # the pool is closed or broken: this page is not analysed, the crawl goes on
            logger.error("cannot analyse %s: %s: %s", page.url, type(exc).__name__, exc)
            return Analysis(page.url, error=f"extraction unavailable: {type(exc).__name__}")
        try:
            return await asyncio.wrap_future(future)
        except FutureTimeout:
            logger.warning("extraction of %s took more than %.0f s: stopped", page.url, self.deadline)
            return Analysis(page.url, error=f"extraction took more than {self.deadline:.0f} s")
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:  # ProcessExpired (the worker died) or an extractor bug
            logger.error("extraction of %s failed: %s: %s", page.url, type(exc).__name__, exc)
            return Analysis(page.url, error=f"extraction failed: {type(exc).__name__}")

    def close(self) -> None:
        """Stop the workers (pages still queued are dropped)."""
        self._pool.stop()
        self._pool.join(timeout=10)

    def __enter__(self) -> AnalysisPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
