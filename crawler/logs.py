"""Logging set-up for the command line: our messages and Scrapy's through one handler on stderr."""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


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


def setup_logging(level: str = "INFO", scrapy_level: str = "WARNING", *, tracebacks: bool = False) -> None:
    """Send log records to stderr; Scrapy's own (chatty) loggers get ``scrapy_level``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT, "%H:%M:%S"))
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
