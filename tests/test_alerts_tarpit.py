"""SMTP tarpits: a server that never greets, one that stalls after EHLO, one that stalls after DATA.

Each attempt ends within the timeout of NEWSWATCH_SMTP_URL (``?timeout=``) plus a margin, the message
stays pending with the error and a backoff, and the next send job delivers once the server behaves. A
stall after the message's final dot may leave the server holding it: the retry then sends it again,
with the same Message-ID and the same bytes, and no alert is lost.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.alerts.mailconfig import MailConfig
from crawler.alerts.outbox import RetryPolicy, alert_statuses, plan_instant
from crawler.alerts.sender import SendReport, make_transport, send_due
from crawler.models import OutboxRow
from tests.alerts_data import INSTANT_RULE, NOW, Clock, mail_config, recorder, store
from tests.smtp_server import Fault, SMTPServer, Tarpit

TIMEOUT = 1.0
BOUND = TIMEOUT + 5  # generous: an attempt must end within the timeout plus 2 s
POLICY = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(minutes=10), max_attempts=4)


def _config(engine: Engine, tmp_path: Path, url: str) -> MailConfig:
    """Two messages (one story, alice and bob) planned for the server at ``url``."""
    config = mail_config(tmp_path, smtp_url=f"{url}?timeout={TIMEOUT:g}", send_lease=600.0)
    store(engine, recorder(), 100, [INSTANT_RULE])
    assert len(plan_instant(engine, config, NOW)) == 2
    return config


def _timed_send(engine: Engine, config: MailConfig, clock: Clock) -> tuple[SendReport, float]:
    started = time.monotonic()
    report = send_due(engine, config, make_transport(config), clock=clock, policy=POLICY)
    return report, time.monotonic() - started


def _rows(engine: Engine) -> list[OutboxRow]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxRow).order_by(OutboxRow.id)).all())  # type: ignore[arg-type]


def _assert_first_waits(engine: Engine, error: str) -> None:
    """The message tried is pending with the error and the first backoff; the other was not tried."""
    tried, untried = _rows(engine)
    assert (tried.status, tried.attempts) == ("pending", 1)
    assert error in (tried.last_error or "")
    assert tried.next_attempt_at == NOW + POLICY.delay(1)
    assert (untried.status, untried.attempts, untried.last_error) == ("pending", 0, None)


def _assert_all_sent(engine: Engine, config: MailConfig) -> None:
    assert {row.status for row in _rows(engine)} == {"sent"}
    with Session(engine) as session:
        assert {status.status for status in alert_statuses(session, config)} == {"sent"}


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("greeting", "error"),
    [
        (b"", "timed out after 1 s waiting for the server's greeting"),
        (b"220 tarpit.example ESMTP\r\n", "timed out after 1 s waiting for the reply to EHLO"),
    ],
    ids=["no-greeting", "stall-after-ehlo"],
)
def test_a_tarpit_ends_the_attempt_in_time_and_the_next_send_delivers(
    engine: Engine, tmp_path: Path, greeting: bytes, error: str
) -> None:
    tarpit = Tarpit(greeting)
    try:
        config = _config(engine, tmp_path, tarpit.url)
        clock = Clock()
        report, elapsed = _timed_send(engine, config, clock)
        assert tarpit.connections == 1
    finally:
        tarpit.stop()
    print(f"\ntarpit {greeting!r}: attempt ended after {elapsed:.2f} s (timeout {TIMEOUT:g} s)")
    assert elapsed <= BOUND, f"attempt took {elapsed:.1f} s"
    assert report.sent == [] and len(report.retrying) == 1 and report.deferred == 1
    assert error in report.retrying[0]
    _assert_first_waits(engine, error)

    # The server behaves again on the same port: the next send job (after the backoff) delivers both.
    server = SMTPServer(port=tarpit.port)
    server.start()
    try:
        clock.now = NOW + POLICY.delay(1)
        report, _elapsed = _timed_send(engine, config, clock)
        assert len(report.sent) == 2 and not report.retrying
        counts = server.handler.counts()
    finally:
        server.stop()
    assert set(counts) == {row.message_id for row in _rows(engine)} and set(counts.values()) == {1}
    _assert_all_sent(engine, config)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kept", [True, False], ids=["server-kept-it", "server-lost-it"])
def test_a_stall_after_data_loses_nothing_and_a_duplicate_has_the_same_message_id(
    engine: Engine, tmp_path: Path, smtp: SMTPServer, kept: bool
) -> None:
    config = _config(engine, tmp_path, smtp.url)
    # The handler stalls in handle_DATA before replying, long after the client's timeout; it either has
    # queued the message already, or ends with a 4xx nobody reads (the message is not kept).
    smtp.fail("DATA", Fault(stall=TIMEOUT + 3, times=1, keep=kept, reply=None if kept else "451 4.3.0 too late"))
    clock = Clock()
    report, elapsed = _timed_send(engine, config, clock)
    print(f"\nstall after DATA (kept={kept}): attempt ended after {elapsed:.2f} s (timeout {TIMEOUT:g} s)")
    assert elapsed <= BOUND, f"attempt took {elapsed:.1f} s"
    assert report.sent == [] and len(report.retrying) == 1 and report.deferred == 1
    error = "timed out after 1 s waiting for the reply to the message (the server may have accepted it"
    assert error in report.retrying[0]
    _assert_first_waits(engine, error)
    stalled = _rows(engine)[0]

    clock.now = NOW + POLICY.delay(1)
    report, _elapsed = _timed_send(engine, config, clock)
    assert len(report.sent) == 2 and not report.retrying
    _assert_all_sent(engine, config)

    counts = smtp.handler.counts()
    assert set(counts) == {row.message_id for row in _rows(engine)}  # nothing the outbox does not know
    others = [count for message_id, count in counts.items() if message_id != stalled.message_id]
    assert others == [1]
    # Kept: the server got the stalled message twice, both copies the same message with one Message-ID.
    assert counts[stalled.message_id] == (2 if kept else 1)
    copies = [r.raw for r in smtp.handler.received if r.message_id == stalled.message_id]
    assert all(raw.replace(b"\r\n", b"\n") == stalled.body.replace(b"\r\n", b"\n") for raw in copies)
