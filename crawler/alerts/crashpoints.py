"""Crash points for the kill tests: ``NEWSWATCH_CRASH_AT=name[:n]`` SIGKILLs the process at the n-th pass.

The sender calls :func:`checkpoint` at its named points ("claimed", "accepted", "sent",
"digest-assembly", "digest-stored"), a crawl process at "crawl-<site id>" once its site is locked;
without the variable it does nothing.
"""

from __future__ import annotations

import os
import signal

ENV = "NEWSWATCH_CRASH_AT"
_passes: dict[str, int] = {}


def checkpoint(name: str) -> None:
    """Kill this process with SIGKILL if ``NEWSWATCH_CRASH_AT`` names this point and pass."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= (int(count) if count.isdigit() else 1):
        os.kill(os.getpid(), signal.SIGKILL)
