"""An alert flood: a broad rule matches 5,000 items at once.

The digest lists NEWSWATCH_DIGEST_MAX_STORIES stories and counts the rest ("and N more"); instant emails
stay within NEWSWATCH_MAX_MAILS_PER_HOUR per recipient in every rolling hour, the last one of the hour
summing up the stories left; stories flagged once the hour is used up wait (pending) for the next free
slot; no alert is lost. Delivered through a real SMTP server on 127.0.0.1, with an injected clock.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crawler.alerts.digest import send_digests
from crawler.alerts.mailconfig import MailConfig
from crawler.alerts.outbox import DIGEST, INSTANT, alert_statuses, plan_instant
from crawler.alerts.sendcap import CapSplit, split_for_cap
from crawler.alerts.sender import make_transport, send_due
from crawler.article import Article, Match
from crawler.models import OutboxAlertRow, OutboxRow
from crawler.store import add_article
from tests.alerts_data import DIGEST_RULE, INSTANT_RULE, NOW, Clock, mail_config, recorder
from tests.smtp_server import Received, SMTPServer

FLOOD = 5000
LATE = 50  # stories flagged after the hour's emails are used up
CAP = 20
LISTED = 30  # digest_max_stories
RECIPIENTS = ("alice@example.com", "bob@example.com")


def test_split_for_cap() -> None:
    stories = list(range(10))
    assert split_for_cap(stories, 0, 500) == CapSplit(single=stories)  # no cap
    assert split_for_cap(stories, 20, 10) == CapSplit(single=stories)  # fits exactly
    assert split_for_cap(stories, 20, 15) == CapSplit(single=[0, 1, 2, 3], folded=[4, 5, 6, 7, 8, 9])
    assert split_for_cap(stories, 20, 19) == CapSplit(folded=stories)  # one slot left: the summary
    assert split_for_cap(stories, 20, 20) == CapSplit(waiting=stories)
    assert split_for_cap(stories, 20, 25) == CapSplit(waiting=stories)  # cap lowered below what was sent
    assert split_for_cap([], 20, 20) == CapSplit()


def _seed(engine: Engine, first: int, count: int, rules: list[str], batch: int = 250) -> None:
    """Store ``count`` distinct stories matching ``rules``, in transactions of ``batch`` articles (as a crawl
    stores them), with their alerts."""
    rec = recorder()
    for start in range(first, first + count, batch):
        with rec.guard(), Session(engine) as session:
            for n in range(start, min(start + batch, first + count)):
                url = f"https://news-a.example/flood/{n}"
                # Distinct headlines and bodies: thousands of stories, not near-copies of a few.
                text = " ".join(f"t{n}w{i}" for i in range(80)) + " robot funding"
                article = Article(url, url, f"Robot k{n}a k{n}b k{n}c", text, published=NOW - timedelta(hours=1))
                matches = [Match(rule, ["robot"], snippet="a <mark>robot</mark> maker") for rule in rules]
                add_article(session, "news-a", article, matches, on_new=rec.record)
            session.commit()


def _deliver(engine: Engine, config: MailConfig, clock: Clock) -> list[int]:
    """What `newswatch alerts send` and the service's send job do: plan the instant emails, send them."""
    planned = plan_instant(engine, config, clock())
    report = send_due(engine, config, make_transport(config), kind=INSTANT, clock=clock)
    assert not report.retrying and not report.failed
    return planned


def _by_recipient(received: list[Received], kind: str) -> dict[str, list[Received]]:
    result: dict[str, list[Received]] = defaultdict(list)
    for message in received:
        if message.message["X-Newswatch-Kind"] in kind.split("|"):
            result[str(message.message["To"])].append(message)
    return result


def _most_in_an_hour(times: list[datetime]) -> int:
    times = sorted(times)
    return max((sum(1 for t in times if start <= t < start + timedelta(hours=1)) for start in times), default=0)


@pytest.mark.timeout(600)
def test_a_flood_of_5000_items_is_capped_per_digest_and_per_hour_and_loses_nothing(
    engine: Engine, tmp_path: Path, smtp: SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = mail_config(
        tmp_path,
        smtp_url=smtp.url,
        default_recipients=RECIPIENTS,
        max_mails_per_hour=CAP,
        digest_max_stories=LISTED,
        base_url="https://nw.example",
    )
    started = time.monotonic()
    _seed(engine, 10_000, FLOOD, [INSTANT_RULE, DIGEST_RULE])
    seeded = time.monotonic()
    clock = Clock()

    # The digest: one per recipient, LISTED stories listed, the rest counted.
    digests = send_digests(engine, config, make_transport(config), clock=clock)
    assert sorted(r for r, _ in digests.made) == sorted(RECIPIENTS) and len(digests.delivery.sent) == 2
    for recipient, (digest,) in _by_recipient(smtp.handler.received, DIGEST).items():
        message = digest.message
        assert str(message["Subject"]).strip() == f"[Newswatch] Digest: {FLOOD} new stories for {DIGEST_RULE}"
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert text.count("\n* Robot k") == LISTED
        assert f"...and {FLOOD - LISTED} more stories: https://nw.example/stories" in text
        assert len(digest.raw) < 200_000, recipient
    digested = time.monotonic()

    # Hour 1: CAP - 1 stories alone, the last email sums up the other FLOOD - CAP + 1.
    with caplog.at_level(logging.INFO, logger="crawler.alerts.outbox"):
        planned = _deliver(engine, config, clock)
    assert len(planned) == CAP * len(RECIPIENTS)
    instant = _by_recipient(smtp.handler.received, "instant|summary")
    assert sorted(instant) == sorted(RECIPIENTS)
    for recipient, messages in instant.items():
        assert len(messages) == CAP
        summaries = [m for m in messages if "(hourly email limit reached)" in str(m.message["Subject"])]
        assert len(summaries) == 1, recipient
        summary = summaries[0].message
        folded = FLOOD - CAP + 1
        subject = f"[Newswatch] {folded} more new stories for {INSTANT_RULE} (hourly email limit reached)"
        assert str(summary["Subject"]).strip() == subject  # folded onto its own line: one leading space
        text = summary.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"than the {CAP} alert emails an hour" in text and text.count("\n* Robot k") == LISTED
        assert f"...and {folded - LISTED} more stories" in text
        assert any(
            recipient in r.getMessage() and f"the {CAP} emails an hour" in r.getMessage() for r in caplog.records
        ), recipient
    planned_first = time.monotonic()

    # Later in hour 1: new stories wait, shown as pending, and the log says why.
    clock.advance(timedelta(minutes=10))
    _seed(engine, 20_000, LATE, [INSTANT_RULE])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="crawler.alerts.outbox"):
        assert _deliver(engine, config, clock) == []
    for recipient in RECIPIENTS:
        assert any(
            f"instant alerts for {recipient} wait: the {CAP} emails an hour" in r.getMessage() for r in caplog.records
        )
    with Session(engine) as session:
        waiting = Counter(s.recipient for s in alert_statuses(session, config) if s.status == "pending")
    assert waiting == {recipient: LATE for recipient in RECIPIENTS}

    # Hour 2 (the first emails left the window): the late stories go out, again within the cap.
    clock.advance(timedelta(minutes=51))
    assert 0 < len(_deliver(engine, config, clock)) <= CAP * len(RECIPIENTS)
    assert _deliver(engine, config, clock) == []

    # Nothing lost: every instant alert reached every recipient in a message that was sent, once.
    with Session(engine) as session:
        statuses = alert_statuses(session, config)
        rows = session.exec(select(OutboxRow).where(col(OutboxRow.kind) == INSTANT)).all()
        links = session.exec(select(OutboxAlertRow)).all()
    assert Counter(s.status for s in statuses) == {"sent": (2 * FLOOD + LATE) * len(RECIPIENTS)}
    sent_times: dict[str, list[datetime]] = defaultdict(list)
    for row in rows:
        assert row.status == "sent" and row.sent_at is not None
        sent_times[row.recipient].append(row.sent_at)
    received = smtp.handler.counts()
    assert set(received.values()) == {1} and set(received) >= {row.message_id for row in rows}
    instant_ids = {row.id for row in rows}
    carried = Counter(link.recipient for link in links if link.outbox_id in instant_ids)
    assert carried == {recipient: FLOOD + LATE for recipient in RECIPIENTS}
    busiest = {recipient: _most_in_an_hour(times) for recipient, times in sent_times.items()}
    assert all(count <= CAP for count in busiest.values()), busiest
    print(
        f"\nflood: {FLOOD}+{LATE} stories, cap {CAP}/h: {len(rows)} instant emails to {len(RECIPIENTS)} recipients "
        f"(busiest hour per recipient {busiest}), {len(statuses)} alert deliveries, 0 lost; "
        f"seeding {seeded - started:.1f} s, digests {digested - seeded:.1f} s, "
        f"first plan+send {planned_first - digested:.1f} s"
    )
