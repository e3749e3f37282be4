"""The generic news spider: reads a site's feeds, sitemaps and listing pages and fetches unseen articles."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure
from w3lib.encoding import http_content_type_encoding

from crawler.article import Page, PageFailure
from crawler.config import SiteConfig
from crawler.discovery import (
    DiscoveryError,
    Link,
    links_from_feed,
    links_from_listing,
    looks_like_page,
    parse_sitemap,
)
from crawler.errors import Cause, explain
from crawler.httpcache import REVALIDATE
from crawler.robots import RobotsUnavailable
from crawler.scope import OffsiteRefused
from crawler.ssrf import PrivateAddressRefused
from crawler.urls import canonicalize_url, host_allowed, host_of

logger = logging.getLogger(__name__)

MAX_CHILD_SITEMAPS = 50
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass
class CrawlContext:
    """What a crawl of one site needs from outside Scrapy (injected by crawler.crawl)."""

    site: SiteConfig
    seen: Callable[[list[str]], set[str]]  # canonical URLs that need no fetch
    max_age: timedelta | None = timedelta(days=30)  # links announced as older than this are not fetched
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    processor: Any = None  # crawler.process.PageProcessor, used by the item pipeline
    pool: Any = None  # crawler.analysis.AnalysisPool: extraction in worker processes (None: in threads)
    # Shared crawls (crawler.distributed): of these URLs, those this crawl may fetch (no other worker took
    # them); None: every URL is this crawl's own.
    claim: Callable[[list[str]], set[str]] | None = None


class NewsSpider(scrapy.Spider):
    """Crawl one configured site once: entry points first, then the article pages they announce."""

    name = "news"

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(name=f"news-{context.site.id}", **kwargs)
        self.context = context
        self.site = context.site
        self.allowed_domains = list(self.site.allowed_domains)
        if not self.allowed_domains:  # crawler.config fills them in; an empty list would mean "anywhere"
            raise ValueError(f"site {self.site.id}: no allowed_domains")
        self.source_errors: list[str] = []
        # The feeds, sitemaps and listing pages that failed this crawl (as configured or listed), and why.
        self.failed_sources: dict[str, str] = {}
        # Why each of them failed, in plain words, with its kind ("feed", "sitemap", "listing"): the crawl's
        # summary names the root cause (crawler.errors.summarize).
        self.source_causes: dict[str, tuple[str, Cause]] = {}
        # Why article pages could not be fetched, in plain words: how many pages each.
        self.article_causes: Counter[str] = Counter()
        self._queued: set[str] = set()
        # Sitemaps requested in this crawl (canonical URLs): none is read twice.
        self._sitemaps: set[str] = {canonicalize_url(url) for url in self.site.sitemaps}
        # What feeds and sitemaps said about each queued URL; a later source fills in a missing date or title.
        self._listed: dict[str, Link] = {}

    # ------------------------------------------------------------------ entry points

    async def start(self) -> AsyncIterator[Any]:
        """Requests for every feed, sitemap and listing page of the site."""
        for request in self.entry_requests():
            yield request

    def entry_requests(self) -> list[scrapy.Request]:
        """The requests for the site's feeds, sitemaps and listing pages."""
        requests = [self._source_request(url, self.parse_feed, "feed") for url in self.site.feeds]
        requests += [self._source_request(url, self.parse_sitemap, "sitemap") for url in self.site.sitemaps]
        for listing in self.site.listings:
            request = self._source_request(listing.url, self.parse_listing, "listing")
            request.meta["links_selector"] = listing.links
            requests.append(request)
        return requests

    def _claimed(self, urls: list[str]) -> set[str]:
        """Of ``urls`` (canonical), those this crawl fetches: all of them, unless the crawl is shared."""
        return set(urls) if self.context.claim is None else self.context.claim(urls)

    def _source_request(self, url: str, callback: Callable[..., Any], kind: str) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.source_failed,
            dont_filter=True,
            meta={"source": kind, "entry": url},
            headers=REVALIDATE,  # with the HTTP cache on: a conditional GET, 304 when unchanged
            priority=10,
        )

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        """Article requests for the feed's items."""
        headers = {k.decode("latin-1").lower(): v[0].decode("latin-1") for k, v in response.headers.items() if v}
        try:
            links = links_from_feed(response.body, response.url, headers)
        except DiscoveryError as exc:
            self._source_error(response, "feed", Cause(str(exc)))
            return
        logger.info("feed %s lists %d items", response.url, len(links))
        yield from self._follow(links, response.url)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        """Child-sitemap requests (newest first) or article requests for a sitemap's URLs."""
        try:
            doc = parse_sitemap(response.body, response.url)
        except DiscoveryError as exc:
            self._source_error(response, "sitemap", Cause(str(exc)))
            return
        if not doc.is_index:
            logger.info("sitemap %s lists %d URLs", response.url, len(doc.links))
            yield from self._follow(doc.links, response.url)
            return
        children = [link for link in doc.links if not self._too_old(link)]
        children.sort(key=lambda link: link.published or datetime.min.replace(tzinfo=UTC), reverse=True)
        # Child sitemaps are .xml / .xml.gz files: only their scheme and host are checked. Each is read once
        # per crawl, however many indexes list it (an index listing itself, or two listing each other).
        wanted: dict[str, str] = {}
        for link in children[:MAX_CHILD_SITEMAPS]:
            web = urlsplit(link.url).scheme in ("http", "https")
            sitemap = canonicalize_url(link.url)
            if web and host_allowed(host_of(link.url), self.site.allowed_domains) and sitemap not in self._sitemaps:
                wanted.setdefault(sitemap, link.url)
        self._sitemaps.update(wanted)
        granted = self._claimed([f"sitemap:{sitemap}" for sitemap in wanted])
        for sitemap, url in wanted.items():
            if f"sitemap:{sitemap}" in granted:
                yield self._source_request(url, self.parse_sitemap, "sitemap")

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        """Article requests for the links of a listing page (optionally picked by a CSS selector)."""
        if not isinstance(response, TextResponse):
            self._source_error(response, "listing", Cause("not a web page (not text)"))
            return
        links = links_from_listing(response.text, response.url, response.meta.get("links_selector"))
        logger.info("listing %s links to %d pages", response.url, len(links))
        yield from self._follow(links, response.url)

    def source_failed(self, failure: Failure) -> None:
        """A feed, sitemap or listing page could not be fetched: record it, the crawl goes on."""
        request = failure.request  # type: ignore[attr-defined]
        self._count_http(failure)
        self._source_error(request, request.meta.get("source", "source"), explain(failure, request.url))

    def _count_http(self, failure: Failure) -> None:
        """Count HTTP error answers by class for the site's health: 403, 429 and 5xx."""
        if not isinstance(failure.value, HttpError) or not self.crawler.stats:
            return
        code = failure.value.response.status
        key = "5xx" if 500 <= code < 600 else str(code) if code in (403, 429) else "other"
        self.crawler.stats.inc_value(f"newswatch/http_{key}")

    def _source_error(self, got: Response | scrapy.Request, kind: str, cause: Cause) -> None:
        url = got.url
        message = f"{kind}: {cause.phrase}"
        logger.error("site %s: cannot read %s: %s", self.site.id, url, message)
        self.source_errors.append(f"{url}: {message}")
        entry = got.meta.get("entry") or url
        self.failed_sources[entry] = message
        self.source_causes[entry] = (kind, cause)
        if self.crawler.stats:
            self.crawler.stats.inc_value("newswatch/source_errors")

    # ------------------------------------------------------------------ articles

    def _in_scope(self, url: str) -> bool:
        return looks_like_page(url) and host_allowed(host_of(url), self.site.allowed_domains)

    def _too_old(self, link: Link) -> bool:
        max_age = self.context.max_age
        return bool(max_age and link.published and link.published < self.context.now() - max_age)

    def _follow(self, links: Iterable[Link], source_url: str) -> Iterator[scrapy.Request]:
        candidates: dict[str, Link] = {}
        for link in links:
            if not self._in_scope(link.url) or not self.site.url_wanted(link.url) or self._too_old(link):
                continue
            canonical = canonicalize_url(link.url)
            if canonical in self._queued:
                self._remember(canonical, link)
            elif canonical not in candidates:
                candidates[canonical] = link
        if not candidates:
            return
        known = self.context.seen(list(candidates))
        wanted = []
        for canonical, link in candidates.items():
            if canonical in known:
                if self.crawler.stats:
                    self.crawler.stats.inc_value("newswatch/already_seen")
            elif canonical not in self._queued:
                wanted.append((canonical, link))
        # All claimed before the first request is yielded: Scrapy consumes two callbacks' requests
        # concurrently, and a URL claimed only as it is yielded could be queued by both.
        self._queued.update(canonical for canonical, _link in wanted)
        granted = self._claimed([canonical for canonical, _link in wanted]) if wanted else set()
        for canonical, link in wanted:
            if canonical not in granted:  # another worker of a shared crawl has it
                if self.crawler.stats:
                    self.crawler.stats.inc_value("newswatch/claimed_elsewhere")
                continue
            self._remember(canonical, link)
            # The canonical spelling is fetched: same page, without tracking parameters or fragments.
            # dont_filter: the spider keeps its own list of URLs requested (``_queued``); Scrapy's duplicate
            # filter would silently drop a redirect loop's way back, leaving the page unrecorded.
            yield scrapy.Request(
                canonical,
                callback=self.parse_article,
                errback=self.article_failed,
                dont_filter=True,
                meta={"link": link, "canonical": canonical, "source_url": source_url, "dont_cache": True},
            )

    def _remember(self, canonical: str, link: Link) -> None:
        known = self._listed.get(canonical)
        if known is None:
            self._listed[canonical] = link
        elif (link.published and not known.published) or (link.title and not known.title):
            self._listed[canonical] = Link(known.url, known.published or link.published, known.title or link.title)

    def parse_article(self, response: Response) -> Iterator[Page | PageFailure]:
        """The fetched page, for the pipeline to extract and store; non-HTML responses are skipped."""
        link: Link = self._listed.pop(response.meta.get("canonical", ""), response.meta["link"])
        content_type_header = (response.headers.get("Content-Type") or b"").decode("latin-1")
        content_type = content_type_header.split(";")[0].strip().lower()
        if not isinstance(response, TextResponse) or (content_type and content_type not in _HTML_TYPES):
            reason = f"not HTML ({content_type or 'no content type'})"
            logger.info("skipped %s: %s", response.url, reason)
            yield PageFailure(self.site.id, response.url, "skipped", reason, response.status)
            return
        yield Page(
            site_id=self.site.id,
            url=response.url,
            html="",
            body=response.body,
            # The charset the server declared, if any: the worker decodes (BOM, <meta>, detection), not the reactor.
            encoding=http_content_type_encoding(content_type_header),
            fetched_at=self.context.now(),
            listed_published=link.published,
            listed_title=link.title,
            requested_url=response.meta.get("canonical"),
        )

    def article_failed(self, failure: Failure) -> Iterator[PageFailure]:
        """An article could not be fetched: recorded as an error (retried on later crawls)."""
        request = failure.request  # type: ignore[attr-defined]
        reason = describe_failure(failure)
        if reason == "forbidden by robots.txt":
            if self.crawler.stats:
                self.crawler.stats.inc_value("newswatch/robots_denied")
            logger.info("skipped %s: %s", request.url, reason)
            return
        if isinstance(failure.value, RobotsUnavailable):  # not recorded: tried again on the next crawl
            logger.info("skipped %s: %s", request.url, reason)
            return
        # A private address or another site's: recorded for good, not tried again on later crawls.
        if isinstance(failure.value, PrivateAddressRefused | OffsiteRefused):
            # The listed URL is recorded (the refused one may be where it redirected).
            yield PageFailure(self.site.id, request.meta.get("canonical") or request.url, "skipped", str(failure.value))
            return
        status = failure.value.response.status if isinstance(failure.value, HttpError) else None
        self._count_http(failure)
        self.article_causes[explain(failure, request.url).phrase] += 1
        logger.warning("cannot fetch %s: %s", request.url, reason)
        # Recorded under the URL the listing gave (the failure may have come after redirects).
        yield PageFailure(self.site.id, request.meta.get("canonical") or request.url, "error", reason, status)


def describe_failure(failure: Failure) -> str:
    """A short description of an article's download failure, as recorded with the page (technical: the
    exception's name and text; crawler.errors says it in plain words for the crawl's summary)."""
    value = failure.value
    if isinstance(value, HttpError):
        return f"HTTP {value.response.status}"
    text = str(value).strip()
    if isinstance(value, RobotsUnavailable):
        return text
    if "robots.txt" in text.lower():
        return "forbidden by robots.txt"
    name = type(value).__name__
    if not text and name == "DownloadCancelledError":  # Scrapy gives no reason when a body outgrows the limit
        return f"{name}: the download was stopped (a body over DOWNLOAD_MAXSIZE, or the crawl closing)"
    return f"{name}: {text}" if text else name
