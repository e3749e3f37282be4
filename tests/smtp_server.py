"""A real SMTP server on 127.0.0.1 (aiosmtpd) that can be told to refuse, stall, answer 4xx/5xx or hang up,
and a TCP tarpit that accepts connections and then never answers (or answers only the greeting)."""

from __future__ import annotations

import asyncio
import contextlib
import email
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.local_site import free_port


@dataclass
class Fault:
    """What to do at a command: ``reply`` (e.g. "451 4.3.0 try later"), ``stall`` seconds, ``drop`` the
    connection; ``times`` how often (None: until cleared); ``only`` restricts RCPT faults to one address;
    ``keep`` (DATA only): the server keeps the message before the fault (it is queued, the reply is late)."""

    reply: str | None = None
    stall: float = 0.0
    drop: bool = False
    times: int | None = None
    only: str | None = None
    keep: bool = False


@dataclass
class Received:
    """A message the server accepted."""

    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class ScriptedHandler:
    """aiosmtpd handler: accepts everything unless a :class:`Fault` is set for MAIL, RCPT or DATA."""

    faults: dict[str, Fault] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def _fault(self, command: str, server: SMTP, address: str | None = None) -> str | None:
        fault = self.faults.get(command)
        if fault is None or (fault.only and address and fault.only.lower() != address.lower()):
            return None
        if fault.times is not None:
            if fault.times <= 0:
                return None
            fault.times -= 1
        if fault.stall:
            await asyncio.sleep(fault.stall)
        if fault.drop:
            assert server.transport is not None
            server.transport.close()
            return "421 4.4.2 connection dropped"
        return fault.reply

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = await self._fault("MAIL", server)
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = await self._fault("RCPT", server, address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self.faults.get("DATA")
        keep = fault is not None and fault.keep and fault.times != 0
        if keep:
            self._keep(envelope)
        reply = await self._fault("DATA", server)
        if reply:
            return reply
        if not keep:
            self._keep(envelope)
        return "250 2.0.0 queued"

    def _keep(self, envelope: Envelope) -> None:
        content = envelope.original_content or b""
        with self.lock:
            self.received.append(Received([str(r) for r in envelope.rcpt_tos], bytes(content)))

    def counts(self) -> Counter[str]:
        """How often each Message-ID arrived."""
        with self.lock:
            return Counter(r.message_id for r in self.received)


class SMTPServer:
    """The scripted server on 127.0.0.1:<port>; ``stop()`` makes the port refuse, ``start()`` brings it back."""

    def __init__(self, port: int | None = None) -> None:
        self.handler = ScriptedHandler()
        self.port = port or free_port()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port, "ready_timeout": 10}
        self._controller = Controller(self.handler, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def fail(self, command: str, fault: Fault) -> None:
        self.handler.faults[command] = fault

    def clear(self) -> None:
        self.handler.faults.clear()


class Tarpit:
    """A TCP server on 127.0.0.1 that accepts connections and never answers; with ``greeting`` it sends
    that first (e.g. an SMTP banner) and then never answers again. It reads and drops what it is sent."""

    def __init__(self, greeting: bytes = b"", port: int | None = None) -> None:
        self.greeting = greeting
        self.port = port or free_port()
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, name="tarpit", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if self.greeting:
                conn.sendall(self.greeting)
            conn.settimeout(0.2)
            while not self._stop.is_set():
                try:
                    if not conn.recv(65536):
                        return
                except TimeoutError:
                    continue

    def stop(self) -> None:
        """Close the listener and every held connection (the port is free again)."""
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)
        for conn in self._held:
            with contextlib.suppress(OSError):
                conn.close()
