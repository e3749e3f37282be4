"""The outbox: each alert is carried once per recipient; instant messages per story; digests with a cap."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.alerts.digest import send_digests
from crawler.alerts.outbox import (
    DIGEST,
    INSTANT,
    alert_statuses,
    claim,
    due_ids,
    mark_sent,
    plan_digest,
    plan_instant,
)
from crawler.alerts.sender import send_due
from crawler.alerts.transport import FileTransport
from crawler.models import OutboxAlertRow, OutboxRow
from tests.alerts_data import DIGEST_RULE, INSTANT_RULE, NOW, mail_config, recorder, store

LEASE = timedelta(minutes=10)


def _messages(folder: Path) -> list[email.message.EmailMessage]:
    result = []
    for path in sorted(folder.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        result.append(parsed)
    return result


def test_instant_alerts_are_planned_once_per_story_and_recipient(engine: Engine, tmp_path: Path) -> None:
    config = mail_config(tmp_path)
    rec = recorder()
    store(engine, rec, 1, [INSTANT_RULE])
    store(engine, rec, 2, [INSTANT_RULE, DIGEST_RULE])
    first = plan_instant(engine, config, NOW)
    again = plan_instant(engine, config, NOW)
    assert len(first) == 4  # 2 stories x 2 recipients
    assert again == []
    report = send_due(engine, config, FileTransport(config.outbox_dir), kind=INSTANT, clock=lambda: NOW)
    assert len(report.sent) == 4
    messages = _messages(config.outbox_dir)
    assert sorted(str(m["To"]) for m in messages) == ["alice@example.com"] * 2 + ["bob@example.com"] * 2
    assert len({str(m["Message-ID"]) for m in messages}) == 4
    for message in messages:
        assert str(message["Subject"]).startswith("[Newswatch] 1 new story for fast-rule: Story ")
        assert message.get_content_type() == "multipart/alternative"
        assert message["Date"] and message["List-Unsubscribe"]
    # Nothing is sent twice.
    assert send_due(engine, config, FileTransport(config.outbox_dir), clock=lambda: NOW).attempted == 0


def test_digest_carries_everything_new_once_then_nothing(engine: Engine, tmp_path: Path) -> None:
    config = mail_config(tmp_path, default_recipients=("alice@example.com",))
    rec = recorder()
    for n in range(3):
        store(engine, rec, 10 + n, [DIGEST_RULE])
    report = send_digests(engine, config, FileTransport(config.outbox_dir), clock=lambda: NOW)
    assert [r for r, _ in report.made] == ["alice@example.com"]
    assert len(report.delivery.sent) == 1
    (digest,) = _messages(config.outbox_dir)
    assert str(digest["Subject"]) == "[Newswatch] Digest: 3 new stories for slow-rule"
    text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = digest.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert text.count("* Story 1") == 3
    assert "<mark" in html and "$5m" in html and "*robots*" in text
    # Nothing new: no digest at all.
    again = send_digests(engine, config, FileTransport(config.outbox_dir), clock=lambda: NOW)
    assert again.made == [] and again.nothing_new == ["alice@example.com"]
    # A new story goes in the next digest, alone.
    store(engine, rec, 20, [DIGEST_RULE])
    third = send_digests(engine, config, FileTransport(config.outbox_dir), clock=lambda: NOW)
    assert len(third.made) == 1
    with Session(engine) as session:
        carried = session.exec(select(OutboxAlertRow.outbox_id, OutboxAlertRow.alert_id)).all()
        assert len(carried) == 4 and len({a for _o, a in carried}) == 4


def test_digest_is_capped_with_and_n_more(engine: Engine, tmp_path: Path) -> None:
    config = mail_config(
        tmp_path, default_recipients=("alice@example.com",), digest_max_stories=2, base_url="https://nw.example"
    )
    rec = recorder()
    for n in range(5):
        store(engine, rec, 30 + n, [DIGEST_RULE])
    outbox_id = plan_digest(engine, config, "alice@example.com", NOW)
    assert outbox_id is not None
    with Session(engine) as session:
        row = session.get(OutboxRow, outbox_id)
        assert row is not None
        links = session.exec(select(OutboxAlertRow).where(OutboxAlertRow.outbox_id == outbox_id)).all()
    assert sorted(link.listed for link in links) == [False, False, False, True, True]
    raw = row.body.decode()
    assert "Subject: [Newswatch] Digest: 5 new stories for slow-rule" in raw
    parsed = email.message_from_bytes(row.body, policy=policy.default)
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "...and 3 more stories: https://nw.example/stories" in text
    assert plan_digest(engine, config, "alice@example.com", NOW) is None


def test_message_ids_are_stable_and_messages_resend_identically(engine: Engine, tmp_path: Path) -> None:
    config = mail_config(tmp_path, default_recipients=("alice@example.com",))
    store(engine, recorder(), 40, [INSTANT_RULE])
    (outbox_id,) = plan_instant(engine, config, NOW)
    with Session(engine) as session:
        row = session.get(OutboxRow, outbox_id)
        assert row is not None
        assert row.message_id.startswith("<nw.instant.") and row.message_id.endswith("@alerts.example>")
        body = row.body
    message = claim(engine, outbox_id, NOW, lease=LEASE)
    assert message is not None and message.body == body and message.attempts == 1
    # A second claimer loses while the lease runs.
    assert claim(engine, outbox_id, NOW, lease=LEASE) is None
    mark_sent(engine, outbox_id, NOW)
    with Session(engine) as session:
        assert due_ids(session, NOW, LEASE) == []


def test_suppressed_alerts_are_listed_but_never_sent(engine: Engine, tmp_path: Path) -> None:
    config = mail_config(tmp_path, default_recipients=("alice@example.com",))
    store(engine, recorder(first_crawl=True), 50, [INSTANT_RULE], published=NOW - timedelta(days=30))
    store(engine, recorder(first_crawl=True), 51, [DIGEST_RULE], published=NOW - timedelta(days=30))
    assert plan_instant(engine, config, NOW) == []
    assert plan_digest(engine, config, "alice@example.com", NOW) is None
    with Session(engine) as session:
        statuses = alert_statuses(session, config)
    assert [s.status for s in statuses] == ["suppressed", "suppressed"]
    assert all("backfill" in (s.error or "") for s in statuses)


def test_alert_statuses_show_pending_sent_and_recipients(engine: Engine, tmp_path: Path) -> None:
    config = mail_config(tmp_path)
    store(engine, recorder(), 60, [INSTANT_RULE])
    with Session(engine) as session:
        before = alert_statuses(session, config)
    assert sorted((s.recipient, s.status) for s in before) == [
        ("alice@example.com", "pending"),
        ("bob@example.com", "pending"),
    ]
    plan_instant(engine, config, NOW)
    send_due(engine, config, FileTransport(config.outbox_dir), clock=lambda: NOW)
    with Session(engine) as session:
        after = alert_statuses(session, config)
    assert {s.status for s in after} == {"sent"} and all(s.message_id for s in after)
    assert {s.mode for s in after} == {"instant"} and DIGEST not in {s.mode for s in after}
