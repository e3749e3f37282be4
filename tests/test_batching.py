"""Gathering single calls into batches: each caller gets its own result, a batch goes when full or soon."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from crawler.batching import Batcher

R = TypeVar("R")


def run(coroutine: Coroutine[Any, Any, R]) -> R:
    return asyncio.run(coroutine)


def test_each_caller_gets_its_own_result_and_full_batches_go_at_once() -> None:
    batches: list[list[int]] = []

    async def square(items: list[int]) -> list[int]:
        batches.append(list(items))
        await asyncio.sleep(0)
        return [i * i for i in items]

    async def main() -> list[int]:
        batcher: Batcher[int, int] = Batcher(square, size=4, wait=60)  # only full batches could go in time
        return await asyncio.wait_for(asyncio.gather(*(batcher.submit(i) for i in range(8))), 5)

    assert run(main()) == [i * i for i in range(8)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_a_partial_batch_goes_after_the_wait() -> None:
    batches: list[list[str]] = []

    async def upper(items: list[str]) -> list[str]:
        batches.append(list(items))
        return [s.upper() for s in items]

    async def main() -> list[str]:
        batcher: Batcher[str, str] = Batcher(upper, size=100, wait=0.01)
        first = await asyncio.wait_for(asyncio.gather(batcher.submit("a"), batcher.submit("b")), 5)
        second = await asyncio.wait_for(batcher.submit("c"), 5)
        return [*first, second]

    assert run(main()) == ["A", "B", "C"]
    assert batches == [["a", "b"], ["c"]]


def test_a_failing_batch_fails_each_of_its_callers_and_not_the_next() -> None:
    async def picky(items: list[int]) -> list[int]:
        if 13 in items:
            raise ValueError("unlucky batch")
        return items

    async def main() -> tuple[list[int | BaseException], int]:
        batcher: Batcher[int, int] = Batcher(picky, size=2, wait=0.01)
        failed = list(await asyncio.gather(batcher.submit(13), batcher.submit(1), return_exceptions=True))
        return failed, await batcher.submit(2)

    failed, later = run(main())
    assert [type(e) for e in failed] == [ValueError, ValueError]
    assert later == 2


def test_a_wrong_number_of_results_is_an_error() -> None:
    async def lossy(items: list[int]) -> list[int]:
        return items[:-1]

    async def main() -> None:
        batcher: Batcher[int, int] = Batcher(lossy, size=2, wait=0.01)
        await asyncio.gather(batcher.submit(1), batcher.submit(2))

    with pytest.raises(RuntimeError, match="2 items gave 1 results"):
        run(main())


def test_flush_sends_at_once() -> None:
    async def same(items: list[int]) -> list[int]:
        return items

    async def main() -> int:
        batcher: Batcher[int, int] = Batcher(same, size=10, wait=3600)
        waiting = asyncio.ensure_future(batcher.submit(7))
        await asyncio.sleep(0)
        await batcher.flush()
        return await asyncio.wait_for(waiting, 5)

    assert run(main()) == 7
