"""Export flagged articles as CSV or JSON: plain values, no formulas a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any

from crawler.review.stories import STATUS_LABELS, StoryItem

COLUMNS = ("id", "found", "published", "site", "title", "url", "rules", "status", "note", "review_url")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# Terminal and bidi controls (the set crawler.cli.clean removes): no escape sequence or reordered text in a cell.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def csv_safe(value: str) -> str:
    """A cell that spreadsheets show as text: control characters blanked, and a formula character at the start
    (blanks before it included) gets a quote in front."""
    value = _CONTROL.sub(" ", value)
    risky = value.startswith(_FORMULA_START) or value.lstrip().startswith(_FORMULA_START)
    return "'" + value if risky else value


def escape_controls(json_text: str) -> str:
    """JSON text with its control and bidi characters written as ``\\uXXXX`` escapes: the same data, harmless on
    a terminal (``json.dumps`` escapes only C0 controls; these can only occur inside strings)."""
    return _CONTROL.sub(lambda found: f"\\u{ord(found.group()):04x}", json_text)


def review_url(article_id: int, base_url: str | None) -> str | None:
    """The link to the article's review page, when the review pages' URL (NEWSWATCH_BASE_URL) is known."""
    return f"{base_url.rstrip('/')}/stories/{article_id}" if base_url else None


def record(item: StoryItem, base_url: str | None = None) -> dict[str, Any]:
    """One exported row as plain JSON values."""
    return {
        "id": item.article_id,
        "found": item.found.isoformat(),
        "published": item.published.isoformat() if item.published else None,
        "site": item.site_id,
        "title": item.title,
        "url": item.url,
        "rules": list(item.rules),
        "status": STATUS_LABELS.get(item.status, item.status),
        "note": item.note,
        "review_url": review_url(item.article_id, base_url),
    }


def to_json(items: Sequence[StoryItem], base_url: str | None = None) -> str:
    """A JSON array of the rows (readable non-ASCII text; control and bidi characters escaped)."""
    return escape_controls(json.dumps([record(i, base_url) for i in items], ensure_ascii=False, indent=1))


def to_csv(items: Sequence[StoryItem], base_url: str | None = None) -> str:
    """CSV with a header row; text cells neutralised against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for item in items:
        row = record(item, base_url)
        cells = []
        for column in COLUMNS:
            value = row[column]
            if isinstance(value, list):
                value = "; ".join(value)
            cells.append("" if value is None else csv_safe(str(value)))
        writer.writerow(cells)
    return buffer.getvalue()
