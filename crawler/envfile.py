"""Read the NEWSWATCH_* settings of a `.env` file into the environment, as `docker compose` reads its `.env`.

The file is the working directory's `.env` unless NEWSWATCH_ENV_FILE names another one (empty: none). Only
``NEWSWATCH_*`` keys are taken, and a variable already set in the environment wins over the file, so an
``export`` on the command line always has the last word. python-dotenv parses the file (quotes, ``export``,
comments and ``${VAR}`` expansion as compose does); this module remembers which variable came from which
line, so that a bad value can be reported where it was written.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

ENV_FILE_VARIABLE = "NEWSWATCH_ENV_FILE"
PREFIX = "NEWSWATCH_"


class EnvFileError(Exception):
    """The `.env` file exists but cannot be read; the message names it."""


@dataclass(frozen=True)
class Origin:
    """Where a variable's value was written."""

    path: Path
    line: int | None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


# The variables the last load_env_file() set, and where they were written.
_loaded: dict[str, Origin] = {}


def env_file_path(environ: MutableMapping[str, str] | None = None) -> Path | None:
    """The file to read: NEWSWATCH_ENV_FILE if set (empty: none), else ./.env."""
    environ = os.environ if environ is None else environ
    named = environ.get(ENV_FILE_VARIABLE)
    if named is None:
        return Path(".env")
    return Path(named) if named.strip() else None


def _line_of(lines: list[str], key: str) -> int | None:
    """The line of the last assignment of ``key`` (the one python-dotenv keeps)."""
    pattern = re.compile(rf"^\s*(?:export\s+)?{re.escape(key)}\s*=")
    found = [number for number, line in enumerate(lines, start=1) if pattern.match(line)]
    return found[-1] if found else None


def load_env_file(environ: MutableMapping[str, str] | None = None) -> dict[str, Origin]:
    """Set the file's NEWSWATCH_* variables that ``environ`` (default: os.environ) does not have yet; returns
    the ones set, with where each was written. A missing file sets nothing; an unreadable one raises
    EnvFileError."""
    from dotenv import dotenv_values

    environ = os.environ if environ is None else environ
    path = env_file_path(environ)
    _loaded.clear()
    if path is None or not path.exists():
        if path is not None and environ.get(ENV_FILE_VARIABLE):
            raise EnvFileError(f"{path}: file not found (named by {ENV_FILE_VARIABLE})")
        return {}
    if not path.is_file():
        raise EnvFileError(f"{path}: not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise EnvFileError(f"{path}: cannot read: {reason}") from None
    lines = text.splitlines()
    present = {name.upper() for name in environ}
    for key, value in dotenv_values(path, encoding="utf-8").items():
        # Upper-case names only, compared without case with the environment's (the settings are read without
        # case): a "newswatch_data_dir" line can never win over an exported NEWSWATCH_DATA_DIR.
        if not key.startswith(PREFIX) or key == ENV_FILE_VARIABLE or value is None:
            continue
        if key in present:  # the environment wins, as with compose
            continue
        environ[key] = value
        _loaded[key] = Origin(path, _line_of(lines, key))
    if _loaded:
        logger.debug("settings read from %s: %s", path, ", ".join(sorted(_loaded)))
    return dict(_loaded)


def loaded() -> dict[str, Origin]:
    """The variables the last load_env_file() set, with where each was written."""
    return dict(_loaded)


def origin_of(variable: str) -> Origin | None:
    """Where ``variable`` was set, when it came from the `.env` file."""
    return _loaded.get(variable)
