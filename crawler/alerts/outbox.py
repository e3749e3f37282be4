"""The outbox: turn alerts into rendered messages (once per alert, channel and recipient) and track delivery.

State machine of an ``outbox`` row::

    pending --claim--> sending --250--> sent
       ^                  |---4xx / refused / timeout--> pending (next_attempt_at = now + backoff)
       |                  |---5xx, or too many attempts--> failed (last_error = the server's reply)
       '---- lease over (the sender died while sending) ----'

Instant emails are capped per recipient and hour (:mod:`crawler.alerts.sendcap`): past the cap the
stories left are carried by one summary message, or wait for the next free slot.

Once-only: a message is planned together with its ``outbox_alert`` rows in one transaction, and those
rows are unique per (alert, channel, recipient), so no alert is put in two messages for one recipient.
A message is rendered once and stored, so a retry sends the same bytes and the same Message-ID. The only
duplicate possible is a crash between the server's 250 and the commit of "sent" (the row is then
claimed again after the lease).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from sqlalchemy import and_, exists, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crawler.alerts.compose import Composed, Envelope, Source, StoryItem, compose
from crawler.alerts.mailconfig import MailConfig
from crawler.alerts.sendcap import mails_in_window, split_for_cap
from crawler.models import AlertRow, ArticleRow, MatchRow, OutboxAlertRow, OutboxRow

EMAIL = "email"
WEBHOOK = "webhook"
INSTANT = "instant"
DIGEST = "digest"
SUMMARY = "summary"  # how an instant summary is rendered (its outbox row is of kind INSTANT)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for transient failures: ``base`` doubled per attempt up to ``cap``; failed after ``max_attempts``."""

    base: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 12

    def delay(self, attempts: int) -> timedelta:
        """The wait before the next attempt, after ``attempts`` attempts."""
        return min(self.cap, self.base * (2 ** max(0, attempts - 1)))


def recipient_key(recipient: str) -> str:
    """A short stable hash of a recipient, for Message-IDs (no address in them)."""
    return hashlib.sha256(recipient.lower().encode()).hexdigest()[:12]


def instant_message_id(alert_ids: Sequence[int], recipient: str, domain: str) -> str:
    """``<nw.instant.<first alert id>.<recipient hash>@domain>``: one per story alert and recipient."""
    return f"<nw.instant.{min(alert_ids)}.{recipient_key(recipient)}@{domain}>"


def summary_message_id(alert_ids: Sequence[int], recipient: str, domain: str) -> str:
    """``<nw.summary.<first alert id>.<recipient hash>@domain>``: the instant summary carrying these alerts."""
    return f"<nw.summary.{min(alert_ids)}.{recipient_key(recipient)}@{domain}>"


def digest_message_id(alert_ids: Sequence[int], recipient: str, domain: str) -> str:
    """``<nw.digest.<recipient hash>.<hash of the alert ids>@domain>``: one per set of carried alerts."""
    digest = hashlib.sha256(",".join(str(i) for i in sorted(alert_ids)).encode()).hexdigest()[:16]
    return f"<nw.digest.{recipient_key(recipient)}.{digest}@{domain}>"


# --------------------------------------------------------------------------- what is waiting


def uncarried_alerts(
    session: Session, config: MailConfig, recipient: str, mode: str | None, channel: str = EMAIL
) -> list[AlertRow]:
    """The alerts of ``mode`` (None: any) for ``recipient`` on ``channel`` that no message carried yet (not
    suppressed), oldest first."""
    rules = [rule for rule in config.rules if recipient in config.targets_for(rule, channel)]
    if not rules:
        return []
    carried = exists().where(
        and_(
            col(OutboxAlertRow.alert_id) == col(AlertRow.id),
            col(OutboxAlertRow.channel) == channel,
            col(OutboxAlertRow.recipient) == recipient,
        )
    )
    query = (
        select(AlertRow)
        .where(col(AlertRow.suppressed).is_(False), col(AlertRow.rule_id).in_(rules))
        .where(~carried)
        .order_by(col(AlertRow.id))
    )
    if mode is not None:
        query = query.where(col(AlertRow.mode) == mode)
    return list(session.exec(query).all())


STORY_BATCH = 500  # alerts whose articles, matches and copies are read with one query each
COPIES_SHOWN = 20  # other outlets named per story


def story_items(session: Session, alerts: Iterable[AlertRow]) -> list[StoryItem]:
    """What a message shows for each alert: headline, link, site, date, snippet, amounts, other outlets
    (read in batches, so a digest of thousands of alerts costs a few queries per batch, not per alert)."""
    alerts = list(alerts)
    items = []
    for start in range(0, len(alerts), STORY_BATCH):
        batch = alerts[start : start + STORY_BATCH]
        article_ids = {alert.article_id for alert in batch}
        columns = [col(c) for c in (ArticleRow.id, ArticleRow.title, ArticleRow.url, ArticleRow.site_id)]
        query = sa_select(*columns, col(ArticleRow.published)).where(col(ArticleRow.id).in_(article_ids))  # no bodies
        articles = {row.id: row for row in session.execute(query).all()}
        matches = {
            (match.article_id, match.rule_id): match
            for match in session.exec(select(MatchRow).where(col(MatchRow.article_id).in_(article_ids))).all()
        }
        copies: dict[int, list[tuple[int, str, str]]] = {}
        for copy_id, story_id, copy_site, copy_url in session.exec(
            select(ArticleRow.id, ArticleRow.story_id, ArticleRow.site_id, ArticleRow.url)
            .where(col(ArticleRow.story_id).in_({alert.story_id for alert in batch}))
            .order_by(col(ArticleRow.id))
        ).all():
            if story_id is not None and copy_id is not None:
                copies.setdefault(story_id, []).append((copy_id, copy_site, copy_url))
        for alert in batch:
            assert alert.id is not None
            article = articles.get(alert.article_id)
            if article is None:
                continue
            match = matches.get((alert.article_id, alert.rule_id))
            also = [Source(s, u) for aid, s, u in copies.get(alert.story_id, []) if aid != alert.article_id]
            items.append(
                StoryItem(
                    alert_id=alert.id,
                    rule_id=alert.rule_id,
                    story_id=alert.story_id,
                    title=article.title,
                    url=article.url,
                    site=article.site_id,
                    published=article.published,
                    snippet=match.snippet if match else None,
                    amounts=list(match.amounts or []) if match else [],
                    terms=list(match.terms or []) if match else [],
                    also=also[:COPIES_SHOWN],
                    article_id=article.id,
                )
            )
    return items


def _sort_key(item: StoryItem) -> tuple[float, int]:
    return (-(item.published.timestamp() if item.published else 0.0), -item.story_id)


# --------------------------------------------------------------------------- planning


def _store_message(
    session: Session,
    kind: str,
    recipient: str,
    composed: Composed,
    carried: Sequence[tuple[int, bool]],
    now: datetime,
    channel: str = EMAIL,
) -> int:
    row = OutboxRow(
        kind=kind,
        channel=channel,
        recipient=recipient,
        message_id=composed.message_id,
        subject=composed.subject,
        body=composed.raw,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    for alert_id, listed in carried:
        session.add(
            OutboxAlertRow(outbox_id=row.id, alert_id=alert_id, channel=channel, recipient=recipient, listed=listed)
        )
    session.flush()
    return row.id


def _commit_once(session: Session, store: Callable[[], int]) -> int | None:
    """Run ``store`` (it adds a message) and commit: its outbox id, or None when a concurrent planner carried
    one of its alerts first (unique alert, channel, recipient: rolled back)."""
    try:
        outbox_id = store()
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return outbox_id


def _by_story(alerts: Iterable[AlertRow]) -> list[list[AlertRow]]:
    by_story: dict[int, list[AlertRow]] = {}
    for alert in alerts:
        by_story.setdefault(alert.story_id, []).append(alert)
    return list(by_story.values())


def plan_instant(engine: Engine, config: MailConfig, now: datetime) -> list[int]:
    """One message per new story and recipient for the instant alerts not yet carried, within the
    recipient's hourly cap (past it, one summary message carries the rest, or they wait); returns outbox ids.

    Each message is stored with the alerts it carries in its own transaction; a concurrent planner that
    got there first makes it roll back (unique alert, channel, recipient) and it is skipped.
    """
    created: list[int] = []
    cap = config.max_mails_per_hour
    for recipient in config.all_recipients():
        with Session(engine) as session:
            alerts = uncarried_alerts(session, config, recipient, INSTANT)
            used = mails_in_window(session, recipient, now, INSTANT, EMAIL) if alerts and cap > 0 else 0
        split = split_for_cap(_by_story(alerts), cap, used)
        for story_alerts in split.single:
            ids = [a.id for a in story_alerts if a.id is not None]
            with Session(engine) as session:
                items = story_items(session, story_alerts)
                if not items:
                    continue
                envelope = Envelope(recipient, instant_message_id(ids, recipient, config.domain), now, INSTANT)
                composed = compose(envelope, items, config)
                carried = [(i, True) for i in ids]
                store = partial(_store_message, session, INSTANT, recipient, composed, carried, now)
                outbox_id = _commit_once(session, store)
            if outbox_id is not None:
                created.append(outbox_id)
        if split.folded:
            logger.warning(
                "instant alerts for %s: %d new stories, more than the %d emails an hour allowed "
                "(NEWSWATCH_MAX_MAILS_PER_HOUR): the last %d go in one summary email",
                recipient,
                len(split.single) + len(split.folded),
                cap,
                len(split.folded),
                extra={"event": "mail_cap", "recipient": recipient, "cap": cap, "summarised": len(split.folded)},
            )
            outbox_id = _plan_summary(engine, config, recipient, [a for s in split.folded for a in s], now)
            if outbox_id is not None:
                created.append(outbox_id)
        if split.waiting:
            logger.info(
                "instant alerts for %s wait: the %d emails an hour allowed (NEWSWATCH_MAX_MAILS_PER_HOUR) are "
                "used; %d new stories go out when the hour frees a slot",
                recipient,
                cap,
                len(split.waiting),
                extra={"event": "mail_cap", "recipient": recipient, "cap": cap, "waiting": len(split.waiting)},
            )
    return created


def _plan_summary(
    engine: Engine, config: MailConfig, recipient: str, alerts: list[AlertRow], now: datetime
) -> int | None:
    """Store the one message carrying ``alerts`` (many stories) for ``recipient``, listed like a digest."""
    ids = [a.id for a in alerts if a.id is not None]
    with Session(engine) as session:
        composed, carried, _more = _assemble(
            session, config, recipient, alerts, SUMMARY, summary_message_id(ids, recipient, config.domain), now
        )
        return _commit_once(session, partial(_store_message, session, INSTANT, recipient, composed, carried, now))


def webhook_message_id(alert_ids: Sequence[int], url: str, domain: str) -> str:
    """``<nw.webhook.<first alert id>.<URL hash>@domain>``: one per story alert and webhook."""
    return f"<nw.webhook.{min(alert_ids)}.{recipient_key(url)}@{domain}>"


def plan_webhooks(engine: Engine, config: MailConfig, now: datetime) -> list[int]:
    """One webhook call per new story and webhook URL (alerts of either mode), with the same once-only
    rows as email; returns outbox ids."""
    from crawler.alerts.webhook import payload

    created: list[int] = []
    for url in config.all_webhooks():
        with Session(engine) as session:
            alerts = uncarried_alerts(session, config, url, None, WEBHOOK)
        for story_alerts in _by_story(alerts):
            ids = [a.id for a in story_alerts if a.id is not None]
            with Session(engine) as session:
                items = story_items(session, story_alerts)
                if not items:
                    continue
                message_id = webhook_message_id(ids, url, config.domain)
                subject, body = payload(url, message_id, items, config)
                composed = Composed(subject, message_id, body, "", "")
                carried = [(i, True) for i in ids]
                store = partial(_store_message, session, INSTANT, url, composed, carried, now, WEBHOOK)
                outbox_id = _commit_once(session, store)
            if outbox_id is not None:
                created.append(outbox_id)
    return created


def assemble_digest(
    session: Session,
    config: MailConfig,
    recipient: str,
    now: datetime,
    checkpoint: Callable[[str], None] = lambda _point: None,
) -> tuple[Composed, list[tuple[int, bool]], int] | None:
    """The digest of ``recipient``'s uncarried digest alerts (None when there are none): the message, the
    carried (alert id, listed) pairs, and how many stories were only counted."""
    alerts = uncarried_alerts(session, config, recipient, DIGEST)
    if not alerts:
        return None
    ids = [a.id for a in alerts if a.id is not None]
    message_id = digest_message_id(ids, recipient, config.domain)
    return _assemble(session, config, recipient, alerts, DIGEST, message_id, now, checkpoint)


def _assemble(
    session: Session,
    config: MailConfig,
    recipient: str,
    alerts: Sequence[AlertRow],
    kind: str,
    message_id: str,
    now: datetime,
    checkpoint: Callable[[str], None] = lambda _point: None,
) -> tuple[Composed, list[tuple[int, bool]], int]:
    """The message of ``kind`` carrying ``alerts``, grouped by rule, the newest ``digest_max_stories``
    stories listed and the others only counted ("and N more"); with the carried (alert id, listed) pairs
    and how many stories were only counted."""
    items = story_items(session, alerts)
    checkpoint("digest-assembly")
    stories = list(dict.fromkeys(item.story_id for item in sorted(items, key=_sort_key)))  # newest first
    order = {rule: n for n, rule in enumerate(config.rules)}
    items.sort(key=lambda item: (order.get(item.rule_id, len(order)), _sort_key(item)))
    shown = set(stories[: config.digest_max_stories])
    listed = [item for item in items if item.story_id in shown]
    more = len(stories) - len(shown)
    composed = compose(Envelope(recipient, message_id, now, kind), listed, config, more=more)
    listed_ids = {item.alert_id for item in listed}
    return composed, [(a.id, a.id in listed_ids) for a in alerts if a.id is not None], more


def plan_digest(
    engine: Engine,
    config: MailConfig,
    recipient: str,
    now: datetime,
    checkpoint: Callable[[str], None] = lambda _point: None,
) -> int | None:
    """Store the digest of ``recipient`` with the alerts it carries (one transaction); its outbox id, or
    None when there is nothing new (or a concurrent planner stored it first)."""
    with Session(engine) as session:
        assembled = assemble_digest(session, config, recipient, now, checkpoint)
        if assembled is None:
            return None
        composed, carried, _more = assembled

        def store() -> int:
            outbox_id = _store_message(session, DIGEST, recipient, composed, carried, now)
            checkpoint("digest-stored")
            return outbox_id

        return _commit_once(session, store)


# --------------------------------------------------------------------------- delivery states


def _due(now: datetime, lease: timedelta) -> object:
    pending = and_(
        col(OutboxRow.status) == "pending",
        or_(col(OutboxRow.next_attempt_at).is_(None), col(OutboxRow.next_attempt_at) <= now),
    )
    abandoned = and_(col(OutboxRow.status) == "sending", col(OutboxRow.claimed_at) <= now - lease)
    return or_(pending, abandoned)


def due_ids(
    session: Session, now: datetime, lease: timedelta, kind: str | None = None, channel: str = EMAIL
) -> list[int]:
    """Ids of the messages due for (another) attempt, oldest first."""
    query = select(OutboxRow.id).where(_due(now, lease), col(OutboxRow.channel) == channel)  # type: ignore[arg-type]
    if kind:
        query = query.where(col(OutboxRow.kind) == kind)
    return [int(i) for i in session.exec(query.order_by(col(OutboxRow.id))).all() if i is not None]


def claim(engine: Engine, outbox_id: int, now: datetime, lease: timedelta) -> OutboxRow | None:
    """Mark the message "sending" if it is still due (atomic: one claimer wins); the claimed row or None."""
    with Session(engine) as session:
        result = session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.id) == outbox_id, _due(now, lease))  # type: ignore[arg-type]
            .values(status="sending", claimed_at=now, attempts=col(OutboxRow.attempts) + 1)
        )
        session.commit()
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = session.get(OutboxRow, outbox_id)
        if row is not None:
            session.expunge(row)
        return row


def _finish(engine: Engine, outbox_id: int, **values: object) -> None:
    with Session(engine) as session:
        session.execute(
            update(OutboxRow).where(col(OutboxRow.id) == outbox_id, col(OutboxRow.status) == "sending").values(**values)
        )
        session.commit()


def mark_sent(engine: Engine, outbox_id: int, now: datetime) -> None:
    """The server accepted the message."""
    _finish(engine, outbox_id, status="sent", sent_at=now, last_error=None)


def mark_retry(engine: Engine, outbox_id: int, now: datetime, delay: timedelta, error: str) -> None:
    """A transient failure: try again after ``delay``."""
    _finish(engine, outbox_id, status="pending", next_attempt_at=now + delay, last_error=error[:2000])


def mark_failed(engine: Engine, outbox_id: int, error: str) -> None:
    """A permanent failure: never sent, ``error`` shown by ``newswatch alerts list``."""
    _finish(engine, outbox_id, status="failed", last_error=error[:2000])


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class AlertStatus:
    """One alert for one recipient, for ``newswatch alerts list``."""

    alert_id: int
    rule: str
    mode: str
    title: str
    site: str
    created_at: datetime
    recipient: str | None  # an address, or "webhook <host>" (webhook URLs hold secrets: not shown)
    status: str  # "pending", "sending", "sent", "failed" or "suppressed"
    message_id: str | None = None
    attempts: int = 0
    error: str | None = None
    sent_at: datetime | None = None


def _shown(target: str) -> str:
    if target.startswith(("http://", "https://")):
        return f"webhook {urlsplit(target).hostname or '?'}"
    return target


def alert_statuses(session: Session, config: MailConfig, limit: int | None = None) -> list[AlertStatus]:
    """Every alert with its state for each recipient, newest first (uncarried alerts are "pending")."""
    query = select(AlertRow, ArticleRow).join(ArticleRow, col(ArticleRow.id) == col(AlertRow.article_id))
    query = query.order_by(col(AlertRow.id).desc())
    if limit:
        query = query.limit(limit)
    result: list[AlertStatus] = []
    for alert, article in session.exec(query).all():
        assert alert.id is not None
        base = {
            "alert_id": alert.id,
            "rule": alert.rule_id,
            "mode": alert.mode,
            "title": article.title,
            "site": article.site_id,
            "created_at": alert.created_at,
        }
        if alert.suppressed:
            result.append(AlertStatus(**base, recipient=None, status="suppressed", error=alert.reason))  # type: ignore[arg-type]
            continue
        carried = {
            link.recipient: message
            for link, message in session.exec(
                select(OutboxAlertRow, OutboxRow)
                .join(OutboxRow, col(OutboxRow.id) == col(OutboxAlertRow.outbox_id))
                .where(OutboxAlertRow.alert_id == alert.id)
            ).all()
        }
        targets = [*config.recipients_for(alert.rule_id), *config.webhooks_for(alert.rule_id), *carried]
        for recipient in dict.fromkeys(targets):
            message = carried.get(recipient)
            shown = _shown(recipient)
            if message is None:
                result.append(AlertStatus(**base, recipient=shown, status="pending"))  # type: ignore[arg-type]
            else:
                result.append(
                    AlertStatus(
                        **base,  # type: ignore[arg-type]
                        recipient=shown,
                        status=message.status,
                        message_id=message.message_id,
                        attempts=message.attempts,
                        error=message.last_error,
                        sent_at=message.sent_at,
                    )
                )
    return result


def suppress_site_alerts(engine: Engine, site_id: str, reason: str) -> int:
    """Mark the not yet planned alerts of ``site_id``'s articles suppressed with ``reason`` (never sent);
    returns how many. For the demo's sample site when a real mail server or webhook is configured."""
    carried = exists().where(col(OutboxAlertRow.alert_id) == col(AlertRow.id))
    of_site = sa_select(col(ArticleRow.id)).where(col(ArticleRow.site_id) == site_id)
    with Session(engine) as session:
        result = session.execute(
            update(AlertRow)
            .where(col(AlertRow.suppressed).is_(False), col(AlertRow.article_id).in_(of_site), ~carried)
            .values(suppressed=True, reason=reason)
        )
        session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
