"""The review page in a real browser (Debian chromium through Playwright) over the stories `newswatch demo`
flagged: list, rule filter and search through htmx, triage on the story page, precision on the rules page.

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
    for story in p.locator("#results li.story").all():
        assert RULE in story.locator(".meta .rule").all_inner_texts()
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
    p.wait_for_url(re.compile(r"/stories/\d+$"))
    article_id = int(p.url.rsplit("/", 1)[1])
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
