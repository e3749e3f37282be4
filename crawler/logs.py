"""Logging set-up: our log records and Scrapy's go to stderr through one handler, as text or as JSON lines.

``text`` is for people: ``12:00:01 INFO    crawler.crawl: crawl finished site=techcrunch pages=3``.
``json`` is for log collectors: one object per line with ``time`` (ISO 8601, UTC, milliseconds),
``level``, ``logger``, ``message`` and every ``extra=`` field of the call as a top-level key.
``auto`` picks text when stderr is a terminal and JSON otherwise (a service under systemd or Docker).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

FORMATS = ("auto", "json", "text")

_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# The attributes every LogRecord has, and those formatters add: anything else came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
# uvicorn repeats each message with ANSI colours in this extra; it says nothing new.
_DROPPED = frozenset({"color_message"})


def log_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra=`` fields of a log record, in the order given (not the standard LogRecord attributes).

    Scrapy passes its Spider object as ``spider``; it is given by its name.
    """
    fields: dict[str, Any] = {}
    for key, value in vars(record).items():
        if key in _STANDARD or key in _DROPPED or key.startswith("_"):
            continue
        if key == "spider" and isinstance(getattr(value, "name", None), str):
            value = value.name
        fields[key] = value
    return fields


def _text_value(value: Any) -> str:
    """A field value for a text line: bare when it is one word, JSON-quoted when it has spaces, quotes or '='."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    text = str(value)
    if not text or any(char.isspace() or char in "\"'=" for char in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message key=value ...`` (the traceback, if any, on the lines after)."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT, "%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = log_fields(record)
        if fields:
            line += " " + " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
        return line


def _iso_utc(record: logging.LogRecord) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{stamp}.{int(record.msecs):03d}Z"


class JsonLinesFormatter(JsonFormatter):
    """One JSON object per record: time, level, logger, message, the ``extra=`` fields, and ``exc_info``
    (the traceback) when the record still carries an exception. The four standard keys win over extras."""

    def __init__(self) -> None:
        super().__init__(json_ensure_ascii=False)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data["time"] = _iso_utc(record)
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        for key, value in log_fields(record).items():
            log_data.setdefault(key, value)
        # exc_info / stack_info (or the keys of a dict logged as the message)
        for key, value in message_dict.items():
            log_data.setdefault(key, value)


class OneLineErrors(logging.Filter):
    """Replace tracebacks by the exception's one-line summary (the user sees no traceback unless verbose)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def resolve_format(fmt: str, stream: TextIO | None = None) -> str:
    """``"json"`` or ``"text"``: ``fmt`` itself, or for ``"auto"`` text when ``stream`` (stderr) is a terminal."""
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r} (use {', '.join(FORMATS)})")
    if fmt == "auto":
        return "text" if _is_terminal(sys.stderr if stream is None else stream) else "json"
    return fmt


def setup_logging(
    level: str = "INFO", scrapy_level: str = "WARNING", *, tracebacks: bool = False, fmt: str = "auto"
) -> None:
    """Send log records to stderr as ``fmt`` ("auto", "json" or "text"); Scrapy's own (chatty) loggers get
    ``scrapy_level``. Without ``tracebacks`` an exception is summed up on the message's line."""
    stream = sys.stderr
    formatter: logging.Formatter = JsonLinesFormatter() if resolve_format(fmt, stream) == "json" else TextFormatter()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    if not tracebacks:
        handler.addFilter(OneLineErrors())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("scrapy", "twisted", "py.warnings", "protego", "filelock"):
        logging.getLogger(name).setLevel(scrapy_level.upper())
    if not tracebacks:
        # The spider reports every failed fetch itself, once, with the URL; these would repeat it.
        for name in ("scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.robotstxt"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    for name in ("trafilatura", "htmldate", "courlan", "charset_normalizer", "readability"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)
