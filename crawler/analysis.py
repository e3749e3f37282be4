"""Analyse fetched pages in worker processes: decode, extract, match the rules and fingerprint the story.

Extraction is CPU-bound (about 25 ms a page with trafilatura), so it runs in a pool of processes sized to
the machine's cores, off the Scrapy reactor; the rules are compiled once per worker (the pool's
initializer) and each page is parsed once. Pages travel in small batches (one message per batch, not per
page). A page that takes longer than the deadline is stopped by an alarm in its worker; one stuck where the
alarm cannot reach it (inside C code) has its worker killed and replaced (pebble), and the other pages of
its batch are analysed again one by one, so a worker that dies takes only its page with it. Each worker's
address space is capped (RLIMIT_AS) at what it holds when it starts plus ``memory`` bytes, so a page that
would need more fails with MemoryError instead of taking the machine's memory. Only plain data
crosses the process boundary: the pages' bytes in, the articles, their matches and story signatures out.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import signal
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from crawler.alerts.stories import Signature, signature
from crawler.article import Article, Match, Page, Skipped
from crawler.batching import Batcher
from crawler.extract import decode_html, extract_page
from crawler.urls import canonicalize_url, host_of

logger = logging.getLogger(__name__)

DEADLINE = 30.0  # seconds one page may take in a worker
MAX_TASKS = 250  # batches per worker before it is replaced (bounds slow leaks in the parsing libraries)
BATCH = 8  # pages per message to a worker
BATCH_WAIT = 0.005  # seconds a batch waits for more pages before it goes
MEMORY = 1024 * 1024 * 1024  # bytes one worker may allocate beyond what it holds when it starts

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


class _Deadline(Exception):
    """Raised in a worker by the alarm when one page has taken longer than the deadline."""


_ALARM_ARMED = False


def _on_alarm(signum: int, frame: Any) -> None:
    if _ALARM_ARMED:
        raise _Deadline


def limit_memory(headroom: int) -> int | None:
    """Cap this process's address space at its current size plus ``headroom`` bytes; the limit set, or None
    where the size cannot be read (not Linux)."""
    try:
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + headroom if hard == resource.RLIM_INFINITY else min(size + headroom, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit


def _init_worker(matcher: Any, memory: int | None = MEMORY) -> None:
    global _MATCHER
    _MATCHER = matcher
    if memory:
        limit_memory(memory)
    # A worker is interrupted by its pool, not by the terminal's Ctrl-C (the parent handles that).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, _on_alarm)


def _analyse_one(page: Page, site_names: Sequence[str], deadline: float) -> Analysis:
    """Analyse one page under an alarm of ``deadline`` seconds; any failure becomes ``Analysis.error``."""
    global _ALARM_ARMED
    try:
        _ALARM_ARMED = True
        signal.setitimer(signal.ITIMER_REAL, deadline)
        try:
            return analyse(page, _MATCHER, site_names)
        finally:
            _ALARM_ARMED = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Deadline:
        return Analysis(page.url, error=f"extraction took more than {deadline:.0f} s")
    except Exception as exc:  # an extractor bug on this page: the other pages of the batch go on
        return Analysis(page.url, error=f"extraction failed: {type(exc).__name__}: {exc}"[:300])


def _analyse_batch(items: Sequence[tuple[Page, tuple[str, ...]]], deadline: float) -> list[Analysis]:
    return [_analyse_one(page, names, deadline) for page, names in items]


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class AnalysisPool:
    """A pool of worker processes analysing pages for one crawl (use as a context manager, or close())."""

    def __init__(
        self,
        matcher: Any,
        workers: int | None = None,
        deadline: float = DEADLINE,
        batch: int = BATCH,
        grace: float = 5.0,
        memory: int | None = MEMORY,
    ) -> None:
        """``deadline``: seconds a page may take; a batch whose worker does not answer within its pages'
        deadlines and ``grace`` more seconds has its worker killed. ``memory``: bytes a worker may allocate
        beyond its size at start (None: no limit)."""
        from pebble import ProcessPool

        self.deadline = deadline
        self.grace = grace
        self.workers = workers or default_workers()
        # forkserver: workers start from a clean single-threaded process (never a fork of the reactor's
        # threads), with the heavy imports (and the language model) already loaded and shared between them.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crawler.analysis", "crawler.extract", "crawler.rules", "crawler.preload"])
        self._pool = ProcessPool(
            max_workers=self.workers,
            max_tasks=MAX_TASKS,
            initializer=_init_worker,
            initargs=(matcher, memory),
            context=context,
        )
        self._batcher: Batcher[tuple[Page, tuple[str, ...]], Analysis] = Batcher(self._run, batch, BATCH_WAIT)

    async def analyse(self, page: Page, site_names: Sequence[str] = ()) -> Analysis:
        """Analyse ``page`` in a worker; a deadline overrun or a worker crash becomes ``Analysis.error``."""
        analysis = await self._batcher.submit((page, tuple(site_names)))
        if analysis.error is not None:
            logger.warning("cannot analyse %s: %s", page.url, analysis.error)
        return analysis

    async def _run(self, items: list[tuple[Page, tuple[str, ...]]]) -> list[Analysis]:
        """One batch in one worker; if the worker dies or overruns, each page again on its own."""
        try:
            return await self._schedule(items)
        except Exception as exc:
            if len(items) == 1:
                return [Analysis(items[0][0].url, error=self._describe(exc))]
            logger.warning("a batch of %d pages failed (%s), analysing them one by one: %s", len(items),
                           self._describe(exc), ", ".join(page.url for page, _ in items))
        results = []
        for item in items:
            try:
                results.extend(await self._schedule([item]))
            except Exception as exc:
                results.append(Analysis(item[0].url, error=self._describe(exc)))
        return results

    async def _schedule(self, items: list[tuple[Page, tuple[str, ...]]]) -> list[Analysis]:
        # The alarm in the worker stops a page after the deadline; this is the last resort (C code that
        # never returns to Python): the worker is killed.
        timeout = self.deadline * len(items) + self.grace
        future = self._pool.schedule(_analyse_batch, (items, self.deadline), timeout=timeout)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise

    def _describe(self, exc: Exception) -> str:
        if isinstance(exc, FutureTimeout):
            return f"extraction took more than {self.deadline:.0f} s"
        if isinstance(exc, RuntimeError) and not self._pool.active:  # a stopped or broken pool
            return f"extraction unavailable: {type(exc).__name__}"
        return f"extraction failed: {type(exc).__name__}"  # ProcessExpired: the worker died

    def close(self) -> None:
        """Stop the workers (pages still queued are dropped)."""
        self._pool.stop()
        self._pool.join(timeout=10)

    def __enter__(self) -> AnalysisPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
