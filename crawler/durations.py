"""Parse human durations such as "500ms", "30m", "2h", "7d" or "1h30m"."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Parse "500ms", "90s", "30m", "2h", "7d", "1w" or combinations like "1h30m"; raise ValueError otherwise."""
    cleaned = text.strip().lower()
    if not cleaned:
        raise ValueError("empty duration")
    pos = 0
    seconds = 0.0
    for found in _PART.finditer(cleaned):
        if found.start() != pos and cleaned[pos : found.start()].strip():
            break
        seconds += float(found.group(1)) * _UNITS[found.group(2)]
        pos = found.end()
    if pos != len(cleaned) or pos == 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 30m, 2h, 7d, 1h30m)")
    return timedelta(seconds=seconds)
