"""Keep every request of a crawl on its site's domains: redirect hops and ``dont_filter`` requests too.

Scrapy's own offsite filter lets through any request with ``dont_filter`` (which every Newswatch request
has: the spider keeps its own list of requested URLs) or ``allow_offsite``, and allows everything when
``allowed_domains`` is empty. :class:`SiteScopeMiddleware` takes its place without those ways round: a
request is sent only to the site's ``allowed_domains`` (or a subdomain) or to a host its configuration
names as an entry point (a feed on feeds.example.net for a site on example.com). A site with no domain at
all sends nothing.
"""

from __future__ import annotations

import logging

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

from crawler.urls import host_allowed

logger = logging.getLogger(__name__)

class OffsiteRefused(IgnoreRequest):
    """A request to a host outside the site's domains; its message names the URL."""


def scope_domains(spider: Spider) -> list[str]:
    """The domains a spider's requests may go to: its ``allowed_domains`` and the hosts of its site's
    configured entry points."""
    domains = [d for d in getattr(spider, "allowed_domains", None) or [] if d]
    site = getattr(spider, "site", None)
    if site is not None:
        domains += [d for d in site.start_domains() if d not in domains]
    return domains


class SiteScopeMiddleware(OffsiteMiddleware):
    """Scrapy's offsite filter, applied to every request (counted in ``offsite/filtered``)."""

    _scope: list[str] | None = None

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        """Not checked when scheduled: a request dropped there never reaches its errback, and a redirect
        off the site would go unrecorded (and be fetched again on every crawl)."""

    def should_follow(self, request: Request, spider: Spider) -> bool:
        if self._scope is None:
            self._scope = scope_domains(spider)
        return host_allowed(urlparse_cached(request).hostname or "", self._scope)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        assert self.crawler.spider
        if self.should_follow(request, self.crawler.spider):
            return
        host = urlparse_cached(request).hostname or ""
        if host and host not in self.domains_seen:
            self.domains_seen.add(host)
            self.stats.inc_value("offsite/domains")
        self.stats.inc_value("offsite/filtered")
        logger.info("refused %s: %r is outside the site's domains", request.url, host)
        raise OffsiteRefused(f"refused {request.url}: {host!r} is outside the site's domains")
