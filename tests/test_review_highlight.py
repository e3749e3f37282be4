"""Marked article bodies: stored hits to spans, HTML escaped before marking, paragraphs with marks cut at edges."""

from __future__ import annotations

from typing import Any

from crawler.review.highlight import highlight, highlight_paragraphs, spans_for


def test_spans_for_keeps_the_fields_hits_that_fit_sorted_and_merged() -> None:
    hits: list[Any] = [
        {"term": "b", "field": "body", "start": 20, "end": 25},
        {"term": "a", "field": "body", "start": 2, "end": 6},
        {"term": "a", "field": "body", "start": 4, "end": 9},  # overlaps the previous: merged
        {"term": "c", "field": "body", "start": 9, "end": 11},  # touches it: merged too
        {"term": "t", "field": "title", "start": 0, "end": 3},
        {"term": "x", "field": "body", "start": 28, "end": 31},  # past the end of the text
        {"term": "x", "field": "body", "start": 5, "end": 5},  # empty
        {"term": "x", "field": "body", "start": -1, "end": 2},
        {"term": "x", "field": "body", "start": "12", "end": "14"},  # numbers as text still count
    ]
    assert spans_for(hits, "body", 30) == [(2, 11), (12, 14), (20, 25)]
    assert spans_for(hits, "title", 30) == [(0, 3)]
    assert spans_for([], "body", 30) == []


def test_spans_for_skips_malformed_stored_hits() -> None:
    malformed: list[Any] = [
        None,
        "body",
        ["body", 1, 2],
        {},
        {"field": "body"},
        {"field": "body", "start": None, "end": 4},
        {"field": "body", "start": "one", "end": 4},
        {"field": "body", "start": float("nan"), "end": 4},
        {"field": "body", "start": float("inf"), "end": 4},
        {"field": "body", "start": 1, "end": float("-inf")},
        {"field": "body", "start": 1, "end": 3},
    ]
    assert spans_for(malformed, "body", 10) == [(1, 3)]


def test_highlight_escapes_the_text_and_marks_the_spans() -> None:
    text = 'AT&T <script>alert("x")</script> buys Kobo\'s robots'
    start = text.index("<script>")
    end = text.index("</script>") + len("</script>")
    robots = text.index("robots")
    html = highlight(text, [(start, end), (robots, robots + 6)])
    assert html == (
        "AT&amp;T <mark>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</mark> buys Kobo&#x27;s <mark>robots</mark>"
    )
    assert "<script" not in html
    assert highlight("a < b", []) == "a &lt; b"
    assert highlight("", []) == ""


def test_highlight_skips_spans_that_overlap_an_earlier_one() -> None:
    assert highlight("abcdef", [(0, 3), (2, 5), (4, 6)]) == "<mark>abc</mark>d<mark>ef</mark>"


def test_paragraphs_split_on_line_breaks_with_marks_cut_at_the_edges() -> None:
    text = "First <p>aragraph with robots.\n\nSecond one & more robots\n  \nThird."
    robots = [text.index("robots"), text.rindex("robots")]
    across = (text.index("with"), text.index("Second") + len("Second"))  # runs over the blank line
    spans = sorted([(robots[0], robots[0] + 6), (robots[1], robots[1] + 6), across])
    assert highlight_paragraphs(
        text, spans_for([{"field": "body", "start": s, "end": e} for s, e in spans], "body", len(text))
    ) == [
        "First &lt;p&gt;aragraph <mark>with robots.</mark>",
        "<mark>Second</mark> one &amp; more <mark>robots</mark>",
        "Third.",
    ]


def test_paragraph_offsets_follow_the_original_text() -> None:
    text = "one\ntwo\r\nthree"
    three = text.index("three")
    assert highlight_paragraphs(text, [(three, three + 5)]) == ["one", "two\r", "<mark>three</mark>"]
    assert highlight_paragraphs(text, [(0, len(text))]) == [
        "<mark>one</mark>",
        "<mark>two\r</mark>",
        "<mark>three</mark>",
    ]
    assert highlight_paragraphs("", []) == []
    assert highlight_paragraphs("\n\n", []) == []
