"""Digests: the schedule (crontab line in a time zone), assembling each recipient's digest, previews.

A recipient's digest carries every digest-mode alert for them that no earlier digest carried (so
"everything new since the last digest", exactly once), grouped by rule and capped at
``digest_max_stories`` stories with "and N more". With nothing new, no digest is made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crawler.alerts.compose import Composed
from crawler.alerts.crashpoints import checkpoint
from crawler.alerts.mailconfig import MailConfig
from crawler.alerts.outbox import DIGEST, assemble_digest, plan_digest, uncarried_alerts
from crawler.alerts.sender import SendReport, send_due
from crawler.alerts.transport import Transport
from crawler.crontab import crontab_trigger
from crawler.models import OutboxRow, utcnow


class ScheduleError(ValueError):
    """The digest schedule (NEWSWATCH_DIGEST_CRON / NEWSWATCH_DIGEST_TZ) is invalid."""


@dataclass(frozen=True)
class DigestSchedule:
    """When digests go out: a crontab line (minute hour day month weekday) in a time zone."""

    cron: str = "0 8 * * *"
    timezone: str = "UTC"

    def trigger(self) -> CronTrigger:
        """The APScheduler trigger; ScheduleError when the line or zone is invalid."""
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"unknown time zone {self.timezone!r} (e.g. UTC, Asia/Tokyo)") from None
        try:
            return crontab_trigger(self.cron, timezone=zone)
        except ValueError as exc:
            raise ScheduleError(f"bad digest schedule {self.cron!r}: {exc} (e.g. '0 8 * * *')") from None

    def next_after(self, moment: datetime) -> datetime:
        """The first scheduled time strictly after ``moment``."""
        trigger = self.trigger()
        fire = trigger.get_next_fire_time(None, moment)
        while fire is not None and fire <= moment:
            fire = trigger.get_next_fire_time(fire, fire)
        assert fire is not None
        return fire

    def due(self, since: datetime, now: datetime) -> bool:
        """Whether a scheduled time has passed since ``since`` (the last digest, or the oldest waiting alert)."""
        return self.next_after(since) <= now


def last_digest_at(session: Session, recipient: str) -> datetime | None:
    """When the recipient's last digest was made."""
    query = select(func.max(OutboxRow.created_at)).where(
        col(OutboxRow.kind) == DIGEST, col(OutboxRow.recipient) == recipient
    )
    value = session.exec(query).one()
    if isinstance(value, datetime) and value.tzinfo is None:  # SQLite aggregate: no type processing
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


def digest_recipients(config: MailConfig) -> list[str]:
    """Every recipient of a digest-mode rule."""
    found: dict[str, None] = {}
    for rule_id, delivery in config.rules.items():
        if delivery.mode == DIGEST:
            found.update(dict.fromkeys(config.recipients_for(rule_id)))
    return list(found)


def is_due(engine: Engine, config: MailConfig, recipient: str, now: datetime) -> bool:
    """Whether the schedule says ``recipient``'s digest should go out now (and there is something in it)."""
    schedule = DigestSchedule(config.digest_cron, config.digest_tz)
    with Session(engine) as session:
        waiting = uncarried_alerts(session, config, recipient, DIGEST)
        if not waiting:
            return False
        since = last_digest_at(session, recipient) or min(alert.created_at for alert in waiting)
    return schedule.due(since, now)


@dataclass
class DigestReport:
    """What a digest run did: digests made (recipient, outbox id), recipients with nothing new, delivery."""

    made: list[tuple[str, int]] = field(default_factory=list)
    nothing_new: list[str] = field(default_factory=list)
    not_due: list[str] = field(default_factory=list)
    delivery: SendReport = field(default_factory=SendReport)


def send_digests(
    engine: Engine,
    config: MailConfig,
    transport: Transport,
    *,
    recipients: Sequence[str] | None = None,
    if_due: bool = False,
    clock: Callable[[], datetime] = utcnow,
) -> DigestReport:
    """Make the digest of each recipient (every digest recipient by default; with ``if_due`` only those
    the schedule says are due) and deliver every due digest message."""
    report = DigestReport()
    for recipient in recipients or digest_recipients(config):
        now = clock()
        if if_due and not is_due(engine, config, recipient, now):
            report.not_due.append(recipient)
            continue
        outbox_id = plan_digest(engine, config, recipient, now, checkpoint)
        if outbox_id is None:
            report.nothing_new.append(recipient)
        else:
            report.made.append((recipient, outbox_id))
    report.delivery = send_due(engine, config, transport, kind=DIGEST, clock=clock)
    return report


def preview_digest(engine: Engine, config: MailConfig, recipient: str, now: datetime) -> Composed | None:
    """The digest ``recipient`` would get now, without storing or sending it (None: nothing new)."""
    with Session(engine) as session:
        assembled = assemble_digest(session, config, recipient, now)
        session.rollback()
    return None if assembled is None else assembled[0]
