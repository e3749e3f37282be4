"""The reviewer's flow on the review pages, on SQLite and PostgreSQL: verdicts from the rows of the list
(with and without htmx), previous / next through the list a story was opened from, the sorts by found and
published date, and names (not ids) of sites and rules."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode
from xml.etree.ElementTree import Element

import html5lib
import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.models import ArticleRow, TriageRow
from tests.web_data import (
    ALPHA,
    BETA,
    CHIPS,
    LIST_ITEM,
    ROBOTS,
    RULE_NAMES,
    SITE_NAMES,
    Web,
    add_flagged,
    form_token,
    open_web,
)

_LINK = re.compile(r'<a id="(previous-story|next-story|back-to-list)"[^>]* href="([^"]+)"')
_BACK = re.compile(r'<li class="story[^"]*" id="story-(\d+)".*?<input type="hidden" name="back" value="([^"]*)">', re.S)
NANOFAB_PUBLISHED = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
def web(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Web]:
    """The seeded pages, with a publication date on nanofab too (arms and zeppelin have none)."""
    with open_web(engine, db_url, tmp_path) as opened:
        with Session(engine) as session:
            nanofab = update(ArticleRow).where(ArticleRow.id == opened.id("nanofab"))  # type: ignore[arg-type]
            session.execute(nanofab.values(published=NANOFAB_PUBLISHED))
            session.commit()
        yield opened


@dataclass
class StoryNav:
    """The list links of a story page."""

    previous: str | None
    next: str | None
    back: str
    place: str
    page: str


def story_nav(web: Web, url: str) -> StoryNav:
    response = web.client.get(url)
    assert response.status_code == 200, response.text
    links = {name: html.unescape(href) for name, href in _LINK.findall(response.text)}
    place = re.search(r'<span class="place">([^<]*)</span>', response.text)
    assert place is not None
    return StoryNav(
        links.get("previous-story"), links.get("next-story"), links["back-to-list"], place[1], response.text
    )


def story_id(url: str) -> int:
    found = re.match(r"/stories/(\d+)(\?|$)", url)
    assert found, url
    return int(found[1])


def rows_back(page: str) -> dict[int, str]:
    """Each row's ``back`` field (the list's query string), by article id."""
    return {int(article_id): html.unescape(back) for article_id, back in _BACK.findall(page)}


def row_html(page: str, article_id: int) -> str:
    start = page.index(f'id="story-{article_id}"')
    return page[start : page.index("</li>", start)]


def stored(web: Web, key: str) -> TriageRow | None:
    with Session(web.engine) as session:
        return session.get(TriageRow, web.id(key))


# --------------------------------------------------------------------------- verdicts on the list's rows


def test_a_row_verdict_without_javascript_goes_back_to_the_same_list(web: Web) -> None:
    add_flagged(web.engine, web.seeded, 26, days_ago=0)  # 30 stories of the robots rule: two pages
    list_url = f"/stories?{urlencode({'rule': ROBOTS, 'sort': 'oldest', 'page': '2'})}"
    page = web.client.get(list_url).text
    backs = rows_back(page)
    assert len(backs) == 5 and set(backs.values()) == {f"rule={ROBOTS}&sort=found-oldest&page=2"}
    article_id = next(iter(backs))
    token = form_token(web.client, list_url)
    response = web.client.post(
        f"/stories/{article_id}/triage",
        data={"state": "relevant", "csrf_token": token, "back": backs[article_id], "to": "list"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/stories?rule={ROBOTS}&sort=found-oldest&page=2#story-{article_id}"
    with Session(web.engine) as session:
        saved = session.get(TriageRow, article_id)
        assert saved is not None and (saved.state, saved.updated_by) == ("relevant", "web:local")
    again = web.client.get(response.headers["location"]).text
    assert "page 2 of 2" in again
    shown = dict((int(i), status) for status, i in LIST_ITEM.findall(again))
    assert shown[article_id] == "relevant" and [s for i, s in shown.items() if i != article_id] == ["new"] * 4
    row = row_html(again, article_id)
    assert '<span class="badge status-relevant">relevant</span>' in row
    assert 'value="relevant" class="relevant" aria-pressed="true"' in row
    assert 'value="new" class="reset"' in row  # back to new, on rows that are not new
    other = next(i for i in shown if i != article_id)
    assert 'value="relevant"' in row_html(again, other) and 'value="new"' not in row_html(again, other)


def test_a_row_verdict_through_htmx_answers_the_row_alone(web: Web) -> None:
    web.triage("kobo", "reviewed", "Ask the <founder>")
    list_url = f"/stories?{urlencode({'site': ALPHA, 'sort': 'title'})}"
    token = form_token(web.client, list_url)
    back = rows_back(web.client.get(list_url).text)[web.id("kobo")]
    assert back == f"site={ALPHA}&sort=title"
    response = web.client.post(
        f"/stories/{web.id('kobo')}/triage",
        data={"state": "irrelevant", "csrf_token": token, "back": back, "to": "list"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    row = response.text.strip()
    assert row.startswith(f'<li class="story status-irrelevant" id="story-{web.id("kobo")}"') and row.endswith("</li>")
    assert "<html" not in row and row.count("<li") == 1
    assert '<span class="badge status-irrelevant">not relevant</span>' in row
    assert "Note: Ask the &lt;founder&gt;" in row  # a row's verdict keeps the note
    assert f'href="/stories/{web.id("kobo")}?site={ALPHA}&amp;sort=title"' in row  # still in the same list
    assert '<input type="hidden" name="back" value="site=alpha&amp;sort=title">' in row
    assert 'name="csrf_token" value="' in row
    saved = stored(web, "kobo")
    assert saved is not None and (saved.state, saved.note) == ("irrelevant", "Ask the <founder>")

    reset = web.client.post(
        f"/stories/{web.id('nanofab')}/triage",
        data={"state": "relevant", "csrf_token": token, "back": back, "to": "list"},
        headers={"HX-Request": "true"},
    )
    assert 'class="story status-relevant"' in reset.text
    reset = web.client.post(
        f"/stories/{web.id('nanofab')}/triage",
        data={"state": "new", "csrf_token": token, "back": back, "to": "list"},
        headers={"HX-Request": "true"},
    )
    assert reset.text.strip().startswith('<li class="story status-new"') and 'value="new"' not in reset.text
    assert stored(web, "nanofab") is None


def test_row_verdicts_need_the_form_token_and_this_site(web: Web) -> None:
    path = f"/stories/{web.id('arms')}/triage"
    form = {"state": "relevant", "back": "", "to": "list"}
    token = form_token(web.client, "/stories")
    refused = [
        web.client.post(path, data=form),
        web.client.post(path, data={**form, "csrf_token": "forged"}),
        web.client.post(path, data=form, headers={"HX-Request": "true"}),
        web.client.post(path, data={**form, "csrf_token": token}, headers={"Origin": "https://evil.example"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert stored(web, "arms") is None
    assert web.client.post(path, data={**form, "csrf_token": token}).status_code == 303
    assert stored(web, "arms") is not None


@pytest.mark.parametrize("back", ["sort=popular", "status=maybe", "from=yesterday", "page=two", "a=1&" * 20])
def test_a_row_verdict_from_a_bad_list_is_refused(web: Web, back: str) -> None:
    token = form_token(web.client, "/stories")
    response = web.client.post(
        f"/stories/{web.id('arms')}/triage", data={"state": "relevant", "csrf_token": token, "back": back, "to": "list"}
    )
    assert response.status_code == 400 and "Bad filter" in response.text
    assert stored(web, "arms") is None


# --------------------------------------------------------------------------- previous and next


LISTS = [
    {},
    {"sort": "found-oldest"},
    {"sort": "published-newest"},
    {"sort": "published-oldest"},
    {"sort": "site"},
    {"sort": "title"},
    {"sort": "oldest"},
    {"rule": CHIPS},
    {"rule": ROBOTS, "sort": "published-oldest"},
    {"site": BETA, "sort": "title"},
    {"q": "robots", "sort": "found-oldest"},
    {"q": "zeppelin"},
]


@pytest.mark.parametrize("params", LISTS, ids=[urlencode(p) or "default" for p in LISTS])
def test_next_and_previous_walk_the_list_it_was_opened_from(web: Web, params: dict[str, str]) -> None:
    expected = web.listed(**params)
    assert expected
    shown = web.client.get("/stories", params=params).text
    first = html.unescape(re.findall(r'<a class="title" href="([^"]+)"', shown)[0])
    walked: list[int] = []
    url: str | None = first
    last = first
    while url is not None:
        nav = story_nav(web, url)
        walked.append(story_id(url))
        assert nav.place == f"story {len(walked)} of {len(expected)}"
        assert (nav.previous is None) == (len(walked) == 1)
        assert nav.back.startswith("/stories") and nav.back.endswith(f"#story-{walked[-1]}")
        last, url = url, nav.next
    assert walked == expected
    assert "no next story" in story_nav(web, str(last)).page
    back: list[int] = []
    url = last
    while url is not None:
        back.append(story_id(url))
        url = story_nav(web, url).previous
    assert back == expected[::-1]
    assert "no previous story" in story_nav(web, first).page


def test_story_links_keep_the_list_and_the_list_link_its_page(web: Web) -> None:
    fillers = add_flagged(web.engine, web.seeded, 26)  # older: 31 stories, the fillers on page 2 and beyond
    listing = web.client.get("/stories", params={"rule": ROBOTS, "sort": "newest"}).text
    assert f'href="/stories/{web.id("zeppelin")}?rule={ROBOTS}&amp;sort=found-newest"' in listing
    oldest = min(fillers)
    nav = story_nav(web, f"/stories/{oldest}?rule={ROBOTS}&sort=newest")
    assert nav.place == "story 30 of 30" and nav.next is None
    assert nav.back == f"/stories?rule={ROBOTS}&sort=found-newest&page=2#story-{oldest}"
    assert nav.previous == f"/stories/{sorted(fillers)[1]}?rule={ROBOTS}&sort=found-newest"
    top = story_nav(web, f"/stories/{web.id('zeppelin')}")  # a story opened on its own: the whole list
    assert top.back == f"/stories#story-{web.id('zeppelin')}" and top.place == "story 1 of 31"
    assert top.previous is None and top.next == f"/stories/{web.id('arms')}"
    assert story_nav(web, f"/stories/{web.id('weather')}").place == "not flagged"


def test_after_a_verdict_the_next_story_is_one_click_away(web: Web) -> None:
    params = {"status": "new", "sort": "oldest"}
    opened = f"/stories/{web.id('kobo')}?{urlencode(params)}"
    page = story_nav(web, opened).page
    back = re.search(r'<input type="hidden" name="back" value="([^"]*)">', page)
    assert back is not None and html.unescape(back[1]) == "status=new&sort=found-oldest"
    token = form_token(web.client, opened)
    response = web.client.post(
        f"/stories/{web.id('kobo')}/triage",
        data={"state": "relevant", "csrf_token": token, "back": html.unescape(back[1])},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/stories/{web.id('kobo')}?status=new&sort=found-oldest"
    after = story_nav(web, response.headers["location"])
    assert after.place == "no longer in this list"  # the verdict took it out of "new"
    assert after.previous is None
    following = f"/stories/{web.id('kobo-copy')}?status=new&sort=found-oldest"
    assert after.next == following
    triage = after.page[after.page.index('<section id="triage"') :]
    assert f'<a class="next-link" href="{html.escape(following)}">Next story →</a>' in triage
    assert story_nav(web, following).place == "story 1 of 4"
    by_title = story_nav(web, f"/stories/{web.id('kobo')}?status=new&sort=title")  # between its neighbours by title
    assert by_title.place == "no longer in this list"
    assert by_title.previous == f"/stories/{web.id('nanofab')}?status=new&sort=title"
    assert by_title.next == f"/stories/{web.id('arms')}?status=new&sort=title"
    assert by_title.back == f"/stories?status=new&sort=title#story-{web.id('kobo')}"


@pytest.mark.parametrize(
    ("params", "message"),
    [({"sort": "popular"}, "unknown sort"), ({"status": "maybe"}, "status: one of"), ({"from": "x"}, "not a date")],
)
def test_a_story_in_a_bad_list_is_a_400_page(web: Web, params: dict[str, str], message: str) -> None:
    response = web.client.get(f"/stories/{web.id('kobo')}", params=params)
    assert response.status_code == 400 and "Bad filter" in response.text and message in response.text


# --------------------------------------------------------------------------- sorts


def test_both_dates_sort_both_ways_and_the_old_names_still_work(web: Web) -> None:
    page = web.client.get("/stories").text
    for value, label in [
        ("found-newest", "found: newest first"),
        ("found-oldest", "found: oldest first"),
        ("published-newest", "published: newest first"),
        ("published-oldest", "published: oldest first"),
    ]:
        assert f'<option value="{value}"' in page and f">{label}</option>" in page
    assert '<option value="found-newest" selected>' in page
    found = ["zeppelin", "arms", "nanofab", "kobo-copy", "kobo"]
    # nanofab 2026-01-15, kobo 2026-03-02 07:30, kobo-copy 09:00; arms and zeppelin undated: last both ways
    assert web.listed(sort="found-newest") == web.ids(*found)
    assert web.listed(sort="found-oldest") == web.ids(*found[::-1])
    assert web.listed(sort="published-newest") == web.ids("kobo-copy", "kobo", "nanofab", "zeppelin", "arms")
    assert web.listed(sort="published-oldest") == web.ids("nanofab", "kobo", "kobo-copy", "arms", "zeppelin")
    for alias, name in [("newest", "found-newest"), ("oldest", "found-oldest"), ("published", "published-newest")]:
        assert web.listed(sort=alias) == web.listed(sort=name)
        shown = web.client.get("/stories", params={"sort": alias}).text
        assert f'<option value="{name}" selected>' in shown
        assert f"sort={alias}&" not in shown and f"sort={name}" in shown  # links carry the current name
        exported = list(csv.DictReader(io.StringIO(web.client.get("/export.csv", params={"sort": alias}).text)))
        assert [int(r["id"]) for r in exported] == web.listed(sort=name)


# --------------------------------------------------------------------------- names instead of ids


def _text_outside_id_labels(page: str) -> str:
    """The page's visible text, without the small secondary id labels (class rule-id)."""
    root: Element = html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)
    body = root.find("body")
    assert body is not None
    pieces: list[str] = []

    def walk(element: Element, shown: bool) -> None:
        shown = shown and "rule-id" not in (element.get("class") or "").split()
        if shown:
            pieces.append(element.text or "")
        for child in element:
            walk(child, shown)
            if shown:
                pieces.append(child.tail or "")

    walk(body, True)
    return " ".join(pieces)


def test_pages_show_the_names_of_sites_and_rules(web: Web) -> None:
    listing = web.client.get("/stories").text
    robots, chips = (html.escape(RULE_NAMES[r]) for r in (ROBOTS, CHIPS))
    assert (
        f'<option value="{ROBOTS}">{robots}</option>' in listing
        and f'<option value="{CHIPS}">{chips}</option>' in listing
    )
    assert f'<option value="{ALPHA}">{SITE_NAMES[ALPHA]}</option>' in listing
    assert f'data-rule="{CHIPS}" title="{CHIPS}">{chips} <b>2</b></a>' in listing  # the per-rule counts
    assert f'<span class="rule" data-rule="{CHIPS}" title="{CHIPS}">{chips}</span>' in listing
    assert f'<span class="site" title="{BETA}">{SITE_NAMES[BETA]}</span>' in listing
    story = web.client.get(f"/stories/{web.id('arms')}").text
    assert f'<a href="/stories?rule={CHIPS}" data-rule="{CHIPS}">{chips}</a>' in story
    rules = web.client.get("/rules").text
    assert f'<a href="/stories?rule={CHIPS}">{chips}</a> <span class="muted rule-id">{CHIPS}</span>' in rules
    for page in (listing, story, rules, web.client.get("/stories", params={"rule": CHIPS}).text):
        text = _text_outside_id_labels(page)
        assert RULE_NAMES[CHIPS] in text
        assert not re.search(rf"\b({CHIPS}|{ALPHA}|{BETA})\b", text), text  # ids only in URLs, values and labels
