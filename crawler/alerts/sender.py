"""The send loop: claim each due message, hand it to the transport, record sent / retry / failed.

Each step is its own transaction (claim, then the outcome), so a crash leaves a message either pending,
claimed ("sending", retried once its lease is over) or finished. Crash points for the kill tests are
marked with :func:`crawler.alerts.crashpoints.checkpoint`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.alerts.crashpoints import checkpoint
from crawler.alerts.mailconfig import MailConfig
from crawler.alerts.outbox import EMAIL, RetryPolicy, claim, due_ids, mark_failed, mark_retry, mark_sent
from crawler.alerts.smtp import SmtpConfig, SmtpTransport
from crawler.alerts.transport import DeliveryError, FileTransport, Transport
from crawler.models import utcnow

logger = logging.getLogger(__name__)


def make_transport(config: MailConfig) -> Transport:
    """SMTP when NEWSWATCH_SMTP_URL is set, else the ``.eml`` outbox folder."""
    if config.smtp_url:
        return SmtpTransport(SmtpConfig.from_url(config.smtp_url, timeout=config.smtp_timeout))
    return FileTransport(config.outbox_dir)


@dataclass
class SendReport:
    """What one run of the sender did."""

    sent: list[str] = field(default_factory=list)  # receipts (file paths or server acceptances)
    retrying: list[str] = field(default_factory=list)  # "message-id: reason"
    failed: list[str] = field(default_factory=list)
    deferred: int = 0  # due messages left for the next run because the server was unreachable

    @property
    def attempted(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.failed)


def send_due(
    engine: Engine,
    config: MailConfig,
    transport: Transport,
    *,
    kind: str | None = None,
    channel: str = EMAIL,
    clock: Callable[[], datetime] = utcnow,
    policy: RetryPolicy | None = None,
) -> SendReport:
    """Deliver every due message of ``channel`` (of ``kind``, or all) once. Stops early, leaving the rest
    due, when the server itself is unreachable. Never raises for delivery problems."""
    policy = policy or RetryPolicy()
    lease = timedelta(seconds=config.send_lease)
    report = SendReport()
    with Session(engine) as session:
        ids = due_ids(session, clock(), lease, kind, channel)
    try:
        for position, outbox_id in enumerate(ids):
            message = claim(engine, outbox_id, clock(), lease)
            if message is None:  # another sender has it, or it is no longer due
                continue
            checkpoint("claimed")
            try:
                receipt = transport.deliver(message, config.mail_from)
            except DeliveryError as exc:
                label = f"{message.message_id} to {message.recipient}: {exc.reply}"
                if exc.permanent or message.attempts >= policy.max_attempts:
                    reason = exc.reply if exc.permanent else f"gave up after {message.attempts} attempts: {exc.reply}"
                    mark_failed(engine, outbox_id, reason)
                    report.failed.append(label)
                    logger.error("message failed: %s", label)
                else:
                    mark_retry(engine, outbox_id, clock(), policy.delay(message.attempts), exc.reply)
                    report.retrying.append(label)
                    logger.warning("message will be retried: %s", label)
                    if exc.connection:
                        report.deferred = len(ids) - position - 1
                        break
                continue
            checkpoint("accepted")  # the server said 250; a crash here is the one duplicate window
            mark_sent(engine, outbox_id, clock())
            checkpoint("sent")
            report.sent.append(receipt)
    finally:
        transport.close()
    return report
