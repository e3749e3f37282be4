"""When each site is crawled: its trigger (interval or crontab, with jitter) and its first run after a start.

The schedule itself is not persisted: it is rebuilt from the configuration at every start, and the crawl
runs recorded in the database say when each site was last crawled. A site whose next crawl fell due
while the service was down is crawled once at start-up, however many runs were missed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func
from sqlmodel import Session, col, select

from crawler.config import SiteConfig
from crawler.crontab import crontab_trigger
from crawler.models import CrawlRunRow

# Runs that count as "the site was crawled": interrupted, abandoned and skipped runs do not.
COMPLETED = ("finished", "failed", "timeout", "crashed")


def site_trigger(site: SiteConfig) -> BaseTrigger:
    """The APScheduler trigger of a site: its crontab line if it has one, else its interval, with jitter."""
    jitter = int(site.jitter_window.total_seconds()) or None
    if site.cron:
        return crontab_trigger(site.cron, ZoneInfo(site.timezone), jitter)
    return IntervalTrigger(seconds=max(1, int(site.interval.total_seconds())), jitter=jitter)


def next_due(site: SiteConfig, last_start: datetime | None) -> datetime | None:
    """When the site's next crawl is due after the one started at ``last_start`` (None: never crawled)."""
    if last_start is None:
        return None
    if site.cron:
        trigger = crontab_trigger(site.cron, ZoneInfo(site.timezone))
        fire = trigger.get_next_fire_time(None, last_start)
        while fire is not None and fire <= last_start:
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        return fire
    return last_start + site.interval


def first_run(
    site: SiteConfig, last_start: datetime | None, now: datetime, rng: random.Random | None = None
) -> tuple[datetime, bool]:
    """The first crawl after a start, and whether it is a catch-up (due while the service was down).

    A never-crawled or overdue site is crawled at ``now`` plus a random part of its jitter window (so a
    restart does not fire every site at once); otherwise at its regular time.
    """
    due = next_due(site, last_start)
    if due is not None and due > now:
        return due, False
    spread = site.jitter_window.total_seconds()
    delay = (rng or random).uniform(0, spread) if spread > 0 else 0.0
    return now + timedelta(seconds=delay), due is not None


def last_starts(session: Session, site_ids: Iterable[str]) -> dict[str, datetime]:
    """When each site's last completed crawl started (sites never crawled are absent)."""
    ids = list(site_ids)
    if not ids:
        return {}
    query = (
        select(CrawlRunRow.site_id, func.max(CrawlRunRow.started_at))
        .where(col(CrawlRunRow.site_id).in_(ids), col(CrawlRunRow.status).in_(COMPLETED))
        .group_by(col(CrawlRunRow.site_id))
    )
    found: dict[str, datetime] = {}
    for site_id, started in session.exec(query).all():
        if isinstance(started, datetime):
            found[site_id] = started if started.tzinfo else started.replace(tzinfo=ZoneInfo("UTC"))
        elif isinstance(started, str):  # SQLite aggregate without type processing
            parsed = datetime.fromisoformat(started)
            found[site_id] = parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo("UTC"))
    return found
