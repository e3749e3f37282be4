"""Build the HTML snippet of a match: a window of the text around the densest hits, escaped, hits marked.

The window (about :data:`WIDTH` characters) is taken from the body if a hit is there, else from the title;
among the windows of that width it is the one holding the most hits (ties: the earliest), widened to whole
words. The text is HTML-escaped first, piece by piece, and only then are the hits wrapped in
``<mark>…</mark>``, so nothing from the article can become markup. Runs of white space become one space;
"…" marks a cut at either end.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

WIDTH = 240
_SLACK = 30  # how far a window edge may move to reach a word boundary
_SPACES = re.compile(r"\s+")


def make_snippet(text: str, spans: Sequence[tuple[int, int]], width: int = WIDTH) -> str:
    """HTML for a window of ``text`` around the densest of ``spans`` (``[start, end)`` offsets in ``text``).

    Without spans, the start of the text.
    """
    marks = merge_spans(sorted((start, end) for start, end in spans if 0 <= start < end <= len(text)))
    low, high = _window(text, marks, width)
    pieces: list[str] = ["…"] if low > 0 else []
    cursor = low
    for start, end in marks:
        if end <= low or start >= high:
            continue
        start, end = max(start, low), min(end, high)
        pieces.append(_escape(text[cursor:start]))
        pieces.append(f"<mark>{_escape(text[start:end])}</mark>")
        cursor = end
    pieces.append(_escape(text[cursor:high]))
    if high < len(text):
        pieces.append("…")
    return "".join(pieces).strip()


def _escape(piece: str) -> str:
    return html.escape(_SPACES.sub(" ", piece), quote=True)


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans joined (a phrase and a word inside it are marked once)."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window(text: str, marks: list[tuple[int, int]], width: int) -> tuple[int, int]:
    """``[low, high)`` of the window to show."""
    size = len(text)
    if size <= width:
        return 0, size
    if not marks:
        return 0, _word_end(text, width)
    best_count, best_first, best_last = 0, 0, 0
    last = 0
    for first in range(len(marks)):  # two pointers: marks[first..last] fit in the width
        last = max(last, first)
        while last + 1 < len(marks) and marks[last + 1][1] - marks[first][0] <= width:
            last += 1
        if last - first + 1 > best_count:
            best_count, best_first, best_last = last - first + 1, first, last
    start, end = marks[best_first][0], marks[best_last][1]
    spare = max(0, width - (end - start))
    low = max(0, start - spare // 2)
    high = min(size, low + max(width, end - low))
    low = max(0, min(low, high - width))
    return _word_start(text, low, start), _word_end(text, high, end)


def _word_start(text: str, low: int, limit: int) -> int:
    """``low`` moved back (or forward, not past ``limit``) to the start of a word."""
    if low == 0 or text[low - 1].isspace():
        return low
    back = text.rfind(" ", max(0, low - _SLACK), low)
    if back >= 0:
        return back + 1
    ahead = text.find(" ", low, min(limit, low + _SLACK))
    return ahead + 1 if ahead >= 0 else low


def _word_end(text: str, high: int, limit: int = 0) -> int:
    """``high`` moved forward (or back, not before ``limit``) to the end of a word."""
    size = len(text)
    if high >= size or text[high].isspace():
        return min(high, size)
    ahead = text.find(" ", high, min(size, high + _SLACK))
    if ahead >= 0:
        return ahead
    back = text.rfind(" ", max(limit, high - _SLACK), high)
    return back if back > limit else high
