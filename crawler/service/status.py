"""The service's health as an operator sees it: heartbeat, each site's health, the outbox's backlog.

Read by `newswatch status` and the web part's /readyz; written (heartbeats) by the running service. Two ways
of running are told apart by the heartbeat's details: a long-running `newswatch run` (service mode: healthy
while it beats) and `newswatch run --once` from cron (cron mode: healthy while the last --once run is more
recent than twice the shortest enabled site interval, or while one is running and beating).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from crawler.config import SiteConfig
from crawler.health import HealthPolicy, SiteHealth, assess, site_health
from crawler.models import HeartbeatRow, OutboxRow, utcnow

STALE_BEATS = 3  # a heartbeat older than this many intervals means the service is not running
ONCE = "once"  # the heartbeat details' "mode" of a `newswatch run --once`
SERVICE, CRON, NOT_STARTED = "service", "cron", "not started"
NOT_STARTED_YET = "not started yet: run `newswatch run` for the service, or `newswatch run --once` from cron"


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
    mode: str | None = None  # "service", "cron" or "not started" (None: the database could not be read)
    summary: str | None = None  # what the heartbeat says, in one line
    once_window: timedelta | None = None  # cron mode: how recent the last --once run must be

    @property
    def healthy(self) -> bool:
        """The database answers and a running service beat recently, or (cron mode) the last `run --once` is
        recent enough."""
        return self.database_ok and self.heartbeat_fresh


def span(length: timedelta | float) -> str:
    """A duration in short words: "45s", "4m", "3h", "2d"."""
    seconds = int(length.total_seconds() if isinstance(length, timedelta) else length)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def ago(moment: datetime | None, now: datetime) -> str:
    """How long ago ``moment`` was ("4m ago"; "-" for never)."""
    return "-" if moment is None else f"{span(max(timedelta(0), now - moment))} ago"


def once_window(sites: Sequence[SiteConfig]) -> timedelta | None:
    """How recent the last `newswatch run --once` must be: twice the shortest enabled site interval (None
    without an enabled site)."""
    intervals = [site.interval for site in sites if site.enabled]
    return 2 * min(intervals) if intervals else None


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
    schedule: Sequence[SiteConfig] | None = None,
) -> ServiceStatus:
    """The service's status now (``with_sites=False``: heartbeat and database only, for probes). ``schedule``:
    the configured sites whose intervals say how often cron runs `run --once` (default: ``sites``)."""
    now = now or utcnow()
    problem = check_database(engine)
    status = ServiceStatus(checked_at=now, database_ok=problem is None)
    if problem:
        status.problems.append(problem)
        return status
    status.once_window = once_window(sites if schedule is None else schedule)
    try:
        if not inspect(engine).has_table(HeartbeatRow.__tablename__):  # a fresh install: nothing ran yet
            _judge(status, heartbeat_interval, now)
            status.sites = [assess(site, [], policy, now) for site in sites] if with_sites else []
            return status
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
    _judge(status, heartbeat_interval, now)
    return status


def _judge(status: ServiceStatus, heartbeat_interval: float, now: datetime) -> None:
    """Set the mode, the summary, whether the heartbeat is as fresh as the mode wants, and the problem if not."""
    beat_ = status.heartbeat
    limit = STALE_BEATS * heartbeat_interval
    fresh = beat_ is not None and beat_.age <= limit
    if beat_ is None:
        status.mode, status.summary = NOT_STARTED, NOT_STARTED_YET
        status.problems.append(NOT_STARTED_YET)
        return
    beat_at = beat_.beat_at
    if beat_.details.get("mode") != ONCE:
        status.mode = SERVICE
        if beat_.state != "running":
            problem = (f"the service is {beat_.state} (instance {beat_.instance}, {ago(beat_at, now)}): start it "
                       "with `newswatch run`, or run `newswatch run --once` from cron")
        elif not fresh:
            problem = f"no heartbeat for {beat_.age:.0f}s (expected every {heartbeat_interval:.0f}s)"
        else:
            status.heartbeat_fresh = True
            status.summary = f"service mode: running, last heartbeat {ago(beat_at, now)}"
            return
    else:
        status.mode = CRON
        window = status.once_window
        if beat_.state == "running":
            started = ago(beat_.started_at, now)
            if fresh:
                status.heartbeat_fresh = True
                status.summary = f"cron mode: a run --once is in progress (started {started})"
                return
            problem = (f"cron mode: the run --once started {started} has not beaten for {beat_.age:.0f}s "
                       f"(expected every {heartbeat_interval:.0f}s): was it killed?")
        elif window is None:
            status.heartbeat_fresh = True
            status.summary = f"cron mode: last run --once {ago(beat_at, now)}; no site is enabled"
            return
        elif beat_.age <= window.total_seconds():
            status.heartbeat_fresh = True
            status.summary = f"cron mode: last run --once {ago(beat_at, now)}; next expected within {span(window)}"
            return
        else:
            problem = (f"cron mode: the last run --once was {ago(beat_at, now)}, longer than {span(window)} "
                       "(twice the shortest site interval): is cron still running `newswatch run --once`?")
    status.summary = problem
    status.problems.append(problem)
