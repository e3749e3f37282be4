"""TLS certificates are verified: a self-signed site fails with a clear reason unless it opts out."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from sqlmodel import select

from crawler.models import CrawlRunRow
from tests.local_site import LocalSite, Response
from tests.test_crawl import PARAGRAPH, RULES, article_html, rss, run_cli, stored, titles


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(RULES)
    return tmp_path


@pytest.fixture
def tls_site() -> Iterator[LocalSite]:
    """A news site over HTTPS with a certificate from a private CA that nothing trusts."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    site = LocalSite()
    site.server.socket = context.wrap_socket(site.server.socket, server_side=True)
    site.base_url = site.base_url.replace("http://", "https://")
    with site:
        paths = ["/news/1/", "/news/2/"]
        for number, path in enumerate(paths):
            site.routes[path] = Response(article_html(f"SoftBank invests in robot maker {number}", PARAGRAPH))
        site.routes["/feed.xml"] = Response(rss(site.base_url, paths), "application/rss+xml")
        yield site


def sites(site: LocalSite, extra: str = "") -> str:
    return (f'[[site]]\nid = "tls"\nfeeds = ["{site.base_url}/feed.xml"]\ndelay = 0\n'
            f"allow_private_network = true\n{extra}")


def test_an_untrusted_certificate_stops_the_site_with_the_reason(workdir: Path, tls_site: LocalSite) -> None:
    result = run_cli(workdir, "crawl", sites=sites(tls_site))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert sum(tls_site.hits.values()) == 0  # no request got through the handshake
    assert titles(workdir) == {}
    for session in stored(workdir):
        [run] = session.exec(select(CrawlRunRow)).all()
        assert run.status == "failed" and "certificate verify failed" in (run.message or ""), run.message


def test_a_site_may_opt_out_of_verification(workdir: Path, tls_site: LocalSite) -> None:
    result = run_cli(workdir, "crawl", sites=sites(tls_site, "verify_tls = false\n"))
    assert result.returncode == 0, result.stderr
    assert len(titles(workdir)) == 2
