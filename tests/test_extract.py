"""crawler.extract: clean bodies on news templates, metadata, non-articles, hostile input, decoding, real pages."""

from __future__ import annotations

import gzip
import importlib.util
import logging
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from crawler.article import Article, Skipped
from crawler.extract import (
    NO_CLEANUP,
    PageFacts,
    clean_body,
    decode_html,
    extract_article,
    extract_page,
    extract_text,
    load_html_file,
)
from tests.conftest import shared_path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "extract"

WIRELESS_URL = "https://www.wirelesswire.example/20240312/carriers/hanseong-mobile-vietnam-iot-investment"
WIRELESS_HEADLINE = "Hanseong Mobile plans to invest $3.2B in Vietnam's IoT market"
TECHWIRE_URL = "https://www.techwire-uk.example/workspace/ai/kestrel-lumina-ai-joint-venture-korea-512233"
TECHWIRE_HEADLINE = "Kestrel Capital, Lumina AI Form Joint Venture To Sell AI In Korea"

# The five kinds of boilerplate the seed articles leaked, as they appear in the fixtures.
WIRELESS_BOILERPLATE = [
    "YOU ARE AT",  # breadcrumb
    "ABOUT AUTHOR",  # author box
    "Mirela covers",  # author bio
    "Image credit",  # caption credit
    "Share on",
    "Related posts",
    "LEAVE A REPLY",
    "Most popular",
    "newsletter",
    "All rights reserved",
]
TECHWIRE_BOILERPLATE = [
    "Recent Posts",
    "days ago",
    "Chipmaker Opens",  # a headline in the Recent Posts list
    "collection crews",  # a teaser in the Recent Posts list
    "long-standing technology freelancer",  # author bio
    "Tobias Whitcombe",  # author name from the author box and byline
    "Image credit",  # captions, twice in the page
    "Share on",
    "Tags:",
    "Popular",
]


def _load(name: str) -> str:
    return load_html_file(FIXTURES / name)


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _real_paragraphs(html: str, xpath: str) -> list[str]:
    """The paragraphs and subheadings a reader sees as the story, read from the fixture's markup."""
    return [_normalise(element.text_content()) for element in lxml_html.fromstring(html).xpath(xpath)]


def _article(html: str, url: str | None) -> Article:
    result = extract_page(html, url)
    assert isinstance(result, Article), result
    return result


# ---------------------------------------------------------------------------
# Clean bodies on WordPress-like news templates
# ---------------------------------------------------------------------------

TEMPLATES = [
    pytest.param(
        "wireless_apac.html",
        WIRELESS_URL,
        WIRELESS_HEADLINE,
        "//p[@class='td-post-sub-title'] | //div[contains(@class, 'td-body')]/*[self::p or self::h3][not(.//img)]",
        WIRELESS_BOILERPLATE,
        id="rcr-like",
    ),
    pytest.param(
        "techwire_ai_jv.html.gz",
        TECHWIRE_URL,
        TECHWIRE_HEADLINE,
        "//div[@class='content-inner']/*[self::p or self::h2][not(.//img)]",
        TECHWIRE_BOILERPLATE,
        id="silicon-like",
    ),
]


@pytest.mark.parametrize(("name", "url", "headline", "story_xpath", "boilerplate"), TEMPLATES)
def test_body_keeps_every_paragraph_and_drops_boilerplate(
    name: str, url: str, headline: str, story_xpath: str, boilerplate: list[str]
) -> None:
    html = _load(name)
    text = _article(html, url).text
    lines = text.splitlines()
    expected = _real_paragraphs(html, story_xpath)
    assert len(expected) >= 10
    assert [_normalise(line) for line in lines] == expected
    assert headline not in text
    for fragment in boilerplate:
        assert fragment not in text, fragment


def test_fixture_leaks_without_cleanup() -> None:
    """The fixtures exercise the cleanup: trafilatura alone keeps the headline, the bio and a caption."""
    wireless = extract_page(_load("wireless_apac.html"), WIRELESS_URL, cleanup=NO_CLEANUP)
    techwire = extract_page(_load("techwire_ai_jv.html.gz"), TECHWIRE_URL, cleanup=NO_CLEANUP)
    assert isinstance(wireless, Article) and isinstance(techwire, Article)
    assert wireless.text.splitlines()[0] == WIRELESS_HEADLINE
    assert "Mirela covers" in wireless.text
    assert "Image credit" in techwire.text


def test_in_body_related_news_is_kept() -> None:
    """A paragraph starting "In related news, ..." is story text, not a related-links block."""
    text = _article(_load("wireless_apac.html"), WIRELESS_URL).text
    assert "In related news, Scandinavian operator Telco Nordmark" in text


# The shape of a naive extractor's output on such templates (own text, same furniture as the seeds).
NAIVE_LINES = (
    "YOU ARE AT:EuropeOrbitel buys stake in Danish fibre builder",
    "Orbitel buys stake in Danish fibre builder",
    "Orbitel has agreed to buy a 40% stake in Danish fibre builder Nordnet Fiber for an undisclosed sum, "
    "the operator said on Thursday, as it looks for more wholesale capacity in Scandinavia.",
    "The deal gives Orbitel access to 600,000 homes passed in Jutland and an option to buy the remaining "
    "shares within five years.",
    "Harbour cranes at Aarhus, where Nordnet Fiber is based, in 2021. Image credit: Nordnet Fiber",
    "Harbour cranes at Aarhus. Image credit: Nordnet Fiber",
    "Nordnet Fiber's founders will keep their seats on the board and continue to run the company from Aarhus.",
    '"Fibre is a long game and we want partners who think in decades," Orbitel\'s chief executive Ida Berg '
    "told analysts.",
    "ABOUT AUTHOR",
    "Rasmus Holm",
    "Rasmus Holm",
    "Rasmus covers European carriers and the fibre market. He previously worked for a Copenhagen business "
    "daily and holds a degree in political science.",
    "Recent Posts",
    "Regulator Opens Review Of Spectrum Caps",
    "The telecoms regulator wants views on whether the current caps still protect competition in…",
    "2 days ago",
    "Cable Operator Trials 10G Upgrade",
    "Engineers will upgrade nodes in three towns before deciding on a national…",
    "3 days ago",
)
NAIVE_STORY = [NAIVE_LINES[i] for i in (2, 3, 6, 7)]


def test_text_rules_clean_a_naive_transcript() -> None:
    facts = PageFacts(headlines=("Orbitel buys stake in Danish fibre builder",), author="Rasmus Holm")
    assert clean_body("\n\n".join(NAIVE_LINES), facts).splitlines() == NAIVE_STORY
    assert clean_body("\n".join(NAIVE_LINES), PageFacts(headlines=(NAIVE_LINES[1],))).splitlines() == NAIVE_STORY


def test_text_rules_need_no_author_name_for_a_trailing_bio() -> None:
    transcript = (
        "The carrier said the upgrade would reach every county by the end of next year, "
        "starting with the three largest cities in the north.\n"
        "Jane Smith\n"
        "Jane Smith is a freelance technology writer who has worked for several trade titles\n"
        "Recent Posts\n"
        "Regulator Opens Review Of Spectrum Caps\n"
        "The telecoms regulator wants views on whether the current caps still protect competition in…\n"
        "2 days ago\n"
    )
    assert clean_body(transcript, PageFacts()) == transcript.splitlines()[0]


@pytest.mark.parametrize("name", ["000_f3b634f2b765702c.txt", "001_e915fc9794fc3a4a.txt"])
def test_seed_examples_lose_their_boilerplate(name: str) -> None:
    """The two seed bodies (../shared/examples) come out clean, with every other line kept."""
    lines = [line for line in shared_path("examples", name).read_text(encoding="utf-8").splitlines() if line.strip()]
    if "ABOUT AUTHOR" in lines:  # RCR-like: glued breadcrumb, headline, body, author box
        end = lines.index("ABOUT AUTHOR")
        headline, author = lines[1], lines[end + 1]
        expected = lines[2:end]
    else:  # Silicon-like: headline, body with captions, author name and bio, Recent Posts
        end = lines.index("Recent Posts")
        headline, author = lines[0], lines[end - 2]
        expected = [line for line in lines[1 : end - 2] if "Image credit" not in line]
    for known_author in (author, None):
        cleaned = clean_body("\n".join(lines), PageFacts(headlines=(headline,), author=known_author))
        assert cleaned.splitlines() == expected
        for leak in ("YOU ARE AT", "ABOUT AUTHOR", "Recent Posts", "days ago", "Image credit"):
            assert leak not in cleaned


# ---------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------


def test_metadata_of_a_news_article() -> None:
    article = _article(_load("wireless_apac.html"), WIRELESS_URL + "?utm_source=rss&utm_medium=feed")
    assert article.title == WIRELESS_HEADLINE
    assert article.author == "Mirela Oyelaran"
    assert article.published == datetime(2024, 3, 12, 6, 45, 10, tzinfo=UTC)  # the page's own timestamp
    assert article.published is not None and article.published.utcoffset() == timedelta(0)
    assert article.language == "en"
    assert article.sitename == "Wireless Wire News"
    assert article.url == WIRELESS_URL + "?utm_source=rss&utm_medium=feed"
    assert article.canonical_url == WIRELESS_URL


def test_date_keeps_the_time_and_offset_the_page_states() -> None:
    """The page states 17:20 at +09:00: stored as 08:20 UTC."""
    article = _article(_load("techwire_ai_jv.html.gz"), TECHWIRE_URL)
    assert article.published == datetime(2025, 2, 3, 8, 20, tzinfo=UTC)
    assert article.language == "en"  # <html lang="en-GB">


def test_a_story_dated_tomorrow_is_not_rejected() -> None:
    """htmldate's default upper bound is today in the server's zone; stories from UTC+9 are often 'tomorrow'."""
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    html = _load("wireless_apac.html").replace("2024-03-12T06:45:10+00:00", f"{tomorrow.isoformat()}T01:00:00+09:00")
    expected = datetime.combine(tomorrow, datetime.min.time(), UTC) + timedelta(hours=1) - timedelta(hours=9)
    assert _article(html, WIRELESS_URL).published == expected


@pytest.mark.parametrize(
    ("href", "url", "expected"),
    [
        pytest.param(WIRELESS_URL, WIRELESS_URL + "#comments", WIRELESS_URL, id="same-url"),
        pytest.param(
            "https://amp.wirelesswire.example/story/88412",
            WIRELESS_URL,
            "https://amp.wirelesswire.example/story/88412",
            id="other-subdomain-same-site",
        ),
        pytest.param(
            "/20240312/carriers/hanseong?utm_campaign=x#top",
            "https://WWW.WirelessWire.example/p?id=88412",
            "https://www.wirelesswire.example/20240312/carriers/hanseong",
            id="relative",
        ),
        pytest.param(
            "https://aggregator.example.net/wire/hanseong-mobile",
            WIRELESS_URL + "?utm_source=x",
            WIRELESS_URL,
            id="foreign-domain-ignored",
        ),
        pytest.param("javascript:void(0)", WIRELESS_URL, WIRELESS_URL, id="not-http-ignored"),
        pytest.param(WIRELESS_URL, None, WIRELESS_URL, id="no-page-url"),
    ],
)
def test_canonical_url(href: str, url: str | None, expected: str) -> None:
    html = re.sub(
        r'<link rel="canonical" href="[^"]*">', f'<link rel="canonical" href="{href}">', _load("wireless_apac.html")
    )
    assert _article(html, url).canonical_url == expected


def test_foreign_canonical_is_logged_with_the_url(caplog: pytest.LogCaptureFixture) -> None:
    html = _load("wireless_apac.html").replace(
        WIRELESS_URL + '">', 'https://aggregator.example.net/wire/hanseong-mobile">', 1
    )
    with caplog.at_level(logging.INFO, logger="crawler.extract"):
        _article(html, WIRELESS_URL)
    assert any(WIRELESS_URL in record.getMessage() for record in caplog.records)


GERMAN_BODY = "".join(
    f"<p>{sentence}</p>"
    for sentence in (
        "Der Netzbetreiber will in den kommenden fünf Jahren rund zwei Milliarden Euro in den Ausbau "
        "seines Glasfasernetzes in ländlichen Regionen investieren, teilte das Unternehmen am Dienstag mit.",
        "Zunächst sollen Gemeinden in Niedersachsen und Brandenburg angeschlossen werden, wo bislang nur "
        "langsame Kupferleitungen verfügbar sind und viele Haushalte über schlechte Verbindungen klagen.",
        "Der Vorstandschef sagte, die Nachfrage nach schnellen Anschlüssen sei seit der Pandemie stark "
        "gestiegen, vor allem bei kleinen Betrieben und Familien mit Kindern im Homeschooling.",
    )
)


@pytest.mark.parametrize(
    ("html_open", "head", "expected"),
    [
        pytest.param('<html lang="pt-BR">', "", "pt", id="html-lang"),
        pytest.param("<html>", '<meta http-equiv="Content-Language" content="de-AT">', "de", id="content-language"),
        pytest.param("<html>", '<meta property="og:locale" content="de_DE">', "de", id="og-locale"),
        pytest.param("<html>", "", "de", id="detected-from-body"),
    ],
)
def test_language(html_open: str, head: str, expected: str) -> None:
    head = f"<head><title>Glasfaser für das Land</title>{head}</head>"
    html = f"{html_open}{head}<body><article>{GERMAN_BODY}</article></body></html>"
    assert _article(html, "https://netz.example/2024/glasfaser-fuer-das-land").language == expected


# ---------------------------------------------------------------------------
# Pages that are not articles
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.wirelesswire.example/category/apac/",
        "https://www.wirelesswire.example/",
        "https://www.wirelesswire.example/tag/iot/page/2/",
        "https://www.wirelesswire.example/apac/",  # a section without an index-like path
    ],
)
def test_listing_pages_are_skipped(url: str) -> None:
    result = extract_page(_load("category_listing.html"), url)
    assert isinstance(result, Skipped)
    assert result.url == url
    assert result.reason.startswith("listing page")


PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 20


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        pytest.param("", "empty page", id="empty"),
        pytest.param(" \n\t ", "empty page", id="whitespace"),
        pytest.param(PNG_BYTES.decode("latin-1"), "not HTML", id="png-as-latin1"),
        pytest.param(PNG_BYTES.decode("utf-8", errors="replace"), "not HTML", id="png-as-utf8"),
        pytest.param("just some words, no markup at all " * 20, "not HTML", id="plain-text"),
        pytest.param(
            "<html><head><title>Short</title></head><body><article><p>Only one short paragraph here, "
            "far too little to be a story.</p></article></body></html>",
            "body too short",
            id="too-short",
        ),
        pytest.param(
            "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL was "
            "not found on this server. Please check the address, or go back to the home page and try the search "
            "box. If you followed a link from another site, the page may have moved or been removed.</p>"
            "<p>Our newsroom publishes dozens of stories every day; browse the latest headlines instead.</p>"
            "</body></html>",
            "error page",
            id="error-page",
        ),
    ],
)
def test_non_articles_are_skipped_with_a_reason(html: str, reason: str) -> None:
    result = extract_page(html, "https://news.example/2024/03/some-story-slug-here")
    assert isinstance(result, Skipped)
    assert result.reason.startswith(reason), result.reason
    assert extract_article(html, "https://news.example/x") is None
    assert extract_text(html, "https://news.example/x") is None


def test_huge_page_is_skipped_without_parsing() -> None:
    result = extract_page("<html><body>" + "<p>word </p>" * 1_000_000 + "</body></html>", "https://news.example/big")
    assert isinstance(result, Skipped) and result.reason.startswith("page too large")


def test_skips_are_logged_with_the_url(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="crawler.extract"):
        extract_page("", "https://news.example/empty-page")
    assert "https://news.example/empty-page" in caplog.text


def test_wrappers() -> None:
    html = _load("wireless_apac.html")
    article = extract_article(html, WIRELESS_URL)
    assert article is not None and article.title == WIRELESS_HEADLINE
    assert extract_text(html, WIRELESS_URL) == article.text
    assert _article(html, None).url == ""  # a saved file has no URL


# ---------------------------------------------------------------------------
# Hostile input
# ---------------------------------------------------------------------------

STORY = (
    "<p>" + "The operator will spend more on fibre in rural areas this year, its chief executive said. " * 4 + "</p>"
)


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("<html><body>" + "<div>" * 5000 + STORY * 3 + "</div>" * 5000 + "</body></html>", id="deep"),
        pytest.param(
            "<html><body><article>" + STORY * 3 + "<p>nul \x00 and \ud800 lone surrogate</p></article></body></html>",
            id="nul-surrogate",
        ),
        pytest.param(
            '<?xml version="1.0" encoding="utf-8"?><html><body><article>' + STORY * 3 + "</article></body></html>",
            id="xml-declaration",
        ),
        pytest.param(
            "<html><body><table><tr><td colspan=9007199254740991>x</td></tr></table>" + STORY * 3 + "</body></html>",
            id="huge-colspan",
        ),
        pytest.param("<html><body>" + "<p>a</p>" * 20_000 + "</body></html>", id="many-tiny-paragraphs"),
        pytest.param("<<<<>>>><html<body>>" + "&#0;&#xD800;&bogus;" * 100, id="broken-markup"),
    ],
)
def test_hostile_pages_never_raise(html: str) -> None:
    result = extract_page(html, "https://news.example/2024/03/hostile-page-for-testing")
    assert isinstance(result, Article | Skipped)
    if isinstance(result, Article):
        assert "\x00" not in result.text
        assert not any("\ud800" <= char <= "\udfff" for char in result.text)


@pytest.mark.parametrize("url", ["http://[::1", "file:///etc/passwd", "not a url", "https://"])
def test_unusable_urls_are_ignored(url: str) -> None:
    article = _article(_load("wireless_apac.html"), url)
    assert article.url == url
    assert article.canonical_url == WIRELESS_URL  # the page's own canonical, nothing to compare it with


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(max_size=2000) | st.builds(lambda body: f"<html><body><p>{body}</p></body></html>", st.text(max_size=2000))
)
def test_arbitrary_text_never_raises(html: str) -> None:
    assert isinstance(extract_page(html, "https://news.example/a"), Article | Skipped)


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------

RUSSIAN = "Оператор вложит два миллиарда рублей в сеть, сообщила компания во вторник."
JAPANESE = "通信会社は新しいネットワークに投資すると発表した。"
FRENCH = "L'opérateur investira deux milliards d'euros dans la fibre optique, a annoncé la société mardi. " * 5


def _page(body: str, head: str = "") -> str:
    return f"<html><head>{head}<title>t</title></head><body><p>{body}</p></body></html>"


def test_declared_encoding_is_used() -> None:
    assert RUSSIAN in decode_html(_page(RUSSIAN).encode("windows-1251"), "windows-1251")


def test_meta_charset_is_used() -> None:
    body = _page(JAPANESE, '<meta charset="shift_jis">').encode("shift_jis")
    assert JAPANESE in decode_html(body)


def test_http_equiv_charset_is_used() -> None:
    head = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
    assert RUSSIAN in decode_html(_page(RUSSIAN, head).encode("windows-1251"))


def test_declared_encoding_beats_meta() -> None:
    body = _page(RUSSIAN, '<meta charset="iso-8859-1">').encode("windows-1251")
    assert RUSSIAN in decode_html(body, "windows-1251")


def test_byte_order_mark_beats_everything() -> None:
    html = _page(RUSSIAN, '<meta charset="windows-1251">')
    assert RUSSIAN in decode_html(b"\xef\xbb\xbf" + html.encode("utf-8"), "iso-8859-1")
    decoded = decode_html(b"\xff\xfe" + html.encode("utf-16-le"))
    assert RUSSIAN in decoded and not decoded.startswith("\ufeff")


def test_undeclared_encoding_is_detected() -> None:
    assert decode_html(_page(FRENCH).encode("utf-8")) == _page(FRENCH)
    assert "opérateur" in decode_html(_page(FRENCH).encode("cp1252"))


def test_unknown_declared_encoding_falls_back() -> None:
    assert RUSSIAN in decode_html(_page(RUSSIAN).encode("utf-8"), "x-no-such-charset")


def test_load_html_file_plain_and_gzip(tmp_path: Path) -> None:
    html = _page(RUSSIAN, '<meta charset="windows-1251">')
    plain = tmp_path / "page.html"
    plain.write_bytes(html.encode("windows-1251"))
    packed = tmp_path / "page.html.gz"
    packed.write_bytes(gzip.compress(html.encode("windows-1251")))
    misnamed = tmp_path / "page.htm"  # gzip detected by its magic bytes, not the name
    misnamed.write_bytes(gzip.compress(html.encode("windows-1251")))
    for path in (plain, packed, misnamed):
        assert RUSSIAN in load_html_file(path)
    assert load_html_file(FIXTURES / "techwire_ai_jv.html.gz") == load_html_file(FIXTURES / "techwire_ai_jv.html")


# ---------------------------------------------------------------------------
# Real pages: the article-extraction benchmark (181 news pages in ../shared/eval)
# ---------------------------------------------------------------------------

F1_FLOOR = 0.964  # trafilatura alone with favor_precision=True, include_comments=False


def _scorer() -> ModuleType:
    path = shared_path("eval", "score_extraction.py")
    spec = importlib.util.spec_from_file_location("score_extraction", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("score_extraction", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_benchmark_f1_floor() -> None:
    scorer = _scorer()
    pages = scorer.load_pages(shared_path("eval", "extraction"))
    assert len(pages) >= 100
    result = scorer.run_extractor("ours", extract_text, pages, n_bootstrap=0)
    assert result.errors == 0
    assert result.metrics["f1"] >= F1_FLOOR, result.metrics


@pytest.mark.parametrize("poison", ["\x00", "\udc80", "\ud800\x00", "&#0;", "&#xD800;"])
def test_nul_bytes_and_lone_surrogates_neither_cut_the_body_nor_reach_the_article(poison: str) -> None:
    """A NUL is refused by PostgreSQL and a lone surrogate cannot be encoded (it used to cut the body short)."""
    paragraphs = [
        f"<p>Paragraph {i}: the company said the plan would unfold over several years and involve partners "
        "across the region, with engineers working together.</p>"
        for i in range(6)
    ]
    paragraphs.insert(3, f"<p>Poisoned{poison} line in the middle of the story.</p>")
    body = "".join(paragraphs)
    page = f"<html><head><title>Chip{poison} plant</title></head><body><article>{body}</article></body></html>"
    article = extract_page(page, "https://news.example.com/chips/plant")
    assert isinstance(article, Article)
    assert "Paragraph 5" in article.text and "line in the middle" in article.text
    for field in (article.title, article.text):
        assert "\x00" not in field and not any(0xD800 <= ord(c) <= 0xDFFF for c in field)
        field.encode("utf-8")  # storable as UTF-8 text


_PARAGRAPHS = "".join(
    f"<p>Paragraph {i}: the company said the plan would unfold over several years with partners across the region.</p>"
    for i in range(6)
)
_PAGE = (
    f"<html><head><title>Chip plant</title></head><body><article><h1>Chip plant</h1>{_PARAGRAPHS}</article>"
    "</body></html>"
)


@pytest.mark.parametrize(
    ("body", "article"),
    [
        (_PAGE.encode("utf-16-le"), False),  # UTF-16 without a byte-order mark: unreadable, so skipped
        (_PAGE.encode("utf-16-be"), False),
        (_PAGE.encode("utf-16"), True),  # with one: read correctly
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\n" + bytes(range(256)) * 50, False),
        (b"\x00" * 5000 + _PAGE.encode(), False),  # NUL-heavy
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, False),
    ],
    ids=["utf16le-no-bom", "utf16be-no-bom", "utf16-bom", "pdf", "nul-heavy", "png"],
)
def test_binary_and_unlabelled_bodies_never_become_junk_articles(body: bytes, article: bool) -> None:
    result = extract_page(decode_html(body), "https://news.example.com/chips/plant")
    if article:
        assert isinstance(result, Article) and result.title == "Chip plant" and "Paragraph 5" in result.text
    else:
        assert isinstance(result, Skipped) and result.reason == "not HTML", result
