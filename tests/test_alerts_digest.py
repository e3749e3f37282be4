"""Digest schedules (crontab line in a time zone), due checks and previews."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.alerts.digest import DigestSchedule, ScheduleError, is_due, preview_digest, send_digests
from crawler.alerts.recorder import AlertSetup
from crawler.alerts.transport import FileTransport
from crawler.models import OutboxRow
from tests.alerts_data import DIGEST_RULE, mail_config, recorder, store


def test_daily_at_eight_in_tokyo() -> None:
    schedule = DigestSchedule("0 8 * * *", "Asia/Tokyo")
    # 22:59 UTC is 07:59 in Tokyo: the next digest is a minute later.
    assert schedule.next_after(datetime(2026, 11, 19, 22, 59, tzinfo=UTC)) == datetime(2026, 11, 19, 23, 0, tzinfo=UTC)
    assert schedule.next_after(datetime(2026, 11, 19, 23, 0, tzinfo=UTC)) == datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    assert schedule.due(datetime(2026, 11, 19, 12, 0, tzinfo=UTC), datetime(2026, 11, 19, 23, 0, tzinfo=UTC))
    assert not schedule.due(datetime(2026, 11, 19, 12, 0, tzinfo=UTC), datetime(2026, 11, 19, 22, 59, tzinfo=UTC))


def test_bad_schedules_are_reported() -> None:
    with pytest.raises(ScheduleError, match="time zone"):
        DigestSchedule("0 8 * * *", "Mars/Olympus").trigger()
    with pytest.raises(ScheduleError, match="bad digest schedule"):
        DigestSchedule("every morning", "UTC").trigger()


def test_digest_is_due_once_per_period(engine: Engine, tmp_path: Path) -> None:
    config = mail_config(tmp_path, default_recipients=("alice@example.com",), digest_cron="0 8 * * *")
    recipient = "alice@example.com"
    moment = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
    setup = AlertSetup(modes={DIGEST_RULE: "digest"}, clock=lambda: moment)
    assert not is_due(engine, config, recipient, moment)  # nothing waiting
    store(engine, recorder(setup=setup), 1, [DIGEST_RULE])  # alert created at 12:00
    assert not is_due(engine, config, recipient, moment + timedelta(minutes=1))
    next_morning = datetime(2026, 11, 20, 8, 1, tzinfo=UTC)
    assert is_due(engine, config, recipient, next_morning)
    transport = FileTransport(config.outbox_dir)
    report = send_digests(engine, config, transport, if_due=True, clock=lambda: next_morning)
    assert len(report.made) == 1
    moment = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    store(engine, recorder(setup=setup), 2, [DIGEST_RULE])
    later = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    report = send_digests(engine, config, transport, if_due=True, clock=lambda: later)
    assert report.not_due == [recipient] and report.made == []
    assert is_due(engine, config, recipient, datetime(2026, 11, 21, 8, 0, tzinfo=UTC))


def test_preview_stores_and_sends_nothing(engine: Engine, tmp_path: Path) -> None:
    config = mail_config(tmp_path, default_recipients=("alice@example.com",))
    assert preview_digest(engine, config, "alice@example.com", datetime.now(UTC)) is None
    store(engine, recorder(), 3, [DIGEST_RULE])
    composed = preview_digest(engine, config, "alice@example.com", datetime.now(UTC))
    assert composed is not None and "Story 3" in composed.text and "<mark" in composed.html
    with Session(engine) as session:
        assert session.exec(select(OutboxRow)).all() == []
    assert not config.outbox_dir.exists()
