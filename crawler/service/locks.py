"""Per-site crawl locks, so two crawls of one site never overlap, even across processes and restarts; and
the scheduler lock, so one deployment runs one scheduler (one ``newswatch run``).

On PostgreSQL a session advisory lock (held by a dedicated connection, released when that connection
or its process ends); on SQLite an exclusive ``flock`` on ``<data_dir>/locks/<site>.lock`` (released by
the kernel when the process dies).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine


class LockBusy(Exception):
    """Another process holds the site's crawl lock."""


def _key(site_id: str) -> int:
    """A stable signed 64-bit advisory-lock key for the site."""
    digest = hashlib.sha256(f"newswatch.crawl.{site_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def site_lock(engine: Engine, data_dir: Path, site_id: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the crawl lock of ``site_id``; LockBusy when another holder keeps it for ``wait`` seconds."""
    deadline = time.monotonic() + wait
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            key = _key(site_id)
            while not connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                if time.monotonic() >= deadline:
                    raise LockBusy(site_id)
                time.sleep(0.2)
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()
        return
    folder = data_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{site_id}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(site_id) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


SCHEDULER = "_scheduler"  # the scheduler's lock name (not a valid site id, so it never clashes with one)


@contextlib.contextmanager
def scheduler_lock(engine: Engine, data_dir: Path) -> Iterator[None]:
    """Hold the deployment's scheduler lock for as long as the service runs; LockBusy if another has it."""
    with site_lock(engine, data_dir, SCHEDULER):
        yield
