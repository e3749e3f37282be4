"""How a stored message leaves: the transport protocol, its error type, and the .eml outbox folder."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

from crawler.models import OutboxRow


class DeliveryError(Exception):
    """A message was not delivered.

    ``permanent``: never retry (5xx); otherwise retry later. ``connection``: the failure concerns the
    server rather than this message (refused, timeout, dropped, 421), so the other messages wait too.
    """

    def __init__(self, reply: str, *, permanent: bool, connection: bool = False) -> None:
        super().__init__(reply)
        self.reply = reply
        self.permanent = permanent
        self.connection = connection


class Transport(Protocol):
    """Delivers stored messages; ``deliver`` returns a short receipt or raises :class:`DeliveryError`."""

    description: str

    def deliver(self, message: OutboxRow, sender: str) -> str: ...

    def close(self) -> None: ...


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FileTransport:
    """Writes each message as ``<outbox>/<created>-<kind>-<id>.eml`` (atomically; a resend overwrites it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = f"outbox folder {folder}"

    def path_for(self, message: OutboxRow) -> Path:
        """Where ``message`` is written."""
        stamp = message.created_at.strftime("%Y%m%d-%H%M%S")
        recipient = _UNSAFE.sub("_", message.recipient)[:60]
        return self.folder / f"{stamp}-{message.kind}-{message.id:06d}-{recipient}.eml"

    def deliver(self, message: OutboxRow, sender: str) -> str:
        path = self.path_for(message)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            with open(temporary, "wb") as handle:
                handle.write(message.body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except OSError as exc:
            raise DeliveryError(
                f"cannot write {path}: {exc.strerror or exc}", permanent=False, connection=True
            ) from None
        return str(path)

    def close(self) -> None:
        return None
