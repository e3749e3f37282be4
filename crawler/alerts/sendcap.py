"""The hourly cap on instant alert emails per recipient (NEWSWATCH_MAX_MAILS_PER_HOUR): what goes out alone,
what is folded into one summary, what waits.

A recipient gets at most ``cap`` instant emails in any rolling hour. The emails counted are those sent in
the last hour and those not sent yet (pending or being sent), so an outage does not let a backlog go
out on top of a full hour. When more new stories wait than the hour still allows, the last email the
hour allows is a summary carrying all the rest ("N more stories"), so a broad rule matching thousands
of items costs one email, not thousands, and loses none. With the hour used up, new stories wait (their
alerts stay pending) until it frees a slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from crawler.models import OutboxRow

WINDOW = timedelta(hours=1)
T = TypeVar("T")


@dataclass(frozen=True)
class CapSplit(Generic[T]):
    """Stories split by the cap: one email each, together in one summary email, or waiting."""

    single: list[T] = field(default_factory=list)
    folded: list[T] = field(default_factory=list)
    waiting: list[T] = field(default_factory=list)


def split_for_cap(stories: Sequence[T], cap: int, used: int) -> CapSplit[T]:
    """Split ``stories`` (oldest first) for a recipient who has ``used`` emails of the ``cap`` (0: no cap)
    in the current hour: all alone when they fit, else alone up to the last free slot, which carries the
    rest; none when no slot is free."""
    stories = list(stories)
    if cap <= 0:
        return CapSplit(single=stories)
    room = max(0, cap - used)
    if len(stories) <= room:
        return CapSplit(single=stories)
    if room == 0:
        return CapSplit(waiting=stories)
    return CapSplit(single=stories[: room - 1], folded=stories[room - 1 :])


def mails_in_window(session: Session, recipient: str, now: datetime, kind: str, channel: str) -> int:
    """How many of ``recipient``'s messages of ``kind`` on ``channel`` count against the cap at ``now``:
    sent within the last hour, or not sent yet."""
    query = select(func.count()).where(
        col(OutboxRow.kind) == kind,
        col(OutboxRow.channel) == channel,
        col(OutboxRow.recipient) == recipient,
        or_(
            col(OutboxRow.status).in_(("pending", "sending")),
            and_(col(OutboxRow.status) == "sent", col(OutboxRow.sent_at) > now - WINDOW),
        ),
    )
    return int(session.exec(query).one())
