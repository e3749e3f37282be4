"""Fetching from a misbehaving server in a real crawl: truncated bodies, retries by status, redirect loops and
redirects to other schemes, oversized bodies, slowloris answers, credentials across redirects, zstd bombs.
Exact request counts; the crawl finishes and reports each page."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from crawler.models import ArticleRow, PageRow
from tests.local_site import LocalSite, Response
from tests.test_crawl import PARAGRAPH, REPO, RULES, article_html, rss, run_cli, stored, titles
from tests.test_hostile_site import crawl_measuring_memory


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(RULES)
    return tmp_path


def redirect(location: str, status: int = 302) -> Response:
    return Response(b"", status=status, headers=(("Location", location),))


def test_truncation_retries_and_redirects(workdir: Path) -> None:
    with LocalSite() as site:
        site.routes["/good/"] = Response(article_html("SoftBank invests in robot maker", PARAGRAPH))
        site.routes["/cut/"] = Response(article_html("Truncated robot story", PARAGRAPH * 20), truncate=True)
        for status in (500, 503, 429, 404, 410):
            site.routes[f"/e{status}/"] = Response(b"error", "text/html", status)
        site.routes["/loop-a/"] = redirect("/loop-b/")
        site.routes["/loop-b/"] = redirect("/loop-a/", 301)
        for hop in range(25):
            site.routes[f"/hop/{hop}/"] = redirect(f"/hop/{hop + 1}/", 307)
        site.routes["/hop/25/"] = Response(article_html("Long way round", PARAGRAPH))
        site.routes["/to-file/"] = redirect("file:///etc/hostname")
        site.routes["/to-data/"] = redirect("data:text/html,<h1>robot</h1>")
        site.routes["/to-ftp/"] = redirect("ftp://127.0.0.1/x")
        pages = ["/good/", "/cut/", "/e500/", "/e503/", "/e429/", "/e404/", "/e410/", "/loop-a/", "/hop/0/",
                 "/to-file/", "/to-data/", "/to-ftp/"]
        site.routes["/feed.xml"] = Response(rss(site.base_url, pages), "application/rss+xml")
        sites = (f'[[site]]\nid = "bad"\nfeeds = ["{site.base_url}/feed.xml"]\ndelay = 0\n'
                 "allow_private_network = true\n")
        result = run_cli(workdir, "crawl", sites=sites)
        hits = dict(site.hits)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert set(titles(workdir)) == {"SoftBank invests in robot maker"}  # nothing truncated is stored
    # RETRY_TIMES = 2: three tries for 5xx and 429, one for 404 and 410; a truncated body is retried too.
    assert {p: hits.get(p, 0) for p in ("/e500/", "/e503/", "/e429/", "/e404/", "/e410/", "/cut/")} == {
        "/e500/": 3, "/e503/": 3, "/e429/": 3, "/e404/": 1, "/e410/": 1, "/cut/": 3,
    }
    # REDIRECT_MAX_TIMES = 5: a loop or a long chain stops after at most 6 requests.
    assert hits["/loop-a/"] + hits.get("/loop-b/", 0) <= 6
    assert sum(n for p, n in hits.items() if p.startswith("/hop/")) <= 6 and "/hop/25/" not in hits
    for session in stored(workdir):
        recorded = {p.canonical_url.removeprefix(site.base_url): p for p in session.exec(select(PageRow)).all()}
    for path in ("/cut/", "/e500/", "/e404/", "/loop-a/", "/hop/0/"):  # under the URL the feed listed
        assert recorded[path].status == "error", (path, recorded[path])
    assert "max redirections" in (recorded["/loop-a/"].reason or "")
    assert recorded["/e404/"].http_status == 404
    for path in ("/to-file/", "/to-data/", "/to-ftp/"):  # other schemes are never followed
        assert path in recorded and recorded[path].status in ("error", "skipped"), path


def test_oversized_bodies_are_cut_off_at_the_size_limit(workdir: Path) -> None:
    """16 MiB at most: a body that declares more is refused, one without a length is cut off while it flows."""
    limit = 16 * 1024 * 1024
    with LocalSite() as site:
        site.routes["/good/"] = Response(article_html("SoftBank invests in robot maker", PARAGRAPH))
        site.routes["/declared/"] = Response(b"<html>" + b"x" * (limit + 1024) + b"</html>")
        site.routes["/endless/"] = Response(endless=256 * 1024 * 1024)
        site.routes["/feed.xml"] = Response(rss(site.base_url, ["/good/", "/declared/", "/endless/"]),
                                            "application/rss+xml")
        sites = (f'[[site]]\nid = "big"\nfeeds = ["{site.base_url}/feed.xml"]\ndelay = 0\n'
                 "allow_private_network = true\n")
        result = run_cli(workdir, "crawl", sites=sites)
        streamed = site.streamed["/endless/"]
    assert result.returncode == 0, result.stderr
    assert set(titles(workdir)) == {"SoftBank invests in robot maker"}
    # The client hangs up once it has its limit: what was sent is the limit plus the socket buffers' worth.
    assert streamed < limit + 16 * 1024 * 1024, streamed
    for session in stored(workdir):
        recorded = {p.canonical_url.removeprefix(site.base_url): p for p in session.exec(select(PageRow)).all()}
    assert "larger than download max size" in (recorded["/declared/"].reason or ""), recorded["/declared/"]
    assert "DOWNLOAD_MAXSIZE" in (recorded["/endless/"].reason or ""), recorded["/endless/"]
    assert recorded["/declared/"].status == recorded["/endless/"].status == "error"


CRAWL = """
import json
import sys
from pathlib import Path
from crawler.config import load_config
from crawler.crawl import crawl_sites, run_on_reactor
from crawler.logs import setup_logging
from crawler.store import open_database

setup_logging("INFO", "WARNING")  # as `newswatch crawl` logs
cfg = load_config(Path(sys.argv[1]))
engine = open_database(sys.argv[2])
overrides = json.loads(sys.argv[3])
runs = run_on_reactor(lambda: crawl_sites(engine, cfg.sites, cfg.ruleset(), settings=overrides, workers=0))
print(json.dumps([{"site": r.site_id, "status": r.status, "new": r.new_articles, "problems": r.problems}
                  for r in runs]))
"""


def crawl_with_settings(
    workdir: Path, overrides: dict[str, Any], sites: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    """One crawl of the configured sites by crawler.crawl.crawl_sites (what `newswatch crawl` runs) with these
    Scrapy settings on top of Newswatch's, in a process of its own (one reactor per process), stored where
    ``stored(workdir)`` reads: each site's run (site, status, new, problems) and the crawl's log."""
    if sites is not None:
        (workdir / "config" / "sites.toml").write_text(sites)
    (workdir / "data").mkdir(exist_ok=True)
    database = f"sqlite:///{workdir / 'data' / 'newswatch.db'}"
    result = subprocess.run([sys.executable, "-c", CRAWL, str(workdir / "config"), database, json.dumps(overrides)],
                            cwd=REPO, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_a_crawl_over_its_memory_limit_stops_cleanly_and_the_next_one_works(workdir: Path) -> None:
    with LocalSite() as site:
        paths = [f"/news/{n}/" for n in range(30)]
        for number, path in enumerate(paths):
            site.routes[path] = Response(
                article_html(f"Robot story {number}", PARAGRAPH), delay=0.2  # slow enough for the check to run
            )
        site.routes["/feed.xml"] = Response(rss(site.base_url, paths), "application/rss+xml")
        sites = f'[[site]]\nid = "big"\nfeeds = ["{site.base_url}/feed.xml"]\ndelay = 0\nallow_private_network = true\n'
        [run], _ = crawl_with_settings(workdir, {"MEMUSAGE_LIMIT_MB": 1, "MEMUSAGE_CHECK_INTERVAL_SECONDS": 0.2}, sites)
        assert run["status"] == "failed" and "memusage_exceeded" in "".join(run["problems"]), run
        assert run["new"] < 30  # stopped early (it ends at its first check, here before any article)
        [run], _ = crawl_with_settings(workdir, {})
        assert run["status"] == "finished", run
    for session in stored(workdir):  # the first crawl's articles kept, the rest fetched by the second
        assert len(session.exec(select(ArticleRow)).all()) == 30


def wait_for(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Give the local server's threads a moment to see the crawl's connections close."""
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.timeout(120)
def test_a_slowloris_page_fails_at_the_download_timeout_and_the_rest_of_the_crawl_goes_on(workdir: Path) -> None:
    """Headers that never end, or a body at one byte a second: each try is cut off at DOWNLOAD_TIMEOUT, the
    page is an error saying so, and the site's other pages and another site in the same crawl are stored."""
    timeout = 3  # DOWNLOAD_TIMEOUT is 30 s; the crawl's own settings path sets a short one for the test
    slow_paths = ["/slow-headers/", "/slow-body/"]
    with LocalSite() as slow, LocalSite() as other:
        slow.routes["/good/"] = Response(article_html("SoftBank invests in robot maker", PARAGRAPH))
        slow.routes["/slow-headers/"] = Response(trickle="headers")
        slow.routes["/slow-body/"] = Response(trickle="body")
        slow.routes["/feed.xml"] = Response(rss(slow.base_url, ["/good/", *slow_paths]), "application/rss+xml")
        other.routes["/good/"] = Response(article_html("Robot start-up raises money from investors", PARAGRAPH))
        other.routes["/feed.xml"] = Response(rss(other.base_url, ["/good/"]), "application/rss+xml")
        sites = "".join(
            f'[[site]]\nid = "{name}"\nfeeds = ["{site.base_url}/feed.xml"]\ndelay = 0\nallow_private_network = true\n'
            for name, site in (("slow", slow), ("other", other))
        )
        runs, log = crawl_with_settings(workdir, {"DOWNLOAD_TIMEOUT": timeout}, sites)
        wait_for(lambda: all(len(slow.held.get(path, [])) == 3 for path in slow_paths))
        held = {path: slow.held.get(path, []) for path in slow_paths}
    assert {run["site"]: run["status"] for run in runs} == {"slow": "finished", "other": "finished"}, runs
    # RETRY_TIMES = 2: three tries each, every one dropped by the crawl within the timeout + 2 s.
    for path, seconds in held.items():
        assert len(seconds) == 3 and all(s <= timeout + 2 for s in seconds), (path, seconds)
    assert set(titles(workdir)) == {"SoftBank invests in robot maker", "Robot start-up raises money from investors"}
    for session in stored(workdir):
        recorded = {p.canonical_url.removeprefix(slow.base_url): p for p in session.exec(select(PageRow)).all()}
    for path in slow_paths:
        assert recorded[path].status == "error", recorded[path]
        assert f"took longer than {timeout}.0 seconds" in (recorded[path].reason or ""), recorded[path]
        assert f"cannot fetch {slow.base_url}{path}: DownloadTimeoutError" in log


@pytest.mark.timeout(120)
def test_credentials_and_cookies_never_follow_a_redirect_to_another_origin(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed configured as http://user:secret@A/feed.xml: A gets Basic auth (robots.txt, feed, articles);
    articles on A that redirect (301, 302, 303, 307, 308) to B on another port carry no Authorization, no
    Cookie (A sets one) and no Proxy-Authorization (the environment names a proxy with credentials)."""
    codes = (301, 302, 303, 307, 308)
    secrets = ("secret", "psecret", "dXNlcjpzZWNyZXQ=", "session-cookie")
    with LocalSite() as a, LocalSite() as b, LocalSite() as proxy:
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(name, f"http://puser:psecret@127.0.0.1:{proxy.server.server_address[1]}")
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        cookie = ("Set-Cookie", "id=session-cookie; Path=/")
        for code in codes:
            a.routes[f"/r{code}/"] = Response(b"", status=code, headers=(("Location", f"{b.base_url}/landed/{code}/"),
                                                                          cookie))
            b.routes[f"/landed/{code}/"] = Response(article_html(f"SoftBank invests in robot maker {code}", PARAGRAPH))
        a.routes["/feed.xml"] = Response(rss(a.base_url, [f"/r{code}/" for code in codes]), "application/rss+xml",
                                         headers=(cookie,))
        b.routes["/feed.xml"] = Response(rss(b.base_url, []), "application/rss+xml")  # names B for the site
        feed = a.base_url.replace("http://", "http://user:secret@") + "/feed.xml"
        sites = (f'[[site]]\nid = "auth"\nfeeds = ["{feed}", "{b.base_url}/feed.xml"]\ndelay = 0\n'
                 "allow_private_network = true\n")
        result = run_cli(workdir, "crawl", sites=sites)
        to_a, to_b = list(a.requests), list(b.requests)
        proxied = sum(proxy.hits.values())
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert not any(s in result.stdout + result.stderr for s in secrets)  # nor logged
    assert len(titles(workdir)) == len(codes)
    authorization = "Basic dXNlcjpzZWNyZXQ="  # user:secret
    assert {path for path, headers in to_a if headers.get("Authorization") == authorization} == {
        "/robots.txt", "/feed.xml", *(f"/r{code}/" for code in codes)
    }
    assert {path for path, _ in to_b} >= {f"/landed/{code}/" for code in codes}
    leaked = [(path, name) for path, headers in to_b for name, value in headers.items()
              if name.lower() in ("authorization", "cookie", "proxy-authorization") or any(s in value for s in secrets)]
    assert leaked == []  # the figure: 0 secrets reach B
    assert not any("Cookie" in headers for _, headers in to_a)  # cookies are off altogether
    assert proxied == 0  # the proxy in the environment is not used
    assert not any(s.encode() in (workdir / "data" / "newswatch.db").read_bytes() for s in secrets)


def zstd_bomb(size: int = 1 << 30) -> bytes:
    """``size`` zero bytes as one zstd frame (32 KiB for 1 GiB)."""
    packer = zstd_module().ZstdCompressor(level=1)
    zeros = b"\0" * (1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(size >> 20)) + packer.flush()


def zstd_module() -> Any:
    """The zstd library Scrapy decodes with (the standard library's from Python 3.14, else its backport)."""
    for name in ("compression.zstd", "backports.zstd"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    pytest.skip("no zstd library: Scrapy cannot decode zstd (and then must not offer it)")


@pytest.mark.timeout(180)
def test_zstd_bombs_are_stopped_at_the_size_limit_and_never_inflated_without_a_header(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """zstd is offered in Accept-Encoding (Scrapy decodes it): a 1 GiB zstd bomb with Content-Encoding: zstd
    stops at DOWNLOAD_MAXSIZE, broken zstd is an error, and the bomb served as HTML without a Content-Encoding
    is skipped as not HTML, never inflated (by us or by trafilatura, which inflates zstd by its magic number).
    Extraction runs in the crawl process here, so its peak RSS covers it."""
    bomb = zstd_bomb()
    monkeypatch.setenv("NEWSWATCH_EXTRACT_WORKERS", "0")
    with LocalSite() as site:
        site.routes["/good/"] = Response(article_html("SoftBank invests in robot maker", PARAGRAPH))
        site.routes["/bomb-zstd/"] = Response(bomb, headers=(("Content-Encoding", "zstd"),))
        site.routes["/broken-zstd/"] = Response(bomb[:4] + b"\xff" * 4096, headers=(("Content-Encoding", "zstd"),))
        site.routes["/raw-zstd/"] = Response(bomb)
        pages = ["/good/", "/bomb-zstd/", "/broken-zstd/", "/raw-zstd/"]
        site.routes["/feed.xml"] = Response(rss(site.base_url, pages), "application/rss+xml")
        sites = (f'[[site]]\nid = "zstd"\nfeeds = ["{site.base_url}/feed.xml"]\ndelay = 0\n'
                 "allow_private_network = true\n")
        result, peak_mb = crawl_measuring_memory(workdir, sites)
        offered = {headers.get("Accept-Encoding", "") for path, headers in site.requests if path in pages}
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # Every encoding offered has a bomb test (gzip, deflate and br in test_hostile_site.py, zstd here).
    [accept] = offered
    assert {coding.strip() for coding in accept.split(",")} == {"gzip", "deflate", "br", "zstd"}, accept
    assert peak_mb < 600, peak_mb  # the bomb inflated in memory would be 1,024 MB
    assert set(titles(workdir)) == {"SoftBank invests in robot maker"}
    for session in stored(workdir):
        recorded = {p.canonical_url.removeprefix(site.base_url): p for p in session.exec(select(PageRow)).all()}
    assert recorded["/bomb-zstd/"].status == "error", recorded["/bomb-zstd/"]
    assert "exceeded DOWNLOAD_MAXSIZE" in (recorded["/bomb-zstd/"].reason or ""), recorded["/bomb-zstd/"]
    assert recorded["/broken-zstd/"].status == "error", recorded["/broken-zstd/"]
    assert recorded["/raw-zstd/"].status == "skipped", recorded["/raw-zstd/"]
