"""robots.txt that cannot be read means "crawl nothing this run"; a missing one means no rules (RFC 9309)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from crawler.models import CrawlRunRow, PageRow
from tests.local_site import LocalSite, Response
from tests.test_crawl import PARAGRAPH, RULES, article_html, rss, run_cli, stored, titles


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(RULES)
    return tmp_path


def serve_news(site: LocalSite) -> str:
    paths = ["/news/1/", "/news/2/"]
    for number, path in enumerate(paths):
        site.routes[path] = Response(article_html(f"SoftBank invests in robot maker {number}", PARAGRAPH))
    site.routes["/feed.xml"] = Response(rss(site.base_url, paths), "application/rss+xml")
    return f'[[site]]\nid = "news"\nfeeds = ["{site.base_url}/feed.xml"]\ndelay = 0\nallow_private_network = true\n'


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_on_robots_txt_stops_the_run_and_the_next_run_catches_up(workdir: Path, status: int) -> None:
    with LocalSite() as site:
        sites = serve_news(site)
        site.routes["/robots.txt"] = Response(b"<html>Service unavailable</html>", status=status)
        first = run_cli(workdir, "crawl", sites=sites)
        assert first.returncode == 0, first.stderr
        assert "Traceback" not in first.stderr
        assert site.hits["/feed.xml"] == 0 and site.hits["/news/1/"] == 0  # nothing but robots.txt itself
        assert f"robots.txt unavailable (HTTP {status})" in first.stderr
        for session in stored(workdir):
            [run] = session.exec(select(CrawlRunRow)).all()
            assert run.status == "failed" and "robots.txt unavailable" in (run.message or "")
            assert session.exec(select(PageRow)).all() == []  # nothing recorded as failed for good
        site.routes["/robots.txt"] = Response(b"User-agent: *\nAllow: /\n", "text/plain")
        second = run_cli(workdir, "crawl")
        assert second.returncode == 0, second.stderr
    assert len(titles(workdir)) == 2


def test_a_missing_robots_txt_means_no_rules_whatever_its_error_page_says(workdir: Path) -> None:
    with LocalSite() as site:
        sites = serve_news(site)
        site.routes["/robots.txt"] = Response(b"User-agent: *\nDisallow: /\n", "text/plain", 404)
        result = run_cli(workdir, "crawl", sites=sites)
    assert result.returncode == 0, result.stderr
    assert len(titles(workdir)) == 2


def test_a_robots_txt_that_cannot_be_fetched_at_all_stops_the_run(workdir: Path) -> None:
    """robots.txt redirects to a private address the guard refuses: the download fails, nothing is crawled."""
    with LocalSite() as site, LocalSite() as elsewhere:
        sites = serve_news(site)
        site.routes["/robots.txt"] = Response(b"", status=302, headers=(("Location", f"{elsewhere.base_url}/r.txt"),))
        result = run_cli(workdir, "crawl", sites=sites)
    assert result.returncode == 0, result.stderr
    assert site.hits["/feed.xml"] == 0 and sum(elsewhere.hits.values()) == 0
    assert "robots.txt unavailable" in result.stderr
    assert titles(workdir) == {}
