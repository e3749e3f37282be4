"""Log output as a real process writes it: JSON lines with the extra fields, readable text, auto choice, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import logging, sys
from crawler.logs import setup_logging

setup_logging("INFO", fmt=sys.argv[1], tracebacks=sys.argv[2] == "tracebacks")
log = logging.getLogger("newswatch.test")
log.info("crawl finished", extra={"site": "x", "pages": 3, "note": "two words"})
log.info("plain %s", "message")
log.debug("not shown")
try:
    raise ZeroDivisionError("division by zero")
except ZeroDivisionError:
    log.exception("crawl of %s failed", "x", extra={"site": "x"})
"""


def _run(fmt: str, tracebacks: bool = False, **kwargs: Any) -> str:
    """The stderr of a process that sets up logging as ``fmt`` and logs a few records."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, fmt, "tracebacks" if tracebacks else "one-line"],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=True,
        **kwargs,
    )
    assert result.stdout == ""
    return str(result.stderr)


def _json_lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines()]


def test_json_lines_carry_time_level_logger_message_and_extra_fields() -> None:
    before = datetime.now(UTC)
    records = _json_lines(_run("json"))
    assert len(records) == 3  # the debug record is below the level
    first = records[0]
    assert list(first)[:4] == ["time", "level", "logger", "message"]
    assert first["level"] == "INFO"
    assert first["logger"] == "newswatch.test"
    assert first["message"] == "crawl finished"
    assert first["site"] == "x"
    assert first["pages"] == 3
    assert first["note"] == "two words"
    assert first["time"].endswith("Z")
    assert len(first["time"].split(".")[1]) == len("123Z")  # milliseconds
    stamp = datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=5) <= stamp <= datetime.now(UTC) + timedelta(seconds=5)
    # Standard LogRecord attributes do not leak in as fields.
    assert set(records[1]) == {"time", "level", "logger", "message"}
    assert records[1]["message"] == "plain message"


def test_json_exception_is_one_line_without_traceback() -> None:
    stderr = _run("json")
    error = _json_lines(stderr)[-1]
    assert error["level"] == "ERROR"
    assert error["message"] == "crawl of x failed (ZeroDivisionError: division by zero)"
    assert error["site"] == "x"
    assert "exc_info" not in error
    assert "Traceback" not in stderr


def test_json_exception_with_tracebacks_has_exc_info_field() -> None:
    records = _json_lines(_run("json", tracebacks=True))  # still one JSON object per line
    error = records[-1]
    assert error["message"] == "crawl of x failed"
    assert error["exc_info"].startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in error["exc_info"]


def test_text_lines_are_readable_with_the_extra_fields_appended() -> None:
    stderr = _run("text")
    lines = stderr.splitlines()
    assert len(lines) == 3
    assert "INFO" in lines[0] and "newswatch.test: crawl finished" in lines[0]
    assert lines[0].endswith(' site=x pages=3 note="two words"')
    assert lines[1].endswith("newswatch.test: plain message")  # no fields, nothing appended
    assert lines[2].endswith("crawl of x failed (ZeroDivisionError: division by zero) site=x")
    assert not stderr.lstrip().startswith("{")


def test_text_exception_with_tracebacks_shows_the_traceback_after_the_line() -> None:
    lines = _run("text", tracebacks=True).splitlines()
    error = next(i for i, line in enumerate(lines) if "crawl of x failed" in line)
    assert lines[error].endswith("crawl of x failed site=x")
    assert lines[error + 1] == "Traceback (most recent call last):"
    assert lines[-1] == "ZeroDivisionError: division by zero"


def test_auto_writes_json_when_stderr_is_a_pipe() -> None:
    records = _json_lines(_run("auto"))
    assert records[0]["message"] == "crawl finished"
    assert records[0]["site"] == "x"


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_auto_writes_text_on_a_terminal() -> None:
    leader, follower = os.openpty()
    try:
        try:
            subprocess.run(
                [sys.executable, "-c", SCRIPT, "auto", "one-line"], cwd=REPO, stderr=follower, check=True, timeout=60
            )
        finally:
            os.close(follower)
        output = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal is closed and drained
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(leader)
    text = output.decode()
    assert "newswatch.test: crawl finished site=x pages=3" in text
    assert '"message"' not in text


def test_unknown_format_is_refused() -> None:
    from crawler.logs import setup_logging

    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        setup_logging(fmt="xml")
