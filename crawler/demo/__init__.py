"""The Circuit Ledger: a small sample news site bundled with Newswatch, served from memory on 127.0.0.1.

``newswatch demo`` crawls it through the real pipeline, and end-to-end tests use it as a realistic target:
36 labelled stories (plus held-back reserve stories and a too-short stub), article pages in two layouts
full of boilerplate, paginated listings, RSS / Atom feeds, a sitemap index with a Google News sitemap,
robots.txt with a forbidden ``/private/`` area, conditional GETs and per-path hit counts.

>>> with SampleSite(now=datetime(2025, 11, 20, 6, 0, tzinfo=UTC)) as site:  # doctest: +SKIP
...     site.url(site.articles[0])
'http://127.0.0.1:43123/2025/11/20/lumora-raises-200m-for-ai-customer-service-agents/'

Modules: ``content`` (records, labels and the ``articles.toml`` loader), ``render`` (HTML pages),
``feeds`` (feeds, sitemaps, robots.txt), ``assets`` (PNG, PDF, CSS), ``server`` (HTTP and SampleSite).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler.demo.content import (
    SITE_TZ,
    Author,
    Block,
    SampleArticle,
    Section,
    load_articles,
    load_authors,
    load_reserve_articles,
    load_sections,
    load_stub_articles,
)

if TYPE_CHECKING:
    from crawler.demo.server import NON_ARTICLE_PATHS, PRESS_KIT_PATH, PRIVATE_PATH, SampleSite

_SERVER_NAMES = {"NON_ARTICLE_PATHS", "PRESS_KIT_PATH", "PRIVATE_PATH", "SampleSite"}


def __getattr__(name: str) -> Any:
    # The server module is imported on first use, so that `python -m crawler.demo.server` runs it only once.
    if name in _SERVER_NAMES:
        from crawler.demo import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "NON_ARTICLE_PATHS",
    "PRESS_KIT_PATH",
    "PRIVATE_PATH",
    "SITE_TZ",
    "Author",
    "Block",
    "SampleArticle",
    "SampleSite",
    "Section",
    "load_articles",
    "load_authors",
    "load_reserve_articles",
    "load_sections",
    "load_stub_articles",
]
