"""Housekeeping for the long-running service: retention pruning and SQLite WAL checkpoints.

Old article bodies are emptied (title, URL, matches, stories and alerts stay: alerts are kept forever) and
old crawl-run records deleted, each in small batches so a big table never holds one huge transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from crawler.durations import parse_duration
from crawler.models import ArticleRow, CrawlRunRow
from crawler.settings import Settings

logger = logging.getLogger(__name__)

BATCH = 500  # rows per UPDATE / DELETE transaction
_KEEP_FOREVER = frozenset({"", "forever", "never", "0"})


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance pass did."""

    articles_pruned: int  # article bodies emptied
    runs_pruned: int  # crawl-run rows deleted
    checkpointed: bool  # the SQLite WAL was checkpointed


def retention_window(text: str) -> timedelta | None:
    """How long to keep something, from a setting such as "180d"; None (keep forever) for "forever",
    "never", "0", a zero duration or an empty value. Raises ValueError on anything else."""
    cleaned = text.strip().lower()
    if cleaned in _KEEP_FOREVER:
        return None
    try:
        window = parse_duration(cleaned)
    except ValueError:
        raise ValueError(
            f"not a retention period: {text!r} (use a duration such as 180d, 12w or 36h, or 'forever')"
        ) from None
    return window if window > timedelta(0) else None


def _in_batches(engine: Engine, id_column: Any, conditions: Sequence[Any]) -> Iterator[tuple[Connection, list[int]]]:
    """The ids matching ``conditions``, :data:`BATCH` at a time in id order, each with the connection of its
    own transaction (committed when the caller asks for the next batch)."""
    last_id = 0
    while True:
        with engine.begin() as connection:
            ids = [
                row_id
                for row_id in connection.execute(
                    select(id_column).where(id_column > last_id, *conditions).order_by(id_column).limit(BATCH)
                ).scalars()
                if row_id is not None
            ]
            if not ids:
                return
            yield connection, ids
        last_id = ids[-1]


def prune_article_text(engine: Engine, older_than: timedelta, now: datetime) -> int:
    """Empty the body of every article stored before ``now - older_than``; returns how many were emptied.

    Title, URLs, metadata, matches, story links and alerts are left alone.
    """
    cutoff = now - older_than
    stale = (col(ArticleRow.created_at) < cutoff, col(ArticleRow.text) != "")
    changed = 0
    for connection, ids in _in_batches(engine, col(ArticleRow.id), stale):
        result = connection.execute(update(ArticleRow).where(col(ArticleRow.id).in_(ids), *stale).values(text=""))
        changed += max(result.rowcount, 0)
    return changed


def _latest_run_per_site(engine: Engine) -> set[int]:
    """The id of each site's newest run that is not "running" (by start time, then id)."""
    newest = func.row_number().over(
        partition_by=col(CrawlRunRow.site_id),
        order_by=(col(CrawlRunRow.started_at).desc(), col(CrawlRunRow.id).desc()),
    )
    ranked = (
        select(col(CrawlRunRow.id).label("id"), newest.label("rank"))
        .where(col(CrawlRunRow.status) != "running")
        .subquery()
    )
    with engine.connect() as connection:
        return set(connection.execute(select(ranked.c.id).where(ranked.c.rank == 1)).scalars())


def prune_crawl_runs(engine: Engine, older_than: timedelta, now: datetime) -> int:
    """Delete the crawl runs started before ``now - older_than``; returns how many were deleted.

    Never deleted: runs still "running", and each site's newest other run (health and status show it),
    so together the newest run of every site always survives.
    """
    cutoff = now - older_than
    keep = _latest_run_per_site(engine)
    old = (col(CrawlRunRow.started_at) < cutoff, col(CrawlRunRow.status) != "running")
    deleted = 0
    for connection, candidates in _in_batches(engine, col(CrawlRunRow.id), old):
        ids = [run_id for run_id in candidates if run_id not in keep]
        if ids:
            result = connection.execute(delete(CrawlRunRow).where(col(CrawlRunRow.id).in_(ids), *old))
            deleted += max(result.rowcount, 0)
    return deleted


def checkpoint_wal(engine: Engine) -> bool:
    """On SQLite, copy the write-ahead log into the database and truncate it (True); elsewhere nothing (False).

    Readers still inside a transaction can keep part of the log; the next checkpoint catches up.
    """
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as connection:
        row = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        connection.commit()
    if row is not None and row[0]:
        logger.debug("WAL checkpoint was blocked by a reader; %s of %s pages copied", row[2], row[1])
    return True


def run_maintenance(engine: Engine, settings: Settings, now: datetime) -> MaintenanceReport:
    """Prune by NEWSWATCH_KEEP_ARTICLE_TEXT and NEWSWATCH_KEEP_CRAWL_RUNS, then checkpoint the SQLite WAL.

    Raises ValueError, naming the setting, when a retention period cannot be read.
    """
    windows: dict[str, timedelta | None] = {}
    for name in ("keep_article_text", "keep_crawl_runs"):
        try:
            windows[name] = retention_window(getattr(settings, name))
        except ValueError as exc:
            raise ValueError(f"NEWSWATCH_{name.upper()}: {exc}") from None
    article_window, run_window = windows["keep_article_text"], windows["keep_crawl_runs"]
    articles = prune_article_text(engine, article_window, now) if article_window is not None else 0
    runs = prune_crawl_runs(engine, run_window, now) if run_window is not None else 0
    checkpointed = checkpoint_wal(engine)
    report = MaintenanceReport(articles_pruned=articles, runs_pruned=runs, checkpointed=checkpointed)
    logger.info(
        "maintenance: %d article bodies pruned, %d crawl runs pruned%s",
        articles,
        runs,
        ", WAL checkpointed" if checkpointed else "",
        extra={"event": "maintenance", "articles_pruned": articles, "runs_pruned": runs, "checkpointed": checkpointed},
    )
    return report
