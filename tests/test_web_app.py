"""The review pages as a reader uses them, on SQLite and PostgreSQL: list, filters, story page, triage, rules,
sources, exports, redirects and health endpoints."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.models import ArticleRow, TriageRow
from tests.web_data import (
    ALPHA,
    BASE,
    BETA,
    CHIPS,
    LIST_ITEM,
    ROBOTS,
    Spec,
    Web,
    add_article,
    add_flagged,
    form_token,
    open_web,
    today,
)

_CHIP = re.compile(r'<a class="chip[^"]*" href="[^"]*" data-rule="([^"]+)"[^>]*>([^<]+) <b>(\d+)</b></a>')


def chips(html: str) -> dict[str, str]:
    """The per-rule counts of a list page, by rule id."""
    return {rule: count for rule, _, count in _CHIP.findall(html)}


@pytest.fixture
def web(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Web]:
    with open_web(engine, db_url, tmp_path) as opened:
        yield opened


def _row(html: str, rule_id: str) -> str:
    """The rules table row of ``rule_id``."""
    start = html.index(f'<tr data-rule="{rule_id}">')
    return html[start : html.index("</tr>", start)]


# --------------------------------------------------------------------------- the list


def test_list_shows_flagged_stories_newest_first(web: Web) -> None:
    response = web.client.get("/stories")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert web.listed() == web.ids("zeppelin", "arms", "nanofab", "kobo-copy", "kobo")
    assert 'data-total="5">5 stories' in response.text
    assert "Weather for the weekend" not in response.text  # not flagged: never listed
    assert "Alpha Daily" in response.text and "Beta Wire" in response.text  # site names, not ids
    assert "Zeppelin Labs bets on <mark>automation</mark>" not in response.text  # titles are plain text
    assert "<mark>automation</mark> kits" in response.text  # the match snippet, marked
    assert "+1 other outlet" in response.text  # the Kobo story was reported by both sites


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"rule": CHIPS}, ["arms", "nanofab"]),
        ({"rule": ROBOTS}, ["zeppelin", "arms", "kobo-copy", "kobo"]),
        ({"site": BETA}, ["arms", "kobo-copy"]),
        ({"rule": ROBOTS, "site": ALPHA}, ["zeppelin", "kobo"]),
        ({"status": "new"}, ["zeppelin", "arms", "nanofab", "kobo-copy", "kobo"]),
        ({"status": "relevant"}, []),
        ({"q": "zeppelin"}, ["zeppelin"]),
        ({"q": "Dresden"}, ["nanofab"]),
        ({"q": '"warehouse robots"'}, ["kobo-copy", "kobo"]),
        ({"q": "semicond*"}, ["arms", "nanofab"]),
        ({"q": "rain"}, []),  # only the unflagged article has it
        ({"sort": "oldest"}, ["kobo", "kobo-copy", "nanofab", "arms", "zeppelin"]),
        ({"sort": "title"}, ["nanofab", "kobo", "arms", "kobo-copy", "zeppelin"]),
    ],
)
def test_filters_narrow_the_list(web: Web, params: dict[str, str], expected: list[str]) -> None:
    assert web.listed(**params) == web.ids(*expected)


def test_date_range_names_the_first_and_last_day_shown(web: Web) -> None:
    day = web.seeded.day
    assert web.listed(**{"from": day("nanofab"), "until": day("arms")}) == web.ids("arms", "nanofab")
    assert web.listed(**{"from": day("arms")}) == web.ids("zeppelin", "arms")
    assert web.listed(until=day("kobo")) == web.ids("kobo")
    assert web.listed(**{"from": day("kobo-copy"), "until": day("kobo-copy")}) == web.ids("kobo-copy")
    assert web.listed(**{"from": "2001-01-01", "until": "2001-12-31"}) == []
    page = web.client.get("/stories", params={"until": "2001-12-31"})
    assert "No flagged story matches these filters." in page.text


def test_date_range_edges_are_midnight_utc(web: Web) -> None:
    midnight = today()  # found exactly at the start of today
    with Session(web.engine) as session:
        found = update(ArticleRow).where(ArticleRow.id == web.id("zeppelin"))  # type: ignore[arg-type]
        session.execute(found.values(created_at=midnight))
        session.commit()
    yesterday = (midnight - timedelta(days=1)).date().isoformat()
    assert web.id("zeppelin") not in web.listed(until=yesterday)
    assert web.listed(**{"from": midnight.date().isoformat()}) == web.ids("zeppelin")


def test_counts_per_rule_follow_the_other_filters(web: Web) -> None:
    assert chips(web.client.get("/stories").text) == {ROBOTS: "4", CHIPS: "2"}
    assert chips(web.client.get("/stories", params={"site": ALPHA}).text) == {ROBOTS: "2", CHIPS: "1"}
    # the rule filter leaves the counts of the other rules visible, so the reader can switch
    by_rule = web.client.get("/stories", params={"rule": CHIPS}).text
    assert chips(by_rule) == {ROBOTS: "4", CHIPS: "2"}
    assert 'data-total="2">2 stories' in by_rule


def test_second_page(web: Web) -> None:
    fillers = add_flagged(web.engine, web.seeded, 26)  # 31 flagged in all, 25 a page
    first = web.client.get("/stories")
    assert "page 1 of 2" in first.text and 'rel="next" href="/stories?page=2"' in first.text
    assert len(LIST_ITEM.findall(first.text)) == 25
    assert web.listed(page="2") == sorted(fillers, reverse=True)[-6:]
    second = web.client.get("/stories", params={"page": "2"})
    assert "page 2 of 2" in second.text and 'rel="prev"' in second.text and 'rel="next"' not in second.text
    assert web.listed(page="3") == []  # past the end: an empty page, not an error


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": "popular"}, "unknown sort"),
        ({"status": "maybe"}, "status: one of"),
        ({"from": "2026-13-45"}, "from: not a date"),
        ({"until": "yesterday"}, "until: not a date"),
        ({"page": "two"}, "page: not a number"),
    ],
)
def test_bad_filter_values_get_a_400_page(web: Web, params: dict[str, str], message: str) -> None:
    response = web.client.get("/stories", params=params)
    assert response.status_code == 400
    assert "Bad filter" in response.text and message in response.text
    assert "Traceback" not in response.text
    if "page" not in params:  # the exports take the same filters
        assert web.client.get("/export.csv", params=params).status_code == 400


# --------------------------------------------------------------------------- the story page


def test_story_page_shows_the_body_marked_and_why_it_was_flagged(web: Web) -> None:
    response = web.client.get(f"/stories/{web.id('kobo')}")
    assert response.status_code == 200
    page = response.text
    assert '<h1 id="title">Kobo <mark>Robotics</mark> raises $5 million for warehouse <mark>robots</mark></h1>' in page
    assert "<p>The <mark>robots</mark> pick and sort parcels" in page  # one paragraph per line, terms marked
    assert "Founder Mika Sato said the money" in page
    # metadata
    assert "by Mika Writer" in page
    assert "published 2026-03-02 07:30 UTC" in page
    assert "language en" in page
    assert f"found {web.seeded.day('kobo')} 12:00 UTC" in page
    assert 'href="https://alpha.example/news/kobo" rel="noopener noreferrer nofollow">Read it on Alpha Daily' in page
    # why: the rule, its terms and the amount with its dollar value
    assert f'<a href="/stories?rule={ROBOTS}" data-rule="{ROBOTS}">Robots &amp; automation</a>' in page
    assert "Terms: <mark>robot*</mark>" in page
    assert '<span class="amount">$5 million (≈ $5,000,000)</span>' in page
    # the other outlet of the same story, and the alert it raised
    outlets = page[page.index('class="card outlets"') :]
    assert f'<a href="/stories/{web.id("kobo-copy")}">UPDATE 1-Kobo Robotics gets $5 million' in outlets
    assert "Beta Wire" in outlets
    assert "Robots &amp; automation (instant)" in page
    assert 'id="status">new</span>' in page


def test_story_without_other_outlets_says_so(web: Web) -> None:
    page = web.client.get(f"/stories/{web.id('arms')}").text
    assert "No other outlet reported this story yet." in page
    assert f'>Robots &amp; automation</a> <span class="muted rule-id">{ROBOTS}</span></h3>' in page
    assert f'>Chip plants</a> <span class="muted rule-id">{CHIPS}</span></h3>' in page
    assert "Factories that make <mark>semiconductor</mark> wafers are buying <mark>robot</mark> arms" in page


def test_unknown_story_is_a_404_page(web: Web) -> None:
    response = web.client.get("/stories/999999", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "There is no stored article with id 999999." in response.text
    for accept in ("text/html", "application/json"):  # a malformed id: a plain 400 that does not echo it
        response = web.client.get("/stories/1%3Cb%3Ebold", headers={"accept": accept})
        assert response.status_code == 400
        assert "bold" not in response.text


def test_hostile_article_is_shown_as_text(web: Web) -> None:
    spec = Spec(
        "hostile",
        ALPHA,
        0,
        '<script>alert("t")</script> robots',
        'Robots <img src=x onerror=alert("b")> everywhere.',
        author="<b>Mallory</b>",
    )
    article_id = add_article(web.engine, web.seeded, spec, url="javascript:alert(document.cookie)//robots")
    for path in ("/stories", f"/stories/{article_id}"):
        page = web.client.get(path).text
        assert "<script>alert(" not in page and "<img src=x" not in page and "<b>Mallory" not in page
        assert "&lt;script&gt;alert(" in page
    story = web.client.get(f"/stories/{article_id}").text
    assert "<mark>Robots</mark> &lt;img src=x onerror=alert(&quot;b&quot;)&gt; everywhere." in story
    assert "by &lt;b&gt;Mallory&lt;/b&gt;" in story
    assert 'href="javascript:' not in story
    assert "Source: javascript:alert(document.cookie)//robots" in story  # shown, not linked


# --------------------------------------------------------------------------- triage


def test_triage_is_stored_and_shown(web: Web) -> None:
    web.triage("kobo", "relevant", "Worth a call <to> the founder")
    with Session(web.engine) as session:
        row = session.get(TriageRow, web.id("kobo"))
        assert row is not None
        assert (row.state, row.note, row.updated_by) == ("relevant", "Worth a call <to> the founder", "web:local")
    page = web.client.get(f"/stories/{web.id('kobo')}").text
    assert 'id="status">relevant</span>' in page
    assert '<p class="note" id="saved-note">Note: Worth a call &lt;to&gt; the founder</p>' in page
    assert 'value="new" class="reset">Back to new' in page
    # the list shows it and its status filter finds it
    assert web.listed(status="relevant") == web.ids("kobo")
    assert web.id("kobo") not in web.listed(status="new")
    listing = web.client.get("/stories", params={"status": "relevant"}).text
    assert '<span class="badge status-relevant">relevant</span>' in listing
    assert "Note: Worth a call &lt;to&gt; the founder" in listing


def test_triage_states_and_back_to_new(web: Web) -> None:
    web.triage("arms", "irrelevant")
    assert web.listed(status="irrelevant") == web.ids("arms")
    assert 'id="status">not relevant</span>' in web.client.get(f"/stories/{web.id('arms')}").text
    web.triage("arms", "reviewed", "")
    assert web.listed(status="reviewed") == web.ids("arms")
    web.triage("arms", "new")
    with Session(web.engine) as session:
        assert session.get(TriageRow, web.id("arms")) is None
    assert web.id("arms") in web.listed(status="new")


def test_triage_by_htmx_header_token(web: Web) -> None:
    path = f"/stories/{web.id('nanofab')}"
    token = form_token(web.client, path)
    response = web.client.post(f"{path}/triage", data={"state": "reviewed"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 303
    assert web.listed(status="reviewed") == web.ids("nanofab")


def test_triage_refuses_bad_state_and_unknown_article(web: Web) -> None:
    path = f"/stories/{web.id('kobo')}"
    token = form_token(web.client, path)
    bad = web.client.post(f"{path}/triage", data={"state": "maybe", "csrf_token": token})
    assert bad.status_code == 400 and "unknown state" in bad.text
    missing = web.client.post("/stories/999999/triage", data={"state": "relevant", "csrf_token": token})
    assert missing.status_code == 404
    with Session(web.engine) as session:
        assert session.exec(select(TriageRow)).all() == []


# --------------------------------------------------------------------------- rules


def test_rules_page_counts_and_precision(web: Web) -> None:
    page = web.client.get("/rules").text
    robots, chips = _row(page, ROBOTS), _row(page, CHIPS)
    assert '<td class="num">4</td>' in robots and '<td class="num">2</td>' in chips  # all matches
    assert '<td class="num precision">–</td>' in robots  # no verdict yet
    assert "robot* OR automation" in robots  # the query
    web.triage("kobo", "relevant")
    web.triage("kobo-copy", "irrelevant")
    web.triage("zeppelin", "reviewed")  # looked at, no verdict: not in the precision
    page = web.client.get("/rules").text
    robots, chips = _row(page, ROBOTS), _row(page, CHIPS)
    assert '<td class="num precision">50% <span class="muted">of 2</span></td>' in robots
    assert '<td class="num precision">–</td>' in chips
    web.triage("arms", "relevant")  # flagged by both rules
    page = web.client.get("/rules").text
    assert "67% <span" in _row(page, ROBOTS) and "100% <span" in _row(page, CHIPS)


def test_rules_test_box_runs_a_query(web: Web) -> None:
    response = web.client.get("/rules", params={"test": "zeppelin OR rain", "since": "30d"})
    assert response.status_code == 200
    results = response.text[response.text.index('id="test-results"') :]
    assert "<b>2</b> of 6 stored articles would be flagged" in results
    assert f'href="/stories/{web.id("zeppelin")}">Zeppelin Labs bets on automation for farms</a>' in results
    assert "Weather for the weekend" in results  # unflagged articles are tested too
    assert "<mark>rain</mark>" in results
    # nothing is saved
    assert web.listed() == web.ids("zeppelin", "arms", "nanofab", "kobo-copy", "kobo")


def test_rules_test_box_shows_a_bad_query(web: Web) -> None:
    response = web.client.get("/rules", params={"test": "(robot AND", "since": "7d"})
    assert response.status_code == 200
    assert 'id="test-error">bad query:' in response.text
    assert "Traceback" not in response.text and 'id="test-results"' not in response.text
    assert "(robot AND</textarea>" in response.text  # the query stays in the box to be fixed


# --------------------------------------------------------------------------- sources, exports, redirects, health


def test_sources_page_lists_the_sites(web: Web) -> None:
    page = web.client.get("/sources").text
    for site_id, name in ((ALPHA, "Alpha Daily"), (BETA, "Beta Wire")):
        row = page[page.index(f'data-site="{site_id}"') :]
        row = row[: row.index("</tr>")]
        assert name in row and "finished" in row
    assert "no heartbeat recorded" in page


def test_exports_honour_the_filter(web: Web) -> None:
    response = web.client.get("/export.csv", params={"rule": CHIPS})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="newswatch-stories-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == web.ids("arms", "nanofab")
    assert rows[0]["rules"] == f"{ROBOTS}; {CHIPS}" and rows[0]["site"] == BETA
    assert rows[0]["review_url"] == f"{BASE}/stories/{web.id('arms')}"

    response = web.client.get("/export.json", params={"site": ALPHA, "q": "robots"})
    assert response.headers["content-type"].startswith("application/json")
    records = json.loads(response.text)
    assert [r["id"] for r in records] == web.ids("kobo")
    assert records[0]["title"] == "Kobo Robotics raises $5 million for warehouse robots"
    assert records[0]["status"] == "new" and records[0]["url"] == "https://alpha.example/news/kobo"


def test_exports_show_triage_and_neutralise_formulas(web: Web) -> None:
    formula = '=HYPERLINK("https://evil.example","robots")'
    article_id = add_article(web.engine, web.seeded, Spec("formula", ALPHA, 0, formula, "Robots, again."))
    web.triage("formula", "irrelevant", "+1 spam")
    rows = list(csv.DictReader(io.StringIO(web.client.get("/export.csv").text)))
    first = rows[0]
    assert int(first["id"]) == article_id
    assert first["title"] == "'" + formula and first["note"] == "'+1 spam"
    assert first["status"] == "not relevant"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())
    records = json.loads(web.client.get("/export.json", params={"status": "irrelevant"}).text)
    assert [(r["id"], r["title"]) for r in records] == [(article_id, formula)]  # JSON keeps the value as it is


def test_redirects(web: Web) -> None:
    home = web.client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/stories"
    review = web.client.get("/review", params={"rule": CHIPS})
    assert review.status_code == 303 and review.headers["location"] == f"/stories?rule={CHIPS}"
    assert web.client.get("/review").headers["location"] == "/stories"
    assert web.client.get("/review", params={"rule": "a b&c"}).headers["location"] == "/stories?rule=a+b%26c"
    followed = web.client.get("/review", params={"rule": CHIPS}, follow_redirects=True)
    assert followed.status_code == 200
    assert [int(i) for _, i in LIST_ITEM.findall(followed.text)] == web.ids("arms", "nanofab")


def test_health_endpoints_and_static_files(web: Web) -> None:
    assert web.client.get("/healthz").json() == {"status": "ok"}
    ready = web.client.get("/readyz")
    assert ready.status_code == 503  # no service heartbeat in this database
    assert ready.json()["database"] is True and ready.json()["status"] == "unavailable"
    assert web.client.get("/favicon.ico").status_code == 204
    css = web.client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert web.client.get("/static/htmx.min.js").status_code == 200
