"""Every request of a crawl stays on its site's domains: redirect hops and dont_filter requests too."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.utils.test import get_crawler
from sqlmodel import select

from crawler.config import SiteConfig
from crawler.models import PageRow
from crawler.scope import OffsiteRefused, SiteScopeMiddleware
from tests.local_site import LocalSite, Response
from tests.test_crawl import PARAGRAPH, RULES, article_html, rss, run_cli, stored, titles


class Canary:
    """An HTTP server on 127.0.0.2 (another loopback host) that counts every request it gets."""

    def __init__(self) -> None:
        self.hits = 0
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                canary.hits += 1
                body = article_html("Canary robot story", PARAGRAPH)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.base_url = f"http://127.0.0.2:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    try:
        server = Canary()
    except OSError as exc:
        pytest.skip(f"cannot listen on 127.0.0.2: {exc}")
    yield server
    server.close()


def _middleware(site: SiteConfig | None, allowed: list[str]) -> SiteScopeMiddleware:
    spider = Spider(name="scope-test")
    spider.allowed_domains = allowed  # type: ignore[attr-defined]
    if site is not None:
        spider.site = site  # type: ignore[attr-defined]
    crawler = get_crawler(Spider)
    crawler.spider = spider
    middleware = SiteScopeMiddleware.from_crawler(crawler)
    middleware.spider_opened(spider)
    return middleware


def test_dont_filter_does_not_get_a_request_off_the_site() -> None:
    site = SiteConfig(id="news", feeds=("https://feeds.example.net/news.xml",), allowed_domains=("example.com",))
    middleware = _middleware(site, ["example.com"])
    for url in ("https://example.com/a", "https://www.example.com/a", "https://feeds.example.net/news.xml"):
        middleware.process_request(Request(url, dont_filter=True))  # raises when refused
    for url in ("https://example.org/a", "https://notexample.com/a", "https://example.com.evil.org/a"):
        with pytest.raises(OffsiteRefused, match="outside the site's domains"):
            middleware.process_request(Request(url, dont_filter=True, meta={"allow_offsite": True}))
    assert middleware.stats.get_value("offsite/filtered") == 3


def test_no_domains_means_no_requests() -> None:
    """Scrapy's filter allows everything when allowed_domains is empty; ours allows nothing."""
    middleware = _middleware(None, [])
    with pytest.raises(OffsiteRefused):
        middleware.process_request(Request("https://example.com/", dont_filter=True))


@pytest.mark.timeout(120)
def test_a_redirect_off_the_site_is_not_followed(tmp_path: Path, canary: Canary) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(RULES)
    with LocalSite() as site:
        site.routes["/stay/"] = Response(article_html("SoftBank invests in robot maker", PARAGRAPH))
        for code in (301, 302, 303, 307, 308):
            site.routes[f"/away-{code}/"] = Response(
                b"", status=code, headers=(("Location", f"{canary.base_url}/robots-{code}/"),)
            )
        # A link straight to the other host is not even requested (the spider keeps to the site's links).
        pages = ["/stay/", *(f"/away-{code}/" for code in (301, 302, 303, 307, 308)), f"{canary.base_url}/direct/"]
        site.routes["/feed.xml"] = Response(rss(site.base_url, pages), "application/rss+xml")
        sites = (f'[[site]]\nid = "scoped"\nfeeds = ["{site.base_url}/feed.xml"]\ndelay = 0\n'
                 "allow_private_network = true\n")
        result = run_cli(tmp_path, "crawl", sites=sites)
        first = dict(site.hits)
        again = run_cli(tmp_path, "crawl", sites=sites)
        second = {path: n - first.get(path, 0) for path, n in site.hits.items()}
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + again.stderr
    assert canary.hits == 0
    assert set(titles(tmp_path)) == {"SoftBank invests in robot maker"}
    session = next(stored(tmp_path))
    refused = {row.canonical_url: row for row in session.exec(select(PageRow)) if "/away-" in row.canonical_url}
    assert len(refused) == 5
    assert {row.status for row in refused.values()} == {"skipped"}
    assert all("outside the site's domains" in (row.reason or "") for row in refused.values())
    # Recorded for good: the second crawl does not ask for them again.
    assert not any(n for path, n in second.items() if path.startswith("/away-"))
