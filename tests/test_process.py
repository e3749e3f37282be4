"""Processing one fetched page: extract, match (title, body, site and URL), store or record a skip."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from crawler.article import Page, PageFailure
from crawler.models import ArticleRow, PageRow
from crawler.process import PageProcessor
from crawler.rules import Rule, RuleSet
from crawler.store import open_database

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
