"""Database access: engine set-up, schema upgrades, and the reads and writes the pipeline and CLI need."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import case, event, func, or_, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlmodel import Session, col, create_engine, select

from crawler.article import Article, Match
from crawler.models import ArticleRow, CrawlRunRow, MatchRow, PageRow, utcnow

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MAX_FETCH_ATTEMPTS = 3  # a page whose fetch failed (or gave only a stub) this often is not tried again
RETRIED_STATUSES = ("error", "partial")  # page outcomes tried again on later crawls, up to MAX_FETCH_ATTEMPTS
_SQLITE_BUSY_MS = 10_000
RECONNECT_PAUSES = (0.25, 0.5, 1.0, 2.0)  # seconds before each new try of a unit of work whose connection broke

T = TypeVar("T")


class StoreError(Exception):
    """The database cannot be opened, upgraded or written."""


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` / ``postgres://`` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


# Transactions on SQLite: the driver (pysqlite) begins one only before the first INSERT / UPDATE / DELETE,
# so a write transaction takes the write lock with its first statement and waits its turn (busy_timeout).
# A transaction begun by a read (BEGIN issued by SQLAlchemy) would instead fail at once with "database is
# locked" when another process wrote in between (a stale snapshot cannot be upgraded): whoever changes how
# transactions begin must make write transactions BEGIN IMMEDIATE (tests/test_store.py checks the race).
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite gets WAL, a busy timeout and its folder created; PostgreSQL a pre-ping pool."""
    url = normalize_database_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError and ValueError subclasses here
        raise StoreError(f"bad database URL {url!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            try:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder for {database}: {exc}") from None
        engine = create_engine(url, connect_args={"timeout": _SQLITE_BUSY_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError) as exc:
        raise StoreError(f"cannot use database URL {parsed.render_as_string()}: {exc}") from None


MIGRATION_LOCK = 0x4E57_4D47  # PostgreSQL advisory lock key held while the schema is upgraded


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration (alembic ``upgrade head``)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":  # processes starting together migrate one at a time
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot upgrade the database schema ({engine.url.render_as_string()}): {exc}") from None


def open_database(url: str) -> Engine:
    """An engine whose schema is up to date."""
    engine = create_db_engine(url)
    upgrade_schema(engine)
    return engine


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` means the database connection broke (dropped mid-transaction, or could not be made):
    the unit of work did not happen, or happened and can be done again harmlessly."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError) and exc.statement is None  # raised while connecting


def retry_lost_connection(engine: Engine, work: Callable[[], T], what: str) -> T:
    """Run ``work`` (one unit of work: its own session and transaction) and, when the connection to the
    database server broke under it, run it again after a short pause, a bounded number of times.

    A pooled connection that died while idle is replaced by the pool's pre-ping; this covers one that dies
    mid-transaction (a server restart, ``pg_terminate_backend``). SQLite has no connection to lose: its
    errors go straight to the caller, as do all other errors and the last lost connection.
    """
    if engine.dialect.name == "sqlite":
        return work()
    for attempt, pause in enumerate(RECONNECT_PAUSES, start=1):
        try:
            return work()
        except SQLAlchemyError as exc:
            if not connection_lost(exc):
                raise
            logger.warning(
                "database connection lost while %s (%s); trying again in %.2fs (%d of %d)",
                what, error_text(exc), pause, attempt, len(RECONNECT_PAUSES),
            )
        time.sleep(pause)
    return work()


def error_text(exc: BaseException) -> str:
    """A database error in one line, without its SQL: "OperationalError: attempt to write a readonly database"."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else 'no message'}"


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise StoreError(f"unsupported database dialect {dialect!r} (use SQLite or PostgreSQL)")


# --------------------------------------------------------------------------- pages


def known_urls(session: Session, canonical_urls: Iterable[str]) -> set[str]:
    """Which of ``canonical_urls`` need no fetch: stored, skipped, or failed (or stubs) too often."""
    wanted = list(dict.fromkeys(canonical_urls))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.exec(
            select(PageRow.canonical_url).where(
                col(PageRow.canonical_url).in_(chunk),
                or_(
                    col(PageRow.status).not_in(RETRIED_STATUSES), col(PageRow.attempts) >= MAX_FETCH_ATTEMPTS
                ),
            )
        ).all()
        found.update(rows)
    return found


def record_page(
    session: Session,
    site_id: str,
    canonical_url: str,
    status: str,
    reason: str | None = None,
    http_status: int | None = None,
) -> None:
    """Insert or update the page's outcome (does not commit). A page stored as an article stays one: a later
    stub, skip or error for its URL (a redirect to it, a consent wall) only counts the attempt."""
    now = utcnow()
    stmt = _insert(session, PageRow).values(
        canonical_url=canonical_url,
        site_id=site_id,
        status=status,
        reason=reason,
        http_status=http_status,
        attempts=1,
        first_seen=now,
        last_seen=now,
    )
    table = PageRow.__table__.c  # type: ignore[attr-defined]
    stored = table.status == "article"

    def unless_stored(column: str) -> Any:
        return case((stored, table[column]), else_=stmt.excluded[column])

    stmt = stmt.on_conflict_do_update(
        index_elements=["canonical_url"],
        set_={
            "status": unless_stored("status"),
            "reason": unless_stored("reason"),
            "http_status": unless_stored("http_status"),
            "attempts": table.attempts + 1,
            "last_seen": stmt.excluded.last_seen,
        },
    )
    session.execute(stmt)


# --------------------------------------------------------------------------- articles


def match_values(match: Match) -> dict[str, Any]:
    """The columns of a match row: rule, terms and the explanation (hits, snippet, amounts) as JSON."""
    return {
        "rule_id": match.rule_id,
        "terms": list(match.terms),
        "hits": [asdict(hit) for hit in match.hits],
        "snippet": match.snippet,
        "amounts": [{k: v for k, v in asdict(a).items() if k not in ("start", "end")} for a in match.amounts],
    }


# Called inside save_article's transaction for a new article: (session, article id, site id, article,
# matches); used by crawler.alerts to assign the story and create the alert rows atomically.
NewArticleHook = Callable[[Session, int, str, Article, Sequence[Match]], None]


def save_article(
    session: Session,
    site_id: str,
    article: Article,
    matches: Sequence[Match],
    fetched_at: datetime | None = None,
    also_seen: Iterable[str] = (),
    on_new: NewArticleHook | None = None,
) -> int | None:
    """Store the article, its page records and its matches in one transaction.

    ``also_seen`` are further canonical URLs that led to this article (redirects, the listed URL).
    ``on_new`` runs in the same transaction when the article is new (stories and alerts).
    Returns the new article id, or None when an article with the same canonical URL already exists
    (then only the page records are updated).
    """
    try:
        article_id = add_article(session, site_id, article, matches, fetched_at, also_seen, on_new)
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        raise
    return article_id


def add_article(
    session: Session,
    site_id: str,
    article: Article,
    matches: Sequence[Match],
    fetched_at: datetime | None = None,
    also_seen: Iterable[str] = (),
    on_new: NewArticleHook | None = None,
) -> int | None:
    """:func:`save_article` without the commit: the rows join the session's transaction (several
    articles stored in one)."""
    now = utcnow()
    values = {
        "site_id": site_id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "text": article.text,
        "author": article.author,
        "published": article.published,
        "language": article.language,
        "fetched_at": fetched_at or now,
        "created_at": now,
    }
    stmt = (
        _insert(session, ArticleRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["canonical_url"])
        .returning(ArticleRow.__table__.c.id)  # type: ignore[attr-defined]
    )
    article_id = session.execute(stmt).scalar_one_or_none()
    for seen in {article.canonical_url, *also_seen}:
        record_page(session, site_id, seen, "article")
    if article_id is not None:
        for match in matches:
            session.execute(
                _insert(session, MatchRow)
                .values(article_id=article_id, flagged_at=now, **match_values(match))
                .on_conflict_do_nothing(index_elements=["article_id", "rule_id"])
            )
        if on_new is not None:
            on_new(session, int(article_id), site_id, article, matches)
    return int(article_id) if article_id is not None else None


# --------------------------------------------------------------------------- crawl runs


def start_run(session: Session, site_id: str, worker: str | None = None) -> int:
    """Record that a crawl of ``site_id`` started (by ``worker``, "host:pid"); returns the run id."""
    run = CrawlRunRow(site_id=site_id, started_at=utcnow(), worker=worker)
    session.add(run)
    session.commit()
    assert run.id is not None
    return run.id


RUN_COUNTS = ("pages", "new_articles", "skipped", "errors", "flagged")


def finish_run(
    session: Session,
    run_id: int,
    status: str,
    counts: dict[str, int],
    message: str | None,
    stats: dict[str, Any] | None = None,
    *,
    only_if_running: bool = False,
) -> bool:
    """Record the end of a crawl run with its counts (pages, new_articles, skipped, errors, flagged) and
    health ``stats``. With ``only_if_running``, a run already finished is left alone. Whether it was written."""
    run = session.get(CrawlRunRow, run_id)
    if run is None:
        raise StoreError(f"crawl run {run_id} not found")
    if only_if_running and run.status != "running":
        return False
    run.finished_at = utcnow()
    run.status = status
    run.message = message
    for key in RUN_COUNTS:
        setattr(run, key, int(counts.get(key, 0)))
    if stats is not None:
        run.stats = dict(stats)
    session.add(run)
    session.commit()
    return True


# --------------------------------------------------------------------------- review


@dataclass(frozen=True)
class FlaggedArticle:
    """One (article, rule) pair for review."""

    article_id: int
    url: str
    title: str
    site: str
    rule: str
    terms: list[str]
    published: datetime | None
    flagged_at: datetime
    text: str
    snippet: str | None = None
    amounts: list[dict[str, Any]] = field(default_factory=list)
    hits: list[dict[str, Any]] = field(default_factory=list)


def flagged_articles(
    session: Session,
    rule_id: str | None = None,
    site_id: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[FlaggedArticle]:
    """Flagged articles, newest flag first, filtered by rule, site and flag time."""
    query = select(ArticleRow, MatchRow).join(MatchRow, col(MatchRow.article_id) == col(ArticleRow.id))
    if rule_id:
        query = query.where(MatchRow.rule_id == rule_id)
    if site_id:
        query = query.where(ArticleRow.site_id == site_id)
    if since:
        query = query.where(col(MatchRow.flagged_at) >= since)
    query = query.order_by(col(MatchRow.flagged_at).desc(), col(MatchRow.id).desc())
    if limit:
        query = query.limit(limit)
    result = []
    for article, match in session.exec(query).all():
        assert article.id is not None
        result.append(
            FlaggedArticle(
                article_id=article.id,
                url=article.url,
                title=article.title,
                site=article.site_id,
                rule=match.rule_id,
                terms=list(match.terms),
                published=article.published,
                flagged_at=match.flagged_at,
                text=article.text,
                snippet=match.snippet,
                amounts=list(match.amounts or []),
                hits=list(match.hits or []),
            )
        )
    return result


def count_articles(session: Session, site_id: str | None = None) -> int:
    """How many articles are stored (for one site, or all)."""
    query = select(func.count()).select_from(ArticleRow)
    if site_id:
        query = query.where(ArticleRow.site_id == site_id)
    return int(session.exec(query).one())


def match_counts(session: Session, since: datetime) -> dict[str, int]:
    """How many articles each rule flagged since ``since``."""
    rows = session.exec(
        select(MatchRow.rule_id, func.count()).where(col(MatchRow.flagged_at) >= since).group_by(MatchRow.rule_id)
    ).all()
    return {rule_id: int(count) for rule_id, count in rows}


def iter_articles(session: Session, since: datetime | None = None, batch: int = 500) -> Iterable[ArticleRow]:
    """Stored articles, oldest first, fetched in batches (for backtests over many articles)."""
    last_id = 0
    while True:
        query = select(ArticleRow).where(col(ArticleRow.id) > last_id)
        if since is not None:
            query = query.where(col(ArticleRow.created_at) >= since)
        rows = session.exec(query.order_by(col(ArticleRow.id)).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id or last_id


def pages_without_article(
    session: Session, site_id: str, since: datetime, limit: int = 20
) -> tuple[list[PageRow], int]:
    """The site's pages handled since ``since`` that gave no article ("skipped" and "partial": what a crawl
    run counts as skipped; failed fetches are its errors), newest first, at most ``limit`` of them, and how
    many there are in all."""
    where = (
        col(PageRow.site_id) == site_id,
        col(PageRow.last_seen) >= since,
        col(PageRow.status).in_(("skipped", "partial")),
    )
    rows = session.exec(select(PageRow).where(*where).order_by(col(PageRow.last_seen).desc()).limit(limit)).all()
    total = int(session.exec(select(func.count()).select_from(PageRow).where(*where)).one())
    return list(rows), total


def run_started_at(session: Session, run_id: int | None) -> datetime | None:
    """When the recorded crawl run ``run_id`` started."""
    row = session.get(CrawlRunRow, run_id) if run_id is not None else None
    return row.started_at if row is not None else None
