"""SMTP delivery from ``NEWSWATCH_SMTP_URL``: plain, implicit TLS or STARTTLS, explicit timeouts, replies classified.

URL forms: ``smtp://user:pass@host:port`` (STARTTLS when the port is 587 or ``?starttls=true``),
``smtp+starttls://...``, ``smtps://...`` (TLS from the start, default port 465). ``?timeout=SECONDS``
overrides the timeout of every connect, command and data transfer.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from crawler.alerts.transport import DeliveryError
from crawler.models import OutboxRow


class SmtpUrlError(ValueError):
    """NEWSWATCH_SMTP_URL cannot be used."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to reach the SMTP server."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False  # implicit TLS (smtps)
    starttls: bool = False
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str, timeout: float = 30.0) -> SmtpConfig:
        """Parse ``url`` (see the module docstring); SmtpUrlError when it is not usable."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise SmtpUrlError(f"bad SMTP URL: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
            raise SmtpUrlError("SMTP URL must look like smtp://user:pass@host:port, smtps://... or smtp+starttls://...")
        query = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
        tls = scheme == "smtps"
        default_port = 465 if tls else (587 if scheme == "smtp+starttls" else 25)
        port = port or default_port
        starttls = scheme == "smtp+starttls" or (
            not tls and (port == 587 or query.get("starttls") in ("1", "true", "yes"))
        )
        if "timeout" in query:
            try:
                timeout = float(query["timeout"])
            except ValueError:
                raise SmtpUrlError(f"bad timeout in SMTP URL: {query['timeout']!r}") from None
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            starttls=starttls,
            timeout=timeout,
        )

    def describe(self) -> str:
        """host:port and security, without the credentials."""
        mode = "TLS" if self.tls else ("STARTTLS" if self.starttls else "plain")
        return f"SMTP {self.host}:{self.port} ({mode})"


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}".strip()


def classify(exc: BaseException) -> DeliveryError:
    """The DeliveryError for an smtplib / socket exception: 5xx permanent, everything else transient."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(exc.recipients.values()), (450, b"recipient refused"))
        return DeliveryError(f"recipient refused: {_reply(code, message)}", permanent=500 <= code < 600)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # A configuration problem, not this message's: keep everything pending and say so.
        return DeliveryError(
            f"authentication failed: {_reply(exc.smtp_code, exc.smtp_error)}", permanent=False, connection=True
        )
    if isinstance(exc, smtplib.SMTPConnectError):
        return DeliveryError(
            f"cannot connect: {_reply(exc.smtp_code, exc.smtp_error)}", permanent=False, connection=True
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        stage = "sender refused" if isinstance(exc, smtplib.SMTPSenderRefused) else "refused"
        if isinstance(exc, smtplib.SMTPDataError):
            stage = "message refused"
        return DeliveryError(
            f"{stage}: {_reply(code, exc.smtp_error)}", permanent=500 <= code < 600, connection=code == 421
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"connection lost: {exc}", permanent=False, connection=True)
    if isinstance(exc, socket.timeout | TimeoutError):
        return DeliveryError("timed out", permanent=False, connection=True)
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(f"TLS error: {exc}", permanent=False, connection=True)
    if isinstance(exc, OSError):
        return DeliveryError(f"cannot connect: {exc.strerror or exc}", permanent=False, connection=True)
    return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False, connection=True)


class SmtpTransport:
    """Delivers over one SMTP connection, reopened after any failure that may have broken it."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self.description = config.describe()
        self._client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if cfg.tls:
            client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        try:
            client.ehlo()
            if cfg.starttls:
                client.starttls(context=context)
                client.ehlo()
            if cfg.username:
                client.login(cfg.username, cfg.password or "")
        except BaseException:
            _close_quietly(client)
            raise
        return client

    def deliver(self, message: OutboxRow, sender: str) -> str:
        """Send ``message`` to its one recipient; the server's acceptance as the receipt."""
        try:
            if self._client is None:
                self._client = self._connect()
            self._client.sendmail(sender, [message.recipient], message.body)
        except Exception as exc:
            error = classify(exc)
            if error.connection or not isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
                self.close()
            raise error from None
        return f"accepted by {self.config.host}:{self.config.port}"

    def close(self) -> None:
        if self._client is not None:
            _close_quietly(self._client)
            self._client = None


def _close_quietly(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except Exception:  # the connection may already be gone
        with contextlib.suppress(Exception):
            client.close()
