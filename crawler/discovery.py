"""Find article links in feeds, sitemaps and listing pages (plain functions over bytes and text)."""

from __future__ import annotations

import calendar
import io
import json
import logging
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree
from parsel import Selector

logger = logging.getLogger(__name__)

MAX_FEED_ITEMS = 500
MAX_TITLE_CHARS = 500  # a feed's or sitemap's headline longer than this is cut
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_SITEMAP_URLS = 50_000
MAX_DECOMPRESSED = 50 * 1024 * 1024
# Links that never lead to an article page.
_NON_ARTICLE_EXT = (
    ".pdf",
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".svg",
    ".mp3",
    ".mp4",
    ".mov",
    ".zip",
    ".gz",
    ".xml",
    ".rss",
    ".css",
    ".js",
    ".ico",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".exe",
)


@dataclass(frozen=True)
class Link:
    """A candidate article URL, with what the linking document said about it."""

    url: str
    published: datetime | None = None
    title: str | None = None


@dataclass(frozen=True)
class SitemapDoc:
    """A parsed sitemap: either an index of child sitemaps or a set of page URLs."""

    is_index: bool
    links: list[Link]


class DiscoveryError(Exception):
    """A feed, sitemap or listing page could not be read at all."""


def _struct_to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def parse_iso_datetime(text: str | None) -> datetime | None:
    """Parse a W3C / ISO 8601 date or datetime (sitemaps); naive values are taken as UTC."""
    if not text:
        return None
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def clean_title(value: object) -> str | None:
    """A headline from a feed or sitemap as it may be stored and shown: no control characters (NUL included)
    or lone surrogates, whitespace collapsed, at most MAX_TITLE_CHARS; None when nothing is left."""
    if not isinstance(value, str):
        return None
    text = " ".join(_UNPRINTABLE.sub(" ", value[: MAX_TITLE_CHARS * 4]).split())
    return text[:MAX_TITLE_CHARS] or None


def absolute(base: str, href: str) -> str | None:
    """``href`` resolved against ``base``; None when it is not a URL at all (e.g. a broken IPv6 host)."""
    try:
        url = urljoin(base, href.strip())
        urlsplit(url).port  # noqa: B018 (a bad port or host raises here)
    except ValueError:
        return None
    return url


_JSON_FEED = "https://jsonfeed.org/version/"


def links_from_json_feed(body: bytes, feed_url: str) -> list[Link]:
    """Article links of a JSON Feed (https://jsonfeed.org, versions 1 and 1.1), as the feed lists them.

    Raises DiscoveryError when the body is not a JSON Feed.
    """
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: hostile nesting
        raise DiscoveryError(f"not a valid JSON feed: {type(exc).__name__}: {exc}"[:300]) from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(_JSON_FEED):
        raise DiscoveryError("not a valid JSON feed: no jsonfeed.org version")
    items = doc.get("items")
    if not isinstance(items, list):
        raise DiscoveryError("not a valid JSON feed: no items list")
    links = []
    for item in items[:MAX_FEED_ITEMS]:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        url = absolute(feed_url, item["url"])
        date = item.get("date_published") or item.get("date_modified")
        if url:
            published = parse_iso_datetime(date) if isinstance(date, str) else None
            links.append(Link(url, published, clean_title(item.get("title"))))
    return links


def links_from_feed(body: bytes, feed_url: str, headers: dict[str, str] | None = None) -> list[Link]:
    """Article links of an RSS, Atom or JSON feed, newest first as the feed lists them.

    The body goes to feedparser as bytes (never a string it could treat as a URL or path).
    Raises DiscoveryError when the body is not a feed at all.
    """
    if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return links_from_json_feed(body, feed_url)
    try:
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers or {}, sanitize_html=False)
    except Exception as exc:  # feedparser itself fails on some hostile input (e.g. a lone surrogate entity)
        raise DiscoveryError(f"not a valid feed: {type(exc).__name__}: {exc}"[:300]) from None
    entries = parsed.get("entries") or []
    if not entries and (parsed.get("bozo") or not parsed.get("version")):
        problem = parsed.get("bozo_exception") or "no RSS or Atom content"
        raise DiscoveryError(f"not a valid feed: {problem}")
    links = []
    for entry in entries[:MAX_FEED_ITEMS]:
        href = entry.get("link") or ""
        if not href:
            for candidate in entry.get("links") or []:
                if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                    href = candidate["href"]
                    break
        if not href:
            continue
        published = _struct_to_datetime(entry.get("published_parsed") or entry.get("updated_parsed"))
        url = absolute(feed_url, href)
        if url:
            links.append(Link(url, published, clean_title(entry.get("title"))))
    return links


def maybe_gunzip(body: bytes, max_size: int = MAX_DECOMPRESSED) -> bytes:
    """Gunzip ``body`` if it is gzip data (sitemap.xml.gz), refusing to inflate beyond ``max_size``."""
    if body[:2] != b"\x1f\x8b":
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, max_size + 1)
    except zlib.error as exc:
        raise DiscoveryError(f"bad gzip data: {exc}") from None
    if len(out) > max_size:
        raise DiscoveryError(f"gzip body inflates beyond {max_size} bytes")
    return out


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    try:
        return etree.QName(tag).localname
    except (ValueError, UnicodeError):  # a tag name lxml accepted while recovering but cannot give back
        return ""


def parse_sitemap(body: bytes, sitemap_url: str) -> SitemapDoc:
    """Parse a sitemap, sitemap index or Google News sitemap (gzip allowed); entities are never resolved."""
    data = maybe_gunzip(body)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, recover=True, remove_comments=True, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"not a sitemap: {exc}") from None
    try:
        root_name = _local(root.tag) if root is not None else ""
    except (ValueError, UnicodeError):  # lxml kept undecodable text while recovering
        root_name = ""
    if root is None or root_name not in ("urlset", "sitemapindex"):
        raise DiscoveryError("not a sitemap (no <urlset> or <sitemapindex> root)")
    is_index = root_name == "sitemapindex"
    links = []
    for entry in root:
        if _local(entry.tag) not in ("url", "sitemap"):
            continue
        loc = lastmod = news_date = news_title = None
        try:
            for child in entry.iter():
                name = _local(child.tag)
                text = (child.text or "").strip()
                if name == "loc" and loc is None:
                    loc = text
                elif name == "lastmod":
                    lastmod = text
                elif name == "publication_date":
                    news_date = text
                elif name == "title" and _local(child.getparent().tag) == "news":
                    news_title = text
        except (ValueError, UnicodeError):  # text lxml kept while recovering but cannot give back: skip the entry
            continue
        if not loc:
            continue
        published = parse_iso_datetime(news_date) or parse_iso_datetime(lastmod)
        url = absolute(sitemap_url, loc)
        if not url:
            continue
        links.append(Link(url, published, clean_title(news_title)))
        if len(links) >= MAX_SITEMAP_URLS:
            logger.warning("sitemap %s lists more than %d URLs; the rest are ignored", sitemap_url, MAX_SITEMAP_URLS)
            break
    return SitemapDoc(is_index, links)


def looks_like_page(url: str) -> bool:
    """False for links that cannot be article pages: non-http schemes and file downloads."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return not parts.path.lower().endswith(_NON_ARTICLE_EXT)


def links_from_listing(html: str, page_url: str, selector: str | None = None) -> list[Link]:
    """Links on a listing page: those matching the CSS ``selector`` (an <a>, or the <a>s inside it), else all.

    Links back to the listing page itself, fragments and non-page files are left out.
    """
    doc = Selector(text=html)
    base = doc.css("base::attr(href)").get()
    base_url = (absolute(page_url, base) if base else None) or page_url
    nodes = doc.css(selector) if selector else doc.css("a")
    hrefs: list[str] = []
    for node in nodes:
        own = node.attrib.get("href") if node.root.tag == "a" else None
        hrefs.extend([own] if own else node.css("a::attr(href)").getall())
    page = page_url.split("#", 1)[0]
    links: dict[str, Link] = {}
    for href in hrefs:
        href = href.strip()
        if not href or href.startswith("#"):
            continue
        url = (absolute(base_url, href) or "").split("#", 1)[0]
        if not url or url == page or not looks_like_page(url):
            continue
        links.setdefault(url, Link(url))
    return list(links.values())
