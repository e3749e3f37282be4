"""Credentials in a site's configured URLs (https://user:pass@host/feed.xml): sent to that origin only.

A configured feed, sitemap or listing URL may carry a user name and password. They are taken out of every
URL before it is fetched or logged (Twisted cannot connect to "user:pass@host", robots.txt would be asked for
at a broken address, and the password would end up in the logs and in the crawl run's message) and sent as
HTTP Basic ``Authorization`` with the requests to that URL's origin (scheme, host and port): its robots.txt,
feeds and articles. Every other request goes without an Authorization header, so a redirect to another host,
scheme or port never carries the password. A user name and password in a URL the site itself gives (a feed
item, a sitemap entry, a redirect) is dropped, never sent.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from w3lib.http import basic_auth_header

from crawler.netguard import origin

logger = logging.getLogger(__name__)

Origin = tuple[str, str, int]  # scheme, host, port


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without a user name and password, and those (percent-decoded) if it had them."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    user, _, password = parts.netloc.rpartition("@")[0].partition(":")
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])), (unquote(user), unquote(password))


def url_origin(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL; None for anything else."""
    where = origin(url)
    return None if where is None else (urlsplit(url).scheme, *where)


def site_credentials(urls: list[str]) -> dict[Origin, bytes]:
    """The ``Authorization`` header for each origin whose configured URL in ``urls`` names a user."""
    found: dict[Origin, bytes] = {}
    for url in urls:
        clean, credentials = split_credentials(url)
        where = url_origin(clean)
        if credentials is not None and where is not None:
            found[where] = basic_auth_header(*credentials)
    return found


class SiteCredentialsMiddleware:
    """Downloader middleware: strip credentials from URLs, send the configured ones to their origin only."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._headers: dict[Origin, bytes] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteCredentialsMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> Request | None:
        if self._headers is None:
            site: Any = getattr(self.crawler.spider, "site", None)
            self._headers = site_credentials(site.start_urls()) if site is not None else {}
        url, credentials = split_credentials(request.url)
        if credentials is not None:  # fetched (and logged) under the URL without them; back through here
            return request.replace(url=url)
        header = self._headers.get(url_origin(url) or ("", "", 0))
        if header is not None:
            request.headers[b"Authorization"] = header
        elif request.headers.pop(b"Authorization", None) is not None:
            logger.info("dropped an Authorization header for %s: not a configured origin", url)
        return None
