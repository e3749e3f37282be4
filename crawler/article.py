"""The values passed between pipeline stages: fetched pages, extracted articles, rule matches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Page:
    """A fetched HTML page waiting for extraction."""

    site_id: str
    url: str
    html: str = field(repr=False)
    fetched_at: datetime
    # Publication date and title announced by the feed or sitemap that linked the page, if any.
    listed_published: datetime | None = None
    listed_title: str | None = None
    # The URL that was requested, when a redirect led elsewhere.
    requested_url: str | None = None
    # The undecoded body and its encoding (as the response declared or Scrapy detected it): the spider sends
    # these instead of ``html`` so that decoding happens in the extraction worker, not on the reactor.
    body: bytes | None = field(default=None, repr=False)
    encoding: str | None = None


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
class Amount:
    """A money amount found in the text: normalised value and currency, its US-dollar value if known."""

    text: str  # as written, e.g. "5 trillion won"
    value: float  # e.g. 5e12
    currency: str  # ISO 4217 code, e.g. "KRW"
    usd: float | None = None  # at the fixed reference rates of the configuration
    field: str = "body"
    start: int = 0  # character offsets in that field
    end: int = 0


@dataclass(frozen=True)
class Hit:
    """Where a query term matched: field ("title" or "body") and character offsets in it."""

    term: str
    field: str
    start: int
    end: int


@dataclass(frozen=True)
class Match:
    """One rule that flagged one article, and why: the terms, where they occur, a snippet, the amounts."""

    rule_id: str
    terms: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    snippet: str | None = None  # HTML: the text escaped first, then hits wrapped in <mark>
    amounts: list[Amount] = field(default_factory=list)
