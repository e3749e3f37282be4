"""Run one site's crawl in a child process, with a time limit, and make sure its run is recorded.

Why a process per crawl: a crawl can hang in C code (an lxml parse, a stuck socket) or leak memory,
and neither can be interrupted inside a process; a child can always be stopped, and when it dies the
service and the other sites' crawls go on. The price is about a second of start-up per crawl.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from crawler.config import SiteConfig
from crawler.crawl import SiteRun, log_run
from crawler.models import CrawlRunRow
from crawler.store import finish_run, start_run

logger = logging.getLogger(__name__)

KILL_GRACE = 10.0  # seconds between SIGTERM and SIGKILL


@dataclass
class CrawlLimits:
    """How long a crawl may take: ``timeout`` (then it is closed gracefully), plus ``grace`` before the
    process is terminated, plus KILL_GRACE before it is killed."""

    timeout: timedelta

    @property
    def grace(self) -> float:
        """Seconds a crawl gets to close after its time limit: half of it, between 5 and 60 seconds."""
        return min(60.0, max(5.0, self.timeout.total_seconds() / 2))


@dataclass
class ChildCrawl:
    """A crawl process the service can ask to stop."""

    site_id: str
    process: asyncio.subprocess.Process | None = None
    stop_requested: bool = False
    notes: list[str] = field(default_factory=list)

    def request_stop(self) -> None:
        """Ask the crawl to finish now (SIGTERM: it closes gracefully, keeping what it stored)."""
        self.stop_requested = True
        _signal(self.process, signal.SIGTERM)


def _signal(process: asyncio.subprocess.Process | None, signum: int) -> None:
    if process is None or process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def child_command(config_dir: Path, site_id: str, run_id: int, timeout: timedelta) -> list[str]:
    """The command line of the crawl process."""
    return [
        sys.executable,
        "-m",
        "crawler.service.child",
        "--config",
        str(config_dir),
        "--site",
        site_id,
        "--run-id",
        str(run_id),
        "--timeout",
        str(max(1.0, timeout.total_seconds())),
    ]


async def _wait(process: asyncio.subprocess.Process, seconds: float) -> bool:
    try:
        await asyncio.wait_for(process.wait(), timeout=max(0.0, seconds))
        return True
    except TimeoutError:
        return False


async def crawl_in_child(
    engine: Engine,
    config_dir: Path,
    site: SiteConfig,
    limits: CrawlLimits,
    worker: str,
    handle: ChildCrawl | None = None,
    env: dict[str, str] | None = None,
) -> SiteRun:
    """Record a crawl run, crawl the site in a child process, and return the run as recorded.

    A child past its time limit is terminated, then killed; a child that dies without recording its run
    has the run recorded here ("timeout", "crashed" or "interrupted"). Never raises for crawl problems.
    """
    handle = handle or ChildCrawl(site.id)
    began = time.monotonic()
    run_id = await asyncio.to_thread(_start, engine, site.id, worker)
    command = child_command(config_dir, site.id, run_id, limits.timeout)
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own process group: signals reach it and its helpers only
            env=env,
        )
    except OSError as exc:
        return await _settle(engine, site.id, run_id, "crashed", f"cannot start the crawl process: {exc}", began)
    handle.process = process
    if handle.stop_requested:
        handle.request_stop()
    output = asyncio.ensure_future(process.stdout.read() if process.stdout else asyncio.sleep(0, b""))
    limit = limits.timeout.total_seconds() + limits.grace
    timed_out = False
    try:
        finished = await _wait(process, limit)
    except asyncio.CancelledError:  # the service is going away: the crawl stops too, keeping what it stored
        handle.request_stop()
        raise
    if not finished:
        timed_out = True
        logger.error("crawl %s: still running after %.0fs; terminating it", site.id, limit, extra={"site": site.id})
        _signal(process, signal.SIGTERM)
        if not await _wait(process, KILL_GRACE):
            _signal(process, signal.SIGKILL)
            await process.wait()
    try:
        raw = await asyncio.wait_for(output, timeout=5)
    except TimeoutError:
        raw = b""
    code = process.returncode
    if timed_out:
        return await _settle(engine, site.id, run_id, "timeout", f"stopped after {limit:.0f}s", began)
    if code != 0:
        status = "interrupted" if handle.stop_requested else "crashed"
        why = (
            f"crawl process exited with code {code}"
            if (code or 0) > 0
            else f"crawl process killed by signal {-(code or 0)}"
        )
        return await _settle(engine, site.id, run_id, status, why, began)
    summary = _summary(raw)
    recorded = await asyncio.to_thread(_load, engine, run_id)
    if recorded is None or recorded.status == "running":
        return await _settle(engine, site.id, run_id, "crashed", "the crawl process recorded nothing", began)
    result = _from_row(recorded, summary)
    result.duration = time.monotonic() - began
    return result


def _start(engine: Engine, site_id: str, worker: str) -> int:
    with Session(engine) as session:
        return start_run(session, site_id, worker)


def _load(engine: Engine, run_id: int) -> CrawlRunRow | None:
    with Session(engine) as session:
        row = session.get(CrawlRunRow, run_id)
        if row is not None:
            session.expunge(row)
        return row


def _summary(raw: bytes) -> dict[str, Any]:
    for line in reversed(raw.decode("utf-8", "replace").splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


def _from_row(row: CrawlRunRow, summary: dict[str, Any]) -> SiteRun:
    stats = row.stats or {}
    result = SiteRun(
        site_id=row.site_id,
        status=row.status,
        pages=row.pages,
        new_articles=row.new_articles,
        skipped=row.skipped,
        errors=row.errors,
        flagged=row.flagged,
        run_id=row.id,
    )
    for name in ("duplicates", "already_seen", "robots_denied", "http_403", "http_429", "http_5xx", "undated"):
        setattr(result, name, int(stats.get(name, 0)))
    result.problems = [p for p in (row.message or "").splitlines() if p] or list(summary.get("problems", []))
    return result


async def _settle(engine: Engine, site_id: str, run_id: int, status: str, why: str, began: float) -> SiteRun:
    """Record the end of a run the child did not finish (only if it is still "running")."""
    logger.error("crawl %s: %s", site_id, why, extra={"site": site_id})

    def write() -> CrawlRunRow | None:
        with Session(engine) as session:
            finish_run(
                session, run_id, status, {}, why, {"duration": round(time.monotonic() - began, 3)}, only_if_running=True
            )
        return _load(engine, run_id)

    try:
        row = await asyncio.to_thread(write)
    except SQLAlchemyError as exc:
        logger.error("cannot record the crawl run of site %s: %s", site_id, exc)
        row = None
    result = _from_row(row, {}) if row is not None else SiteRun(site_id=site_id, status=status, problems=[why])
    result.duration = time.monotonic() - began
    log_run(result)
    return result
