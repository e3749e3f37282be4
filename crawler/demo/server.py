"""Serve the demo news site from memory over HTTP on 127.0.0.1, in a background thread.

Use :class:`SampleSite` as a context manager in tests and in ``newswatch demo``, or run
``python -m crawler.demo.server [--port 8765]`` to browse the site until Ctrl-C.

URL layout (see also the package docstring):

* articles: ``/YYYY/MM/DD/<slug>/`` (date in UTC+09:00); the same path without the final slash redirects
* listings: ``/``, ``/section/<id>/``, ``/section/<id>/page/<n>/``, ``/tag/<tag>/``, ``/author/<id>/``;
  article links in listings are ``a.story-link``
* feeds and sitemaps: ``/feed.xml``, ``/atom.xml``, ``/section/<id>/feed.xml``, ``/sitemap.xml`` (index),
  ``/sitemap-posts.xml``, ``/news-sitemap.xml``, ``/sitemap-pages.xml``, ``/robots.txt``
* other: ``/about/``, ``/contact/``, ``/privacy/``, ``/terms/``, ``/private/secret/`` (disallowed by
  robots.txt), ``/media/press-kit.pdf``, ``/media/logo.png``, ``/media/images/<slug>.png``, ``/static/site.css``

Responses carry a Content-Type with charset, a weak ETag and Last-Modified; conditional GETs get 304.
Text bodies are gzip-compressed when the client accepts it. Only GET and HEAD are supported.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

from crawler.demo import assets, feeds, render
from crawler.demo.content import (
    SampleArticle,
    Section,
    load_articles,
    load_sections,
    load_stub_articles,
    reference_time,
    site_info,
)

DEFAULT_PORT = 8765
"""Port of ``python -m crawler.demo.server`` when none is given (tests use port 0)."""
PRIVATE_PATH = render.PRIVATE_PATH
PRESS_KIT_PATH = render.PRESS_KIT_PATH
NON_ARTICLE_PATHS = ("/", "/about/", "/contact/", "/privacy/", "/terms/")
"""HTML pages that are not articles (listings and static pages)."""

_HTML = "text/html; charset=utf-8"
_XML = "application/xml; charset=utf-8"
_ARTICLE = re.compile(r"^/\d{4}/\d{2}/\d{2}/[a-z0-9-]+/$")
_SECTION = re.compile(r"^/section/([a-z0-9-]+)/(?:page/(\d+)/)?$")
_SECTION_FEED = re.compile(r"^/section/([a-z0-9-]+)/feed\.xml$")
_TAG = re.compile(r"^/tag/([a-z0-9-]+)/$")
_AUTHOR = re.compile(r"^/author/([a-z0-9-]+)/$")
_PICTURE = re.compile(r"^/media/images/([a-z0-9-]+)\.png$")
_COMPRESSIBLE = ("text/", "application/xml", "application/rss+xml", "application/atom+xml")


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str = _HTML
    last_modified: datetime | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    """The threading HTTP server, knowing the site it serves."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], site: SampleSite) -> None:
        self.site = site
        super().__init__(address, _Handler)


class SampleSite:
    """The bundled sample news site, served from memory on ``host:port`` (port 0: any free port).

    ``now`` is the reference time the bundled stories are dated from (default: the clock at construction);
    pass a fixed one for reproducible dates and URLs. Thread-safe: :meth:`publish` may be called while a
    crawler is reading the site.

    Attributes:
        now: the reference time (UTC, whole minutes); "2 days ago" lines are computed from it.
        hits: number of GET requests per path (query string excluded), e.g. ``hits["/robots.txt"]``.
        not_modified: number of 304 answers per path.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, now: datetime | None = None) -> None:
        self.host = host
        self.port = port
        self.now: datetime = reference_time(now)
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self._info = site_info()
        self._sections = load_sections()
        self._articles: list[SampleArticle] = load_articles(self.now)
        self._stubs: list[SampleArticle] = load_stub_articles(self.now)
        self._changed_at: datetime | None = None
        self._started_at = datetime.now(UTC).replace(microsecond=0)
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None

    # -- content ------------------------------------------------------------------------------------------

    @property
    def articles(self) -> list[SampleArticle]:
        """The published articles (bundled and published at runtime, stubs excluded), newest first."""
        with self._lock:
            return _newest_first(self._articles)

    @property
    def stubs(self) -> list[SampleArticle]:
        """Published pages that look like articles but are too short to be one (listed in feeds too)."""
        with self._lock:
            return list(self._stubs)

    @property
    def sections(self) -> dict[str, Section]:
        """The site's sections by id."""
        return dict(self._sections)

    def publish(self, article: SampleArticle) -> None:
        """Add an article at runtime: it appears at once on its page, in listings, feeds and sitemaps.

        Raises ValueError when the slug is already used or the section does not exist.
        """
        if article.section not in self._sections:
            raise ValueError(f"unknown section {article.section!r}; use one of {sorted(self._sections)}")
        with self._lock:
            if any(a.slug == article.slug for a in (*self._articles, *self._stubs)):
                raise ValueError(f"slug {article.slug!r} is already published")
            self._articles.append(article)
            self._changed_at = datetime.now(UTC).replace(microsecond=0)

    def view(self) -> render.SiteView:
        """A consistent snapshot of the site for rendering (needs a base URL, i.e. a started site)."""
        with self._lock:
            return render.SiteView(
                base_url=self.base_url,
                now=self.now,
                name=self._info["name"],
                tagline=self._info["tagline"],
                publisher=self._info["publisher"],
                disclaimer=self._info["disclaimer"],
                sections=self._sections,
                articles=tuple(_newest_first(self._articles)),
                stubs=tuple(_newest_first(self._stubs)),
            )

    # -- URLs ---------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``; available once the site is started."""
        if self._base_url is None:
            raise RuntimeError("the site is not started: call start() or use it as a context manager")
        return self._base_url

    def url(self, target: str | SampleArticle) -> str:
        """Absolute URL of a path or of an article."""
        path = target.path if isinstance(target, SampleArticle) else target
        return self.base_url + path

    # -- lifecycle ----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Bind the port and serve in a background (daemon) thread."""
        if self._server is not None:
            raise RuntimeError("the site is already started")
        server = _Server((self.host, self.port), self)
        self.port = int(server.server_address[1])
        shown = self.host if ":" not in self.host else f"[{self.host}]"
        self._base_url = f"http://{shown}:{self.port}"
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SampleSite:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- routing ------------------------------------------------------------------------------------------

    def _count(self, path: str, *, not_modified: bool = False) -> None:
        with self._lock:
            (self.not_modified if not_modified else self.hits)[path] += 1

    def _listing_modified(self, entries: Sequence[SampleArticle]) -> datetime:
        moments = [a.last_modified for a in entries] or [self._started_at]
        if self._changed_at is not None:
            moments.append(self._changed_at)
        return max(moments)

    def _respond(self, path: str) -> _Response:
        """The response for a GET of ``path`` (no query string), before conditional and encoding handling."""
        view = self.view()
        entries = view.entries
        by_path = {a.path: a for a in entries}

        if path in by_path:
            article = by_path[path]
            return _Response(200, render.render_article(view, article).encode(), _HTML, article.last_modified)
        if path == "/":
            return _Response(200, render.render_home(view).encode(), _HTML, self._listing_modified(entries))
        if match := _SECTION.match(path):
            section_id, page = match.group(1), int(match.group(2) or 1)
            if match.group(2) == "1":
                return _redirect(render.section_page_path(section_id, 1))
            page_html = render.render_section(view, section_id, page)
            if page_html is not None:
                items = [a for a in entries if a.section == section_id]
                return _Response(200, page_html.encode(), _HTML, self._listing_modified(items))
        if match := _SECTION_FEED.match(path):
            section = view.sections.get(match.group(1))
            if section is not None:
                items = [a for a in entries if a.section == section.id]
                body = feeds.render_rss(view, items, title=f"{view.name}: {section.title}", self_path=path)
                return _Response(
                    200, body.encode(), "application/rss+xml; charset=utf-8", self._listing_modified(items)
                )
        if match := _TAG.match(path):
            page_html = render.render_tag(view, match.group(1))
            if page_html is not None:
                return _Response(200, page_html.encode(), _HTML, self._listing_modified(entries))
        if match := _AUTHOR.match(path):
            page_html = render.render_author(view, match.group(1))
            if page_html is not None:
                return _Response(200, page_html.encode(), _HTML, self._listing_modified(entries))
        if (static := render.render_static_page(view, path)) is not None:
            return _Response(200, static.encode(), _HTML, self._started_at)
        if path == PRIVATE_PATH:
            return _Response(200, render.render_private(view).encode(), _HTML, self._started_at)

        modified = self._listing_modified(entries)
        documents = {
            "/feed.xml": (
                lambda: feeds.render_rss(view, entries, title=view.name, self_path="/feed.xml"),
                "application/rss+xml; charset=utf-8",
            ),
            "/atom.xml": (lambda: feeds.render_atom(view, entries), "application/atom+xml; charset=utf-8"),
            "/sitemap.xml": (lambda: feeds.render_sitemap_index(view), _XML),
            "/sitemap-posts.xml": (lambda: feeds.render_sitemap_posts(view), _XML),
            "/sitemap-pages.xml": (lambda: feeds.render_sitemap_pages(view), _XML),
            "/news-sitemap.xml": (lambda: feeds.render_news_sitemap(view), _XML),
            "/robots.txt": (lambda: feeds.render_robots(view), "text/plain; charset=utf-8"),
            "/static/site.css": (lambda: assets.STYLESHEET, "text/css; charset=utf-8"),
        }
        if path in documents:
            make, content_type = documents[path]
            return _Response(200, make().encode(), content_type, modified)
        if path == render.LOGO_PATH:
            return _Response(200, assets.logo_png(), "image/png", self._started_at)
        if path == PRESS_KIT_PATH:
            return _Response(200, assets.press_kit_pdf(view.name), "application/pdf", self._started_at)
        if (match := _PICTURE.match(path)) and any(a.slug == match.group(1) for a in entries):
            return _Response(200, assets.picture_png(match.group(1)), "image/png", self._started_at)

        # "/2025/11/18/slug" or "/about": redirect to the canonical spelling with the final slash.
        if not path.endswith("/") and "." not in path.rsplit("/", 1)[-1]:
            slashed = path + "/"
            if (
                slashed in by_path
                or slashed in render.STATIC_PAGES
                or _SECTION.match(slashed)
                or _TAG.match(slashed)
                or _AUTHOR.match(slashed)
            ) and self._respond(slashed).status == 200:
                return _redirect(slashed)
        return _Response(404, render.render_not_found(view, path).encode(), _HTML)


def _newest_first(articles: Sequence[SampleArticle]) -> list[SampleArticle]:
    return sorted(articles, key=lambda a: (a.published, a.slug), reverse=True)


def _redirect(location: str) -> _Response:
    return _Response(301, b"", _HTML, headers=[("Location", location)])


def _etag(body: bytes) -> str:
    return 'W/"' + hashlib.sha1(body).hexdigest()[:20] + '"'


def _etag_matches(header: str, etag: str) -> bool:
    wanted = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def _not_modified_since(header: str, last_modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


class _Handler(BaseHTTPRequestHandler):
    """Answers GET and HEAD from the SampleSite attached to the server."""

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "CircuitLedger/1.0"
    sys_version = ""
    timeout = 30

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self, *, send_body: bool) -> None:
        site = self.server.site
        path = urlsplit(self.path).path or "/"
        if send_body:
            site._count(path)
        try:
            response = site._respond(path)
        except Exception:  # pragma: no cover - a bug in the renderer; answer like a real server would
            response = _Response(500, b"internal error", "text/plain; charset=utf-8")
        headers = [("Content-Type", response.content_type), *response.headers]
        body = response.body
        if response.status == 200:
            etag = _etag(body)
            headers.append(("ETag", etag))
            if response.last_modified is not None:
                headers.append(("Last-Modified", format_datetime(response.last_modified.astimezone(UTC), usegmt=True)))
            headers.append(("Cache-Control", "public, max-age=60"))
            if_none_match = self.headers.get("If-None-Match")
            if_modified_since = self.headers.get("If-Modified-Since")
            fresh = False
            if if_none_match is not None:
                fresh = _etag_matches(if_none_match, etag)
            elif if_modified_since is not None and response.last_modified is not None:
                fresh = _not_modified_since(if_modified_since, response.last_modified)
            if fresh:
                if send_body:
                    site._count(path, not_modified=True)
                self._send(304, [h for h in headers if h[0] != "Content-Type"], b"", send_body=False)
                return
            if response.content_type.startswith(_COMPRESSIBLE):
                headers.append(("Vary", "Accept-Encoding"))
                if "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 512:
                    body = gzip.compress(body, mtime=0)
                    headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        self._send(response.status, headers, body, send_body=send_body)

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes, *, send_body: bool) -> None:
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            if send_body and body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def main(argv: list[str] | None = None) -> None:
    """Serve the demo site until Ctrl-C and print its URL."""
    parser = argparse.ArgumentParser(
        prog="python -m crawler.demo.server", description="Serve The Circuit Ledger, Newswatch's sample news site."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)")
    parser.add_argument(
        "--now",
        type=datetime.fromisoformat,
        default=None,
        help="reference time stories are dated from, ISO 8601 with offset (default: now)",
    )
    args = parser.parse_args(argv)
    site = SampleSite(args.host, args.port, now=args.now)
    site.start()
    print(f"The Circuit Ledger is served at {site.base_url}/  (Ctrl-C to stop)", flush=True)
    print(f"  feed {site.url('/feed.xml')}  sitemap {site.url('/sitemap.xml')}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


if __name__ == "__main__":
    main()
