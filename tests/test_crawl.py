"""End-to-end crawls through the CLI against real local HTTP servers: feeds, sitemaps, listings, failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from crawler.models import ArticleRow, CrawlRunRow, MatchRow, PageRow
from crawler.store import open_database
from tests.local_site import LocalSite, Response, free_port

REPO = Path(__file__).resolve().parents[1]

RULES = """
[[rule]]
id = "softbank-investment"
query = 'softbank AND (invest* OR stake OR "joint venture")'
mode = "instant"

[[rule]]
id = "robots"
query = 'robot* AND (fund* OR invest*)'
"""

PARAGRAPH = (
    "The company said the plan would unfold over several years and involve partners across the region, "
    "with engineers, sales teams and suppliers working together on new products for business customers. "
)


def article_html(title: str, lead: str, published: str = "2026-11-20T09:00:00+00:00") -> bytes:
    body = "".join(f"<p>{lead if i == 0 else PARAGRAPH * 2}</p>" for i in range(5))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | Test News</title>
<meta property="article:published_time" content="{published}"><meta name="author" content="Pat Reporter">
</head><body><header><nav><a href="/">Home</a> <a href="/about/">About</a></nav></header>
<main><article><h1>{title}</h1><p class="byline">By Pat Reporter</p>{body}</article></main>
<footer><p>Copyright Test News</p></footer></body></html>""".encode()


ARTICLES = {
    "/news/softbank-invests/": article_html(
        "SoftBank invests in robot maker",
        "SoftBank will invest $2 billion in a robot maker that builds warehouse machines, the group said.",
    ),
    "/news/robot-funding/": article_html(
        "Robot start-up raises money",
        "A robot start-up raised new funding from investors to expand its factory automation business.",
    ),
    "/news/phone-review/": article_html(
        "Phone review: a decent camera",
        "The new phone has a decent camera, a bright screen and a battery that lasts a whole day of use.",
    ),
}


def rss(base: str, paths: list[str]) -> bytes:
    items = "".join(
        f"<item><title>t</title><link>{base}{p}?utm_source=rss</link>"
        f"<pubDate>Fri, 20 Nov 2026 09:00:00 +0000</pubDate></item>"
        for p in paths
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{items}</channel></rss>'.encode()


def sitemap(base: str, paths: list[str]) -> bytes:
    urls = "".join(f"<url><loc>{base}{p}</loc><lastmod>2026-11-20</lastmod></url>" for p in paths)
    return (
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()


ABOUT = b"<html><head><title>About</title></head><body><p>We are a small news site.</p></body></html>"
ROBOTS = b"User-agent: *\nDisallow: /private/\n"


def site_toml(site_id: str, base: str, extra: str) -> str:
    return f'[[site]]\nid = "{site_id}"\n{extra}\ndelay = 0\nallow_private_network = true\n'.replace("BASE", base)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(RULES)
    return tmp_path


def run_cli(
    workdir: Path, *args: str, sites: str | None = None, db_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    if sites is not None:
        (workdir / "config" / "sites.toml").write_text(sites)
    env = {
        **os.environ,
        "NEWSWATCH_CONFIG": str(workdir / "config"),
        "NEWSWATCH_DATA_DIR": str(workdir / "data"),
        "NEWSWATCH_DATABASE_URL": db_url or f"sqlite:///{workdir / 'data' / 'newswatch.db'}",
        "COLUMNS": "200",
        "TMPDIR": str(workdir / "tmp"),  # where each crawl keeps its queue of requests while it runs
    }
    (workdir / "tmp").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=240
    )


def stored(workdir: Path) -> Iterator[Session]:
    engine = open_database(f"sqlite:///{workdir / 'data' / 'newswatch.db'}")
    with Session(engine) as session:
        yield session
    engine.dispose()


def titles(workdir: Path) -> dict[str, str]:
    for session in stored(workdir):
        return {a.title: a.canonical_url for a in session.exec(select(ArticleRow)).all()}
    return {}


def flags(workdir: Path) -> set[tuple[str, str]]:
    for session in stored(workdir):
        rows = session.exec(select(ArticleRow.title, MatchRow.rule_id).join(MatchRow)).all()
        return {(title, rule) for title, rule in rows}
    return set()


@pytest.fixture
def news_site() -> Iterator[LocalSite]:
    with LocalSite() as site:
        paths = list(ARTICLES)
        site.routes.update({p: Response(body) for p, body in ARTICLES.items()})
        site.routes["/robots.txt"] = Response(ROBOTS, "text/plain")
        site.routes["/about/"] = Response(ABOUT)
        site.routes["/private/secret/"] = Response(article_html("Secret", PARAGRAPH))
        site.routes["/feed.xml"] = Response(rss(site.base_url, paths), "application/rss+xml")
        site.routes["/sitemap.xml"] = Response(sitemap(site.base_url, [*paths, "/about/"]), "application/xml")
        links = "".join(f'<a class="story" href="{p}">x</a>' for p in paths)
        site.routes["/"] = Response(
            f'<html><body><a href="/about/">About</a><a href="/private/secret/">Hidden</a>{links}'
            f'<a href="/kit.pdf">Kit</a></body></html>'.encode()
        )
        site.routes["/kit.pdf"] = Response(b"%PDF-1.4 binary", "application/pdf")
        yield site


EXPECTED_FLAGS = {
    ("SoftBank invests in robot maker", "softbank-investment"),
    ("SoftBank invests in robot maker", "robots"),
    ("Robot start-up raises money", "robots"),
}


def test_feed_site_then_second_crawl_adds_nothing(workdir: Path, news_site: LocalSite) -> None:
    sites = site_toml("feedsite", news_site.base_url, 'feeds = ["BASE/feed.xml"]')
    first = run_cli(workdir, "crawl", sites=sites)
    assert first.returncode == 0, first.stderr
    assert set(titles(workdir)) == {
        "SoftBank invests in robot maker",
        "Robot start-up raises money",
        "Phone review: a decent camera",
    }
    assert flags(workdir) == EXPECTED_FLAGS
    fetched = {p: news_site.hits[p] for p in ARTICLES}
    assert all(count == 1 for count in fetched.values())
    # Canonical URLs drop the feed's tracking parameters.
    assert all("utm_source" not in url for url in titles(workdir).values())

    second = run_cli(workdir, "crawl")
    assert second.returncode == 0, second.stderr
    assert {p: news_site.hits[p] for p in ARTICLES} == fetched  # nothing fetched again
    assert len(titles(workdir)) == 3
    for session in stored(workdir):
        runs = session.exec(select(CrawlRunRow).order_by(col(CrawlRunRow.id))).all()
        assert [(r.status, r.new_articles, r.flagged) for r in runs] == [("finished", 3, 2), ("finished", 0, 0)]
    assert list((workdir / "tmp").glob("newswatch-queue-*")) == []  # each crawl's request queue is removed


def test_crawl_into_postgresql(workdir: Path, news_site: LocalSite, pg_url: str) -> None:
    sites = site_toml("feedsite", news_site.base_url, 'feeds = ["BASE/feed.xml"]')
    assert run_cli(workdir, "crawl", sites=sites, db_url=pg_url).returncode == 0
    again = run_cli(workdir, "crawl", db_url=pg_url)
    assert again.returncode == 0
    engine = open_database(pg_url)
    with Session(engine) as session:
        assert len(session.exec(select(ArticleRow)).all()) == 3
        found = {(a.title, m.rule_id) for a, m in session.exec(select(ArticleRow, MatchRow).join(MatchRow)).all()}
        runs = session.exec(select(CrawlRunRow).order_by(col(CrawlRunRow.id))).all()
    engine.dispose()
    assert found == EXPECTED_FLAGS
    assert [r.new_articles for r in runs] == [3, 0]


def test_sitemap_site_skips_non_articles(workdir: Path, news_site: LocalSite) -> None:
    sites = site_toml("mapsite", news_site.base_url, 'sitemaps = ["BASE/sitemap.xml"]')
    result = run_cli(workdir, "crawl", sites=sites)
    assert result.returncode == 0, result.stderr
    assert len(titles(workdir)) == 3
    for session in stored(workdir):
        about = session.get(PageRow, f"{news_site.base_url}/about/")
        # A short page is not stored: it is "partial" (a possible stub, fetched again on a few later crawls).
        assert about is not None and about.status == "partial" and "too short" in (about.reason or "")
    assert flags(workdir) == EXPECTED_FLAGS


def test_listing_site_obeys_robots_and_skips_binary(workdir: Path, news_site: LocalSite) -> None:
    sites = site_toml("listsite", news_site.base_url, 'listings = [{ url = "BASE/" }]')
    result = run_cli(workdir, "crawl", sites=sites)
    assert result.returncode == 0, result.stderr
    assert len(titles(workdir)) == 3
    assert news_site.hits["/private/secret/"] == 0
    assert news_site.hits["/kit.pdf"] == 0  # a .pdf link is never fetched as an article
    assert "listsite" in result.stdout and "finished" in result.stdout


def test_listing_selector_limits_links(workdir: Path, news_site: LocalSite) -> None:
    sites = site_toml("selsite", news_site.base_url, 'listings = [{ url = "BASE/", links = "a.story" }]')
    assert run_cli(workdir, "crawl", sites=sites).returncode == 0
    assert news_site.hits["/about/"] == 0
    assert len(titles(workdir)) == 3


def test_failures_are_reported_and_the_crawl_goes_on(workdir: Path, news_site: LocalSite) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with LocalSite() as broken:
        broken.routes["/feed.xml"] = Response(b"<html>this is not a feed</html>", "text/html")
        broken.routes["/listing/"] = Response(
            b'<a href="/gone/">a</a><a href="/error/">b</a><a href="/image">c</a><a href="/empty/">d</a>'
        )
        broken.routes["/error/"] = Response(b"oops", "text/html", 500)
        broken.routes["/image"] = Response(b"\x89PNG\r\n\x1a\n....", "image/png")
        broken.routes["/empty/"] = Response(b"<html><body></body></html>")
        sites = (
            site_toml("good", news_site.base_url, 'feeds = ["BASE/feed.xml"]')
            + site_toml("broken", broken.base_url, 'feeds = ["BASE/feed.xml"]\nlistings = [{ url = "BASE/listing/" }]')
            + site_toml("unreachable", dead, 'feeds = ["BASE/feed.xml"]')
        )
        result = run_cli(workdir, "crawl", sites=sites)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "not a valid feed" in result.stderr
    assert "unreachable" in result.stderr and "Connection" in result.stderr
    assert len(titles(workdir)) == 3  # the good site was fully crawled
    for session in stored(workdir):
        pages = {p.canonical_url.rsplit("/", 2)[-2] or p.canonical_url: p for p in session.exec(select(PageRow))}
        runs = {r.site_id: r for r in session.exec(select(CrawlRunRow)).all()}
        error_page = session.get(PageRow, f"{broken.base_url}/error/")
        assert error_page is not None and error_page.status == "error" and error_page.http_status == 500
        image = session.get(PageRow, f"{broken.base_url}/image")
        assert image is not None and image.status == "skipped" and "not HTML" in (image.reason or "")
        empty = session.get(PageRow, f"{broken.base_url}/empty/")
        assert empty is not None and empty.status == "skipped"
        assert pages
    assert runs["good"].status == "finished" and runs["good"].new_articles == 3
    assert runs["unreachable"].status == "failed" and runs["unreachable"].errors >= 1
    assert runs["broken"].errors >= 2
    # Each run names the entry points that failed, for their health over several runs (crawler.health).
    assert list(runs["broken"].stats["failed_sources"]) == [f"{broken.base_url}/feed.xml"]
    assert "not a valid feed" in runs["broken"].stats["failed_sources"][f"{broken.base_url}/feed.xml"]
    assert list(runs["unreachable"].stats["failed_sources"]) == [f"{dead}/feed.xml"]
    assert runs["good"].stats["failed_sources"] == {}


def test_bad_config_never_starts_a_crawl(workdir: Path, news_site: LocalSite) -> None:
    sites = site_toml("feedsite", news_site.base_url, 'feeds = ["BASE/feed.xml"]\nfeed = "typo"')
    result = run_cli(workdir, "crawl", sites=sites)
    assert result.returncode == 2
    assert "key 'feed'" in result.stderr and "unknown key" in result.stderr
    assert news_site.hits["/feed.xml"] == 0
    assert "Traceback" not in result.stderr, result.stderr


def test_existing_data_survives_a_failed_crawl(workdir: Path, news_site: LocalSite) -> None:
    sites = site_toml("feedsite", news_site.base_url, 'feeds = ["BASE/feed.xml"]')
    assert run_cli(workdir, "crawl", sites=sites).returncode == 0
    before = titles(workdir)
    news_site.routes["/feed.xml"] = Response(b"garbage", "application/rss+xml", 200)
    result = run_cli(workdir, "crawl")
    assert result.returncode == 0
    assert titles(workdir) == before


def test_review_list_json(workdir: Path, news_site: LocalSite) -> None:
    sites = site_toml("feedsite", news_site.base_url, 'feeds = ["BASE/feed.xml"]')
    assert run_cli(workdir, "crawl", sites=sites).returncode == 0
    result = run_cli(workdir, "review", "list", "--format", "json", "--rule", "robots", "--since", "1d")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {r["title"] for r in rows} == {"SoftBank invests in robot maker", "Robot start-up raises money"}
    for row in rows:
        assert {"id", "url", "title", "site", "rules", "published", "found", "status"} <= set(row)
        assert row["site"] == "feedsite" and "robots" in row["rules"] and row["status"] == "new"
        assert row["published"].startswith("2026-11-20")
    csv_out = run_cli(workdir, "review", "list", "--format", "csv")
    assert csv_out.stdout.splitlines()[0].startswith("id,found,published,site,title,url,rules")
    flagged = json.loads(run_cli(workdir, "review", "list", "--format", "json").stdout)
    assert len(csv_out.stdout.splitlines()) == 1 + len(flagged) >= 1 + 2


def test_feed_date_wins_when_a_listing_finds_the_link_first(workdir: Path, news_site: LocalSite) -> None:
    feed = news_site.routes["/feed.xml"]
    news_site.routes["/feed.xml"] = Response(feed.body, feed.content_type, delay=1.5)  # the listing answers first
    sites = site_toml("both", news_site.base_url, 'listings = [{ url = "BASE/" }]\nfeeds = ["BASE/feed.xml"]')
    assert run_cli(workdir, "crawl", sites=sites).returncode == 0
    for session in stored(workdir):
        dates = {a.title: a.published for a in session.exec(select(ArticleRow)).all()}
        assert len(dates) == 3
        assert all(d is not None and (d.hour, d.minute) == (9, 0) for d in dates.values()), dates


def test_sitemap_index_leads_to_its_child_sitemaps(workdir: Path, news_site: LocalSite) -> None:
    paths = list(ARTICLES)
    news_site.routes["/sitemaps/news-1.xml"] = Response(sitemap(news_site.base_url, paths), "application/xml")

    def index(*children: str) -> Response:
        entries = "".join(f"<sitemap><loc>{news_site.base_url}{child}</loc></sitemap>" for child in children)
        return Response(
            f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}'
            "</sitemapindex>".encode(),
            "application/xml",
        )

    # The index lists itself, and a second index that lists the first one back: each is read once.
    news_site.routes["/sitemap_index.xml"] = index("/sitemap_index.xml", "/more.xml", "/sitemaps/news-1.xml")
    news_site.routes["/more.xml"] = index("/sitemap_index.xml", "/sitemaps/news-1.xml")
    sites = site_toml("indexed", news_site.base_url, 'sitemaps = ["BASE/sitemap_index.xml"]')
    result = run_cli(workdir, "crawl", sites=sites)
    assert result.returncode == 0, result.stderr
    assert news_site.hits["/sitemaps/news-1.xml"] == 1
    assert news_site.hits["/sitemap_index.xml"] == 1 and news_site.hits["/more.xml"] == 1
    assert len(titles(workdir)) == 3


def test_recrawl_revalidates_entry_points_and_fetches_only_what_is_new(workdir: Path, news_site: LocalSite) -> None:
    paths = list(ARTICLES)
    news_site.routes["/feed.xml"] = Response(rss(news_site.base_url, paths), "application/rss+xml", etag="v1")
    sites = site_toml("cached", news_site.base_url, 'feeds = ["BASE/feed.xml"]')
    assert run_cli(workdir, "crawl", sites=sites).returncode == 0
    assert len(titles(workdir)) == 3
    article_hits = {p: news_site.hits[p] for p in paths}

    # Unchanged: the feed answers 304 and no article is fetched again.
    assert run_cli(workdir, "crawl", sites=sites).returncode == 0
    assert news_site.not_modified["/feed.xml"] == 1
    assert {p: news_site.hits[p] for p in paths} == article_hits

    # One new item: exactly one new download.
    news_site.routes["/news/late/"] = Response(article_html("A late robot story", PARAGRAPH))
    news_site.routes["/feed.xml"] = Response(
        rss(news_site.base_url, ["/news/late/", *paths]), "application/rss+xml", etag="v2"
    )
    assert run_cli(workdir, "crawl", sites=sites).returncode == 0
    assert news_site.hits["/news/late/"] == 1
    assert {p: news_site.hits[p] for p in paths} == article_hits
    assert "A late robot story" in titles(workdir)
    for session in stored(workdir):
        runs = session.exec(select(CrawlRunRow).order_by(CrawlRunRow.id)).all()  # type: ignore[arg-type]
        assert [r.stats.get("not_modified") for r in runs] == [0, 1, 0]
        # the 304 has no body: all that travelled again was robots.txt (no validator, so not cached)
        assert runs[1].stats["wire_bytes"] == len(ROBOTS)


def test_queues_of_killed_crawls_are_removed(tmp_path: Path) -> None:
    from crawler.crawl import QUEUE_PREFIX, remove_stale_queues

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{QUEUE_PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{QUEUE_PREFIX}{os.getpid()}-def"
    other = tmp_path / "unrelated"
    for folder in (stale, live, other):
        (folder / "requests.queue").mkdir(parents=True)
    assert remove_stale_queues(tmp_path) == 1
    assert not stale.exists() and live.exists() and other.exists()


def test_links_in_several_feeds_are_fetched_once(workdir: Path) -> None:
    """Six feeds listing 600 links to 200 pages, each page in three feeds: Scrapy handles the feeds'
    requests concurrently, and each page is still requested exactly once."""
    with LocalSite() as site:
        pages = [f"/story/{n}/" for n in range(200)]
        for n, path in enumerate(pages):
            site.routes[path] = Response(article_html(f"Robot maker story number {n}", PARAGRAPH))
        for feed in range(6):
            listed = [pages[(feed * 34 + n) % 200] for n in range(100)]
            site.routes[f"/feed-{feed}.xml"] = Response(rss(site.base_url, listed), "application/rss+xml")
        feeds = ", ".join(f'"BASE/feed-{n}.xml"' for n in range(6))
        result = run_cli(workdir, "crawl", sites=site_toml("overlap", site.base_url, f"feeds = [{feeds}]"))
        hits = dict(site.hits)
    assert result.returncode == 0, result.stderr
    assert {path: hits.get(path, 0) for path in pages} == dict.fromkeys(pages, 1)
    assert len(titles(workdir)) == 200


def test_crawl_shows_skipped_pages_and_prints_json(workdir: Path, news_site: LocalSite) -> None:
    sites = site_toml("mapsite", news_site.base_url, 'sitemaps = ["BASE/sitemap.xml"]')
    first = run_cli(workdir, "crawl", sites=sites)
    assert first.returncode == 0, first.stderr
    assert "crawl --show-skipped lists them with the reason" in first.stderr  # what "skipped" means
    (workdir / "data" / "newswatch.db").unlink()  # crawl again from nothing, asking for the details
    shown = run_cli(workdir, "crawl", "--show-skipped")
    assert shown.returncode == 0, shown.stderr
    assert "mapsite: 1 page(s) skipped, i.e. they gave no article:" in shown.stdout
    assert f"{news_site.base_url}/about/\n    a stub, teaser or paywall: body too short" in shown.stdout
    (workdir / "data" / "newswatch.db").unlink()
    as_json = run_cli(workdir, "crawl", "--format", "json", "--show-skipped")
    assert as_json.returncode == 0, as_json.stderr
    (record,) = json.loads(as_json.stdout)
    assert record["site"] == "mapsite" and record["status"] == "finished"
    assert record["new_articles"] == 3 and record["skipped"] == 1 and record["flagged"] == 2
    assert record["skipped_pages"] == [
        {"url": f"{news_site.base_url}/about/", "status": "partial", "reason": record["skipped_pages"][0]["reason"]}
    ]
    assert "Instant alerts" in as_json.stderr  # the mail step's report stays off the JSON
