"""Rendering untrusted values: every template escapes them (autoescape must stay on), links only go to http(s),
and a stored snippet keeps its <mark> tags and nothing else."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from markupsafe import Markup

from crawler.health import SiteHealth
from crawler.models import ArticleRow
from crawler.review.highlight import highlight, highlight_paragraphs
from crawler.review.rulestats import Backtest, BacktestHit, RuleStats
from crawler.review.stories import AlertView, MatchView, Neighbours, Outlet, StoryDetail, StoryItem, StoryPage
from crawler.service.status import Heartbeat, ServiceStatus
from crawler.web.pages import bar_height
from crawler.web.render import TEMPLATES, environment, marked, percent, safe_url, when, with_query

SCRIPT = "<script>alert(1)</script>"
HOSTILE = '"><script>alert(1)</script>'  # breaks out of an attribute, then runs
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
SNIPPET = f"a <mark>robot</mark> {HOSTILE} <img src=x onerror=alert(1)>"
NOW = datetime(2026, 12, 5, 8, 12, tzinfo=UTC)


def _article() -> ArticleRow:
    return ArticleRow(
        id=7,
        site_id=HOSTILE,
        url="javascript:alert(1)",
        canonical_url="javascript:alert(1)",
        title=HOSTILE,
        text=f"{HOSTILE}\nsecond paragraph {HOSTILE}",
        author=HOSTILE,
        published=NOW,
        language=HOSTILE[:16],
        created_at=NOW,
    )


def _story() -> StoryDetail:
    return StoryDetail(
        article=_article(),
        matches=[MatchView(HOSTILE, [HOSTILE], SNIPPET, [{"text": HOSTILE, "usd": 5e6}], [], NOW)],
        status="relevant",
        note=HOSTILE,
        triaged_at=NOW,
        triaged_by=HOSTILE,
        outlets=[Outlet(8, HOSTILE, HOSTILE, "data:text/html,<script>alert(1)</script>", NOW, True)],
        alerts=[AlertView(HOSTILE, HOSTILE, True, HOSTILE, NOW, [(HOSTILE, HOSTILE, HOSTILE)])],
    )


def _story_values() -> dict[str, Any]:
    """What crawler.web.pages gives story.html (the title and body highlighted the way it does)."""
    story = _story()
    return {
        "story": story,
        "title_html": Markup(highlight(story.article.title, [(2, 10)])),
        "body": [Markup(p) for p in highlight_paragraphs(story.article.text, [(2, 10)])],
        "site_name": HOSTILE,
        "site_names": {HOSTILE: HOSTILE},
        "rule_names": {HOSTILE: HOSTILE},
        "place": Neighbours(6, 8, 2, True, 9),
        "list_params": PARAMS,
        "previous_url": HOSTILE,
        "next_url": HOSTILE,
        "list_url": HOSTILE,
        "filtered": True,
        "back": HOSTILE,
    }


PARAMS = dict.fromkeys(("q", "rule", "site", "status", "from", "until", "sort"), HOSTILE)
ITEM = StoryItem(7, HOSTILE, HOSTILE, HOSTILE, NOW, NOW, (HOSTILE,), "irrelevant", HOSTILE, SNIPPET, 2)


def _row_values() -> dict[str, Any]:
    """What crawler.web.pages gives each row of the list (and _story_row.html alone, for htmx)."""
    return {
        "item": ITEM,
        "site_names": {HOSTILE: HOSTILE},
        "rule_names": {HOSTILE: HOSTILE},
        "list_params": PARAMS,
        "back": HOSTILE,
    }


def _stories_values() -> dict[str, Any]:
    return {
        **_row_values(),
        "params": PARAMS,
        "sort": HOSTILE,
        "page": StoryPage([ITEM], 60, 2, 25, {HOSTILE: 1}),
        "rules": [HOSTILE],
        "rule_counts": [(HOSTILE, 1)],
        "sites": [(HOSTILE, HOSTILE)],
        "sorts": [(HOSTILE, HOSTILE)],
    }


def _rules_values() -> dict[str, Any]:
    stats = RuleStats(HOSTILE, HOSTILE, HOSTILE, configured=False, total=3, per_day=[(HOSTILE, 2)])
    stats.per_week = [(HOSTILE, 3)]
    stats.relevant, stats.irrelevant = 1, 1
    hit = BacktestHit(7, HOSTILE, "javascript:alert(1)", HOSTILE, NOW, SNIPPET, [HOSTILE])
    return {
        "stats": [stats],
        "test_query": HOSTILE,
        "since": HOSTILE,
        "backtest": Backtest(HOSTILE, NOW, scanned=2, flagged=2, hits=[hit]),
        "test_error": HOSTILE,
        "site_names": {HOSTILE: HOSTILE},
        "rule_names": {HOSTILE: HOSTILE},
        "bar_height": bar_height,
    }


def _sources_values() -> dict[str, Any]:
    site = SiteHealth(
        site_id=HOSTILE,
        name=HOSTILE,
        state=HOSTILE,
        last_run_at=NOW,
        last_status=HOSTILE,
        last_error=HOSTILE,
        reason=HOSTILE,
    )
    heartbeat = Heartbeat(HOSTILE, NOW, NOW, HOSTILE, 1.0)
    return {"sites": [site], "service": ServiceStatus(NOW, True, heartbeat, True, [site], {"pending": 1})}


# Every template and what it is given (the base values are added for all of them).
VALUES = {
    "base.html": dict,
    "error.html": lambda: {"heading": HOSTILE, "detail": HOSTILE},
    "login.html": lambda: {"next": HOSTILE},
    "stories.html": _stories_values,
    "story.html": _story_values,
    "_triage.html": _story_values,
    "_story_row.html": _row_values,
    "rules.html": _rules_values,
    "sources.html": _sources_values,
}


def test_every_template_is_covered() -> None:
    assert {path.name for path in TEMPLATES.glob("*.html")} == set(VALUES)


def test_autoescape_is_on_for_html() -> None:
    env = environment()
    autoescape = env.autoescape
    for name in VALUES:
        assert autoescape(name) if callable(autoescape) else autoescape, name


def _render(name: str) -> str:
    values = {"csrf_token": HOSTILE, "user": HOSTILE, "nav": HOSTILE, "message": HOSTILE, **VALUES[name]()}
    return environment().get_template(name).render(**values)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_untrusted_values_come_out_escaped(name: str) -> None:
    page = _render(name)
    assert SCRIPT not in page
    assert ESCAPED in page
    assert "<img" not in page
    # the only script is ours, the only tags with handlers none
    assert re.findall(r"<script[^>]*>", page) in (
        [],
        ['<script src="/static/htmx.min.js" defer>', '<script src="/static/keys.js" defer>'],
    )
    assert not re.search(r"<[^>]+\son[a-z]+=", page)
    assert not re.search(r"""href=["']?\s*(javascript|data|vbscript):""", page, re.IGNORECASE)


def test_story_page_marks_terms_and_links_only_to_http() -> None:
    page = _render("story.html")
    page = page.replace("&quot;", "&#34;")  # html.escape and markupsafe spell the quote differently
    assert '<h1 id="title">&#34;&gt;<mark>&lt;script&gt;</mark>alert(1)&lt;/script&gt;</h1>' in page
    assert "<p>&#34;&gt;<mark>&lt;script&gt;</mark>alert(1)&lt;/script&gt;</p>" in page
    assert "Source: javascript:alert(1)" in page  # shown as text, never a link
    assert "<mark>robot</mark>" not in page  # the snippet is not on the story page; the terms are
    assert f"Terms: <mark>&#34;&gt;{ESCAPED}</mark>" in page
    assert "(≈ $5,000,000)" in page


def test_list_and_rules_keep_the_snippet_marks() -> None:
    for name in ("stories.html", "rules.html"):
        page = _render(name)
        assert "a <mark>robot</mark> &#34;&gt;" in page.replace("&quot;", "&#34;"), name


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "  javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "/stories/1",
        "stories/1",
        "//evil.example/path",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "http:///no-host",
        "https://example.com/\x00",
        "https://exa\nmple.com/",
        "https://example.com/\x7f",
        "https://[broken/",
        "",
        None,
        42,
    ],
)
def test_safe_url_rejects_everything_but_absolute_http(url: object) -> None:
    assert safe_url(url) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a?b=1&c=2#d", "https://example.com/a?b=1&c=2#d"),
        ("HTTP://EXAMPLE.COM/", "HTTP://EXAMPLE.COM/"),
        ("  https://example.com/x  ", "https://example.com/x"),
        ("http://127.0.0.1:8080/stories", "http://127.0.0.1:8080/stories"),
    ],
)
def test_safe_url_keeps_http_links(url: str, expected: str) -> None:
    assert safe_url(url) == expected


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("<mark>robot</mark> <img src=x onerror=alert(1)>", "<mark>robot</mark> &lt;img src=x onerror=alert(1)&gt;"),
        ("<mark>x</mark><script>alert(1)</script>", "<mark>x</mark>&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("stored &amp; escaped &lt;b&gt; <mark>once</mark>", "stored &amp; escaped &lt;b&gt; <mark>once</mark>"),
        ('<mark onclick="alert(1)">x</mark>', "&lt;mark onclick=&quot;alert(1)&quot;&gt;x"),  # not our tag
        ("<MARK>x</MARK>", "&lt;MARK&gt;x&lt;/MARK&gt;"),
        ("<mark>unbalanced", "unbalanced"),  # a stray mark would highlight the rest of the page
        ("quote \" and ' apostrophe", "quote &quot; and &#x27; apostrophe"),
        ("", ""),
    ],
)
def test_marked_keeps_mark_and_escapes_the_rest(snippet: str, expected: str) -> None:
    result = marked(snippet)
    assert isinstance(result, Markup)
    assert str(result) == expected


def test_marked_of_nothing() -> None:
    assert marked(None) == Markup("") and marked(5) == Markup("")


def test_small_filters() -> None:
    assert when(NOW) == "2026-12-05 08:12 UTC" and when(None) == ""
    assert percent(0.5) == "50%" and percent(2 / 3) == "67%" and percent(None) == "–"
    assert with_query("/stories", {"rule": "a b&c", "site": "", "page": None}, page=2) == "/stories?rule=a+b%26c&page=2"
    assert with_query("/stories", {"q": ""}) == "/stories"
    assert bar_height(0, [("d", 4)]) == 0 and bar_height(1, [("d", 40)]) == 1 and bar_height(4, [("d", 4)]) == 10
