"""The extraction worker pool: real worker processes, pages in batches, a deadline per page, crashes contained."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from crawler.analysis import Analysis, AnalysisPool, analyse
from crawler.article import Match, Page
from crawler.rules import Rule, RuleSet

PARAGRAPHS = "".join(
    f"<p>Paragraph {i}: the phone maker said its new factory would employ hundreds of people and build "
    "handsets for customers across the region from next year.</p>"
    for i in range(6)
)


def html(title: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><article><h1>{title}</h1>{PARAGRAPHS}</article></body></html>"
    )


def page(title: str, number: int = 0, *, as_bytes: bool = False) -> Page:
    url = f"https://alpha.example/news/{number}/"
    if as_bytes:
        return Page("alpha", url, "", datetime.now(UTC), body=html(title).encode("cp1252"), encoding="cp1252")
    return Page("alpha", url, html(title), datetime.now(UTC))


class Misbehaving:
    """A matcher that misbehaves on cue (picklable: it is sent to the workers): a title with "slow" runs past
    any deadline in Python code, "stuck" does so where no alarm reaches it, "crash" kills the worker."""

    def __init__(self) -> None:
        self.rules = RuleSet.compile([Rule("phones", "phone AND factory")])

    def match(
        self, title: str, text: str, *, site: str | Sequence[str] | None = None, url: str | None = None
    ) -> list[Match]:
        if "slow" in title:
            time.sleep(30)
        if "stuck" in title:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # as if inside C code
            time.sleep(30)
        if "crash" in title:
            os._exit(3)
        if "bug" in title:
            raise KeyError("matcher bug")
        if "hog" in title:  # more than a worker may allocate (3 GiB; the machine could give it)
            hog = bytearray(3 * 1024**3)
            return [Match(f"hog-{len(hog)}")]
        return self.rules.match(title, text, site=site, url=url)


def analyse_all(pool: AnalysisPool, pages: list[Page]) -> list[Analysis]:
    async def main() -> list[Analysis]:
        return await asyncio.wait_for(asyncio.gather(*(pool.analyse(p, ("alpha", "Alpha Daily")) for p in pages)), 120)

    return asyncio.run(main())


@pytest.fixture(scope="module")
def pool() -> object:
    with AnalysisPool(Misbehaving(), workers=2, deadline=1.0, grace=2.0) as shared:
        yield shared


def test_workers_give_what_analysing_here_gives(pool: AnalysisPool) -> None:
    pages = [page(f"Phone maker opens factory {n}", n, as_bytes=n % 2 == 1) for n in range(20)]
    results = analyse_all(pool, pages)
    here = Misbehaving()
    for item, result in zip(pages, results, strict=True):
        expected = analyse(item, here, ("alpha", "Alpha Daily"))
        assert result.error is None and result.article is not None
        assert result.article == expected.article  # cp1252 bytes decoded in the worker
        assert [m.rule_id for m in result.matches] == ["phones"]
        assert result.signature is not None and expected.signature is not None
        assert list(result.signature.minhash.hashvalues) == list(expected.signature.minhash.hashvalues)


def test_a_page_past_its_deadline_is_stopped_and_its_batch_goes_on(pool: AnalysisPool) -> None:
    pages = [page("Phone maker opens factory", 1), page("A slow phone factory", 2), page("Phone factory bug", 3),
             page("Phone maker opens factory again", 4)]
    began = time.monotonic()
    results = analyse_all(pool, pages)
    assert time.monotonic() - began < 20  # the alarm stopped it, not the 30 s sleep
    assert [r.error for r in results] == [
        None, "extraction took more than 1 s", "extraction failed: KeyError: 'matcher bug'", None
    ]
    assert results[0].article is not None and results[3].article is not None


@pytest.mark.parametrize("culprit", ["A phone factory crash", "A stuck phone factory"])
def test_a_dead_or_stuck_worker_costs_only_its_own_page(pool: AnalysisPool, culprit: str) -> None:
    pages = [page(f"Phone maker opens factory {n}", n) for n in range(7)]
    pages.insert(3, page(culprit, 99))
    results = analyse_all(pool, pages)
    errors = [r.error for r in results]
    assert errors[3] in ("extraction failed: ProcessExpired", "extraction took more than 1 s")
    assert errors[:3] + errors[4:] == [None] * 7  # the rest of its batch, analysed again one by one
    assert all(r.article is not None for r in results[:3] + results[4:])
    # The pool replaced the worker and still works.
    assert analyse_all(pool, [page("Phone maker opens factory", 100)])[0].article is not None


def test_a_page_needing_too_much_memory_fails_alone(pool: AnalysisPool) -> None:
    pages = [page("Phone maker opens factory", 1), page("A phone factory hog", 2), page("Phone factory again", 3)]
    results = analyse_all(pool, pages)
    assert [r.error for r in results] == [None, "extraction failed: MemoryError: ", None]
    assert results[0].article is not None and results[2].article is not None


def test_deep_nesting_is_no_crash() -> None:
    """libxml2 stops at 256 levels: the content below is lost and the page is recorded as no article."""
    deep = "<html><body>" + "<div>" * 10_000 + PARAGRAPHS * 3 + "</div>" * 10_000 + "</body></html>"
    result = analyse(Page("alpha", "https://alpha.example/deep/", deep, datetime.now(UTC)), Misbehaving())
    assert result.error is None and result.skipped == "no article body"


def test_a_closed_pool_reports_each_page_and_does_not_raise() -> None:
    closed = AnalysisPool(Misbehaving(), workers=1)
    closed.close()
    [result] = analyse_all(closed, [page("Phone maker opens factory")])
    assert result.article is None and result.error and "unavailable" in result.error
