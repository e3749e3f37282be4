"""Stories and alert rows are created in the article's transaction; backfill keeps a new site quiet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.alerts.recorder import AlertSetup, is_first_crawl
from crawler.models import AlertRow, ArticleRow, CrawlRunRow, StoryRow
from crawler.store import finish_run, start_run
from tests.alerts_data import DIGEST_RULE, INSTANT_RULE, NOW, body, recorder, site, store


def test_new_match_creates_story_and_alerts_with_the_article(engine: Engine) -> None:
    article_id = store(engine, recorder(), 1, [INSTANT_RULE, DIGEST_RULE])
    with Session(engine) as session:
        article = session.get(ArticleRow, article_id)
        assert article is not None and article.story_id is not None
        alerts = session.exec(select(AlertRow)).all()
        assert sorted((a.rule_id, a.mode, a.story_id, a.suppressed) for a in alerts) == sorted(
            [(INSTANT_RULE, "instant", article.story_id, False), (DIGEST_RULE, "digest", article.story_id, False)]
        )


def test_a_failing_alert_step_rolls_the_article_back(engine: Engine) -> None:
    rec = recorder()

    class Boom(RuntimeError):
        pass

    def explode(*_args: object) -> None:
        raise Boom

    rec.setup.index.assign = explode  # type: ignore[method-assign,assignment]
    with pytest.raises(Boom):
        store(engine, rec, 2)
    with Session(engine) as session:
        assert session.exec(select(ArticleRow)).all() == []
        assert session.exec(select(AlertRow)).all() == []


def test_copies_join_the_story_and_do_not_alert_again(engine: Engine) -> None:
    setup = AlertSetup(modes={INSTANT_RULE: "instant", DIGEST_RULE: "digest"})
    rec = recorder(setup=setup)
    first = store(engine, rec, 3, title="Robot maker Kobo raises $5m")
    # A wire copy on another site: retitled, trimmed, new URL.
    text = "TOKYO (Wire) - " + body(3)[: len(body(3)) * 2 // 3]
    copy = store(engine, rec, 3, title="UPDATE 1-Kobo gets $5m", text=text, site_id="news-b")
    other = store(engine, rec, 4)
    with Session(engine) as session:
        rows = {a.id: a for a in session.exec(select(ArticleRow)).all()}
        assert first is not None and copy is not None and other is not None
        assert rows[first].story_id == rows[copy].story_id != rows[other].story_id
        assert len(session.exec(select(StoryRow)).all()) == 2
        alerts = session.exec(select(AlertRow)).all()
        assert sorted(a.article_id for a in alerts) == sorted([first, other])


def test_a_copy_matching_another_rule_adds_that_rule_only(engine: Engine) -> None:
    rec = recorder()
    store(engine, rec, 5, [INSTANT_RULE])
    store(engine, rec, 5, [INSTANT_RULE, DIGEST_RULE], url="https://news-b.example/copy/5", site_id="news-b")
    with Session(engine) as session:
        alerts = session.exec(select(AlertRow)).all()
        assert sorted(a.rule_id for a in alerts) == sorted([INSTANT_RULE, DIGEST_RULE])
        assert len({a.story_id for a in alerts}) == 1


@pytest.mark.parametrize(
    ("backfill", "first_crawl", "age", "suppressed"),
    [
        ("24h", True, timedelta(hours=2), False),
        ("24h", True, timedelta(days=3), True),
        ("all", True, timedelta(days=300), False),
        ("0", True, timedelta(minutes=1), True),
        ("24h", False, timedelta(days=300), False),
    ],
)
def test_backfill_window_on_a_first_crawl(
    engine: Engine, backfill: str, first_crawl: bool, age: timedelta, suppressed: bool
) -> None:
    store(engine, recorder(first_crawl, backfill), 6, published=NOW - age)
    with Session(engine) as session:
        alert = session.exec(select(AlertRow)).one()
        assert alert.suppressed is suppressed
        assert (alert.reason is not None) is suppressed


def test_first_crawl_is_known_from_finished_runs(engine: Engine) -> None:
    with Session(engine) as session:
        assert is_first_crawl(session, "news-a")
        run = start_run(session, "news-a")
        assert is_first_crawl(session, "news-a")
        finish_run(session, run, "finished", {}, None)
        assert not is_first_crawl(session, "news-a")
        assert session.exec(select(CrawlRunRow)).one().status == "finished"


def test_site_backfill_is_validated() -> None:
    from pydantic import ValidationError

    assert site("7d").backfill_window == timedelta(days=7)
    assert site("all").backfill_window is None
    assert site("0").backfill_window == timedelta(0)
    assert site().backfill == "24h"
    with pytest.raises(ValidationError, match="not a duration"):
        site("yesterday")


def test_page_processor_records_alerts_and_survives_a_failing_alert_step(engine: Engine) -> None:
    from pathlib import Path

    from crawler.article import Match, Page
    from crawler.process import PageProcessor

    html = (Path(__file__).parent / "fixtures" / "extract" / "techwire_ai_jv.html").read_text(encoding="utf-8")

    class Always:
        def match(
            self, title: str, text: str, *, site: str | Sequence[str] | None = None, url: str | None = None
        ) -> list[Match]:
            return [Match(INSTANT_RULE, ["ai"])]

    rec = recorder()
    page = Page("news-a", "https://news-a.example/2026/11/ai-jv", html, NOW)
    broken = recorder()
    broken.setup.index.assign = lambda *_a: 1 / 0  # type: ignore[method-assign,assignment]
    failed = PageProcessor(engine, Always(), broken).process(page)
    assert failed.status == "error" and "alert step failed" in (failed.reason or "")
    outcome = PageProcessor(engine, Always(), rec).process(page)
    assert outcome.status == "new"
    with Session(engine) as session:
        alert = session.exec(select(AlertRow)).one()
        assert alert.article_id == outcome.article_id and alert.rule_id == INSTANT_RULE
