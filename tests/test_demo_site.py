"""The bundled sample news site (crawler.demo): content and labels, pages, feeds, sitemaps, HTTP behaviour."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import threading
import urllib.robotparser
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree

import feedparser
import httpx
import pytest
from parsel import Selector

from crawler.demo import (
    NON_ARTICLE_PATHS,
    PRESS_KIT_PATH,
    PRIVATE_PATH,
    SampleArticle,
    SampleSite,
    load_articles,
    load_authors,
    load_reserve_articles,
    load_sections,
    load_stub_articles,
)
from tests.conftest import shared_path

NOW = datetime(2025, 11, 20, 6, 0, tzinfo=UTC)
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


@pytest.fixture(scope="module")
def site() -> Iterator[SampleSite]:
    """A site with fixed dates, shared by the read-only tests (tests that publish make their own)."""
    with SampleSite(now=NOW) as sample:
        yield sample


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10) as http:
        yield http


def _page(client: httpx.Client, url: str) -> Selector:
    response = client.get(url)
    assert response.status_code == 200, url
    return Selector(text=response.text)


def _words(selector: Selector) -> str:
    return " ".join(" ".join(selector.css("::text").getall()).split())


def _section_paths(site: SampleSite, section: str) -> set[str]:
    return {a.path for a in (*site.articles, *site.stubs) if a.section == section}


# -- content ----------------------------------------------------------------------------------------------


def test_bundled_content_has_enough_labelled_stories() -> None:
    articles = load_articles(NOW)
    assert len(articles) >= 34
    positives = [a for a in articles if a.softbank_investment or a.ai_iot_investment]
    assert 10 <= len(positives) <= 14
    assert len(articles) - len(positives) >= 20
    assert sum(a.softbank_investment for a in articles) >= 5
    assert sum(a.ai_iot_investment for a in articles) >= 8
    # Mixed cases: SoftBank investing outside AI / IoT, and AI money in a story that names SoftBank.
    assert any(a.softbank_investment and not a.ai_iot_investment for a in articles)
    assert any(a.ai_iot_investment and not a.softbank_investment and "SoftBank" in a.text for a in articles)
    # Hard negatives: SoftBank stories that are not investments.
    softbank_negatives = [a for a in articles if "SoftBank" in a.title and not a.softbank_investment]
    assert len(softbank_negatives) >= 5
    for article in articles:
        assert isinstance(article.softbank_investment, bool)
        assert isinstance(article.ai_iot_investment, bool)
        assert article.label_note


def test_articles_are_well_formed() -> None:
    articles = load_articles(NOW)
    sections = load_sections()
    assert len({a.slug for a in articles}) == len(articles)
    assert len({a.path for a in articles}) == len(articles)
    for article in articles:
        assert 250 <= article.word_count <= 600, (article.slug, article.word_count)
        assert article.published.tzinfo is not None
        assert article.published <= NOW
        assert article.section in sections
        assert article.title and article.teaser and article.tags and article.image_alt and article.image_credit
        assert any(block.kind == "h2" for block in article.blocks), article.slug
        assert re.fullmatch(r"/\d{4}/\d{2}/\d{2}/[a-z0-9-]+/", article.path)
    dates = sorted(a.published for a in articles)
    assert NOW - dates[-1] < timedelta(days=2)
    assert timedelta(days=14) <= dates[-1] - dates[0] <= timedelta(days=22)
    assert sum(any(b.kind == "blockquote" for b in a.blocks) for a in articles) >= 10


def test_recurring_authors_have_bios() -> None:
    articles = load_articles(NOW)
    authors = load_authors()
    for author in authors.values():
        sentences = [s for s in re.split(r"(?<=\.)\s+", author.bio) if s]
        assert 2 <= len(sentences) <= 3, author.id
        assert author.name and author.role
    counts = {author_id: sum(a.author.id == author_id for a in articles) for author_id in authors}
    assert sum(count >= 3 for count in counts.values()) >= 5


def test_investment_amounts_use_varied_formats() -> None:
    text = " ".join(f"{a.title} {a.text}" for a in load_articles(NOW) if a.ai_iot_investment or a.softbank_investment)
    for amount in (
        "$4.5B",
        "$3 billion",
        "5 trillion won",
        "£2.4bn",
        "¥1tn",
        "US$1.2 billion",
        "€500m",
        "$15bn to $25bn",
    ):
        assert amount in text, amount


def test_dates_are_relative_to_the_reference_time() -> None:
    later = NOW + timedelta(days=3, hours=5)
    first, second = load_articles(NOW), load_articles(later)
    assert [a.slug for a in first] == [a.slug for a in second]
    assert all(b.published - a.published == timedelta(days=3, hours=5) for a, b in zip(first, second, strict=True))
    newest = load_articles()[0]
    assert datetime.now(UTC) - newest.published < timedelta(days=2)
    with pytest.raises(ValueError):
        load_articles(datetime(2025, 11, 20))  # naive


def test_reserve_and_stub_articles() -> None:
    reserve = load_reserve_articles(NOW)
    bundled = {a.slug for a in load_articles(NOW)}
    assert reserve and not {a.slug for a in reserve} & bundled
    assert any(a.softbank_investment and a.ai_iot_investment for a in reserve)
    assert any(not a.softbank_investment and not a.ai_iot_investment for a in reserve)
    assert all(a.published == NOW for a in reserve)
    stubs = load_stub_articles(NOW)
    assert stubs and all(a.word_count < 40 for a in stubs)
    assert not {a.slug for a in stubs} & bundled


def test_body_markup_is_parsed_into_blocks() -> None:
    article = dataclasses.replace(
        load_reserve_articles(NOW)[0],
        body="First paragraph\ncontinues here.\n\n## A heading\n\n> A quote\n> on two lines.\n\nLast.",
    )
    assert [(b.kind, b.text) for b in article.blocks] == [
        ("p", "First paragraph continues here."),
        ("h2", "A heading"),
        ("blockquote", "A quote on two lines."),
        ("p", "Last."),
    ]
    assert article.paragraphs == ["First paragraph continues here.", "Last."]
    assert article.text.startswith("First paragraph continues here.\n\nA heading")


def test_content_is_not_copied_from_the_seed_stories() -> None:
    def eight_grams(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"[\w$£¥€.'’-]+", text.lower())
        return {tuple(words[i : i + 8]) for i in range(len(words) - 7)}

    examples = shared_path("examples")
    seeds: set[tuple[str, ...]] = set()
    for path in sorted(examples.glob("0*.txt")):
        seeds |= eight_grams(path.read_text(encoding="utf-8"))
    assert seeds
    for article in [*load_articles(NOW), *load_reserve_articles(NOW)]:
        shared = eight_grams(f"{article.title} {article.teaser} {article.text}") & seeds
        assert not shared, (article.slug, [" ".join(g) for g in shared])


# -- article pages ----------------------------------------------------------------------------------------


def _news_article_ld(selector: Selector) -> dict[str, object]:
    for raw in selector.css('script[type="application/ld+json"]::text').getall():
        data = json.loads(raw)
        for item in data.get("@graph", [data]):
            if item.get("@type") == "NewsArticle":
                return dict(item)
    raise AssertionError("no NewsArticle JSON-LD")


def test_every_article_page_is_complete(site: SampleSite, client: httpx.Client) -> None:
    themes: set[str] = set()
    for article in site.articles:
        url = site.url(article)
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.text.startswith("<!DOCTYPE html>")
        page = Selector(text=response.text)
        section = site.sections[article.section]
        themes.add(section.theme)
        # Head: language, title, canonical, OpenGraph, published time, JSON-LD.
        assert page.css("html::attr(lang)").get() == "en"
        assert page.css("meta[charset]")
        assert article.title in page.css("title::text").get("")
        assert page.css('link[rel="canonical"]::attr(href)').get() == url
        assert page.css('meta[property="og:title"]::attr(content)').get() == article.title
        assert page.css('meta[property="og:type"]::attr(content)').get() == "article"
        assert page.css('meta[property="og:url"]::attr(content)').get() == url
        published = page.css('meta[property="article:published_time"]::attr(content)').get("")
        assert datetime.fromisoformat(published) == article.published
        ld = _news_article_ld(page)
        assert ld["headline"] == article.title
        assert datetime.fromisoformat(str(ld["datePublished"])) == article.published
        assert ld["author"] == [
            {"@type": "Person", "name": article.author.name, "url": site.url(f"/author/{article.author.id}/")}
        ]
        # Visible page: headline, byline, figure, body, boilerplate blocks.
        assert page.css("h1::text").getall() == [article.title]
        assert page.css(f'time[datetime="{published}"]')
        text = _words(page)
        assert "YOU ARE AT:" in text
        crumbs = _words(page.css(".entry-crumbs, nav.breadcrumb")[0])
        assert crumbs == f"YOU ARE AT: Home » {section.title} » {article.title}"
        assert "ABOUT AUTHOR" in text and article.author.bio in text
        assert "Recent Posts" in text
        recent = page.css(".widget_recent_entries li, .recent-posts li")
        assert 5 <= len(recent) <= 6 and all(re.search(r"\d+ \w+ ago|just now", _words(li)) for li in recent)
        assert page.css("img::attr(alt)").getall().count(article.image_alt) == 1
        caption = _words(page.css("figure figcaption")[0])
        assert caption == f"{article.image_alt}. Image credit: {article.image_credit}"
        assert page.css('form[action="/newsletter/subscribe"]')
        assert page.css("#cookie-notice") and page.css("footer.site-footer")
        assert len(page.css("nav a")) >= 9
        assert any("facebook.com/sharer" in href for href in page.css("a::attr(href)").getall())
        paragraphs = {" ".join(p.css("::text").getall()) for p in page.css("p")}
        for paragraph in article.paragraphs:
            assert paragraph in paragraphs, (article.slug, paragraph[:60])
        for heading in (b.text for b in article.blocks if b.kind == "h2"):
            assert heading in page.css("h2::text").getall()
    assert themes == {"a", "b"}


def test_article_page_themes_differ(site: SampleSite, client: httpx.Client) -> None:
    by_theme = {site.sections[a.section].theme: a for a in site.articles}
    page_a = _page(client, site.url(by_theme["a"]))
    page_b = _page(client, site.url(by_theme["b"]))
    assert page_a.css("body.theme-a article .entry-content") and page_a.css(".related-posts li")
    assert page_a.css("#comments form")
    assert page_b.css("body.theme-b .story-body") and page_b.css("p.standfirst") and page_b.css("aside.read-also")
    assert page_b.css("ol.most-read li")
    # Theme A writes absolute links, theme B root-relative ones.
    assert page_a.css(".related-posts a::attr(href)").get("").startswith(site.base_url)
    assert page_b.css(".recent-posts a::attr(href)").get("").startswith("/")


def test_stub_page_has_almost_no_body(site: SampleSite, client: httpx.Client) -> None:
    (stub,) = site.stubs
    page = _page(client, site.url(stub))
    assert page.css("h1::text").get() == stub.title
    body = _words(page.css(".entry-content, .story-body")[0])
    assert len(body.split()) < 40


# -- listings ---------------------------------------------------------------------------------------------


def test_home_page_lists_latest_stories_and_other_links(site: SampleSite, client: httpx.Client) -> None:
    page = _page(client, site.url("/"))
    links = page.css("a.story-link::attr(href)").getall()
    latest = sorted((*site.articles, *site.stubs), key=lambda a: a.published, reverse=True)[:15]
    assert links[:15] == [a.path for a in latest]
    assert PRIVATE_PATH in links and PRESS_KIT_PATH in links
    hrefs = page.css("a::attr(href)").getall()
    assert "/about/" in hrefs and "/media/logo.png" in hrefs
    assert len(page.css("p.teaser-text")) == 15
    assert page.css('meta[property="og:type"]::attr(content)').get() == "website"


def test_section_pages_paginate_over_all_their_stories(site: SampleSite, client: httpx.Client) -> None:
    paginated = 0
    for section in site.sections:
        path: str | None = f"/section/{section}/"
        found: list[str] = []
        pages = 0
        while path:
            page = _page(client, site.url(path))
            found += page.css("a.story-link::attr(href)").getall()
            assert page.css(".breadcrumbs").get() and "YOU ARE AT:" in _words(page.css(".breadcrumbs")[0])
            path = page.css("a.next-page::attr(href)").get()
            pages += 1
        assert len(found) == len(set(found))
        assert set(found) == _section_paths(site, section)
        paginated += pages > 1
    assert paginated >= 3
    assert client.get(site.url("/section/business/page/9/")).status_code == 404
    assert client.get(site.url("/section/nonexistent/")).status_code == 404
    redirect = client.get(site.url("/section/business/page/1/"))
    assert redirect.status_code == 301 and redirect.headers["location"] == "/section/business/"


def test_tag_and_author_pages(site: SampleSite, client: httpx.Client) -> None:
    tagged = {a.path for a in site.articles if "SoftBank" in a.tags}
    page = _page(client, site.url("/tag/softbank/"))
    assert set(page.css("a.story-link::attr(href)").getall()) == tagged
    author = load_authors()["priya-raman"]
    page = _page(client, site.url("/author/priya-raman/"))
    assert author.bio in _words(page)
    assert set(page.css("a.story-link::attr(href)").getall()) == {
        a.path for a in site.articles if a.author.id == "priya-raman"
    }
    assert client.get(site.url("/tag/no-such-tag/")).status_code == 404


# -- feeds and sitemaps -----------------------------------------------------------------------------------


def test_rss_feed_lists_every_story_with_dates(site: SampleSite, client: httpx.Client) -> None:
    response = client.get(site.url("/feed.xml"))
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    stories = {site.url(a): a for a in (*site.articles, *site.stubs)}
    assert len(feed.entries) == len(stories)
    for entry in feed.entries:
        assert urlsplit(entry.link).query.startswith("utm_source=rss")
        article = stories[entry.id]
        assert entry.link.split("?")[0] == entry.id
        assert entry.title == article.title
        assert entry.author == article.author.name
        assert parsedate_to_datetime(entry.published) == article.published
        assert entry.published_parsed is not None
        assert entry.summary == article.teaser
    published = [parsedate_to_datetime(e.published) for e in feed.entries]
    assert published == sorted(published, reverse=True)


def test_atom_and_section_feeds(site: SampleSite, client: httpx.Client) -> None:
    atom = feedparser.parse(client.get(site.url("/atom.xml")).content)
    assert not atom.bozo and atom.version == "atom10"
    assert {e.link for e in atom.entries} == {site.url(a) for a in (*site.articles, *site.stubs)}
    assert all(e.published_parsed and e.updated_parsed for e in atom.entries)
    section = feedparser.parse(client.get(site.url("/section/iot/feed.xml")).content)
    assert not section.bozo
    assert {e.id for e in section.entries} == {site.url(p) for p in _section_paths(site, "iot")}


def _xml(client: httpx.Client, url: str) -> ElementTree.Element:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    return ElementTree.fromstring(response.content)


def test_sitemap_index_and_children(site: SampleSite, client: httpx.Client) -> None:
    index = _xml(client, site.url("/sitemap.xml"))
    assert index.tag == f"{SM}sitemapindex"
    children = [loc.text for loc in index.iter(f"{SM}loc")]
    assert site.url("/sitemap-posts.xml") in children and site.url("/news-sitemap.xml") in children
    assert all(sm.find(f"{SM}lastmod") is not None for sm in index.iter(f"{SM}sitemap"))
    stories = {site.url(a): a for a in (*site.articles, *site.stubs)}

    posts = _xml(client, site.url("/sitemap-posts.xml"))
    assert posts.tag == f"{SM}urlset"
    entries = {str(u.findtext(f"{SM}loc")): str(u.findtext(f"{SM}lastmod")) for u in posts.iter(f"{SM}url")}
    assert set(entries) == set(stories)
    for loc, lastmod in entries.items():
        assert datetime.fromisoformat(lastmod) == stories[loc].last_modified

    news = _xml(client, site.url("/news-sitemap.xml"))
    seen = set()
    for node in news.iter(f"{SM}url"):
        loc = str(node.findtext(f"{SM}loc"))
        item = node.find(f"{NEWS}news")
        assert item is not None
        assert datetime.fromisoformat(str(item.findtext(f"{NEWS}publication_date"))) == stories[loc].published
        assert item.findtext(f"{NEWS}title") == stories[loc].title
        assert item.findtext(f"{NEWS}publication/{NEWS}name") == "The Circuit Ledger"
        seen.add(loc)
    assert seen == set(stories)

    pages = _xml(client, site.url("/sitemap-pages.xml"))
    assert site.url("/about/") in {loc.text for loc in pages.iter(f"{SM}loc")}


def test_robots_txt(site: SampleSite, client: httpx.Client) -> None:
    response = client.get(site.url("/robots.txt"))
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(response.text.splitlines())
    assert parser.can_fetch("Newswatch", site.url(site.articles[0]))
    assert parser.can_fetch("Newswatch", site.url("/feed.xml"))
    assert not parser.can_fetch("Newswatch", site.url(PRIVATE_PATH))
    assert parser.site_maps() == [site.url("/sitemap.xml")]


# -- other resources and HTTP behaviour -------------------------------------------------------------------


def test_non_article_resources(site: SampleSite, client: httpx.Client) -> None:
    about = client.get(site.url("/about/"))
    assert about.status_code == 200
    page = Selector(text=about.text)
    assert page.css('meta[property="og:type"]::attr(content)').get() != "article"
    assert len(_words(page.css("main")[0]).split()) < 60
    for path in NON_ARTICLE_PATHS:
        assert client.get(site.url(path)).status_code == 200, path
    pdf = client.get(site.url(PRESS_KIT_PATH))
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-1.4") and pdf.content.rstrip().endswith(b"%%EOF")
    logo = client.get(site.url("/media/logo.png"))
    assert logo.headers["content-type"] == "image/png" and logo.content.startswith(b"\x89PNG\r\n\x1a\n")
    picture = client.get(site.url(f"/media/images/{site.articles[0].slug}.png"))
    assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")
    css = client.get(site.url("/static/site.css"))
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    private = client.get(site.url(PRIVATE_PATH))
    assert private.status_code == 200  # served, but robots.txt forbids it


def test_unknown_paths_get_404(site: SampleSite, client: httpx.Client) -> None:
    for path in ("/nope", "/2025/01/01/no-such-story/", "/media/images/nope.png", "/private/other/", "/feed.xml/x"):
        response = client.get(site.url(path))
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "Page not found" in response.text


def test_missing_final_slash_redirects(site: SampleSite, client: httpx.Client) -> None:
    article = site.articles[3]
    response = client.get(site.url(article.path.rstrip("/")))
    assert response.status_code == 301 and response.headers["location"] == article.path
    assert client.get(site.url("/about")).headers["location"] == "/about/"
    assert client.get(site.url("/section/ai")).headers["location"] == "/section/ai/"


@pytest.mark.parametrize("path", ["article", "/", "/feed.xml", "/sitemap-posts.xml", "/robots.txt", PRESS_KIT_PATH])
def test_conditional_get(site: SampleSite, client: httpx.Client, path: str) -> None:
    url = site.url(site.articles[4]) if path == "article" else site.url(path)
    first = client.get(url)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('W/"')
    assert parsedate_to_datetime(last_modified).tzinfo is not None
    before = site.not_modified[urlsplit(url).path]
    by_etag = client.get(url, headers={"If-None-Match": etag})
    assert by_etag.status_code == 304 and by_etag.content == b"" and by_etag.headers["etag"] == etag
    by_date = client.get(url, headers={"If-Modified-Since": last_modified})
    assert by_date.status_code == 304
    assert site.not_modified[urlsplit(url).path] == before + 2
    assert client.get(url, headers={"If-None-Match": 'W/"stale"'}).status_code == 200
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get(url, headers={"If-Modified-Since": old}).status_code == 200
    assert client.get(url).headers["etag"] == etag  # stable while nothing changes


def test_gzip_when_accepted(site: SampleSite, client: httpx.Client) -> None:
    url = site.url(site.articles[0])
    compressed = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert compressed.text == plain.text
    assert compressed.headers["etag"] == plain.headers["etag"]


def test_head_is_answered_but_not_counted(site: SampleSite, client: httpx.Client) -> None:
    path = "/section/culture/"
    before = site.hits[path]
    response = client.head(site.url(path))
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) > 1000
    assert site.hits[path] == before


def test_hits_are_counted_per_path() -> None:
    with SampleSite(now=NOW) as site, httpx.Client(trust_env=False) as http:
        assert site.hits[PRIVATE_PATH] == 0
        http.get(site.url(PRIVATE_PATH))
        http.get(site.url(PRIVATE_PATH))
        http.get(site.url("/?utm_source=test"))
        http.get(site.url("/missing/"))
        assert site.hits[PRIVATE_PATH] == 2
        assert site.hits["/"] == 1
        assert site.hits["/missing/"] == 1
        assert sum(site.hits.values()) == 4


def test_publish_makes_a_story_appear_everywhere() -> None:
    new = dataclasses.replace(load_reserve_articles(NOW)[0], published=NOW + timedelta(minutes=5))
    with SampleSite(now=NOW) as site, httpx.Client(trust_env=False) as http:
        url = site.url(new)
        assert http.get(url).status_code == 404
        home_etag = http.get(site.url("/")).headers["etag"]
        count = len(site.articles)

        site.publish(new)

        assert len(site.articles) == count + 1 and site.articles[0] == new
        page = _page(http, url)
        assert page.css("h1::text").get() == new.title
        home = http.get(site.url("/"))
        assert home.headers["etag"] != home_etag
        assert Selector(text=home.text).css("a.story-link::attr(href)").get() == new.path
        section = _page(http, site.url(f"/section/{new.section}/"))
        assert new.path in section.css("a.story-link::attr(href)").getall()
        feed = feedparser.parse(http.get(site.url("/feed.xml")).content)
        assert feed.entries[0].id == url
        assert parsedate_to_datetime(feed.entries[0].published) == new.published
        assert url in {e.id for e in feedparser.parse(http.get(site.url("/atom.xml")).content).entries}
        for sitemap in ("/sitemap-posts.xml", "/news-sitemap.xml"):
            assert url in {loc.text for loc in _xml(http, site.url(sitemap)).iter(f"{SM}loc")}

        with pytest.raises(ValueError, match="already published"):
            site.publish(new)
        with pytest.raises(ValueError, match="unknown section"):
            site.publish(dataclasses.replace(new, slug="another-story", section="sport"))


def test_publish_while_a_client_is_reading() -> None:
    reserve = load_reserve_articles(NOW)
    with SampleSite(now=NOW) as site, httpx.Client(trust_env=False) as http:
        errors: list[BaseException] = []

        def read() -> None:
            try:
                for _ in range(20):
                    assert http.get(site.url("/feed.xml")).status_code == 200
            except BaseException as exc:  # reported by the main thread below
                errors.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        for article in reserve:
            site.publish(article)
        reader.join()
        assert not errors
        feed = feedparser.parse(http.get(site.url("/feed.xml")).content)
        assert {site.url(a) for a in reserve} <= {e.id for e in feed.entries}


def test_lifecycle() -> None:
    site = SampleSite(now=NOW)
    with pytest.raises(RuntimeError):
        _ = site.base_url
    assert site.articles  # content is available before the site starts
    site.start()
    try:
        assert site.port != 0
        assert site.base_url == f"http://127.0.0.1:{site.port}"
        with pytest.raises(RuntimeError):
            site.start()
        assert httpx.get(site.url("/robots.txt"), trust_env=False).status_code == 200
    finally:
        site.stop()
    site.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{site.port}/", trust_env=False, timeout=2)


def test_sample_article_validation() -> None:
    article = load_articles(NOW)[0]
    with pytest.raises(ValueError, match="timezone-aware"):
        dataclasses.replace(article, published=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="bad slug"):
        dataclasses.replace(article, slug="Not A Slug")
    assert isinstance(article, SampleArticle)


def test_command_line_server_prints_its_url() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.demo.server", "--port", "0", "--now", NOW.isoformat()],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        robots = httpx.get(match.group(0) + "/robots.txt", trust_env=False, timeout=5)
        assert "Disallow: /private/" in robots.text
    finally:
        process.terminate()
        process.wait(timeout=10)
