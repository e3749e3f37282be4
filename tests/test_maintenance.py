"""Retention on SQLite and PostgreSQL: old bodies emptied, old crawl runs deleted, what must stay stays; WAL."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, update
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from crawler import maintenance
from crawler.maintenance import (
    checkpoint_wal,
    prune_article_text,
    prune_crawl_runs,
    retention_window,
    run_maintenance,
)
from crawler.models import AlertRow, ArticleRow, CrawlRunRow, MatchRow, utcnow
from crawler.settings import Settings
from crawler.store import finish_run, open_database, start_run
from tests.alerts_data import DIGEST_RULE, INSTANT_RULE, recorder, store

DAY = timedelta(days=1)
KEEP = timedelta(days=180)


def _backdate_articles(engine: Engine, ids: list[int], when: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(update(ArticleRow).where(col(ArticleRow.id).in_(ids)).values(created_at=when))


def _articles(engine: Engine) -> dict[int, ArticleRow]:
    with Session(engine) as session:
        return {row.id: row for row in session.exec(select(ArticleRow)).all() if row.id is not None}


def _count(engine: Engine, table: type[MatchRow] | type[AlertRow] | type[CrawlRunRow]) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def _stored(engine: Engine, n: int, rules: tuple[str, ...] = (INSTANT_RULE,)) -> int:
    article_id = store(engine, recorder(), n, rules)
    assert article_id is not None
    return article_id


def test_old_bodies_are_emptied_and_titles_matches_and_alerts_kept(engine: Engine) -> None:
    now = utcnow()
    old_flagged = _stored(engine, 1, (INSTANT_RULE, DIGEST_RULE))
    old_plain = _stored(engine, 2, ())
    recent = _stored(engine, 3)
    _backdate_articles(engine, [old_flagged, old_plain], now - KEEP - DAY)
    before = _articles(engine)
    matches, alerts = _count(engine, MatchRow), _count(engine, AlertRow)
    assert matches == 3 and alerts == 3

    assert prune_article_text(engine, KEEP, now) == 2

    after = _articles(engine)
    assert after[old_flagged].text == "" and after[old_plain].text == ""
    assert after[recent].text == before[recent].text != ""
    for article_id, row in after.items():
        old = before[article_id]
        assert (row.title, row.url, row.canonical_url, row.story_id) == (
            old.title,
            old.url,
            old.canonical_url,
            old.story_id,
        )
        assert row.published == old.published and row.created_at == old.created_at
    assert (_count(engine, MatchRow), _count(engine, AlertRow)) == (matches, alerts)
    # A second pass finds nothing left to do.
    assert prune_article_text(engine, KEEP, now) == 0


def test_article_pruning_works_through_many_batches(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance, "BATCH", 2)
    now = utcnow()
    ids = [_stored(engine, n, ()) for n in range(7)]
    _backdate_articles(engine, ids[:5], now - KEEP - DAY)
    assert prune_article_text(engine, KEEP, now) == 5
    texts = {article_id: row.text for article_id, row in _articles(engine).items()}
    assert [texts[i] == "" for i in ids] == [True] * 5 + [False] * 2


def _run(engine: Engine, site_id: str, started: datetime, status: str = "finished") -> int:
    with Session(engine) as session:
        run_id = start_run(session, site_id, worker="host:1")
        if status != "running":
            finish_run(session, run_id, status, {"pages": 1}, None)
        session.execute(update(CrawlRunRow).where(col(CrawlRunRow.id) == run_id).values(started_at=started))
        session.commit()
    return run_id


def _run_ids(engine: Engine) -> set[int]:
    with Session(engine) as session:
        return {run_id for run_id in session.exec(select(CrawlRunRow.id)).all() if run_id is not None}


def test_old_runs_are_deleted_but_running_and_each_sites_latest_kept(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "BATCH", 2)
    now = utcnow()
    keep = timedelta(days=90)
    old = now - keep - DAY
    # Site a: old runs and a recent one -> every old run goes.
    a_old = [_run(engine, "a", old - n * DAY, status) for n, status in enumerate(("finished", "failed", "timeout"))]
    a_recent = _run(engine, "a", now - DAY)
    # Site b: only old runs -> the newest of them stays.
    b_newest = _run(engine, "b", old)
    b_older = _run(engine, "b", old - 10 * DAY)
    # Site c: an old run still "running" stays; of the finished ones the newest stays.
    c_running = _run(engine, "c", old - 30 * DAY, "running")
    c_newest = _run(engine, "c", old - DAY, "failed")
    c_older = _run(engine, "c", old - 2 * DAY)

    assert prune_crawl_runs(engine, keep, now) == 5

    assert _run_ids(engine) == {a_recent, b_newest, c_running, c_newest}
    assert not {*a_old, b_older, c_older} & _run_ids(engine)
    assert prune_crawl_runs(engine, keep, now) == 0


def test_retention_window_reads_durations_and_forever() -> None:
    assert retention_window("180d") == timedelta(days=180)
    assert retention_window(" 12W ") == timedelta(weeks=12)
    assert retention_window("36h") == timedelta(hours=36)
    for forever in ("forever", "Never", "0", "", "  ", "0d"):
        assert retention_window(forever) is None, forever
    for garbage in ("six months", "180", "-5d", "d180"):
        with pytest.raises(ValueError, match="not a retention period") as info:
            retention_window(garbage)
        assert repr(garbage) in str(info.value)


def _old_data(engine: Engine, now: datetime) -> tuple[int, int, int]:
    """An article and a crawl run older than any retention, and the newer run that keeps the site current."""
    article_id = _stored(engine, 1)
    _backdate_articles(engine, [article_id], now - 400 * DAY)
    old_run = _run(engine, "news-a", now - 400 * DAY)
    new_run = _run(engine, "news-a", now - DAY)
    return article_id, old_run, new_run


def test_forever_prunes_nothing(engine: Engine) -> None:
    now = utcnow()
    article_id, old_run, new_run = _old_data(engine, now)
    settings = Settings(keep_article_text="forever", keep_crawl_runs="never")

    report = run_maintenance(engine, settings, now)

    assert (report.articles_pruned, report.runs_pruned) == (0, 0)
    assert _articles(engine)[article_id].text != ""
    assert _run_ids(engine) == {old_run, new_run}


def test_run_maintenance_prunes_by_the_settings_and_logs_the_counts(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    now = utcnow()
    article_id, _old_run, new_run = _old_data(engine, now)
    settings = Settings(keep_article_text="180d", keep_crawl_runs="90d")

    with caplog.at_level(logging.INFO, logger="crawler.maintenance"):
        report = run_maintenance(engine, settings, now)

    sqlite = engine.dialect.name == "sqlite"
    assert (report.articles_pruned, report.runs_pruned, report.checkpointed) == (1, 1, sqlite)
    assert _articles(engine)[article_id].text == ""
    assert _run_ids(engine) == {new_run}
    [record] = [r for r in caplog.records if r.name == "crawler.maintenance" and r.levelno == logging.INFO]
    assert "1 article bodies pruned, 1 crawl runs pruned" in record.getMessage()
    assert (record.articles_pruned, record.runs_pruned) == (1, 1)  # type: ignore[attr-defined]

    again = run_maintenance(engine, settings, now)
    assert (again.articles_pruned, again.runs_pruned) == (0, 0)


def test_bad_retention_setting_names_the_setting(engine: Engine) -> None:
    with pytest.raises(ValueError, match="NEWSWATCH_KEEP_CRAWL_RUNS: not a retention period: 'ninety days'"):
        run_maintenance(engine, Settings(keep_crawl_runs="ninety days"), utcnow())


def test_checkpoint_truncates_the_sqlite_wal(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    try:
        for n in range(20):
            _stored(engine, n)
        database = make_url(sqlite_url).database
        assert database is not None
        wal = Path(database + "-wal")
        assert wal.stat().st_size > 0

        assert checkpoint_wal(engine) is True

        assert wal.stat().st_size == 0
        assert len(_articles(engine)) == 20  # nothing lost
    finally:
        engine.dispose()


def test_checkpoint_does_nothing_on_postgresql(pg_url: str) -> None:
    engine = open_database(pg_url)
    try:
        assert checkpoint_wal(engine) is False
    finally:
        engine.dispose()
