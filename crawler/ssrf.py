"""Scrapy side of the private-network guard: a downloader middleware for URLs, a resolver for names.

The rules are in :mod:`crawler.netguard`. :class:`PrivateNetworkMiddleware` sees every request the crawl
sends (redirect hops, robots.txt and sitemap children too) and refuses those to a private address written
as a literal, or to a private host the site's configuration does not name. :class:`GuardedResolver`
resolves the host names and refuses a private answer unless the host is one a configuration names: since
the crawl connects to the address the resolver returns, a name cannot be re-pointed at a private address
between the check and the connection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from crawler.netguard import is_public, origin, origins, refusal

logger = logging.getLogger(__name__)

DNS_TIMEOUT = 10.0


class PrivateAddressRefused(IgnoreRequest):
    """A request the guard refused: its message names the URL and why."""


def private_origins(site: Any) -> frozenset[tuple[str, int]]:
    """The (host, port) pairs a site configuration allows on private addresses: its own entry points when
    it sets ``allow_private_network``, else none."""
    if not getattr(site, "allow_private_network", False):
        return frozenset()
    urls = [*site.feeds, *site.sitemaps, *(listing.url for listing in site.listings)]
    return origins(urls)


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching IPv4 resolver, refusing an answer that is not a public address unless the name is
    one of :meth:`allow`'s (a configured private site's own host)."""

    def __init__(self, reactor: Any, cache_size: int = 10_000, timeout: float = DNS_TIMEOUT) -> None:
        super().__init__(reactor, cache_size, timeout)
        self._allowed: set[str] = set()
        self._lock = threading.Lock()

    def allow(self, hosts: Iterable[str]) -> None:
        """Let these host names resolve to private addresses (for as long as this process runs)."""
        with self._lock:
            self._allowed.update(host.lower().rstrip(".") for host in hosts)

    def allowed_hosts(self) -> frozenset[str]:
        """The host names :meth:`allow` has let resolve to private addresses."""
        with self._lock:
            return frozenset(self._allowed)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        resolved = super().getHostByName(name, timeout)
        resolved.addCallback(self._checked, name)
        return resolved

    def _checked(self, address: str, name: str) -> str:
        if is_public(address) or name.lower().rstrip(".") in self._allowed:
            return address
        logger.warning("refused %s: it resolves to %s, not a public address", name, address)
        raise DNSLookupError(f"{name} resolves to {address}, not a public address: refused")


_resolver: GuardedResolver | None = None


def install_resolver(hosts: Iterable[str] = ()) -> GuardedResolver:
    """Install the guarded resolver on the running reactor (once per process) and let ``hosts`` resolve
    to private addresses. Scrapy's CrawlerRunner does not install a resolver itself."""
    global _resolver
    from twisted.internet import reactor

    if _resolver is None:
        _resolver = GuardedResolver(reactor)
        reactor.installResolver(_resolver)
    _resolver.allow(hosts)
    return _resolver


class PrivateNetworkMiddleware:
    """Refuse requests to private addresses (downloader middleware, before anything else sees them)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._allowed: frozenset[tuple[str, int]] | None = None
        self._mine: frozenset[str] = frozenset()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateNetworkMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self._allowed is None:
            site = getattr(self.crawler.spider, "site", None)
            self._allowed = private_origins(site)
            self._mine = frozenset(host for host, _port in self._allowed)
        # Host names other sites may reach on private addresses (read per request: sites crawled in this
        # process add theirs as they start) are refused here unless this site names them.
        others = _resolver.allowed_hosts() if _resolver is not None else frozenset()
        reason = refusal(request.url, self._allowed, others - self._mine)
        if reason is None:
            return
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("newswatch/private_refused")
        logger.warning("refused %s: %s", request.url, reason)
        raise PrivateAddressRefused(f"refused {request.url}: {reason}")


__all__ = [
    "GuardedResolver",
    "PrivateAddressRefused",
    "PrivateNetworkMiddleware",
    "install_resolver",
    "origin",
    "private_origins",
]
