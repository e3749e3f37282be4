"""Conditional re-fetching of feeds, sitemaps and listing pages (Scrapy's HTTP cache) and wire-byte counts.

Entry points are kept in Scrapy's HTTP cache and always revalidated (the spider asks with
``Cache-Control: max-age=0``): an unchanged feed costs one ``304 Not Modified`` answer and is read from the
cache. Article pages are never cached (``dont_cache``): a stored article is never fetched again anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.extensions.httpcache import RFC2616Policy
from scrapy.http import Response

REVALIDATE = {"Cache-Control": "max-age=0"}  # request headers of entry points: always ask the server


class RevalidatePolicy(RFC2616Policy):
    """RFC 2616 caching, except that a server error is reported as it is, not hidden behind the cached
    copy: a feed that answers 503 must count against the site's health."""

    def is_cached_response_valid(self, cachedresponse: Response, response: Response, request: Request) -> bool:
        return response.status == 304


class WireBytesMiddleware:
    """Counts what really arrives from the network (before the cache or decompression replace it):
    ``newswatch/wire_bytes`` (bodies as sent) and ``newswatch/not_modified`` (304 answers)."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WireBytesMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        if self.stats is not None and "cached" not in response.flags:  # a cached copy did not travel
            self.stats.inc_value("newswatch/wire_bytes", len(response.body))
            if response.status == 304:
                self.stats.inc_value("newswatch/not_modified")
        return response


def http_cache(folder: Path) -> dict[str, Any]:
    """Scrapy settings keeping the entry points' responses in ``folder`` (one sub-folder per site)."""
    return {
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": str(folder.resolve()),
        "HTTPCACHE_POLICY": "crawler.httpcache.RevalidatePolicy",
        "HTTPCACHE_STORAGE": "scrapy.extensions.httpcache.FilesystemCacheStorage",
        "HTTPCACHE_EXPIRATION_SECS": 0,
        "HTTPCACHE_GZIP": True,
    }
