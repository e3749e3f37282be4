"""The news spider as one worker's share of a crawl cycle: its requests come from the cycle's Redis queue.

The scheduler seeds the cycle's entry points (crawler.distributed.coordinator), so the spider starts with
none; article URLs and child sitemaps are claimed in Redis before they are queued, so each is fetched by
one worker only; the spider stays open while its cycle is open, going back to the queue when idle.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider

from crawler.distributed.cycles import Cycle, is_open, mark_busy, mark_idle
from spiders.news import CrawlContext, NewsSpider

logger = logging.getLogger(__name__)

BUSY_EVERY = 2.0  # seconds between two refreshes of this worker's busy mark
IDLE_LOOK = 1.0  # seconds between two looks at the shared queue while this worker has nothing


@dataclass
class CycleShare:
    """What a worker's crawl of a cycle needs besides the site: Redis, the cycle and who it is."""

    client: Redis
    cycle: Cycle
    worker: str
    ttl: float  # seconds the cycle's keys live


class CycleSpider(NewsSpider):
    """A NewsSpider fed from its cycle's shared queue, open until the cycle is closed."""

    name = "news-cycle"

    def __init__(self, context: CrawlContext, share: CycleShare, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        self.share = share
        self._busy_at = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> CycleSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        """Nothing: the cycle's entry points are in its queue already."""
        return
        yield

    def busy(self) -> None:
        """This worker has the cycle's work in hand (called for each request taken from the queue)."""
        now = time.monotonic()
        if now - self._busy_at < BUSY_EVERY:
            return
        try:
            mark_busy(self.share.client, self.share.cycle, self.share.worker, self.share.ttl)
            self._busy_at = now
        except RedisError as exc:
            logger.warning("cycle %s: cannot mark %s busy: %s", self.share.cycle.run_id, self.share.worker, exc)

    def idle(self) -> None:
        """Nothing in hand: tell the cycle, and stay open (going back to the queue) while the cycle is."""
        share = self.share
        self._busy_at = 0.0
        try:
            mark_idle(share.client, share.cycle, share.worker)
            still_open = is_open(share.client, share.cycle)
        except RedisError as exc:  # unknown: wait for Redis (the crawl's time limit bounds the wait)
            logger.warning("cycle %s: redis unreachable while idle: %s", share.cycle.run_id, exc)
            still_open = True
        if still_open:
            # Look at the shared queue again in a second (Scrapy's own idle tick is every 5 s: a small site's
            # whole queue could be gone by then, taken by the workers that happened to look first).
            nextcall = getattr(getattr(self.crawler.engine, "_slot", None), "nextcall", None)
            if nextcall is not None:
                nextcall.schedule(IDLE_LOOK)
            raise DontCloseSpider
