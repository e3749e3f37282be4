"""Logging set-up for the command line: our messages and Scrapy's through one handler on stderr."""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: str = "INFO", scrapy_level: str = "WARNING") -> None:
    """Send log records to stderr; Scrapy's own (chatty) loggers get ``scrapy_level``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT, "%H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("scrapy", "twisted", "py.warnings", "protego", "filelock"):
        logging.getLogger(name).setLevel(scrapy_level.upper())
    for name in ("trafilatura", "htmldate", "courlan", "charset_normalizer", "readability"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)
