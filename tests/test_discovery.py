"""Finding article links in feeds, sitemaps and listing pages."""

from __future__ import annotations

import contextlib
import gzip
from datetime import UTC, datetime

import pytest

from crawler.discovery import (
    DiscoveryError,
    links_from_feed,
    links_from_listing,
    looks_like_page,
    maybe_gunzip,
    parse_iso_datetime,
    parse_sitemap,
)

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Example</title>
<item><title>SoftBank invests</title><link>https://news.example.com/2026/11/softbank-invests/?utm_source=rss</link>
<pubDate>Fri, 20 Nov 2026 09:30:00 +0900</pubDate></item>
<item><title>Relative link</title><link>/2026/11/relative/</link></item>
<item><title>No link</title></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Example</title>
<entry><title>Atom story</title><link rel="alternate" href="https://news.example.com/atom-story"/>
<updated>2026-11-21T10:00:00Z</updated><id>urn:1</id></entry></feed>"""


def test_rss_feed_links_dates_and_titles() -> None:
    links = links_from_feed(RSS, "https://news.example.com/feed")
    assert [link.url for link in links] == [
        "https://news.example.com/2026/11/softbank-invests/?utm_source=rss",
        "https://news.example.com/2026/11/relative/",
    ]
    assert links[0].published == datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
    assert links[0].title == "SoftBank invests"
    assert links[1].published is None


def test_atom_feed() -> None:
    (link,) = links_from_feed(ATOM, "https://news.example.com/atom.xml")
    assert link.url == "https://news.example.com/atom-story"
    assert link.published == datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("body", [b"<html><body>Not a feed</body></html>", b"\x00\xff\xfe garbage", b""])
def test_not_a_feed(body: bytes) -> None:
    with pytest.raises(DiscoveryError):
        links_from_feed(body, "https://news.example.com/feed")


def test_feed_string_is_never_fetched_as_url() -> None:
    # A feed body that looks like a URL or path must be parsed as content, not opened.
    with pytest.raises(DiscoveryError):
        links_from_feed(b"http://127.0.0.1:9/never", "https://news.example.com/feed")


SITEMAP_INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://news.example.com/sitemap-posts.xml</loc><lastmod>2026-11-21</lastmod></sitemap>
<sitemap><loc>/news-sitemap.xml</loc></sitemap>
</sitemapindex>"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://news.example.com/a</loc>
  <news:news><news:publication><news:name>Example</news:name><news:language>en</news:language></news:publication>
  <news:publication_date>2026-11-20T08:00:00+01:00</news:publication_date><news:title>Story A</news:title></news:news>
</url>
<url><loc>https://news.example.com/b</loc><lastmod>2026-11-19T12:00:00Z</lastmod></url>
</urlset>"""


def test_sitemap_index() -> None:
    doc = parse_sitemap(SITEMAP_INDEX, "https://news.example.com/sitemap.xml")
    assert doc.is_index
    assert [link.url for link in doc.links] == [
        "https://news.example.com/sitemap-posts.xml",
        "https://news.example.com/news-sitemap.xml",
    ]
    assert doc.links[0].published == datetime(2026, 11, 21, tzinfo=UTC)


def test_google_news_sitemap_keeps_publication_date_and_title() -> None:
    doc = parse_sitemap(NEWS_SITEMAP, "https://news.example.com/news-sitemap.xml")
    assert not doc.is_index
    a, b = doc.links
    assert (a.url, a.title, a.published) == (
        "https://news.example.com/a",
        "Story A",
        datetime(2026, 11, 20, 7, tzinfo=UTC),
    )
    assert b.published == datetime(2026, 11, 19, 12, tzinfo=UTC) and b.title is None


def test_gzipped_sitemap() -> None:
    doc = parse_sitemap(gzip.compress(NEWS_SITEMAP), "https://news.example.com/news-sitemap.xml.gz")
    assert len(doc.links) == 2


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"<" + b"a" * (5 * 1024 * 1024))
    with pytest.raises(DiscoveryError, match="inflates beyond"):
        maybe_gunzip(bomb, max_size=1024 * 1024)


def test_external_entities_are_not_resolved(tmp_path: object) -> None:
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://x.example/&secret;</loc></url></urlset>"""
    doc = parse_sitemap(xxe, "https://x.example/sitemap.xml")
    assert all("etc" not in link.url and len(link.url) < 40 for link in doc.links)


@pytest.mark.parametrize("body", [b"<html><p>hello</p></html>", b"not xml at all", b"<rss></rss>"])
def test_not_a_sitemap(body: bytes) -> None:
    with pytest.raises(DiscoveryError):
        parse_sitemap(body, "https://x.example/sitemap.xml")


LISTING = """<html><head><base href="https://news.example.com/"></head><body>
<nav><a href="/">Home</a><a href="/about/">About</a></nav>
<h2><a class="story" href="2026/11/one/">One</a></h2>
<h2><a class="story" href="/2026/11/two/#comments">Two</a></h2>
<div class="story"><a href="/2026/11/three/">Three</a></div>
<a href="/media/kit.pdf">Press kit</a><a href="mailto:x@example.com">Mail</a><a href="#top">Top</a>
</body></html>"""


def test_listing_with_selector() -> None:
    links = links_from_listing(LISTING, "https://news.example.com/tech/", "a.story, div.story")
    assert [link.url for link in links] == [
        "https://news.example.com/2026/11/one/",
        "https://news.example.com/2026/11/two/",
        "https://news.example.com/2026/11/three/",
    ]


def test_listing_without_selector_takes_page_links_only() -> None:
    urls = [link.url for link in links_from_listing(LISTING, "https://news.example.com/")]
    assert "https://news.example.com/about/" in urls
    assert "https://news.example.com/2026/11/two/" in urls
    assert not any(u.endswith(".pdf") or u.startswith("mailto") for u in urls)
    assert "https://news.example.com/" not in urls


def test_helpers() -> None:
    assert looks_like_page("https://x.example/story")
    assert not looks_like_page("javascript:alert(1)")
    assert not looks_like_page("https://x.example/photo.JPG")
    assert parse_iso_datetime("2026-11-20") == datetime(2026, 11, 20, tzinfo=UTC)
    assert parse_iso_datetime("yesterday") is None


def _rss(items: str) -> bytes:
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


@pytest.mark.parametrize("entity", ["&#xD800;", "&#xDFFF;"])
def test_a_feed_that_breaks_the_feed_parser_is_a_discovery_error(entity: str) -> None:
    body = _rss(f"<item><title>bad {entity}</title><link>https://news.example.com/a</link></item>")
    try:
        links = links_from_feed(body, "https://news.example.com/feed")
    except DiscoveryError as exc:
        assert "not a valid feed" in str(exc)
    else:  # a parser that copes must still give a storable title
        assert all(link.title is None or link.title.encode("utf-8") for link in links)


def test_feed_titles_are_cleaned_and_capped() -> None:
    items = (
        "<item><title>SoftBank&#0; invests\x0b in\x1f robots</title><link>https://news.example.com/a</link></item>"
        f"<item><title>{'x' * 10_000}</title><link>https://news.example.com/b</link></item>"
        "<item><title>   </title><link>https://news.example.com/c</link></item>"
    )
    first, long, blank = links_from_feed(_rss(items), "https://news.example.com/feed")
    assert first.title == "SoftBank invests in robots"
    assert long.title == "x" * 500
    assert blank.title is None


def test_huge_feeds_are_capped() -> None:
    items = "".join(f"<item><title>Story {n}</title><link>https://news.example.com/{n}</link></item>"
                    for n in range(50_000))
    links = links_from_feed(_rss(items), "https://news.example.com/feed")
    assert len(links) == 500 and links[0].url == "https://news.example.com/0"
    # A 10 MB description and a 1 MB title: the item is read, its title cut.
    big = f"<item><title>{'t' * 1_000_000}</title><link>https://news.example.com/big</link>"
    (link,) = links_from_feed(_rss(big + f"<description>{'robot ' * 1_700_000}</description></item>"), "https://n/f")
    assert link.url == "https://news.example.com/big" and link.title == "t" * 500


@pytest.mark.parametrize(
    "body",
    [  # found by benchmarks/soak.py: each used to escape as UnicodeDecodeError or ValueError
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http&#xD800;'
        b"&\x00<item><link><item>mod>2026-11-02</lastmod></url></urlset>",
        b'<\xef\xbb\xbf\xef\xbb\xbftp://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://n.example/c</loc>'
        b"<lastmod>2026-11-02</lastmod></url></urlset>",
        b'<feed xmlns="http://www&#xD800;>></item>\xe9\x00ry><title>x</title><link href="/b"/></entry></feed>',
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://n.&]]></loc></url>'
        b"<url><loc>http://[broken/x</loc></url><url><loc>https://n.example/ok</loc></url></urlset>",
    ],
)
def test_broken_sitemaps_are_read_or_refused_never_crash(body: bytes) -> None:
    with contextlib.suppress(DiscoveryError):
        parse_sitemap(body, "https://n.example/sitemap.xml")


def test_links_that_are_not_urls_are_left_out() -> None:
    items = ("<item><title>a</title><link>http://[broken/a</link></item>"
             "<item><title>b</title><link>https://news.example.com/b</link></item>")
    assert [link.url for link in links_from_feed(_rss(items), "https://news.example.com/feed")] == [
        "https://news.example.com/b"
    ]
    html = '<a href="http://[oops/x">x</a><a href="/story/1">y</a><base href="http://[bad">'
    assert [link.url for link in links_from_listing(html, "https://news.example.com/")] == [
        "https://news.example.com/story/1"
    ]


def test_expat_has_the_billion_laughs_protection() -> None:
    """feedparser parses with expat: 2.4.0 brought the entity-amplification limit. (Python 3.11.7 ships 2.5.0,
    without 2.6.0's large-token fix; the crawl bounds feed sizes by DOWNLOAD_MAXSIZE.)"""
    import pyexpat

    version = tuple(int(part) for part in pyexpat.EXPAT_VERSION.removeprefix("expat_").split("."))
    assert version >= (2, 4, 0), pyexpat.EXPAT_VERSION
    laughs = "".join(f'<!ENTITY l{i + 1} "{f"&l{i};" * 10}">' for i in range(12))  # 10^12 characters
    body = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{laughs}]><rss version="2.0"><channel>'
            "<item><title>&l12;</title><link>https://news.example.com/a</link></item></channel></rss>").encode()
    with contextlib.suppress(DiscoveryError):
        for link in links_from_feed(body, "https://news.example.com/feed"):
            assert link.title is None or len(link.title) <= 500


def _item(title: str, link: str) -> str:
    return f"<item><title>{title}</title><link>{link}</link></item>"


def _declared(items: str, declaration: str = '<?xml version="1.0" encoding="UTF-8"?>') -> str:
    return f'{declaration}<rss version="2.0"><channel><title>x</title>{items}</channel></rss>'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(  # cut off in the middle of the second item: the first is still read
            _declared(_item("One", "https://n.example/1") + _item("Two", "https://n.example/2")).encode()[:150],
            [("https://n.example/1", "One")], id="truncated",
        ),
        pytest.param(  # a UTF-8 byte order mark wins over the declared Latin-1
            b"\xef\xbb\xbf" + _declared(_item("Café naïve", "https://n.example/1"),
                                        '<?xml version="1.0" encoding="iso-8859-1"?>').encode(),
            [("https://n.example/1", "Café naïve")], id="bom-against-declaration",
        ),
        pytest.param(  # Windows-1252 bytes in a feed declared UTF-8
            _declared(_item("“Smart” quotes – café", "https://n.example/1")).encode("cp1252"),
            [("https://n.example/1", "“Smart” quotes – café")], id="cp1252-labelled-utf8",
        ),
        pytest.param(
            _declared(_item("Sixteen", "https://n.example/1"),
                      '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16"),
            [("https://n.example/1", "Sixteen")], id="utf16",
        ),
        pytest.param(
            _declared(_item("A & B", "https://n.example/1?a=1&b=2")).encode(),
            [("https://n.example/1?a=1&b=2", "A & B")], id="bare-ampersands",
        ),
        pytest.param(
            b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            b'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>x</title></channel>'
            b'<item rdf:about="https://n.example/r"><title>RDF story</title><link>https://n.example/r</link></item>'
            b"</rdf:RDF>",
            [("https://n.example/r", "RDF story")], id="rss-1.0",
        ),
        pytest.param(
            b'\xef\xbb\xbf{"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": ['
            b'{"id": "1", "url": "/json-story", "title": "JSON story", "date_published": "2026-11-02T10:00:00+02:00"},'
            b'{"id": "2", "url": 5}, "junk", {"id": "3", "title": "no url"}]}',
            [("https://n.example/json-story", "JSON story")], id="json-feed",
        ),
    ],
)
def test_malformed_and_unusual_feeds_are_read(body: bytes, expected: list[tuple[str, str]]) -> None:
    links = links_from_feed(body, "https://n.example/feed")
    assert [(link.url, link.title) for link in links] == expected
    assert all("\ufffd" not in (link.title or "") for link in links)


def test_json_feed_dates() -> None:
    body = (b'{"version": "https://jsonfeed.org/version/1", "items": [{"url": "https://n.example/a", '
            b'"date_modified": "2026-11-02T10:00:00Z"}, {"url": "https://n.example/b", "date_published": "soon"}]}')
    first, second = links_from_feed(body, "https://n.example/feed.json")
    assert first.published == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert second.published is None and second.title is None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty-200"),
        pytest.param(b"<!doctype html><html><head><title>x</title></head><body><a href='/a'>a</a></body></html>",
                     id="html-served-as-rss"),
        pytest.param(b'{"version": "1", "items": []}', id="json-not-a-feed"),
        pytest.param(b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', id="json-feed-without-items"),
        pytest.param(b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, id="json-nested-100k-deep"),
        pytest.param(b"{" + b"\xff" * 100, id="json-undecodable"),
    ],
)
def test_bodies_that_are_no_feed_are_refused(body: bytes) -> None:
    with pytest.raises(DiscoveryError, match="not a valid"):
        links_from_feed(body, "https://n.example/feed")
