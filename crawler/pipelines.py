"""Scrapy item pipeline: pages go to the analysis workers, then to storage off the reactor; counts outcomes.

Analysed pages are stored in small batches, one transaction each (``STORE_BATCH``), in a thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy.crawler import Crawler

from crawler.analysis import Analysis, AnalysisPool
from crawler.article import Page, PageFailure
from crawler.batching import Batcher
from crawler.process import Outcome, PageProcessor

STORE_BATCH = 16  # analysed pages stored in one transaction


class StorePipeline:
    """Extract, match and store each page in a worker thread; keep per-outcome counts in the crawl stats."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._store: Batcher[tuple[Page, Analysis], Outcome] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        context = self.crawler.spider.context  # type: ignore[union-attr]
        processor: PageProcessor = context.processor
        pool: AnalysisPool | None = context.pool
        if isinstance(item, Page) and pool is not None:
            analysis = await pool.analyse(item, processor.site_names)
            if self._store is None:

                async def store(pairs: list[tuple[Page, Analysis]]) -> list[Outcome]:
                    return await asyncio.to_thread(processor.store_many, pairs)

                self._store = Batcher(store, STORE_BATCH)
            outcome = await self._store.submit((item, analysis))
        elif isinstance(item, Page):
            outcome = await asyncio.to_thread(processor.process, item)
        elif isinstance(item, PageFailure):
            outcome = await asyncio.to_thread(processor.fail, item)
        else:
            return item
        self._count(outcome)
        return item

    def _count(self, outcome: Outcome) -> None:
        stats = self.crawler.stats
        if stats is None:
            return
        stats.inc_value("newswatch/pages")
        stats.inc_value(f"newswatch/{outcome.status}")
        if outcome.matches:
            stats.inc_value("newswatch/flagged")
        if outcome.undated:
            stats.inc_value("newswatch/undated")
        if outcome.database_failed:
            stats.inc_value("newswatch/database_error")
            if stats.get_value("newswatch/first_database_error") is None:
                stats.set_value("newswatch/first_database_error", outcome.reason)
