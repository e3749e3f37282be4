"""Gather single asynchronous calls into batches: one call of an expensive step for many items.

Sending one page at a time to a worker process, or committing one article per transaction, costs a fixed
overhead per item (a pickled message, thread hand-offs, an fsync) that is a large share of the work when
the items are small. A :class:`Batcher` lets each caller keep awaiting its own item while the step runs
once per batch: a batch goes as soon as it is full, or ``wait`` seconds after its first item (so a lone item
is never held up for long).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """``await batcher.submit(item)`` returns ``item``'s result from ``run(batch)``.

    ``run`` gets a list of items and returns one result per item, in order; if it raises, every caller of
    that batch gets the exception. Use it from one event loop.
    """

    def __init__(self, run: Callable[[list[T]], Awaitable[Sequence[R]]], size: int, wait: float = 0.005) -> None:
        if size < 1:
            raise ValueError("a batch holds at least one item")
        self._run = run
        self.size = size
        self.wait = wait
        self._items: list[T] = []
        self._futures: list[asyncio.Future[R]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        """Add ``item`` to the current batch and wait for its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._items.append(item)
        self._futures.append(future)
        if len(self._items) >= self.size:
            self._send()
        elif self._timer is None:
            self._timer = loop.call_later(self.wait, self._send)
        return await future

    def _send(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._items:
            return
        items, futures = self._items, self._futures
        self._items, self._futures = [], []
        task = asyncio.get_running_loop().create_task(self._deliver(items, futures))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _deliver(self, items: list[T], futures: list[asyncio.Future[R]]) -> None:
        try:
            results = await self._run(items)
            if len(results) != len(items):
                raise RuntimeError(f"a batch of {len(items)} items gave {len(results)} results")
        except BaseException as exc:  # every caller of the batch hears of it, cancellation included
            for future in futures:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
            if not isinstance(exc, Exception):
                raise
            return
        for future, result in zip(futures, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def flush(self) -> None:
        """Send what is gathered now and wait until every batch sent so far has been delivered."""
        self._send()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
