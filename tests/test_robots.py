"""robots.txt that cannot be read (5xx, unreachable, stalled) means "crawl nothing this run"; a missing one means
no rules (RFC 9309); one in another encoding or of 10 MB is still honoured."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlmodel import select

from crawler.models import CrawlRunRow, PageRow
from crawler.robots import MAX_ROBOTS_BYTES, robots_text
from tests.local_site import LocalSite, Response
from tests.test_crawl import PARAGRAPH, RULES, article_html, rss, run_cli, stored, titles
from tests.test_hostile_fetch import crawl_with_settings, wait_for
from tests.test_hostile_site import crawl_measuring_memory


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


RULES_TXT = "# Société Générale, règles\nUser-agent: *\nDisallow: /private/\nDisallow: /société/\n"
SOCIETE = "/soci%C3%A9t%C3%A9/"  # /société/ as a URL path


@pytest.mark.parametrize(
    "body",
    [
        RULES_TXT.encode("latin-1"),
        RULES_TXT.encode("cp1252"),
        RULES_TXT.encode("utf-8-sig"),
        RULES_TXT.encode("utf-16"),  # with a byte-order mark
        RULES_TXT.encode("utf-16-le"),
        RULES_TXT.encode("utf-16-be"),
        RULES_TXT.encode("utf-32"),
        RULES_TXT.encode().rstrip(b"\n"),  # no newline at the end
    ],
    ids=["latin-1", "cp1252", "utf-8-bom", "utf-16-bom", "utf-16-le", "utf-16-be", "utf-32", "no-final-newline"],
)
def test_robots_txt_text_in_any_encoding(body: bytes) -> None:
    assert robots_text(body).splitlines()[1:] == ["User-agent: *", "Disallow: /private/", "Disallow: /société/"]


def test_robots_txt_is_read_up_to_its_size_limit_in_whole_lines() -> None:
    head = "User-agent: *\nDisallow: /private/\n"
    body = (head + "Disallow: /junk/\n" * (MAX_ROBOTS_BYTES // 10) + "Disallow: /late/\n").encode()
    text = robots_text(body)
    assert text.startswith(head) and "/late/" not in text
    assert len(text) <= MAX_ROBOTS_BYTES and text.endswith("Disallow: /junk/")
    wide = robots_text(body.decode().encode("utf-16"))  # the limit is on the bytes read, whatever the encoding
    assert wide.startswith(head) and len(wide) <= MAX_ROBOTS_BYTES // 2 and wide.endswith("Disallow: /junk/")


def serve_private(site: LocalSite, robots: bytes) -> str:
    """A site whose feed lists a news page and pages its robots.txt disallows; its sites.toml entry."""
    site.routes["/robots.txt"] = Response(robots, "text/plain")
    name = f"site{site.server.server_address[1]}"
    paths = ["/news/1/", "/private/1/", f"{SOCIETE}1/"]
    for path in paths:
        site.routes[path] = Response(article_html(f"SoftBank invests in robot maker at {path} of {name}", PARAGRAPH))
    site.routes["/feed.xml"] = Response(rss(site.base_url, paths), "application/rss+xml")
    return f'[[site]]\nid = "{name}"\nfeeds = ["{site.base_url}/feed.xml"]\ndelay = 0\nallow_private_network = true\n'


def disallowed_hits(site: LocalSite) -> int:
    return sum(n for path, n in site.hits.items() if path.startswith(("/private/", SOCIETE)))


@pytest.mark.timeout(120)
def test_robots_txt_in_another_encoding_or_of_10_mb_is_honoured(workdir: Path) -> None:
    """latin-1, UTF-16 with and without a byte-order mark, 10 MB: every Disallow rule is honoured. Of the 10 MB
    one only the first 500 KiB are read (parsed whole, Protego takes 1.3 s and 134 MB on the reactor, then
    some 50 ms per URL checked)."""
    big = b"User-agent: *\nDisallow: /private/\nDisallow: /soci%C3%A9t%C3%A9/\n" + b"Disallow: /junk/\n" * 620_000
    bodies = {
        "latin-1": RULES_TXT.encode("latin-1"),
        "utf-16": RULES_TXT.encode("utf-16"),
        "utf-16-le": RULES_TXT.encode("utf-16-le"),
        "10 MB": big,
    }
    with ExitStack() as stack:
        sites = [stack.enter_context(LocalSite()) for _ in bodies]
        config = "".join(serve_private(site, body) for site, body in zip(sites, bodies.values(), strict=True))
        result, peak_mb = crawl_measuring_memory(workdir, config)
        hits = {name: disallowed_hits(site) for name, site in zip(bodies, sites, strict=True)}
        news = {name: site.hits["/news/1/"] for name, site in zip(bodies, sites, strict=True)}
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert hits == dict.fromkeys(bodies, 0)  # the figure: 0 disallowed fetches
    assert news == dict.fromkeys(bodies, 1)
    assert len(titles(workdir)) == len(bodies)
    assert f"is {len(big)} bytes: its first {MAX_ROBOTS_BYTES} are read" in result.stderr
    assert peak_mb < 400, peak_mb


@pytest.mark.timeout(120)
def test_a_robots_txt_that_stalls_stops_the_run_and_the_next_run_catches_up(workdir: Path) -> None:
    """robots.txt that never finishes its headers: each try ends at the download timeout, nothing else is
    fetched (the outage disallows everything), the run is failed, and the next crawl fetches the pages."""
    timeout = 2
    with LocalSite() as site:
        sites = serve_private(site, b"User-agent: *\nDisallow: /private/\nDisallow: /soci%C3%A9t%C3%A9/\n")
        site.routes["/robots.txt"] = Response(trickle="headers")
        [run], log = crawl_with_settings(workdir, {"DOWNLOAD_TIMEOUT": timeout}, sites)
        wait_for(lambda: len(site.held.get("/robots.txt", [])) == 3)
        held = list(site.held.get("/robots.txt", []))
        assert set(site.hits) == {"/robots.txt"}  # nothing but robots.txt during the outage
        assert run["status"] == "failed" and "robots.txt unavailable" in "".join(run["problems"]), run
        assert "robots.txt unavailable (DownloadTimeoutError" in log
        site.routes["/robots.txt"] = Response(b"User-agent: *\nDisallow: /private/\nDisallow: /soci%C3%A9t%C3%A9/\n")
        [run], _ = crawl_with_settings(workdir, {"DOWNLOAD_TIMEOUT": timeout})
        assert run["status"] == "finished", run
        assert disallowed_hits(site) == 0
    assert len(held) == 3 and all(s <= timeout + 2 for s in held), held  # RETRY_TIMES = 2: three tries
    assert [title.split(" of ")[0] for title in titles(workdir)] == ["SoftBank invests in robot maker at /news/1/"]
