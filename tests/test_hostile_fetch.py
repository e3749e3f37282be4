"""Fetching from a misbehaving server in a real crawl: truncated bodies, retries by status, redirect loops and
redirects to other schemes. Exact request counts; the crawl finishes and reports each page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from crawler.models import ArticleRow, PageRow
from crawler.store import open_database
from tests.local_site import LocalSite, Response
from tests.test_crawl import PARAGRAPH, REPO, RULES, article_html, rss, run_cli, stored, titles


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


MEMORY_CRAWL = """
import sys
from pathlib import Path
from crawler.config import load_config
from crawler.crawl import crawl_sites, run_on_reactor
from crawler.store import open_database

cfg = load_config(Path(sys.argv[1]))
engine = open_database(sys.argv[2])
limit = {"MEMUSAGE_LIMIT_MB": 1, "MEMUSAGE_CHECK_INTERVAL_SECONDS": 0.2} if sys.argv[3] == "tiny" else {}
runs = run_on_reactor(lambda: crawl_sites(engine, cfg.sites, cfg.ruleset(), settings=limit, workers=0))
print(runs[0].status, runs[0].new_articles, "|".join(runs[0].problems))
"""


def test_a_crawl_over_its_memory_limit_stops_cleanly_and_the_next_one_works(workdir: Path) -> None:
    with LocalSite() as site:
        paths = [f"/news/{n}/" for n in range(30)]
        for number, path in enumerate(paths):
            site.routes[path] = Response(
                article_html(f"Robot story {number}", PARAGRAPH), delay=0.2  # slow enough for the check to run
            )
        site.routes["/feed.xml"] = Response(rss(site.base_url, paths), "application/rss+xml")
        (workdir / "config" / "sites.toml").write_text(
            f'[[site]]\nid = "big"\nfeeds = ["{site.base_url}/feed.xml"]\ndelay = 0\nallow_private_network = true\n'
        )
        database = f"sqlite:///{workdir / 'data.db'}"

        def crawl(limit: str) -> list[str]:
            result = subprocess.run([sys.executable, "-c", MEMORY_CRAWL, str(workdir / "config"), database, limit],
                                    cwd=REPO, capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, result.stderr
            assert "Traceback" not in result.stderr
            status, new, *problems = result.stdout.strip().splitlines()[-1].split(" ", 2)
            return [status, new, "".join(problems)]

        status, new, problems = crawl("tiny")
        assert status == "failed" and "memusage_exceeded" in problems, (status, new, problems)
        assert int(new) < 30  # stopped early (it ends at its first check, here before any article)
        status, new, problems = crawl("normal")
        assert status == "finished", problems
    engine = open_database(database)
    with Session(engine) as session:  # the first crawl's articles kept, the rest fetched by the second
        assert len(session.exec(select(ArticleRow)).all()) == 30
    engine.dispose()
