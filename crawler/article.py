"""The values passed between pipeline stages: fetched pages, extracted articles, rule matches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Page:
    """A fetched HTML page waiting for extraction."""

    site_id: str
    url: str
    html: str
    fetched_at: datetime
    # Publication date and title announced by the feed or sitemap that linked the page, if any.
    listed_published: datetime | None = None
    listed_title: str | None = None
    # The URL that was requested, when a redirect led elsewhere.
    requested_url: str | None = None


@dataclass(frozen=True)
class PageFailure:
    """A page that could not be turned into an article before extraction: failed fetch or not HTML.

    ``status`` is "error" (may be retried on a later crawl) or "skipped" (never an article).
    """

    site_id: str
    url: str
    status: str
    reason: str
    http_status: int | None = None


@dataclass(frozen=True)
class Article:
    """The clean article extracted from one page."""

    url: str
    canonical_url: str
    title: str
    text: str
    author: str | None = None
    published: datetime | None = None  # timezone-aware (UTC) when known
    language: str | None = None
    sitename: str | None = None


@dataclass(frozen=True)
class Skipped:
    """A page that is not stored as an article, and why (an expected miss, not an error)."""

    url: str
    reason: str


@dataclass(frozen=True)
class Match:
    """One rule that flagged one article, with the terms that made it match."""

    rule_id: str
    terms: list[str] = field(default_factory=list)
