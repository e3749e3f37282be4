"""Processing one fetched page: extract, match (title, body, site and URL), store or record a skip."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from crawler.analysis import Analysis, analyse
from crawler.article import Article, Page, PageFailure
from crawler.models import AlertRow, ArticleRow, PageRow, StoryRow
from crawler.process import PageProcessor
from crawler.rules import Rule, RuleSet
from crawler.store import open_database
from tests.alerts_data import INSTANT_RULE, body, recorder

HTML = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Phone maker opens a factory</title>
</head><body><article><h1>Phone maker opens a factory</h1>{}</article></body></html>""".format(
    "".join(
        f"<p>Paragraph {i}: the phone maker said its new factory would employ hundreds of people and "
        "build handsets for customers across the region from next year.</p>"
        for i in range(6)
    )
)


def test_site_and_url_terms_see_the_page(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    rules = RuleSet.compile(
        [
            Rule("by-site", "site:alpha AND phone"),
            Rule("by-name", 'site:"alpha daily" AND factory'),
            Rule("by-url", "url:gadgets AND factory"),
            Rule("other-site", "site:beta AND phone"),
        ]
    )
    processor = PageProcessor(engine, rules, site_names=("alpha", "Alpha Daily"))
    page = Page("alpha", "https://alpha.example/gadgets/phone-factory/", HTML, datetime.now(UTC))
    outcome = processor.process(page)
    assert outcome.status == "new"
    assert [m.rule_id for m in outcome.matches] == ["by-site", "by-name", "by-url"]
    assert processor.process(page).status == "duplicate"
    with Session(engine) as session:
        assert len(session.exec(select(ArticleRow)).all()) == 1


def test_failures_and_non_articles_are_recorded(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    processor = PageProcessor(engine, RuleSet.compile([Rule("r", "phone")]))
    skipped = processor.process(Page("alpha", "https://alpha.example/about/", "<p>About us</p>", datetime.now(UTC)))
    assert skipped.status == "skipped" and skipped.reason
    failed = processor.fail(PageFailure("alpha", "https://alpha.example/x/", "error", "HTTP 503", 503))
    assert failed.status == "error"
    with Session(engine) as session:
        rows = {r.canonical_url: r for r in session.exec(select(PageRow)).all()}
    assert rows["https://alpha.example/about/"].status == "skipped"
    assert rows["https://alpha.example/x/"].http_status == 503


def _analysed(processor: PageProcessor, number: int, title: str, text: str) -> tuple[Page, Analysis]:
    """A page and its analysis as a worker would send it (here: analysed in this process)."""
    paragraphs = "".join(f"<p>{text} Paragraph {i} of the report.</p>" for i in range(4))
    page = Page(
        "alpha",
        f"https://alpha.example/news/{number}/",
        f'<html lang="en"><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}'
        "</article></body></html>",
        datetime.now(UTC),
    )
    return page, analyse(page, processor.matcher, processor.site_names)


def test_a_batch_is_stored_together_and_copies_in_it_share_one_story(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    processor = PageProcessor(engine, RuleSet.compile([Rule(INSTANT_RULE, "title:robot")]), recorder(), ("alpha",))
    story = body(1, 200)
    pairs = [
        _analysed(processor, 1, "Robot fund launched", story),
        _analysed(processor, 2, "Weather in Osaka", body(2, 200)),
        _analysed(processor, 3, "Robot fund launched, again", story),  # a copy of 1, in the same batch
        (Page("alpha", "https://alpha.example/about/", "<p>About us</p>", datetime.now(UTC)),
         analyse(Page("alpha", "https://alpha.example/about/", "<p>About us</p>", datetime.now(UTC)), None)),
    ]
    pairs.append(pairs[0])  # the same page twice
    outcomes = processor.store_many(pairs)
    assert [o.status for o in outcomes] == ["new", "new", "new", "skipped", "duplicate"]
    with Session(engine) as session:
        stories = {a.id: a.story_id for a in session.exec(select(ArticleRow)).all()}
        alerts = session.exec(select(AlertRow)).all()
    assert stories[outcomes[0].article_id] == stories[outcomes[2].article_id] != stories[outcomes[1].article_id]
    assert len(alerts) == 1  # one story, one rule: one alert


def test_a_faulty_article_costs_only_itself_and_leaves_no_story_behind(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    rec = recorder()
    real = rec.record

    def record(session: Session, article_id: int, site_id: str, article: Article, *args: Any, **kw: Any) -> None:
        real(session, article_id, site_id, article, *args, **kw)  # its story is created, then the step fails
        if "faulty" in article.title:
            raise KeyError("alert step bug")

    rec.record = record  # type: ignore[method-assign]
    processor = PageProcessor(engine, RuleSet.compile([Rule(INSTANT_RULE, "title:robot")]), rec, ("alpha",))
    pairs = [_analysed(processor, n, f"Robot story {n}" + (" faulty" if n == 2 else ""), body(10 + n, 200))
             for n in range(4)]
    outcomes = processor.store_many(pairs)
    assert [o.status for o in outcomes] == ["new", "new", "error", "new"]
    assert outcomes[2].reason == "alert step failed: KeyError"
    with Session(engine) as session:
        assert len(session.exec(select(ArticleRow)).all()) == 3
        story_ids = {s.id for s in session.exec(select(StoryRow)).all()}
    assert set(rec.setup.index._entries) == story_ids  # the failed transactions' stories left the index
    # Stored again later (the bug fixed), the article gets a story that exists.
    rec.record = real  # type: ignore[method-assign]
    again = processor.store_many([pairs[2]])[0]
    assert again.status == "new"
    with Session(engine) as session:
        row = session.get(ArticleRow, again.article_id)
        assert row is not None and session.get(StoryRow, row.story_id) is not None


def test_a_failed_analysis_is_an_error_tried_again_not_a_skip(tmp_path: Path) -> None:
    """A worker that died or ran out of time says nothing about the page: it is fetched again next crawl."""
    from crawler.store import known_urls

    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    processor = PageProcessor(engine, RuleSet.compile([Rule("r", "phone")]))
    page = Page("alpha", "https://alpha.example/slow/", "<html></html>", datetime.now(UTC))
    outcome = processor.store(page, Analysis(page.url, error="extraction failed: BrokenProcessPool"))
    assert outcome.status == "error"
    with Session(engine) as session:
        row = session.get(PageRow, page.url)
        assert row is not None and row.status == "error"
        assert known_urls(session, [page.url]) == set()  # not yet given up on


STUB = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Phone maker opens a factory</title>
</head><body><article><h1>Phone maker opens a factory</h1><p>The phone maker said its new factory would employ
hundreds of people.</p><p>Subscribe to read the full story.</p></article></body></html>"""


def test_a_stub_is_partial_flags_nothing_and_is_fetched_again_until_the_attempt_limit(tmp_path: Path) -> None:
    """A teaser or consent wall (a body below the extractor's minimum) is recorded "partial", not skipped
    for good: later crawls fetch it again, up to the attempt limit; nothing of it is stored or flagged."""
    from crawler.store import MAX_FETCH_ATTEMPTS, known_urls

    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    processor = PageProcessor(engine, RuleSet.compile([Rule("r", "phone")]), recorder(), site_names=("alpha",))
    page = Page("alpha", "https://alpha.example/news/factory/", STUB, datetime.now(UTC))
    for attempt in range(1, MAX_FETCH_ATTEMPTS + 1):
        with Session(engine) as session:
            assert known_urls(session, [page.url]) == set()  # still worth fetching
        outcome = processor.process(page)
        assert (outcome.status, outcome.matches) == ("partial", [])
        with Session(engine) as session:
            row = session.get(PageRow, page.url)
            assert row is not None and (row.status, row.attempts) == ("partial", attempt)
    with Session(engine) as session:
        assert known_urls(session, [page.url]) == {page.url}  # given up on
        assert session.exec(select(ArticleRow)).all() == [] and session.exec(select(AlertRow)).all() == []


def test_a_stub_never_replaces_a_stored_article(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    processor = PageProcessor(engine, RuleSet.compile([Rule("r", "phone")]), recorder(), site_names=("alpha",))
    url = "https://alpha.example/news/factory/"
    assert processor.process(Page("alpha", url, HTML, datetime.now(UTC))).status == "new"
    # The same URL (or one redirecting to it) now shows a consent wall.
    stub = Page("alpha", url, STUB, datetime.now(UTC), requested_url="https://alpha.example/amp/factory/")
    assert processor.process(stub).status == "partial"
    with Session(engine) as session:
        article = session.exec(select(ArticleRow)).one()
        assert "hundreds of people and build handsets" in article.text
        row = session.get(PageRow, url)
        assert row is not None and row.status == "article"
        assert len(session.exec(select(AlertRow)).all()) == 1
