"""Start again from nothing: remove what Newswatch keeps in its data folder (SQLite database, outbox, HTTP cache)."""

from __future__ import annotations

import shutil
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


def reset_data(data_dir: Path, database_url: str) -> list[Path]:
    """Remove the SQLite database (with its WAL and journal files), the outbox and the HTTP cache of
    ``data_dir``; returns what was removed. Only a SQLite database inside ``data_dir`` is removed: any other
    database raises ResetError (its owner drops it, not a demo command)."""
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
