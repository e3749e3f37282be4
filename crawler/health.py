"""Source health: each site's record from its crawl runs, its state (ok / failing / broken / degraded / silent).

A crawl run *failed* when its status says so ("failed", "timeout", "crashed") or when it met errors and
fetched nothing (no new, duplicate or skipped page). A site is **failing** when its last crawl failed, fewer
than ``fail_after`` times in a row (a site that never succeeded says so), **broken** after ``fail_after``
failed runs in a row, **degraded** when its crawls succeed but one of its feeds, sitemaps or listing pages
failed in each of the last ``fail_after`` runs (the others still bring articles), and **silent** when nothing
new came for much longer than usual: more than ``silent_factor`` times the median gap between its productive
runs of the last 30 days, and at least ``silent_min``, while its crawls themselves succeed.

Operator alerts follow the *alert state* (ok, broken, degraded, silent): "failing" is shown, never stored nor
emailed (one bad crawl is not worth an email; broken is). Each change of the alert state is stored together
with the operator's email (outbox kind "ops") in one transaction, so it is notified once, as is the recovery.
"""

from __future__ import annotations

import itertools
import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crawler.alerts.compose import header_text, plain_text
from crawler.alerts.outbox import EMAIL, recipient_key
from crawler.config import SiteConfig
from crawler.models import CrawlRunRow, OutboxRow, SiteHealthRow, utcnow

logger = logging.getLogger(__name__)

OPS = "ops"
OK, BROKEN, SILENT, DEGRADED, FAILING, NEW = "ok", "broken", "silent", "degraded", "failing", "new"
FAILED_STATUSES = ("failed", "timeout", "crashed")
DONE_STATUSES = ("finished", *FAILED_STATUSES)
WINDOW = timedelta(days=30)
RECENT_RUNS = 20  # the runs the counts and shares are taken over
MAX_RUNS = 5000


@dataclass(frozen=True)
class HealthPolicy:
    """When a site counts as broken or silent (NEWSWATCH_OPS_FAIL_AFTER, _SILENT_FACTOR, _SILENT_MIN)."""

    fail_after: int = 3
    silent_factor: float = 4.0
    silent_min: timedelta = timedelta(hours=12)
    min_productive: int = 3  # productive runs needed before "usual" means anything


@dataclass
class SiteHealth:
    """One site's health, computed from its crawl runs."""

    site_id: str
    name: str
    # What is shown: "ok", "failing", "broken", "degraded", "silent"; "new" before its first crawl.
    state: str = OK
    since: datetime | None = None  # when it entered the state shown (the stored state, or the failing streak)
    runs: int = 0  # completed runs in the last 30 days
    last_run_at: datetime | None = None
    last_status: str | None = None
    last_success_at: datetime | None = None  # within the last 30 days
    never_succeeded: bool = False  # no crawl of it ever succeeded (as far as the kept runs tell)
    consecutive_failures: int = 0
    last_error: str | None = None  # the first line of the newest failed run's message: its root cause
    last_error_at: datetime | None = None  # when that run started
    http_403: int = 0  # over the last RECENT_RUNS runs
    http_429: int = 0
    http_5xx: int = 0
    robots_denied: int = 0
    articles_per_run: float = 0.0
    extraction_failed_share: float = 0.0  # fetched pages that gave no article
    undated_share: float = 0.0  # new articles without a publication date
    last_new_at: datetime | None = None
    usual_gap: timedelta | None = None  # median time between runs that found something new
    quiet_for: timedelta | None = None
    reason: str | None = None  # why the state is what it is
    # The state operator emails are about (stored, notified on each change): the shown state, except that a
    # "failing" site is "ok" here until it fails ``fail_after`` times in a row (then "broken").
    alert_state: str = OK
    alert_reason: str | None = None
    problems: list[str] = field(default_factory=list)
    # Feeds, sitemaps or listing pages that failed in each of the last ``fail_after`` (or more) runs:
    # URL -> (runs in a row, the latest reason).
    failing_sources: dict[str, tuple[int, str]] = field(default_factory=dict)


def run_failed(run: CrawlRunRow) -> bool:
    """Whether a finished crawl run counts as a failure."""
    if run.status in FAILED_STATUSES:
        return True
    fetched = run.new_articles + run.skipped + int((run.stats or {}).get("duplicates", 0))
    return run.errors > 0 and fetched == 0


def _runs(session: Session, site_id: str, now: datetime) -> list[CrawlRunRow]:
    query = (
        select(CrawlRunRow)
        .where(
            col(CrawlRunRow.site_id) == site_id,
            col(CrawlRunRow.started_at) >= now - WINDOW,
            col(CrawlRunRow.status).in_(DONE_STATUSES),
        )
        .order_by(col(CrawlRunRow.started_at).desc(), col(CrawlRunRow.id).desc())
        .limit(MAX_RUNS)
    )
    return list(session.exec(query).all())


def _succeeded_before(session: Session, site_id: str, now: datetime) -> bool:
    """Whether a crawl of the site succeeded (by :func:`run_failed`'s measure) before the window; the newest
    ``MAX_RUNS`` finished runs before it are looked at."""
    query = (
        select(CrawlRunRow)
        .where(
            col(CrawlRunRow.site_id) == site_id,
            col(CrawlRunRow.started_at) < now - WINDOW,
            col(CrawlRunRow.status) == "finished",
        )
        .order_by(col(CrawlRunRow.started_at).desc())
        .limit(MAX_RUNS)
    )
    return any(not run_failed(run) for run in session.exec(query))


def _assess_stored(session: Session, site: SiteConfig, policy: HealthPolicy, now: datetime) -> SiteHealth:
    """The site's health from its runs in the database."""
    runs = _runs(session, site.id, now)
    never = bool(runs) and all(run_failed(r) for r in runs) and not _succeeded_before(session, site.id, now)
    return assess(site, runs, policy, now, never_succeeded=never)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


def assess(
    site: SiteConfig, runs: Sequence[CrawlRunRow], policy: HealthPolicy, now: datetime, *, never_succeeded: bool = False
) -> SiteHealth:
    """The site's health from its completed runs, newest first (``never_succeeded``: none before them either)."""
    health = SiteHealth(site_id=site.id, name=site.name, runs=len(runs), never_succeeded=never_succeeded)
    if not runs:
        health.state = health.alert_state = NEW
        health.reason = health.alert_reason = "not crawled yet"
        return health
    latest = runs[0]
    health.last_run_at, health.last_status = latest.started_at, latest.status
    for run in runs:
        if not run_failed(run):
            break
        health.consecutive_failures += 1
    health.last_success_at = next((r.started_at for r in runs if not run_failed(r)), None)
    failed = next((r for r in runs if run_failed(r)), None)
    if failed is not None:
        health.last_error_at = failed.started_at
        health.last_error = _first_line(failed.message) or (
            f"the crawl {failed.status} with {failed.errors} error(s) and nothing fetched"
        )
    recent = runs[:RECENT_RUNS]
    for name in ("http_403", "http_429", "http_5xx", "robots_denied"):
        setattr(health, name, sum(int((r.stats or {}).get(name, 0)) for r in recent))
    health.articles_per_run = round(statistics.fmean(r.new_articles for r in recent), 2)
    fetched = sum(r.new_articles + r.skipped + int((r.stats or {}).get("duplicates", 0)) for r in recent)
    health.extraction_failed_share = _share(sum(r.skipped for r in recent), fetched)
    health.undated_share = _share(
        sum(int((r.stats or {}).get("undated", 0)) for r in recent), sum(r.new_articles for r in recent)
    )
    productive = [r.started_at for r in runs if r.new_articles > 0]
    if productive:
        health.last_new_at = productive[0]
        health.quiet_for = now - productive[0]
    gaps = [a - b for a, b in itertools.pairwise(productive) if a > b]
    if len(productive) >= policy.min_productive and gaps:
        health.usual_gap = timedelta(seconds=statistics.median(g.total_seconds() for g in gaps))
    health.failing_sources = failing_sources(runs, policy.fail_after)
    health.alert_state, health.alert_reason = _state(health, runs, policy)
    health.state, health.reason = health.alert_state, health.alert_reason
    if health.alert_state != BROKEN and health.consecutive_failures:
        health.state, health.reason = FAILING, _failing_reason(health, policy)
        health.since = runs[health.consecutive_failures - 1].started_at  # the first failure of the streak
    return health


def _first_line(text: str | None) -> str | None:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else None


def _failing_reason(health: SiteHealth, policy: HealthPolicy) -> str:
    """Why a site whose last crawl failed (fewer than ``fail_after`` times in a row) is "failing"."""
    error = health.last_error or "no reason recorded"
    count = health.consecutive_failures
    if health.never_succeeded:
        return f"never succeeded: {error}" + (f" ({count} crawls failed)" if count > 1 else "")
    if count == 1:
        return f"the last crawl failed: {error}"
    return f"the last {count} crawls failed (broken after {policy.fail_after} in a row): {error}"


def failing_sources(runs: Sequence[CrawlRunRow], fail_after: int) -> dict[str, tuple[int, str]]:
    """The sources (feed, sitemap, listing URLs) of the newest run that failed in each of the last
    ``fail_after`` runs or more, newest first: URL -> (runs in a row, the newest reason)."""
    def failed(run: CrawlRunRow) -> dict[str, str]:
        found = (run.stats or {}).get("failed_sources")
        return found if isinstance(found, dict) else {}

    if not runs:
        return {}
    streaks: dict[str, tuple[int, str]] = {}
    for url, why in failed(runs[0]).items():
        count = 0
        for run in runs:
            if url not in failed(run):
                break
            count += 1
        if count >= fail_after:
            streaks[str(url)] = (count, str(why))
    return streaks


def _human(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 120:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"


def _state(health: SiteHealth, runs: Sequence[CrawlRunRow], policy: HealthPolicy) -> tuple[str, str]:
    if health.consecutive_failures >= policy.fail_after:
        detail = f": {health.last_error}" if health.last_error else ""
        never = "never succeeded: " if health.never_succeeded else ""
        return BROKEN, f"{never}{health.consecutive_failures} failed crawls in a row{detail}"
    if health.failing_sources:
        url, (count, why) = max(health.failing_sources.items(), key=lambda item: item[1][0])
        more = len(health.failing_sources) - 1
        return DEGRADED, (
            f"{url} failed in {count} crawls in a row: {why}" + (f" (and {more} more source(s))" if more else "")
        )
    if health.usual_gap is not None and health.quiet_for is not None and health.last_new_at is not None:
        threshold = max(health.usual_gap * policy.silent_factor, policy.silent_min)
        checked = sum(1 for r in runs if r.started_at > health.last_new_at and not run_failed(r))
        if health.quiet_for > threshold and checked >= 2:
            return SILENT, (
                f"nothing new for {_human(health.quiet_for)} (usually every {_human(health.usual_gap)}; "
                f"{checked} crawls since found nothing)"
            )
    return OK, "crawls succeed" + (" and find new articles" if health.articles_per_run else "")


# --------------------------------------------------------------------------- state changes and ops mail


@dataclass(frozen=True)
class OpsMail:
    """Where operator alerts go."""

    recipients: tuple[str, ...]
    mail_from: str
    domain: str
    base_url: str | None = None


_SUBJECTS = {
    (OK, BROKEN): "{name} is broken",
    (SILENT, BROKEN): "{name} is broken",
    (OK, SILENT): "{name} has gone silent",
    (BROKEN, OK): "{name} has recovered",
    (SILENT, OK): "{name} is publishing again",
    (BROKEN, SILENT): "{name} has recovered, but is silent",
    (OK, DEGRADED): "{name}: a feed or sitemap keeps failing",
    (DEGRADED, OK): "{name}: every feed and sitemap works again",
    (BROKEN, DEGRADED): "{name} has recovered, but a feed or sitemap keeps failing",
}


def ops_message(
    health: SiteHealth, old: str, new: str, mail: OpsMail, recipient: str, now: datetime
) -> tuple[str, str, bytes]:
    """The operator's email about a change of state: (Message-ID, subject, raw bytes)."""
    subject = "[Newswatch] " + _SUBJECTS.get((old, new), "{name} is now " + new).format(name=health.name)
    subject = header_text(subject, 200)
    message_id = f"<nw.ops.{health.site_id}.{new}.{int(now.timestamp())}.{recipient_key(recipient)}@{mail.domain}>"
    lines = [
        f"Site: {health.name} ({health.site_id})",
        f"State: {old} -> {new}",
        f"Why: {plain_text(health.alert_reason, 500)}",
        "",
        f"Last crawl: {_when(health.last_run_at)} ({health.last_status or '-'})",
        f"Last successful crawl: {_when(health.last_success_at)}",
        f"Failed crawls in a row: {health.consecutive_failures}",
        f"Last new article found: {_when(health.last_new_at)}",
        f"HTTP errors (last {RECENT_RUNS} crawls): 403: {health.http_403}, 429: {health.http_429}, "
        f"5xx: {health.http_5xx}; robots.txt denials: {health.robots_denied}",
    ]
    if health.last_error:
        lines.append(f"Last error: {plain_text(health.last_error, 500)}")
    for url, (count, why) in list(health.failing_sources.items())[:20]:
        lines.append(f"Failing: {plain_text(url, 300)} ({count} crawls in a row): {plain_text(why, 300)}")
    lines += ["", "Details: `newswatch status`" + (f" or {mail.base_url}/status" if mail.base_url else "")]
    if new == OK:
        lines.append("You will hear again only if it breaks, degrades or goes silent.")
    else:
        lines.append("You will get one message when it recovers, none in between.")
    email = EmailMessage()
    email["From"] = mail.mail_from
    email["To"] = recipient
    email["Subject"] = subject
    email["Date"] = format_datetime(now)
    email["Message-ID"] = message_id
    email["Auto-Submitted"] = "auto-generated"
    email.set_content("\n".join(lines) + "\n")
    from email import policy as email_policy

    return message_id, subject, email.as_bytes(policy=email_policy.SMTP)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def stored_states(session: Session) -> dict[str, SiteHealthRow]:
    """The stored health state of every site that has one."""
    return {row.site_id: row for row in session.exec(select(SiteHealthRow)).all()}


def evaluate_site(
    engine: Engine, site: SiteConfig, policy: HealthPolicy, mail: OpsMail, now: datetime | None = None
) -> SiteHealth:
    """Assess the site and, when its state changed, store the new state and queue the operator's email
    in the same transaction. Returns the assessment (``state``: the state now stored)."""
    now = now or utcnow()
    with Session(engine) as session:
        health = _assess_stored(session, site, policy, now)
        row = session.get(SiteHealthRow, site.id)
        new = health.alert_state
        if new == NEW:
            return health
        old = row.state if row is not None else OK
        if row is not None and old == new:
            _stored_since(health, row)
            return health
        if row is None:
            row = SiteHealthRow(site_id=site.id, state=OK, since=now)
        row.state, row.since, row.reason, row.updated_at = new, now, health.alert_reason, now
        session.add(row)
        _stored_since(health, row)
        if old != new:
            for recipient in mail.recipients:
                message_id, subject, raw = ops_message(health, old, new, mail, recipient, now)
                session.add(
                    OutboxRow(
                        kind=OPS,
                        channel=EMAIL,
                        recipient=recipient,
                        message_id=message_id,
                        subject=subject,
                        body=raw,
                        status="pending",
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
            logger.warning(
                "site %s: %s -> %s (%s)",
                site.id,
                old,
                new,
                health.alert_reason,
                extra={"site": site.id, "event": "site_health", "state": new},
            )
        try:
            session.commit()
        except IntegrityError:  # another evaluator recorded the same change first
            session.rollback()
    return health


def site_health(engine: Engine, sites: Sequence[SiteConfig], policy: HealthPolicy, now: datetime) -> list[SiteHealth]:
    """Every site's health, with the time it entered its stored state (read only)."""
    with Session(engine) as session:
        stored = stored_states(session)
        found = []
        for site in sites:
            health = _assess_stored(session, site, policy, now)
            row = stored.get(site.id)
            if row is not None and row.state == health.alert_state:
                _stored_since(health, row)
            found.append(health)
    return found


def _stored_since(health: SiteHealth, row: SiteHealthRow) -> None:
    """The shown state's start: the stored state's, unless the site is failing (its streak's start)."""
    if health.state == health.alert_state:
        health.since = row.since
