"""The service's health as an operator sees it: heartbeat, each site's health, the outbox's backlog.

Read by `newswatch status` and the web part's /readyz; written (heartbeats) by the running service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from crawler.config import SiteConfig
from crawler.health import HealthPolicy, SiteHealth, site_health
from crawler.models import HeartbeatRow, OutboxRow, utcnow

STALE_BEATS = 3  # a heartbeat older than this many intervals means the service is not running


@dataclass
class Heartbeat:
    """The newest heartbeat of a service instance."""

    instance: str
    started_at: datetime
    beat_at: datetime
    state: str
    age: float  # seconds since the beat
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class ServiceStatus:
    """Everything `newswatch status` shows; ``healthy`` is what `--check` exits on."""

    checked_at: datetime
    database_ok: bool
    heartbeat: Heartbeat | None = None
    heartbeat_fresh: bool = False
    sites: list[SiteHealth] = field(default_factory=list)
    outbox: dict[str, int] = field(default_factory=dict)  # pending, sending, failed, sent_24h
    failed_messages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """The database answers and a running service beat recently."""
        return self.database_ok and self.heartbeat_fresh


def beat(
    engine: Engine, instance: str, started_at: datetime, state: str, details: dict[str, Any], now: datetime
) -> None:
    """Write this instance's heartbeat; forget instances silent for a week."""
    with Session(engine) as session:
        row = session.get(HeartbeatRow, instance)
        if row is None:
            row = HeartbeatRow(instance=instance, started_at=started_at)
        row.beat_at, row.state, row.details = now, state, dict(details)
        session.add(row)
        session.execute(delete(HeartbeatRow).where(col(HeartbeatRow.beat_at) < now - timedelta(days=7)))
        session.commit()


def latest_heartbeat(session: Session, now: datetime) -> Heartbeat | None:
    """The newest heartbeat of any instance."""
    row = session.exec(select(HeartbeatRow).order_by(col(HeartbeatRow.beat_at).desc()).limit(1)).first()
    if row is None:
        return None
    age = max(0.0, (now - row.beat_at).total_seconds())
    return Heartbeat(row.instance, row.started_at, row.beat_at, row.state, age, dict(row.details or {}))


def _outbox(session: Session, now: datetime) -> tuple[dict[str, int], list[str]]:
    counts = {"pending": 0, "sending": 0, "failed": 0, "sent_24h": 0}
    query = select(OutboxRow.status, func.count()).group_by(col(OutboxRow.status))
    for status, count in session.exec(query).all():
        if status in counts:
            counts[status] = int(count)
    sent = select(func.count()).where(col(OutboxRow.status) == "sent", col(OutboxRow.sent_at) >= now - timedelta(1))
    counts["sent_24h"] = int(session.exec(sent).one())
    failed = session.exec(
        select(OutboxRow).where(col(OutboxRow.status) == "failed").order_by(col(OutboxRow.id).desc()).limit(5)
    ).all()
    return counts, [f"{row.kind} to {row.recipient}: {row.last_error or 'failed'}" for row in failed]


def check_database(engine: Engine) -> str | None:
    """None when the database answers, else the error."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return f"database unreachable: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


def service_status(
    engine: Engine,
    sites: Sequence[SiteConfig],
    policy: HealthPolicy,
    heartbeat_interval: float,
    now: datetime | None = None,
    *,
    with_sites: bool = True,
) -> ServiceStatus:
    """The service's status now (``with_sites=False``: heartbeat and database only, for probes)."""
    now = now or utcnow()
    problem = check_database(engine)
    status = ServiceStatus(checked_at=now, database_ok=problem is None)
    if problem:
        status.problems.append(problem)
        return status
    try:
        with Session(engine) as session:
            status.heartbeat = latest_heartbeat(session, now)
            if with_sites:
                status.outbox, status.failed_messages = _outbox(session, now)
        if with_sites:
            status.sites = site_health(engine, sites, policy, now)
    except SQLAlchemyError as exc:  # e.g. the schema is not there yet
        status.database_ok = False
        status.problems.append(f"cannot read the database: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return status
    beat_ = status.heartbeat
    limit = STALE_BEATS * heartbeat_interval
    if beat_ is None:
        status.problems.append("the service has never run against this database (start it: newswatch run)")
    elif beat_.state != "running":
        status.problems.append(f"the service is {beat_.state} (instance {beat_.instance})")
    elif beat_.age > limit:
        status.problems.append(f"no heartbeat for {beat_.age:.0f}s (expected every {heartbeat_interval:.0f}s)")
    else:
        status.heartbeat_fresh = True
    return status
