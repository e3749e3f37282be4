"""Database tables (SQLModel): articles, rule matches, seen pages, crawl runs, stories, alerts, the outbox, triage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Index, Integer, LargeBinary, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import false, true
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class ArticleRow(SQLModel, table=True):
    """A stored article: one row per canonical URL."""

    __tablename__ = "article"
    # Articles in date order, and a site's articles in date order, with the id: the review list walks these
    # without reading the rows (its date and site filters, its newest/oldest order).
    __table_args__ = (
        Index("ix_article_created_id", "created_at", "id"),
        Index("ix_article_site_created", "site_id", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(max_length=64)
    url: str = Field(sa_column=Column(Text, nullable=False))
    canonical_url: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str | None = Field(default=None, sa_column=Column(Text))
    published: datetime | None = _ts(index=True)
    language: str | None = Field(default=None, max_length=16)
    fetched_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # The story this article belongs to (crawler.alerts.stories); NULL for articles stored before stories.
    story_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True, index=True))


class MatchRow(SQLModel, table=True):
    """A rule that flagged an article (one row per article and rule), with the terms that matched."""

    __tablename__ = "match"
    # (rule_id, article_id): a rule's articles read from the index alone (the review list's rule filter).
    __table_args__ = (
        UniqueConstraint("article_id", "rule_id"),
        Index("ix_match_rule_article", "rule_id", "article_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    rule_id: str = Field(max_length=64)
    terms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Why it matched: [{"term", "field", "start", "end"}], an HTML snippet with <mark>ed hits, and
    # the money amounts [{"text", "value", "currency", "usd"}].
    hits: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    snippet: str | None = Field(default=None, sa_column=Column(Text))
    amounts: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    flagged_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))


class PageRow(SQLModel, table=True):
    """Every article URL the crawler has handled, so a second crawl does not fetch it again.

    ``status`` is "article" (stored), "skipped" (not an article: ``reason`` says why), "partial" (a stub:
    a teaser, paywall or consent wall with too short a body) or "error" (fetch failed); partial and error
    pages are tried again on later crawls until ``attempts`` reaches the limit.
    """

    __tablename__ = "page"

    canonical_url: str = Field(sa_column=Column(Text, primary_key=True))
    site_id: str = Field(index=True, max_length=64)
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    http_status: int | None = None
    attempts: int = 1
    first_seen: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CrawlRunRow(SQLModel, table=True):
    """One crawl of one site, with its counts."""

    __tablename__ = "crawl_run"
    __table_args__ = (Index("ix_crawl_run_site_started", "site_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(max_length=64)
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = _ts()
    status: str = Field(default="running", max_length=16)
    pages: int = 0
    new_articles: int = 0
    skipped: int = 0
    errors: int = 0
    flagged: int = 0
    message: str | None = Field(default=None, sa_column=Column(Text))
    # Health counts: http_403, http_429, http_5xx, robots_denied, undated, already_seen, duration...
    stats: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))
    # Who ran it: "host:pid" of the crawl process (a "running" row whose process is gone was abandoned).
    worker: str | None = Field(default=None, max_length=255)


class StoryRow(SQLModel, table=True):
    """One news story: the first article seen of it and the MinHash signature its later copies are compared to.

    Articles point at their story through ``article.story_id``.
    """

    __tablename__ = "story"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    # MinHash hash values of the first article's body shingles (little-endian uint64) and how many
    # distinct shingles that body had.
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    shingles: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))


class AlertRow(SQLModel, table=True):
    """A rule that flagged a story (one row per story and rule), created with the article that first matched.

    ``mode`` is the rule's mode when it was created ("instant" or "digest"); ``suppressed`` alerts (a site's
    first crawl, older than its backfill window) are never sent.
    """

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("story_id", "rule_id"),)

    id: int | None = Field(default=None, primary_key=True)
    story_id: int = Field(
        sa_column=Column(Integer, ForeignKey("story.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    rule_id: str = Field(index=True, max_length=64)
    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    mode: str = Field(max_length=16)
    suppressed: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))


class OutboxRow(SQLModel, table=True):
    """One message to one recipient on one channel, fully rendered when planned, with its delivery state.

    ``status``: "pending" (due at ``next_attempt_at``), "sending" (claimed at ``claimed_at``), "sent" or
    "failed" (``last_error`` holds the server's reply). ``kind`` is "instant" or "digest".
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    channel: str = Field(max_length=16)
    recipient: str = Field(sa_column=Column(Text, nullable=False))
    message_id: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = _ts()
    claimed_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))


class OutboxAlertRow(SQLModel, table=True):
    """Which alerts a message carried; unique per alert, channel and recipient, so none is carried twice.

    ``listed`` is false for the alerts a capped digest only counted ("and N more").
    """

    __tablename__ = "outbox_alert"
    __table_args__ = (UniqueConstraint("alert_id", "channel", "recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(
        sa_column=Column(Integer, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    alert_id: int = Field(
        sa_column=Column(Integer, ForeignKey("alert.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    channel: str = Field(max_length=16)
    recipient: str = Field(sa_column=Column(Text, nullable=False))
    listed: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))


class SiteHealthRow(SQLModel, table=True):
    """The health state of one site, as last notified to the operator.

    ``state`` is "ok", "broken" (``ops_fail_after`` failed crawls in a row), "degraded" (one of its feeds,
    sitemaps or listing pages failed in the last ``ops_fail_after`` crawls) or "silent" (nothing new for
    much longer than usual); ``since`` is when it entered that state. Changing state and queueing the
    operator's message happen in one transaction, so each change is notified exactly once.
    """

    __tablename__ = "site_health"

    site_id: str = Field(primary_key=True, max_length=64)
    state: str = Field(default="ok", max_length=16)
    since: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class HeartbeatRow(SQLModel, table=True):
    """A running service instance: written every heartbeat interval, read by `newswatch status --check`."""

    __tablename__ = "service_heartbeat"

    instance: str = Field(primary_key=True, max_length=255)  # "host:pid"
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    beat_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    state: str = Field(default="running", max_length=16)  # "running", "stopping" or "stopped"
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))


TRIAGE_STATES = ("relevant", "irrelevant", "reviewed")


class TriageRow(SQLModel, table=True):
    """A reader's verdict on a flagged article: "relevant", "irrelevant" or "reviewed" (seen, no verdict),
    with an optional note. An article without a row is "new"."""

    __tablename__ = "triage"

    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    state: str = Field(index=True, max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_by: str | None = Field(default=None, max_length=64)  # "web", "cli" or the web user


# Full-text search over flagged articles lives outside the models (see migration 0006): an FTS5 table on
# SQLite, a table of tsvectors with a GIN index on PostgreSQL, both named SEARCH_TABLE and kept by triggers.
# Schema comparisons leave these names alone (and the expression index of migration 0005, SEARCH_INDEX).
SEARCH_TABLE = "article_fts"
SEARCH_INDEX = "ix_article_search"


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic filter: skip the full-text search table, its shadow tables and the search index."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(SEARCH_TABLE)
    return not (type_ == "index" and name == SEARCH_INDEX)
