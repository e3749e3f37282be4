"""SMTP delivery from ``NEWSWATCH_SMTP_URL``: plain, implicit TLS or STARTTLS, explicit timeouts, replies classified.

URL forms: ``smtp://user:pass@host:port`` (STARTTLS when the port is 587 or ``?starttls=true``),
``smtp+starttls://...``, ``smtps://...`` (TLS from the start, default port 465). ``?timeout=SECONDS``
overrides the timeout of every connect, command and data transfer: a server that stops answering (a
tarpit) ends the attempt after that long, and the error names the step it stalled at.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import Any
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


# The step after the message's final dot: a failure there may come after the server took the message.
AFTER_DATA = "end of data"


def _timed_out(exc: BaseException) -> bool:
    # smtplib turns a read timeout into SMTPServerDisconnected("... timed out"), the TimeoutError as context.
    return isinstance(exc, socket.timeout | TimeoutError) or isinstance(exc.__context__, socket.timeout | TimeoutError)


def _stalled(step: str, timeout: float | None) -> DeliveryError:
    limit = f" after {timeout:g} s" if timeout else ""
    if step == "connect":
        return DeliveryError(f"timed out{limit} connecting", permanent=False, connection=True)
    if step == "greeting":
        return DeliveryError(f"timed out{limit} waiting for the server's greeting", permanent=False, connection=True)
    if step == AFTER_DATA:
        return DeliveryError(
            f"timed out{limit} waiting for the reply to the message (the server may have accepted it: the retry "
            "sends the same Message-ID)",
            permanent=False,
            connection=True,
        )
    return DeliveryError(f"timed out{limit} waiting for the reply to {step}", permanent=False, connection=True)


def classify(exc: BaseException, step: str | None = None, timeout: float | None = None) -> DeliveryError:
    """The DeliveryError for an smtplib / socket exception: 5xx permanent, everything else transient.
    ``step`` (the command last sent, "connect", "greeting" or :data:`AFTER_DATA`) and ``timeout`` go in
    the message of a timeout."""
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
    if _timed_out(exc) and not isinstance(exc, smtplib.SMTPResponseException):
        return _stalled(step or "connect", timeout)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"connection lost: {exc}", permanent=False, connection=True)
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(f"TLS error: {exc}", permanent=False, connection=True)
    if isinstance(exc, OSError):
        return DeliveryError(f"cannot connect: {exc.strerror or exc}", permanent=False, connection=True)
    return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False, connection=True)


class _Progress:
    """How far an SMTP exchange got: "connect", "greeting", the command last sent, or :data:`AFTER_DATA`."""

    step = "connect"


class _TracedSMTP(smtplib.SMTP):
    """smtplib.SMTP noting each step in a :class:`_Progress` (set before the constructor connects)."""

    def __init__(self, progress: _Progress, *args: Any, **kwargs: Any) -> None:
        self.progress = progress
        super().__init__(*args, **kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        self.progress.step = "greeting"
        return sock

    def putcmd(self, cmd: str, args: str = "") -> None:
        self.progress.step = cmd.upper()
        super().putcmd(cmd, args)

    def getreply(self) -> tuple[int, bytes]:
        code, message = super().getreply()
        if self.progress.step == "DATA" and code == 354:
            self.progress.step = AFTER_DATA
        return code, message


class _TracedSMTPSSL(_TracedSMTP, smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL noting each step."""


class SmtpTransport:
    """Delivers over one SMTP connection, reopened after any failure that may have broken it."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self.description = config.describe()
        self._client: smtplib.SMTP | None = None
        self._progress = _Progress()

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        context = ssl.create_default_context()
        client: smtplib.SMTP
        self._progress.step = "connect"
        if cfg.tls:
            client = _TracedSMTPSSL(self._progress, cfg.host, cfg.port, timeout=cfg.timeout, context=context)
        else:
            client = _TracedSMTP(self._progress, cfg.host, cfg.port, timeout=cfg.timeout)
        try:
            client.ehlo()
            if cfg.starttls:
                client.starttls(context=context)
                client.ehlo()
            if cfg.username:
                client.login(cfg.username, cfg.password or "")
        except BaseException:
            step = self._progress.step  # where it failed, not the QUIT of closing
            _close_quietly(client)
            self._progress.step = step
            raise
        return client

    def deliver(self, message: OutboxRow, sender: str) -> str:
        """Send ``message`` to its one recipient; the server's acceptance as the receipt."""
        try:
            if self._client is None:
                self._client = self._connect()
            self._client.sendmail(sender, [message.recipient], message.body)
        except Exception as exc:
            error = classify(exc, self._progress.step, self.config.timeout)
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
