"""Storage on SQLite and PostgreSQL: unique articles, matches, page records, crawl runs, review queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.article import Article, Match
from crawler.models import ArticleRow, CrawlRunRow, MatchRow
from crawler.store import (
    MAX_FETCH_ATTEMPTS,
    count_articles,
    create_db_engine,
    finish_run,
    flagged_articles,
    known_urls,
    normalize_database_url,
    open_database,
    record_page,
    save_article,
    start_run,
    upgrade_schema,
)


def _article(n: int, **kw: object) -> Article:
    values: dict[str, object] = {
        "url": f"https://news.example/a/{n}?utm_source=feed",
        "canonical_url": f"https://news.example/a/{n}",
        "title": f"Story {n}",
        "text": f"Body of story {n}.",
        "author": "A. Writer",
        "published": datetime(2026, 11, 20, 9, 30, tzinfo=timezone(timedelta(hours=9))),
        "language": "en",
    }
    values.update(kw)
    return Article(**values)  # type: ignore[arg-type]


def test_schema_has_every_table(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    assert {"article", "match", "page", "crawl_run", "alembic_version"} <= names


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    upgrade_schema(engine)
    upgrade_schema(engine)


def test_concurrent_inserts_of_one_article_store_it_once(engine: Engine) -> None:
    """Eight writers store the same article at once (threads, each with its own session): one row, one
    winner, no exception (ON CONFLICT on both databases; SQLite waits on its busy timeout)."""
    import threading

    results: list[int | None] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer() -> None:
        try:
            start.wait()
            with Session(engine) as session:
                results.append(save_article(session, "site", _article(7), [Match("r1", ["softbank"])]))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 8 and sum(r is not None for r in results) == 1
    with Session(engine) as session:
        assert count_articles(session) == 1
        assert len(session.exec(select(MatchRow)).all()) == 1


def test_article_is_stored_once_with_its_matches(engine: Engine) -> None:
    with Session(engine) as session:
        first = save_article(session, "site", _article(1), [Match("r1", ["softbank"]), Match("r2", ["ai"])])
        again = save_article(session, "site", _article(1, title="Retitled"), [Match("r3", ["x"])])
        assert first is not None
        assert again is None
        rows = session.exec(select(ArticleRow)).all()
        assert [r.title for r in rows] == ["Story 1"]
        matches = session.exec(select(MatchRow).order_by(MatchRow.rule_id)).all()
        assert [(m.rule_id, m.terms) for m in matches] == [("r1", ["softbank"]), ("r2", ["ai"])]
        assert count_articles(session) == 1


def test_dates_come_back_aware_in_utc(engine: Engine) -> None:
    with Session(engine) as session:
        save_article(session, "site", _article(2), [])
        row = session.exec(select(ArticleRow)).one()
        assert row.published == datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
        assert row.published is not None and row.published.tzinfo is not None


def test_known_urls_covers_articles_skips_and_exhausted_errors(engine: Engine) -> None:
    with Session(engine) as session:
        save_article(session, "site", _article(3), [], also_seen=["https://news.example/old-path/3"])
        record_page(session, "site", "https://news.example/about", "skipped", "no article body")
        record_page(session, "site", "https://news.example/flaky", "error", "HTTP 503", 503)
        session.commit()
        wanted = [
            "https://news.example/a/3",
            "https://news.example/old-path/3",
            "https://news.example/about",
            "https://news.example/flaky",
            "https://news.example/new",
        ]
        assert known_urls(session, wanted) == set(wanted[:3])
        for _ in range(MAX_FETCH_ATTEMPTS - 1):
            record_page(session, "site", "https://news.example/flaky", "error", "HTTP 503", 503)
        session.commit()
        assert "https://news.example/flaky" in known_urls(session, wanted)


def test_crawl_runs_are_recorded(engine: Engine) -> None:
    with Session(engine) as session:
        run_id = start_run(session, "site")
        finish_run(session, run_id, "finished", {"pages": 5, "new_articles": 3, "skipped": 2}, None)
        run = session.get(CrawlRunRow, run_id)
        assert run is not None
        assert (run.status, run.pages, run.new_articles, run.skipped) == ("finished", 5, 3, 2)
        assert run.finished_at is not None and run.finished_at >= run.started_at


def test_flagged_articles_filters(engine: Engine) -> None:
    with Session(engine) as session:
        save_article(session, "alpha", _article(10), [Match("softbank-investment", ["softbank"])])
        save_article(session, "beta", _article(11), [Match("ai-iot-investment", ["ai"])])
        save_article(session, "beta", _article(12), [])
        assert {r.title for r in flagged_articles(session)} == {"Story 10", "Story 11"}
        assert [r.title for r in flagged_articles(session, rule_id="ai-iot-investment")] == ["Story 11"]
        assert [r.title for r in flagged_articles(session, site_id="alpha")] == ["Story 10"]
        future = datetime.now(UTC) + timedelta(hours=1)
        assert flagged_articles(session, since=future) == []


def test_postgres_urls_use_psycopg3() -> None:
    assert normalize_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url: str) -> None:
    engine = create_db_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 5000


def test_sqlite_read_then_write_after_another_writer_waits_instead_of_failing(sqlite_url: str) -> None:
    """A session that reads, then writes after another process committed meanwhile: in a transaction begun by
    the read, SQLite would refuse the write at once ("database is locked", no busy wait: its snapshot is
    stale). The write transaction begins at the first write, so it waits its turn and goes through."""
    engine = open_database(sqlite_url)
    other = create_db_engine(sqlite_url)
    with Session(engine) as session:
        assert count_articles(session) == 0
        with Session(other) as meanwhile:
            save_article(meanwhile, "site", _article(11), [])
        assert save_article(session, "site", _article(12), []) is not None
        assert count_articles(session) == 2
    other.dispose()
    engine.dispose()


def test_match_explanations_round_trip(engine: Engine) -> None:
    from crawler.article import Amount, Hit

    match = Match(
        "softbank-investment",
        ["softbank", "MONEY"],
        hits=[Hit("softbank", "title", 0, 8)],
        snippet="<mark>SoftBank</mark> to invest &lt;big&gt;",
        amounts=[Amount("$4.5B", 4.5e9, "USD", 4.5e9, "body", 10, 15)],
    )
    with Session(engine) as session:
        save_article(session, "site", _article(20), [match])
        (row,) = flagged_articles(session)
    assert row.snippet == "<mark>SoftBank</mark> to invest &lt;big&gt;"
    assert row.hits == [{"term": "softbank", "field": "title", "start": 0, "end": 8}]
    assert row.amounts == [{"text": "$4.5B", "value": 4.5e9, "currency": "USD", "usd": 4.5e9, "field": "body"}]


def test_every_migration_downgrades_and_upgrades_again(engine: Engine) -> None:
    """downgrade base, then upgrade head: the schema is the models' again, search triggers included."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from crawler.review.stories import StoryFilter, list_stories
    from crawler.store import MIGRATIONS, upgrade_schema

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade_schema(engine)
    test_migrations_match_the_models(engine)
    with Session(engine) as session:  # the search index works again (triggers on match)
        article = Article(url="https://a.example/1", canonical_url="https://a.example/1", title="Zeppelin news",
                          text="A zeppelin factory opened.")
        save_article(session, "a", article, [Match("r", ["zeppelin"])])
        assert list_stories(session, StoryFilter(q="zeppelin")).total == 1


def test_migrations_match_the_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from crawler.models import include_name

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []
