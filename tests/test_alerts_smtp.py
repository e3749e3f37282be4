"""Delivery against a real SMTP server on 127.0.0.1 that refuses, stalls, answers 4xx / 5xx or hangs up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.alerts.mailconfig import MailConfig
from crawler.alerts.outbox import RetryPolicy, alert_statuses, plan_instant
from crawler.alerts.sender import SendReport, send_due
from crawler.alerts.smtp import SmtpConfig, SmtpTransport, SmtpUrlError
from crawler.models import OutboxRow
from tests.alerts_data import INSTANT_RULE, NOW, Clock, mail_config, recorder, store
from tests.smtp_server import Fault, SMTPServer

POLICY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(minutes=10), max_attempts=4)


def _setup(engine: Engine, tmp_path: Path, smtp: SMTPServer, stories: int = 2) -> tuple[MailConfig, Clock]:
    config = mail_config(tmp_path, smtp_url=smtp.url, send_lease=600.0)
    rec = recorder()
    for n in range(stories):
        store(engine, rec, 100 + n, [INSTANT_RULE])
    plan_instant(engine, config, NOW)
    return config, Clock()


def _send(engine: Engine, config: MailConfig, clock: Clock, timeout: float = 2.0) -> SendReport:
    transport = SmtpTransport(SmtpConfig.from_url(config.smtp_url or "", timeout=timeout))
    return send_due(engine, config, transport, clock=clock, policy=POLICY)


def _statuses(engine: Engine) -> dict[str, tuple[str, int, str | None]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxRow)).all()
        return {row.recipient + str(row.id): (row.status, row.attempts, row.last_error) for row in rows}


def _expected_ids(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return {row.message_id for row in session.exec(select(OutboxRow)).all()}


def test_every_message_is_delivered_once(engine: Engine, tmp_path: Path, smtp: SMTPServer) -> None:
    config, clock = _setup(engine, tmp_path, smtp)
    report = _send(engine, config, clock)
    assert len(report.sent) == 4 and not report.failed and not report.retrying
    counts = smtp.handler.counts()
    assert set(counts) == _expected_ids(engine) and set(counts.values()) == {1}
    for received in smtp.handler.received:
        assert received.recipients == [str(received.message["To"])]
        assert received.message["From"] == "Newswatch <newswatch@alerts.example>"
    assert _send(engine, config, clock).attempted == 0


def test_refused_connection_is_retried_with_backoff_and_nothing_is_lost(
    engine: Engine, tmp_path: Path, smtp: SMTPServer
) -> None:
    config, clock = _setup(engine, tmp_path, smtp)
    smtp.stop()
    report = _send(engine, config, clock)
    assert report.sent == [] and len(report.retrying) == 1 and report.deferred == 3
    assert "cannot connect" in report.retrying[0]
    clock.advance(timedelta(seconds=30))  # before the backoff: only the untried ones are due
    smtp.stop()
    second = _send(engine, config, clock)
    assert second.attempted == 1 and second.deferred == 2
    smtp.start()
    clock.advance(timedelta(minutes=5))
    third = _send(engine, config, clock)
    assert len(third.sent) == 4
    assert set(smtp.handler.counts()) == _expected_ids(engine)
    assert set(smtp.handler.counts().values()) == {1}


@pytest.mark.parametrize("command", ["MAIL", "RCPT", "DATA"])
def test_4xx_is_retried_later(engine: Engine, tmp_path: Path, smtp: SMTPServer, command: str) -> None:
    config, clock = _setup(engine, tmp_path, smtp, stories=1)
    smtp.fail(command, Fault(reply="451 4.3.0 Try again later"))
    report = _send(engine, config, clock)
    assert report.sent == [] and len(report.retrying) == 2
    assert all("451 4.3.0 Try again later" in line for line in report.retrying)
    assert {s for s, _a, _e in _statuses(engine).values()} == {"pending"}
    smtp.clear()
    assert _send(engine, config, clock).attempted == 0  # not due yet: backoff
    clock.advance(timedelta(minutes=2))
    assert len(_send(engine, config, clock).sent) == 2
    assert set(smtp.handler.counts()) == _expected_ids(engine)


@pytest.mark.parametrize("command", ["MAIL", "RCPT", "DATA"])
def test_5xx_fails_permanently_with_the_servers_reply(
    engine: Engine, tmp_path: Path, smtp: SMTPServer, command: str
) -> None:
    config, clock = _setup(engine, tmp_path, smtp, stories=1)
    smtp.fail(command, Fault(reply="554 5.7.1 Rejected by policy"))
    report = _send(engine, config, clock)
    assert len(report.failed) == 2 and report.sent == []
    statuses = _statuses(engine).values()
    assert all(status == "failed" and "554 5.7.1 Rejected by policy" in (error or "") for status, _a, error in statuses)
    smtp.clear()
    clock.advance(timedelta(hours=2))
    assert _send(engine, config, clock).attempted == 0  # never retried
    with Session(engine) as session:
        listed = alert_statuses(session, config)
    assert {s.status for s in listed} == {"failed"} and all("554" in (s.error or "") for s in listed)


def test_a_refused_recipient_is_recorded_and_the_others_still_get_theirs(
    engine: Engine, tmp_path: Path, smtp: SMTPServer
) -> None:
    config, clock = _setup(engine, tmp_path, smtp, stories=2)
    smtp.fail("RCPT", Fault(reply="550 5.1.1 No such user", only="bob@example.com"))
    report = _send(engine, config, clock)
    assert len(report.sent) == 2 and len(report.failed) == 2
    assert all("bob@example.com" in line and "550 5.1.1 No such user" in line for line in report.failed)
    assert {tuple(r.recipients) for r in smtp.handler.received} == {("alice@example.com",)}
    smtp.clear()
    clock.advance(timedelta(hours=2))
    assert _send(engine, config, clock).attempted == 0
    assert len(smtp.handler.received) == 2


@pytest.mark.parametrize("command", ["MAIL", "RCPT", "DATA"])
def test_dropped_connection_is_retried(engine: Engine, tmp_path: Path, smtp: SMTPServer, command: str) -> None:
    config, clock = _setup(engine, tmp_path, smtp, stories=1)
    smtp.fail(command, Fault(drop=True, times=1))
    report = _send(engine, config, clock)
    assert len(report.retrying) == 1 and report.deferred == 1
    clock.advance(timedelta(minutes=2))
    assert len(_send(engine, config, clock).sent) == 2
    counts = smtp.handler.counts()
    assert set(counts) == _expected_ids(engine) and set(counts.values()) == {1}


def test_stalled_server_times_out_and_is_retried(engine: Engine, tmp_path: Path, smtp: SMTPServer) -> None:
    config, clock = _setup(engine, tmp_path, smtp, stories=1)
    smtp.fail("RCPT", Fault(stall=3.0, times=1))
    report = _send(engine, config, clock, timeout=0.5)
    assert len(report.retrying) == 1 and "timed out" in report.retrying[0]
    clock.advance(timedelta(minutes=2))
    assert len(_send(engine, config, clock).sent) == 2
    assert set(smtp.handler.counts()) == _expected_ids(engine)


def test_transient_failures_give_up_after_the_attempt_limit(engine: Engine, tmp_path: Path, smtp: SMTPServer) -> None:
    config, clock = _setup(engine, tmp_path, smtp, stories=1)
    smtp.fail("MAIL", Fault(reply="452 4.3.1 Insufficient storage"))
    for _ in range(POLICY.max_attempts):
        _send(engine, config, clock)
        clock.advance(POLICY.cap)
    statuses = list(_statuses(engine).values())
    assert all(status == "failed" and attempts == POLICY.max_attempts for status, attempts, _e in statuses)
    assert all("gave up after 4 attempts: sender refused: 452 4.3.1" in (error or "") for _s, _a, error in statuses)


def test_smtp_urls() -> None:
    plain = SmtpConfig.from_url("smtp://mailpit:1025")
    assert (plain.host, plain.port, plain.tls, plain.starttls, plain.username) == ("mailpit", 1025, False, False, None)
    submission = SmtpConfig.from_url("smtp://me%40x.example:p%3Ass@mail.example:587")
    assert submission.starttls and submission.username == "me@x.example" and submission.password == "p:ss"
    implicit = SmtpConfig.from_url("smtps://u:p@mail.example")
    assert implicit.tls and implicit.port == 465 and not implicit.starttls
    explicit = SmtpConfig.from_url("smtp+starttls://mail.example?timeout=5")
    assert explicit.starttls and explicit.port == 587 and explicit.timeout == 5.0
    assert "p:ss" not in submission.describe()
    for bad in ("http://mail.example", "smtp://", "smtp://host:notaport", "smtp://h?timeout=x"):
        with pytest.raises(SmtpUrlError):
            SmtpConfig.from_url(bad)
