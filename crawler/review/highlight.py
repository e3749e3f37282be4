"""HTML of an article body with the matched terms marked: escaped first, then <mark>, split into paragraphs."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from crawler.rules.snippet import merge_spans


def spans_for(hits: Iterable[dict[str, Any]], field: str, size: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` spans of the stored hits in ``field`` that fit a text of ``size`` characters."""
    spans = []
    for hit in hits:
        try:
            if hit.get("field") != field:
                continue
            start, end = int(hit["start"]), int(hit["end"])
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            continue
        if 0 <= start < end <= size:
            spans.append((start, end))
    return merge_spans(sorted(spans))


def highlight(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` HTML-escaped with each span wrapped in ``<mark>`` (spans sorted, not overlapping)."""
    pieces = []
    cursor = 0
    for start, end in spans:
        if start < cursor:
            continue
        pieces.append(html.escape(text[cursor:start], quote=True))
        pieces.append(f"<mark>{html.escape(text[start:end], quote=True)}</mark>")
        cursor = end
    pieces.append(html.escape(text[cursor:], quote=True))
    return "".join(pieces)


def highlight_paragraphs(text: str, spans: Sequence[tuple[int, int]]) -> list[str]:
    """The body as a list of HTML paragraphs (split on blank lines or line breaks), terms marked.

    A mark never spans two paragraphs: spans are cut at the paragraph edges.
    """
    paragraphs: list[str] = []
    position = 0
    for line in text.split("\n"):
        low, high = position, position + len(line)
        position = high + 1
        if not line.strip():
            continue
        local = [(max(s, low) - low, min(e, high) - low) for s, e in spans if s < high and e > low]
        paragraphs.append(highlight(line, local))
    return paragraphs
