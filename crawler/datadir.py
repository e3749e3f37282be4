"""Start again from nothing: remove what Newswatch keeps in its data folder (SQLite database, outbox, HTTP cache)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ResetError(Exception):
    """The data cannot be reset safely; the message says why and what to do instead."""


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database URL; None for other databases (and in-memory SQLite)."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def other_sites(database: Path, own_site: str) -> list[str]:
    """The sites other than ``own_site`` whose articles the SQLite file holds (read only; none without a file)."""
    if not database.is_file():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as db:
            rows = db.execute("SELECT DISTINCT site_id FROM article WHERE site_id != ?", (own_site,)).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise ResetError(f"cannot read {database}: {exc}") from None
    return sorted(str(row[0]) for row in rows)


def busy_locks(data_dir: Path) -> list[str]:
    """The locks of ``data_dir/locks`` a running process holds (a `newswatch run`, or a crawl of that site)."""
    busy = []
    for path in sorted((data_dir / "locks").glob("*.lock")):
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
        except BlockingIOError:
            busy.append(path.stem)
        finally:
            os.close(fd)
    return busy


def reset_data(data_dir: Path, database_url: str, own_site: str) -> list[Path]:
    """Remove the SQLite database (with its WAL and journal files), the outbox and the HTTP cache of
    ``data_dir``; returns what was removed. Refused (ResetError) unless the database is a SQLite file inside
    ``data_dir`` holding no site's articles but ``own_site``'s, and no process holds its locks: a reset never
    takes the user's own sites, nor a database in use, with it."""
    database = sqlite_file(database_url)
    root = data_dir.resolve()
    if database is None:
        raise ResetError(
            "--reset removes the demo's SQLite database, but NEWSWATCH_DATABASE_URL names another database: "
            "empty or drop that one yourself, or unset NEWSWATCH_DATABASE_URL"
        )
    if not database.resolve().is_relative_to(root):
        raise ResetError(
            f"--reset removes only what lies in the data folder ({data_dir}); the database {database} is elsewhere"
        )
    others = other_sites(database, own_site)
    if others:
        raise ResetError(
            f"--reset would delete the articles of {', '.join(others)} too: {database} holds more than the demo's. "
            f"Remove the file yourself if you mean it, or set NEWSWATCH_DATA_DIR to another folder for the demo"
        )
    busy = busy_locks(data_dir)
    if busy:
        who = "a `newswatch run`" if "_scheduler" in busy else f"a crawl of {', '.join(busy)}"
        raise ResetError(f"{who} is using {data_dir}: stop it first")
    removed: list[Path] = []
    for path in (database, *(database.with_name(database.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        if path.exists():
            path.unlink()
            removed.append(path)
    for folder in (data_dir / "outbox", data_dir / "httpcache"):
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(folder)
    return removed
