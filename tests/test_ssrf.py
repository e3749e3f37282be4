"""The private-network guard in real crawls: a canary server on another loopback port must never be hit."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from twisted.internet.error import DNSLookupError

from crawler.models import CrawlRunRow, PageRow
from crawler.ssrf import GuardedResolver
from tests.local_site import LocalSite, Response
from tests.test_crawl import PARAGRAPH, RULES, article_html, rss, run_cli, stored, titles


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(RULES)
    return tmp_path


def loopback_hostname() -> str | None:
    """This machine's host name if it resolves to a loopback address (a name the guard must see through)."""
    name = socket.gethostname()
    try:
        return name if socket.gethostbyname(name).startswith("127.") else None
    except OSError:
        return None


@pytest.fixture
def canary() -> Iterator[LocalSite]:
    with LocalSite() as site:
        for path in ("/literal", "/name", "/decimal", "/hex", "/short", "/host", "/redirected", "/v6", "/dec2"):
            site.routes[path] = Response(article_html("Canary secret", PARAGRAPH))
        yield site


def test_an_opted_in_private_site_reaches_its_own_host_and_port_only(workdir: Path, canary: LocalSite) -> None:
    port = canary.base_url.rsplit(":", 1)[1]
    host = loopback_hostname()
    hostile = [f"http://127.0.0.1:{port}/literal", f"http://localhost:{port}/name",
               f"http://2130706433:{port}/decimal", f"http://0x7f.1:{port}/hex", f"http://127.1:{port}/short"]
    if host:
        hostile.append(f"http://{host}:{port}/host")  # resolves to 127.0.0.1: refused by the resolver
    with LocalSite() as site:
        site.routes["/a1/"] = Response(article_html("SoftBank invests in robot maker", PARAGRAPH))
        site.routes["/go/"] = Response(b"", status=302, headers=(("Location", f"http://127.0.0.1:{port}/redirected"),))
        site.routes["/go-v6/"] = Response(
            b"", status=302, headers=(("Location", f"http://[::ffff:127.0.0.1]:{port}/v6"),)
        )
        site.routes["/go-dec/"] = Response(b"", status=301, headers=(("Location", f"http://2130706433:{port}/dec2"),))
        feed = rss(site.base_url, ["/a1/", "/go/", "/go-v6/", "/go-dec/"]).decode()
        items = "".join(f"<item><title>x</title><link>{url}</link></item>" for url in hostile)
        feed = feed.replace("</channel>", items + "</channel>")
        site.routes["/feed.xml"] = Response(feed.encode(), "application/rss+xml")
        # allowed_domains lets every spelling through the spider's own scope check: the guard must stop them.
        domains = ", ".join(f'"{d}"' for d in ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "127.1", host or "x"])
        sites = (
            f'[[site]]\nid = "private"\nfeeds = ["{site.base_url}/feed.xml"]\nallowed_domains = [{domains}]\n'
            "delay = 0\nallow_private_network = true\n"
        )
        result = run_cli(workdir, "crawl", sites=sites)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert sum(canary.hits.values()) == 0, canary.hits
    assert set(titles(workdir)) == {"SoftBank invests in robot maker"}
    from w3lib.url import safe_url_string

    for url in hostile[:5]:
        # As Scrapy requests it: w3lib 2.6 writes every IPv4 spelling as a dotted quad (2130706433 -> 127.0.0.1).
        assert f"refused {safe_url_string(url)}" in result.stderr, url
    if host:
        assert f"refused {host}: it resolves to 127.0.0.1" in result.stderr
    for session in stored(workdir):
        pages = {p.canonical_url: p for p in session.exec(select(PageRow)).all()}
        # Recorded for good, under the listed URL. (The redirect to an IPv6 literal is dropped before the guard
        # by Scrapy's offsite check: allowed_domains cannot name an IPv6 address.)
        for path in ("/go/", "/go-dec/"):
            page = pages[f"{site.base_url}{path}"]
            assert page.status == "skipped" and "not a public address" in (page.reason or ""), page


def test_a_private_site_without_the_opt_in_is_never_contacted(workdir: Path) -> None:
    with LocalSite() as site:
        site.routes["/feed.xml"] = Response(rss(site.base_url, ["/a1/"]), "application/rss+xml")
        site.routes["/a1/"] = Response(article_html("SoftBank invests in robot maker", PARAGRAPH))
        sites = f'[[site]]\nid = "lan"\nfeeds = ["{site.base_url}/feed.xml"]\ndelay = 0\n'
        result = run_cli(workdir, "crawl", sites=sites)
    assert result.returncode == 0, result.stderr
    assert sum(site.hits.values()) == 0, site.hits  # not even robots.txt
    assert f"refused {site.base_url}/feed.xml: 127.0.0.1 is not a public address" in result.stderr
    for session in stored(workdir):
        [run] = session.exec(select(CrawlRunRow)).all()
        assert run.status == "failed" and "not a public address" in (run.message or "")


def test_the_resolver_checks_every_answer_so_a_rebinding_name_never_gets_through() -> None:
    """Each lookup's answer is checked, cached or not: a name alternating between a public and a private
    answer (DNS rebinding) gets the public ones and a refusal for every private one."""
    from scrapy.resolver import dnscache
    from twisted.internet import reactor

    resolver = GuardedResolver(reactor)
    resolver.allow(["intranet.example"])
    outcomes = {"public": 0, "refused": 0}
    for turn in range(1000):
        dnscache["rebind.example"] = "93.184.216.34" if turn % 2 else "127.0.0.1"
        answer: list[object] = []
        resolver.getHostByName("rebind.example").addCallbacks(answer.append, answer.append)
        if isinstance(answer[0], str):
            assert answer[0] == "93.184.216.34"
            outcomes["public"] += 1
        else:
            assert answer[0].check(DNSLookupError)  # type: ignore[attr-defined]
            outcomes["refused"] += 1
    assert outcomes == {"public": 500, "refused": 500}
    dnscache["intranet.example"] = "10.0.0.5"  # a configured private site's own host
    allowed: list[object] = []
    resolver.getHostByName("intranet.example").addCallback(allowed.append)
    assert allowed == ["10.0.0.5"]
    for name in ("rebind.example", "intranet.example"):
        dnscache.pop(name, None)
