"""Render the review pages: the Jinja2 environment (autoescape always on) and its filters for untrusted values.

Titles, bodies, URLs and site names come from the web. They are escaped by autoescaping; links pass through
:func:`safe_url` (http and https only); the one piece of stored HTML, a match snippet, passes through
:func:`marked`, which keeps ``<mark>`` and escapes everything else.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from markupsafe import Markup

from crawler.review.stories import STATUS_LABELS

TEMPLATES = Path(__file__).parent / "templates"
_MARK = re.compile(r"(</?mark>)")


def safe_url(url: object) -> str | None:
    """``url`` when it is an absolute http(s) URL without control characters; None otherwise."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def marked(snippet: object) -> Markup:
    """A stored snippet as markup: ``<mark>`` tags kept, every other character escaped (idempotently)."""
    if not isinstance(snippet, str):
        return Markup("")
    pieces = []
    for piece in _MARK.split(snippet):
        if piece in ("<mark>", "</mark>"):
            pieces.append(piece)
        else:
            pieces.append(html.escape(html.unescape(piece), quote=True))
    text = "".join(pieces)
    # unbalanced tags from a damaged snippet would mark the rest of the page: drop them all then
    if text.count("<mark>") != text.count("</mark>"):
        text = text.replace("<mark>", "").replace("</mark>", "")
    return Markup(text)


def when(moment: object) -> str:
    """A UTC time as ``2026-12-05 08:12 UTC`` ("" for none)."""
    if not isinstance(moment, datetime):
        return ""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def day(moment: object) -> str:
    """A date as ``2026-12-05`` ("" for none)."""
    return moment.strftime("%Y-%m-%d") if isinstance(moment, datetime) else ""


def percent(value: object) -> str:
    """A share as ``83%`` ("–" for none)."""
    return f"{value:.0%}" if isinstance(value, float) else "–"


def with_query(path: str, params: Mapping[str, Any], **changes: Any) -> str:
    """``path`` with the non-empty ``params`` (updated with ``changes``) as its query string."""
    merged = {**params, **changes}
    query = urlencode([(k, v) for k, v in merged.items() if v not in (None, "", False)])
    return f"{path}?{query}" if query else path


def environment() -> jinja2.Environment:
    """The template environment: autoescape on for every template, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(safe_url=safe_url, marked=marked, when=when, day=day, percent=percent)
    env.globals.update(with_query=with_query, status_labels=STATUS_LABELS)
    return env
