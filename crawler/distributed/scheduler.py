"""scrapy-redis's scheduler for one crawl cycle, surviving Redis faults (a Scrapy component).

scrapy-redis lets a Redis error escape from ``enqueue_request`` and ``next_request``; inside Scrapy's
engine that leaves the crawl hanging for good (its callbacks never finish). Here a request that cannot be
queued is dropped and counted (its page is fetched by the next cycle: nothing stored is lost), a pop that
fails returns nothing, and the crawl stays open and tries again on the engine's next tick, until Redis is
back or the cycle's time limit closes it. Every request popped marks this worker busy with the cycle.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import RedisError
from scrapy import Request, signals
from scrapy_redis.scheduler import Scheduler

from crawler.distributed.cycles import is_open

logger = logging.getLogger(__name__)

WARN_EVERY = 10.0  # seconds between two warnings about Redis being unreachable
OPEN_CHECK = 1.0  # seconds between two looks at whether the cycle is still open


class CycleScheduler(Scheduler):
    """The shared request queue of one cycle (keys from the crawl's settings: see crawler.distributed.worker).

    A worker takes a request only while it holds fewer than ``NEWSWATCH_IN_FLIGHT`` pages (being fetched,
    or waiting for extraction and storage): fetching is fast and extraction slow, and without this bound
    the first worker to arrive would take the whole queue into its own backlog.
    """

    _warned = 0.0
    crawler: Any = None
    in_flight = 0

    held_back = False  # a request was refused because the worker was full
    _open_checked = 0.0
    _closed = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> CycleScheduler:
        instance = super().from_crawler(crawler)
        instance.crawler = crawler
        instance.in_flight = crawler.settings.getint("NEWSWATCH_IN_FLIGHT", 0)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(instance._item_done, signal=signal)
        return instance

    def _held(self) -> int:
        """Pages this worker holds: being downloaded, in the scraper, or in the item pipeline."""
        engine = getattr(self.crawler, "engine", None)
        slot = engine.scraper.slot if engine is not None else None
        if engine is None or slot is None:
            return 0
        return len(engine.downloader.active) + len(slot.queue) + len(slot.active) + slot.itemproc_size

    def _cycle_closed(self) -> bool:
        """Whether the cycle was closed by its scheduler (looked up at most once a second): then this
        worker takes and queues nothing more of it."""
        if self._closed:
            return True
        now = time.monotonic()
        if now - self._open_checked < OPEN_CHECK:
            return False
        self._open_checked = now
        share = getattr(self.spider, "share", None)
        if share is None:
            return False
        try:
            self._closed = not is_open(share.client, share.cycle)
        except RedisError as exc:
            self._fault("open check", exc)
        return self._closed

    def _saturated(self) -> bool:
        self.held_back = bool(self.in_flight) and self._held() >= self.in_flight
        return self.held_back

    def _item_done(self, *args: Any, **kwargs: Any) -> None:
        """A page left the pipeline: if the worker was full, ask the engine for the next request now (it
        would otherwise look again only at its next 5-second tick)."""
        if not self.held_back:
            return
        nextcall = getattr(getattr(getattr(self.crawler, "engine", None), "_slot", None), "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    def _fault(self, doing: str, exc: RedisError) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"newswatch/redis_errors/{doing}")
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY:
            self._warned = now
            logger.warning("redis unreachable (%s, queue %s): %s: %s", doing, self.queue_key, type(exc).__name__, exc)

    def enqueue_request(self, request: Request) -> bool:
        if self._cycle_closed():  # its page was not recorded: the next cycle fetches it
            return False
        try:
            if not request.dont_filter and self.df.request_seen(request):
                return False
            self.queue.push(request)
        except RedisError as exc:  # not queued: the page is left for the next cycle
            self._fault("enqueue", exc)
            logger.warning("not queued (redis unreachable): %s", request.url)
            return False
        if self.stats is not None:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self._cycle_closed() or self._saturated():  # when full: asked again as each page is done with
            return None
        try:
            request: Request | None = self.queue.pop(0)
        except RedisError as exc:
            self._fault("dequeue", exc)
            return None
        if self.stats is not None:
            self.stats.inc_value("newswatch/queue_pops" if request is not None else "newswatch/queue_empty_pops")
        if request is not None:
            if self.stats is not None:
                self.stats.inc_value("scheduler/dequeued/redis")
            busy = getattr(self.spider, "busy", None)
            if busy is not None:
                busy()
        return request

    def has_pending_requests(self) -> bool:
        if self._cycle_closed():
            return False
        try:
            return len(self) > 0
        except RedisError as exc:  # unknown: stay open and look again
            self._fault("length", exc)
            return True

    def open(self, spider: Any) -> None:
        self.spider = spider
        try:
            super().open(spider)
        except RedisError as exc:  # the queue object exists; Redis may come back before the cycle ends
            self._fault("open", exc)
