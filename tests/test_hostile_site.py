"""A hostile site in a real crawl: compression bombs, compressed bodies without a header, XML bombs, external
entities and feed bodies that look like paths or URLs. The crawl finishes, memory stays bounded, nothing
outside the site is contacted, and the good pages are stored."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from crawler.models import ArticleRow, CrawlRunRow, PageRow
from tests.local_site import LocalSite, Response
from tests.test_crawl import PARAGRAPH, RULES, article_html, rss, stored

BOMB_SIZE = 1 << 30  # what each bomb inflates to: 1 GiB (the crawl's limit is 16 MiB)


def _stream(compress: Callable[[bytes], bytes], finish: Callable[[], bytes], size: int = BOMB_SIZE) -> bytes:
    zeros = b"\0" * (1 << 20)
    return b"".join(compress(zeros) for _ in range(size >> 20)) + finish()


def gzip_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return _stream(packer.compress, packer.flush)


def deflate_bomb() -> bytes:
    packer = zlib.compressobj(9)
    return _stream(packer.compress, packer.flush)


def brotli_bomb() -> bytes:
    import brotli

    packer = brotli.Compressor(quality=1)
    return _stream(packer.process, packer.finish)


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {"gzip": gzip_bomb(), "deflate": deflate_bomb(), "br": brotli_bomb()}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(RULES)
    return tmp_path


def crawl_measuring_memory(workdir: Path, sites: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """`newswatch crawl` in a subprocess; its result and the crawl process's peak RSS in MB (VmHWM)."""
    (workdir / "config" / "sites.toml").write_text(sites)
    env = {
        **os.environ,
        "NEWSWATCH_CONFIG": str(workdir / "config"),
        "NEWSWATCH_DATA_DIR": str(workdir / "data"),
        "NEWSWATCH_DATABASE_URL": f"sqlite:///{workdir / 'data' / 'newswatch.db'}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl"], cwd=workdir, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    peak = [0]

    def watch() -> None:
        while process.poll() is None:
            try:
                with open(f"/proc/{process.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            peak[0] = max(peak[0], int(line.split()[1]) // 1024)
            except OSError:
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = process.communicate(timeout=240)
    watcher.join()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), peak[0]


def test_bombs_and_hostile_xml_leave_the_crawl_bounded_and_the_good_pages_stored(
    workdir: Path, bombs: dict[str, bytes]
) -> None:
    with LocalSite() as canary, LocalSite() as site:
        canary.routes["/xxe"] = Response(b"CANARY-SECRET", "text/plain")
        canary.routes["/dtd"] = Response(b'<!ENTITY secret "CANARY-SECRET">', "application/xml-dtd")
        good = ["/good/1/", "/good/2/"]
        for number, path in enumerate(good):
            site.routes[path] = Response(article_html(f"SoftBank invests in robot maker {number}", PARAGRAPH))
        for kind, body in bombs.items():  # declared encodings: Scrapy inflates them up to the size limit only
            site.routes[f"/bomb-{kind}/"] = Response(body, headers=(("Content-Encoding", kind),))
        # Compressed bytes without Content-Encoding, served as HTML: never inflated by anyone.
        site.routes["/raw-gzip/"] = Response(bombs["gzip"])
        site.routes["/raw-zlib/"] = Response(bombs["deflate"])
        site.routes["/raw-brotli/"] = Response(bombs["br"])
        pages = [*good, "/bomb-gzip/", "/bomb-deflate/", "/bomb-br/", "/raw-gzip/", "/raw-zlib/", "/raw-brotli/"]
        site.routes["/feed.xml"] = Response(rss(site.base_url, pages), "application/rss+xml")
        laughs = "".join(f'<!ENTITY l{i + 1} "{f"&l{i};" * 10}">' for i in range(9))
        site.routes["/laughs.xml"] = Response(
            f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{laughs}]>'
            f"<rss><channel><item><title>&l9;</title><link>{site.base_url}/good/1/</link></item></channel></rss>".encode(),
            "application/rss+xml",
        )
        xxe = (
            f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM "{canary.base_url}/xxe">'
            f'<!ENTITY file SYSTEM "file:///etc/hostname"><!ENTITY % dtd SYSTEM "{canary.base_url}/dtd"> %dtd;]>'
        )
        site.routes["/xxe-feed.xml"] = Response(
            (xxe + f"<rss><channel><item><title>&ext;&file;&secret;</title><link>{site.base_url}/good/2/</link>"
             "</item></channel></rss>").encode(),
            "application/rss+xml",
        )
        site.routes["/xxe-sitemap.xml"] = Response(
            (xxe.replace("DOCTYPE x", "DOCTYPE urlset") + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             f"<url><loc>{site.base_url}/good/1/?&ext;</loc></url></urlset>").encode(),
            "application/xml",
        )
        site.routes["/bomb-sitemap.xml.gz"] = Response(bombs["gzip"], "application/x-gzip")
        # Bodies feedparser would read as a path or a URL if they were passed as a string.
        site.routes["/path-feed.xml"] = Response(b"/etc/passwd", "application/rss+xml")
        site.routes["/url-feed.xml"] = Response(f"{canary.base_url}/xxe".encode(), "application/rss+xml")
        feeds = ", ".join(f'"{site.base_url}/{name}"' for name in
                          ("feed.xml", "laughs.xml", "xxe-feed.xml", "path-feed.xml", "url-feed.xml"))
        sitemaps = f'"{site.base_url}/xxe-sitemap.xml", "{site.base_url}/bomb-sitemap.xml.gz"'
        sites = (f'[[site]]\nid = "hostile"\nfeeds = [{feeds}]\nsitemaps = [{sitemaps}]\ndelay = 0\n'
                 "allow_private_network = true\n")
        result, peak_mb = crawl_measuring_memory(workdir, sites)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert peak_mb < 600, peak_mb  # a single bomb inflated in memory would be 1,024 MB
    assert sum(canary.hits.values()) == 0, canary.hits  # no external entity or DTD fetched
    for source, error in (("path-feed.xml", "not a valid feed"), ("url-feed.xml", "not a valid feed"),
                          ("bomb-sitemap.xml.gz", "inflates beyond")):
        assert f"{source}: " in result.stderr and error in result.stderr, source  # reported, crawl went on
    for session in stored(workdir):
        articles = session.exec(select(ArticleRow)).all()
        assert sorted(a.title for a in articles) == [
            "SoftBank invests in robot maker 0", "SoftBank invests in robot maker 1"
        ]
        assert not any("CANARY" in a.title + a.text for a in articles)
        recorded = {p.canonical_url.removeprefix(site.base_url): p for p in session.exec(select(PageRow)).all()}
        for kind in ("gzip", "deflate", "br"):
            page = recorded[f"/bomb-{kind}/"]
            assert page.status == "error" and "exceeded DOWNLOAD_MAXSIZE" in (page.reason or ""), page
        for raw in ("/raw-gzip/", "/raw-zlib/", "/raw-brotli/"):
            assert recorded[raw].status == "skipped", recorded[raw]
        [run] = session.exec(select(CrawlRunRow)).all()
        assert run.new_articles == 2
