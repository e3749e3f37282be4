"""The review page in a real browser (Debian chromium through Playwright) over the stories `newswatch demo`
flagged: list, rule filter and search through htmx, triage on the story page, precision on the rules page,
and the keyboard: moving through the list, verdicts on its rows and on story pages, next story.

Every page must run without a console error, an uncaught exception or a Content-Security-Policy violation.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.config import Config, load_config
from crawler.demo import SampleArticle, load_articles
from crawler.demo_run import DEMO_NOW
from crawler.models import ArticleRow, TriageRow
from crawler.store import open_database
from crawler.web.app import WebContext, create_app
from tests.browser import Tab, artifacts_dir, chromium, chromium_or_skip, serve, tab
from tests.conftest import REPO
from tests.local_site import free_port
from tests.test_demo_run import run_demo
from tests.web_data import web_settings

RULE = "softbank-investment"
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class Site:
    """The demo's database served by the review app, and the sample stories it was crawled from."""

    url: str
    engine: Engine
    config: Config
    articles: list[SampleArticle]

    def flagged(self, rule: str | None = None, word: str = "") -> set[str]:
        """Titles of the sample stories ``rule`` (any rule: None) should flag, with ``word`` in them."""
        return {
            a.title
            for a in self.articles
            if (
                (rule in (None, "softbank-investment") and a.softbank_investment)
                or (rule in (None, "ai-iot-investment") and a.ai_iot_investment)
            )
            and word.lower() in f"{a.title}\n{a.body}".lower()
        }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    chromium_or_skip()
    workdir = tmp_path_factory.mktemp("web-browser")
    shutil.copytree(REPO / "config", workdir / "config")
    result = run_demo(workdir, free_port())
    assert result.returncode == 0, result.stderr
    url = f"sqlite:///{workdir / 'data' / 'newswatch.db'}"
    engine = open_database(url)
    config = load_config(workdir / "config")
    app = create_app(WebContext(engine, web_settings(workdir, url), lambda: config))
    try:
        with serve(app) as base_url:
            yield Site(base_url, engine, config, load_articles(now=DEMO_NOW))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Tab]:
    with tab(browser, viewport={"width": 1280, "height": 900}) as watched:
        yield watched


def shown_titles(page: Page) -> set[str]:
    return set(page.locator("#results li.story a.title").all_inner_texts())


def screenshot(page: Page, name: str) -> Path:
    path = artifacts_dir() / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG, path
    return path


def keep_marker(page: Page) -> None:
    """Mark the document: the mark survives htmx swaps, a full page load loses it."""
    page.evaluate("window.__newswatchMarker = 'kept'")


def marker_kept(page: Page) -> bool:
    return bool(page.evaluate("window.__newswatchMarker === 'kept'"))


def test_list_filters_by_rule_and_searches_in_place(site: Site, page: Tab) -> None:
    p = page.page
    p.goto(f"{site.url}/stories")
    expect(p).to_have_title(re.compile("Stories"))
    everything = site.flagged()
    expect(p.locator("#results .counts .total")).to_have_text(f"{len(everything)} stories")
    assert shown_titles(p) == everything
    screenshot(p, "stories-list.png")

    keep_marker(p)
    p.select_option("select[name=rule]", RULE)  # htmx: the change fetches the list and swaps #results
    p.wait_for_url(re.compile(rf"/stories\?.*rule={RULE}"))
    expected = site.flagged(RULE)
    expect(p.locator("#results .counts .total")).to_have_text(f"{len(expected)} stories")
    assert shown_titles(p) == expected
    name = site.config.rule_names()[RULE]
    assert name != RULE
    for story in p.locator("#results li.story").all():
        expect(story.locator(f".meta .rule[data-rule='{RULE}']")).to_have_text(name)  # its name, not its id
    assert marker_kept(p), "the rule filter reloaded the whole page instead of swapping #results"
    expect(p.locator("select[name=rule]")).to_have_value(RULE)

    p.fill("input[name=q]", "pharmacy")
    p.press("input[name=q]", "Enter")
    p.wait_for_url(re.compile(r"/stories\?.*q=pharmacy"))
    found = site.flagged(RULE, "pharmacy")
    assert len(found) == 2  # one says it in its title, one in its body
    expect(p.locator("#results .counts .total")).to_have_text(f"{len(found)} stories")
    assert shown_titles(p) == found
    assert f"rule={RULE}" in p.url
    assert marker_kept(p), "the search reloaded the whole page instead of swapping #results"

    p.reload()  # the pushed URL stands on its own
    expect(p.locator("#results .counts .total")).to_have_text(f"{len(found)} stories")
    assert shown_titles(p) == found
    expect(p.locator("input[name=q]")).to_have_value("pharmacy")
    assert page.problems == []


def test_triage_on_the_story_page_is_stored_shown_and_counted(site: Site, page: Tab) -> None:
    p = page.page
    p.goto(f"{site.url}/stories?rule={RULE}&q=MediBox")
    (title,) = shown_titles(p)
    assert title in site.flagged(RULE, "MediBox")
    p.locator("#results a.title", has_text=title).click()
    p.wait_for_url(re.compile(rf"/stories/\d+\?q=MediBox&rule={RULE}$"))  # the story, in the list it came from
    article_id = int(p.url.split("/stories/", 1)[1].split("?")[0])
    expect(p.locator("h1#title")).to_have_text(title)
    expect(p.locator("#triage #status")).to_have_text("new")
    screenshot(p, "story-page.png")

    note = "Follow up with the <b>MediBox</b> desk & legal"
    keep_marker(p)
    p.fill("#triage textarea[name=note]", note)
    # as when the reader drags the box bigger: an inline style htmx must not copy under the strict CSP
    p.locator("#triage textarea[name=note]").evaluate("box => { box.style.height = '9em' }")
    p.click("#triage button[value=relevant]")  # htmx posts the form and swaps #triage
    expect(p.locator("#triage #status")).to_have_text("relevant")
    expect(p.locator("#triage #saved-note")).to_have_text(f"Note: {note}")
    assert marker_kept(p), "the verdict reloaded the whole page instead of swapping #triage"

    with Session(site.engine) as db:
        row = db.get(TriageRow, article_id)
        assert row is not None and db.get(ArticleRow, article_id) is not None
        assert (row.state, row.note, row.updated_by) == ("relevant", note, "web:local")
        assert len(db.exec(select(TriageRow)).all()) == 1

    p.reload()
    expect(p.locator("#triage #status")).to_have_text("relevant")
    expect(p.locator("#triage #saved-note")).to_have_text(f"Note: {note}")
    expect(p.locator("#triage textarea[name=note]")).to_have_value(note)
    screenshot(p, "story-page-relevant.png")

    p.goto(f"{site.url}/stories?status=relevant")
    assert shown_titles(p) == {title}
    expect(p.locator(f"#results li.story[data-id='{article_id}'] .badge")).to_have_text("relevant")
    expect(p.locator(f"#results li.story[data-id='{article_id}'] .note")).to_have_text(f"Note: {note}")

    p.goto(f"{site.url}/rules")
    precision = p.locator(f"tr[data-rule='{RULE}'] td.precision")
    expect(precision).to_have_text(re.compile(r"^100%\s+of 1$"))
    assert page.problems == []


OTHER_RULE = "ai-iot-investment"


def selected(page: Page) -> list[str]:
    """The ids of the selected rows (one at most)."""
    return list(page.locator("#results li.story.selected").evaluate_all("rows => rows.map(r => r.dataset.id)"))


def verdict(site: Site, article_id: str) -> str | None:
    with Session(site.engine) as db:
        row = db.get(TriageRow, int(article_id))
        return row.state if row else None


def test_keys_move_mark_open_and_go_on_to_the_next_story(site: Site, page: Tab) -> None:
    p = page.page
    query = f"rule={OTHER_RULE}&sort=published-oldest"
    p.goto(f"{site.url}/stories?{query}")
    rows = p.locator("#results li.story").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert len(rows) >= 3
    assert all(verdict(site, article_id) is None for article_id in rows[:3])
    expect(p.locator("#keys-hint")).to_be_visible()
    expect(p.locator("#keys-hint")).to_contain_text("j / k next / previous story")
    keep_marker(p)

    assert selected(p) == []
    for key, expected in (("j", rows[0]), ("j", rows[1]), ("j", rows[2]), ("k", rows[1])):
        p.keyboard.press(key)
        assert selected(p) == [expected], key
    expect(p.locator("#results li.story.selected")).to_be_in_viewport()

    search = p.locator("input[name=q]")
    search.click()
    p.keyboard.press("j")  # typing in the search box: a letter, not a move
    expect(search).to_have_value("j")
    assert selected(p) == [rows[1]]
    search.fill("")
    search.evaluate("box => box.blur()")

    p.keyboard.press("r")  # the selected row, marked relevant in place
    row = p.locator(f"#results li.story[data-id='{rows[1]}']")
    expect(row.locator(".badge")).to_have_text("relevant")
    expect(row.locator("button[value=new]")).to_be_visible()
    assert verdict(site, rows[1]) == "relevant"
    assert marker_kept(p), "the verdict on a row reloaded the whole page instead of swapping the row"
    assert selected(p) == [rows[1]]  # still selected after the swap
    assert p.locator(f"#results li.story[data-id='{rows[0]}'] .badge").inner_text() == "new"

    p.keyboard.press("Enter")
    p.wait_for_url(re.compile(rf"/stories/{rows[1]}\?"))
    assert query in p.url
    expect(p.locator("#triage #status")).to_have_text("relevant")
    expect(p.locator("#keys-hint")).to_be_visible()

    p.keyboard.press("j")  # the next story of the same filtered, sorted list
    p.wait_for_url(re.compile(rf"/stories/{rows[2]}\?"))
    assert query in p.url
    expect(p.locator("#previous-story")).to_have_attribute("href", f"/stories/{rows[1]}?{query}")
    keep_marker(p)
    p.keyboard.press("i")
    expect(p.locator("#triage #status")).to_have_text("not relevant")
    assert verdict(site, rows[2]) == "irrelevant"
    assert marker_kept(p), "the verdict key reloaded the story page instead of swapping the verdict box"
    expect(p.locator("#triage a.next-link")).to_be_visible()  # and the next story is one click away

    p.keyboard.press("u")  # back to the list, the story shown selected
    p.wait_for_url(re.compile(rf"/stories\?{re.escape(query)}#story-{rows[2]}$"))
    assert selected(p) == [rows[2]]
    expect(p.locator(f"#results li.story[data-id='{rows[2]}'] .badge")).to_have_text("not relevant")
    screenshot(p, "stories-keys.png")
    assert page.problems == []


def test_the_problem_watch_sees_a_csp_violation(site: Site, page: Tab) -> None:
    """The guard of the other tests works: an inline script is refused by the page's CSP and reported."""
    p = page.page
    p.goto(f"{site.url}/stories")
    assert page.problems == []
    p.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1';"
        " document.body.appendChild(s); }"
    )
    p.wait_for_timeout(200)
    assert p.evaluate("window.__inline === undefined")
    assert any("Content Security Policy" in problem or "CSP violation" in problem for problem in page.problems)
