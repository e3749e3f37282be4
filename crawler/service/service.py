"""The service loop: an asyncio event loop with APScheduler's AsyncIOScheduler running every job.

Jobs: one crawl job per site (its interval or crontab line, with jitter; the crawl itself runs in a
child process, see crawler.service.crawljob), delivery of due messages, digests when due, site
health, housekeeping and the heartbeat. SIGTERM / SIGINT stop it gracefully; SIGHUP reloads the
configuration (a bad file is reported and the running configuration kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from crawler.alerts.mailconfig import MailConfig
from crawler.config import RULES_FILE, SITES_FILE, Config, ConfigError, SiteConfig, load_config
from crawler.durations import parse_duration
from crawler.health import HealthPolicy, OpsMail, evaluate_site, run_failed
from crawler.models import CrawlRunRow, OutboxRow, utcnow
from crawler.service.crawljob import ChildCrawl, CrawlLimits, crawl_in_child
from crawler.service.schedule import first_run, last_starts, next_due, site_trigger
from crawler.service.status import ONCE, SERVICE, beat
from crawler.settings import Settings

logger = logging.getLogger(__name__)

DIGEST_CHECK = 60.0  # seconds between checks whether a digest is due
HEALTH_CHECK = 300.0  # seconds between health checks of every site (silence shows without a crawl)
MAINTENANCE_EVERY = 3600.0


def health_policy(settings: Settings) -> HealthPolicy:
    """The health thresholds from the settings."""
    return HealthPolicy(
        fail_after=settings.ops_fail_after,
        silent_factor=settings.silent_factor,
        silent_min=parse_duration(settings.silent_min),
    )


def ops_mail(settings: Settings, mail: MailConfig) -> OpsMail:
    """Where operator alerts go: NEWSWATCH_OPS_MAIL_TO, else the default recipients."""
    from crawler.alerts.mailconfig import parse_addresses

    recipients = parse_addresses(settings.ops_mail_to) or mail.default_recipients
    return OpsMail(recipients, mail.mail_from, mail.domain, mail.base_url)


def instance_name() -> str:
    """This service process: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class OnceReport:
    """What `newswatch run --once` did: the due sites' crawl runs as recorded, the messages it delivered."""

    crawled: list[str] = field(default_factory=list)  # the due sites
    not_due: list[str] = field(default_factory=list)
    runs: dict[str, CrawlRunRow] = field(default_factory=dict)  # due site -> its crawl run (none: not recorded)
    sent: int = 0  # messages delivered (alerts, digests, operator alerts)
    queued: int = 0  # messages still waiting to be delivered
    interrupted: bool = False  # a signal stopped it before the crawls ended

    def outcome(self, site_id: str) -> str:
        """"finished", "failed" (as site health counts failures, or nothing recorded) or the run's status."""
        run = self.runs.get(site_id)
        if run is None or run_failed(run):
            return "failed"
        return run.status

    def exit_code(self) -> int:
        """1 when every due crawl failed; 0 when nothing was due or one succeeded."""
        return 1 if self.crawled and all(self.outcome(s) == "failed" for s in self.crawled) else 0

    def summary(self) -> str:
        """The one line `run --once` prints."""
        if self.crawled:
            outcomes: dict[str, list[str]] = {}
            for site_id in self.crawled:
                outcomes.setdefault(self.outcome(site_id), []).append(site_id)
            parts = [f"{len(outcomes.pop('finished'))} finished"] if "finished" in outcomes else []
            parts += [f"{len(sites)} {outcome}: {_names(sites)}" for outcome, sites in outcomes.items()]
            new = sum(run.new_articles for run in self.runs.values())
            flagged = sum(run.flagged for run in self.runs.values())
            line = (f"{_plural(len(self.crawled), 'due site')} crawled ({', '.join(parts)}), "
                    f"{_plural(new, 'new article')}, {flagged} flagged")
        else:
            line = "no site was due"
        line += f"; {_plural(self.sent, 'alert')} sent" + (f" ({self.queued} still queued)" if self.queued else "")
        if self.not_due:
            line += f"; {_plural(len(self.not_due), 'site')} not due"
        if self.interrupted:
            line += "; stopped by a signal before the crawls ended"
        return f"run --once: {line}"


def _plural(count: int, what: str) -> str:
    return f"{count} {what}" if count == 1 else f"{count} {what}s"


def _names(site_ids: list[str], most: int = 5) -> str:
    return ", ".join(site_ids[:most]) + (f" and {len(site_ids) - most} more" if len(site_ids) > most else "")


class Service:
    """The long-running Newswatch process. Build it with validated settings, configuration and mail
    settings; ``run()`` returns the exit code."""

    def __init__(
        self,
        settings: Settings,
        config: Config,
        engine: Engine,
        mail: MailConfig,
        *,
        clock: Callable[[], datetime] = utcnow,
        env: dict[str, str] | None = None,
        redis: Any = None,
    ) -> None:
        """``redis``: a Redis client to crawl through the workers (``run --distributed``); else each crawl
        runs in a child process of this one."""
        self.settings = settings
        self.config = config
        self.engine = engine
        self.mail = mail
        self.clock = clock
        self.env = env
        self.redis = redis
        self.policy = health_policy(settings)
        self.ops = ops_mail(settings, mail)
        self.instance = instance_name()
        self.started_at = clock()
        self.snapshot = settings.data_dir / "run" / "config"
        self.default_timeout = parse_duration(settings.crawl_timeout)
        self.stopping = asyncio.Event()
        self.children: dict[str, ChildCrawl] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.site_locks: dict[str, asyncio.Lock] = {}
        self.send_lock = asyncio.Lock()
        self.send_waiting = False  # a delivery is waiting for send_lock
        self.slots = asyncio.Semaphore(settings.max_concurrent_crawls)
        self.scheduler: AsyncIOScheduler | None = None
        self.web_server: Any = None
        self.signals = 0
        self.mode = SERVICE  # what the heartbeats say: SERVICE, or ONCE for `run --once`
        self.run_ids: dict[str, int] = {}  # site -> the run id of its last crawl by this process
        self.once_report: OnceReport | None = None

    # ------------------------------------------------------------------ helpers

    def sites(self) -> list[SiteConfig]:
        """The enabled sites of the running configuration."""
        return [site for site in self.config.sites if site.enabled]

    def _write_snapshot(self) -> None:
        """Copy the validated configuration where crawl processes read it (edits take effect on reload)."""
        self.snapshot.mkdir(parents=True, exist_ok=True)
        for name in (SITES_FILE, RULES_FILE):
            temporary = self.snapshot / f".{name}.tmp"
            shutil.copyfile(self.config.folder / name, temporary)
            temporary.replace(self.snapshot / name)

    async def _guarded(self, name: str, job: Callable[[], Awaitable[Any]]) -> None:
        """Run a job; a failure is logged and never stops the service."""
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except SQLAlchemyError as exc:
            logger.error("job %s: database error: %s", name, str(exc).splitlines()[0], extra={"job": name})
        except Exception:
            logger.exception("job %s failed", name, extra={"job": name})
        finally:
            if task is not None:
                self.tasks.discard(task)

    def _spawn(self, name: str, job: Callable[[], Awaitable[Any]]) -> None:
        task = asyncio.ensure_future(self._guarded(name, job))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ------------------------------------------------------------------ jobs

    def _crawler_for(self, site: SiteConfig) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            await self.crawl(site)

        return job

    async def crawl(self, site: SiteConfig) -> None:
        """Crawl one site in a child process (never two crawls of a site at once), then assess its health
        and deliver what it flagged."""
        lock = self.site_locks.setdefault(site.id, asyncio.Lock())
        if lock.locked():
            logger.warning("crawl %s: the previous crawl is still running; skipped", site.id, extra={"site": site.id})
            return
        async with lock, self.slots:
            if self.stopping.is_set():
                return
            handle = ChildCrawl(site.id)
            self.children[site.id] = handle
            try:
                limits = CrawlLimits(site.crawl_timeout(self.default_timeout))
                if self.redis is not None:
                    from crawler.distributed.coordinator import crawl_distributed

                    result = await crawl_distributed(
                        self.engine, self.redis, site, limits.timeout, self.instance, self.settings.redis_prefix,
                        stop=self.stopping,
                    )
                else:
                    result = await crawl_in_child(
                        self.engine, self.snapshot, site, limits, self.instance, handle, env=self.env
                    )
            finally:
                self.children.pop(site.id, None)
        if result.run_id is not None:
            self.run_ids[site.id] = result.run_id
        await asyncio.to_thread(evaluate_site, self.engine, site, self.policy, self.ops, self.clock())
        if result.flagged or result.new_articles:
            self._spawn("send", self.send)

    async def send(self) -> None:
        """Plan the new instant alerts and deliver every due message (instant, digest, operator alerts).

        A request made while a delivery (or a digest) runs is not dropped: it waits and delivers right
        after, so what a crawl flagged meanwhile does not wait for the next send tick. Requests made while
        one already waits are carried by that one.
        """
        if self.send_waiting:
            return
        self.send_waiting = True
        try:
            await self.send_lock.acquire()
        finally:
            self.send_waiting = False
        try:
            await asyncio.to_thread(self._send_blocking)
        finally:
            self.send_lock.release()

    async def send_now(self) -> None:
        """Deliver once more, after whatever delivery or digest is running (the last one at shutdown)."""
        async with self.send_lock:
            await asyncio.to_thread(self._send_blocking)

    def _send_blocking(self) -> None:
        from crawler.alerts.outbox import WEBHOOK, plan_instant, plan_webhooks
        from crawler.alerts.sender import make_transport, send_due
        from crawler.alerts.webhook import WebhookTransport

        planned = plan_instant(self.engine, self.mail, self.clock())
        report = send_due(self.engine, self.mail, make_transport(self.mail), clock=self.clock)
        if planned or report.attempted:
            logger.info(
                "delivery: %d planned, %d sent, %d to retry, %d failed",
                len(planned),
                len(report.sent),
                len(report.retrying),
                len(report.failed),
                extra={"event": "delivery", "sent": len(report.sent), "failed": len(report.failed)},
            )
        if self.mail.all_webhooks():
            plan_webhooks(self.engine, self.mail, self.clock())
            send_due(self.engine, self.mail, WebhookTransport(self.mail.smtp_timeout), channel=WEBHOOK)

    async def digests(self) -> None:
        """Make and send the digests that are due (a missed time is caught up once, not repeated)."""
        from crawler.alerts.digest import digest_recipients, send_digests
        from crawler.alerts.sender import make_transport

        if not digest_recipients(self.mail):
            return
        async with self.send_lock:
            report = await asyncio.to_thread(
                send_digests, self.engine, self.mail, make_transport(self.mail), if_due=True, clock=self.clock
            )
        if report.made:
            logger.info("digests: %d made, %d sent", len(report.made), len(report.delivery.sent))

    async def health(self) -> None:
        """Assess every site (a site goes silent even when nothing else happens)."""
        for site in self.sites():
            await asyncio.to_thread(evaluate_site, self.engine, site, self.policy, self.ops, self.clock())

    async def maintenance(self) -> None:
        """Retention pruning, WAL checkpoint, and runs left "running" by a process that is gone."""
        from crawler.maintenance import run_maintenance

        await asyncio.to_thread(self.reap_abandoned)
        await asyncio.to_thread(run_maintenance, self.engine, self.settings, self.clock())

    async def heartbeat(self, state: str = "running", **extra: Any) -> None:
        """Tell `newswatch status` and /readyz that the service is alive (and whether it is a --once run)."""
        details = {"running_crawls": sorted(self.children), "sites": len(self.sites()), "mode": self.mode, **extra}
        await asyncio.to_thread(beat, self.engine, self.instance, self.started_at, state, details, self.clock())

    async def _beat_while_running(self, done: asyncio.Event) -> None:
        """Beat every heartbeat interval until ``done`` (a --once run that takes a while is seen alive, and a
        killed one not). It ends between beats, never during one: a beat cut off in its thread could still
        commit "running" after the final "stopped"."""
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.settings.heartbeat_interval)
                return
            with contextlib.suppress(SQLAlchemyError):
                await self.heartbeat()

    def reap_abandoned(self) -> int:
        """Mark "abandoned" the runs still "running" whose service process on this host is gone, or which
        are older than any crawl may last."""
        host = socket.gethostname()
        longest = max([self.default_timeout, *(s.crawl_timeout(self.default_timeout) for s in self.config.sites)])
        too_old = self.clock() - longest - timedelta(hours=1)
        with Session(self.engine) as session:
            running = session.exec(select(CrawlRunRow).where(col(CrawlRunRow.status) == "running")).all()
            gone = [
                run.id
                for run in running
                if run.id is not None and (run.started_at < too_old or _dead(run.worker, host, self.instance))
            ]
            if gone:
                session.execute(
                    update(CrawlRunRow)
                    .where(col(CrawlRunRow.id).in_(gone), col(CrawlRunRow.status) == "running")
                    .values(status="abandoned", finished_at=self.clock(), message="the crawling process went away")
                )
                session.commit()
                logger.warning("marked %d crawl run(s) abandoned (their process is gone)", len(gone))
        return len(gone)

    # ------------------------------------------------------------------ scheduling

    def _add_site_job(self, scheduler: AsyncIOScheduler, site: SiteConfig, last: datetime | None) -> None:
        when, catch_up = first_run(site, last, self.clock())
        scheduler.add_job(
            self._guarded,
            trigger=site_trigger(site),
            args=[f"crawl {site.id}", self._crawler_for(site)],
            id=f"crawl:{site.id}",
            name=f"crawl {site.id}",
            next_run_time=when,
            replace_existing=True,
        )
        logger.info(
            "site %s: %s, first crawl %s%s",
            site.id,
            f"cron '{site.cron}' {site.timezone}" if site.cron else f"every {site.every}",
            when.isoformat(timespec="seconds"),
            " (catch-up)" if catch_up else "",
            extra={"site": site.id, "catch_up": catch_up},
        )

    def _build(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        with Session(self.engine) as session:
            lasts = last_starts(session, [s.id for s in self.sites()])
        for site in self.sites():
            self._add_site_job(scheduler, site, lasts.get(site.id))
        now = self.clock()
        send_every = max(1.0, parse_duration(self.settings.send_interval).total_seconds())
        jobs: list[tuple[str, Callable[[], Coroutine[Any, Any, None]], float, datetime]] = [
            ("send", self.send, send_every, now),
            ("digests", self.digests, DIGEST_CHECK, now + timedelta(seconds=5)),
            ("health", self.health, HEALTH_CHECK, now + timedelta(seconds=HEALTH_CHECK)),
            ("maintenance", self.maintenance, MAINTENANCE_EVERY, now + timedelta(seconds=60)),
            ("heartbeat", self.heartbeat, self.settings.heartbeat_interval, now + timedelta(seconds=1)),
        ]
        for name, job, every, first in jobs:
            scheduler.add_job(
                self._guarded,
                trigger=IntervalTrigger(seconds=every),
                args=[name, job],
                id=name,
                name=name,
                next_run_time=first,
            )
        return scheduler

    def reload(self) -> bool:
        """Re-read the configuration (SIGHUP); keep the running one if the files are invalid."""
        try:
            config = load_config(self.config.folder)
            mail = MailConfig.from_settings(self.settings, config.rules, config.site_names())
        except ConfigError as exc:
            for problem in exc.problems:
                logger.error("reload refused, configuration kept: %s", problem)
            return False
        except ValueError as exc:
            logger.error("reload refused, configuration kept: %s", exc)
            return False
        old = {site.id: site for site in self.sites()}
        self.config, self.mail, self.ops = config, mail, ops_mail(self.settings, mail)
        self._write_snapshot()
        scheduler = self.scheduler
        if scheduler is not None:
            new = {site.id: site for site in self.sites()}
            for site_id in old.keys() - new.keys():
                with contextlib.suppress(Exception):
                    scheduler.remove_job(f"crawl:{site_id}")
            changed = [s for s in new.values() if old.get(s.id) != s]
            with Session(self.engine) as session:
                lasts = last_starts(session, [s.id for s in changed])
            for site in changed:
                self._add_site_job(scheduler, site, lasts.get(site.id))
        logger.info("configuration reloaded: %d sites, %d rules", len(self.sites()), len(config.rules.rules))
        return True

    # ------------------------------------------------------------------ running

    def request_stop(self, signum: int | None = None) -> None:
        """Begin a graceful shutdown (a second signal skips the wait for running crawls)."""
        self.signals += 1
        name = signal.Signals(signum).name if signum else "request"
        if self.stopping.is_set():
            logger.warning("second %s: stopping running crawls now", name)
            for handle in list(self.children.values()):
                _kill(handle)
            return
        logger.info("%s received: shutting down (at most %.0fs)", name, self.settings.shutdown_timeout)
        self.stopping.set()

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop, signum)
        loop.add_signal_handler(signal.SIGHUP, self.reload)

    async def run(self, *, once: bool = False, web: Any = None) -> int:
        """Run until SIGTERM / SIGINT (or, with ``once``, run every due job once); the exit code."""
        loop = asyncio.get_running_loop()
        self._install_signals(loop)
        self._write_snapshot()
        await asyncio.to_thread(self.reap_abandoned)
        if once:
            return await self.run_once()
        logger.info(
            "service %s starting: %d sites, %d rules", self.instance, len(self.sites()), len(self.config.rules.rules)
        )
        await self.heartbeat()
        self.scheduler = self._build()
        self.scheduler.start()
        web_task = None
        if web is not None:  # (uvicorn server, listening sockets)
            self.web_server, sockets = web
            web_task = asyncio.ensure_future(self.web_server.serve(sockets=sockets))
        await self.stopping.wait()
        await self.shutdown(web_task)
        return 0

    async def shutdown(self, web_task: asyncio.Future[Any] | None = None) -> None:
        """Stop scheduling, let running crawls finish or stop them, deliver what is due, say goodbye."""
        deadline = loop_time() + self.settings.shutdown_timeout
        if self.scheduler is not None:
            # Paused, not shut down: shutting down would cancel the running jobs' tasks mid-crawl.
            self.scheduler.pause()
        for handle in list(self.children.values()):
            handle.request_stop()
        with contextlib.suppress(Exception):
            await self.heartbeat("stopping")
        work = [task for task in self.tasks if not task.done()]
        if work:
            logger.info("waiting for %d running job(s)", len(work))
            _done, pending = await asyncio.wait(work, timeout=max(0.0, (deadline - loop_time()) * 0.7))
            if pending:
                logger.warning("%d job(s) still running at the deadline: stopping them", len(pending))
                for handle in list(self.children.values()):
                    _kill(handle)
                await asyncio.wait(pending, timeout=5)
        try:  # deliver what the last crawls flagged, within what is left of the time
            await asyncio.wait_for(self.send_now(), timeout=max(1.0, deadline - loop_time()))
        except TimeoutError:
            logger.warning("delivery unfinished at shutdown: the messages stay queued for the next start")
        except Exception as exc:
            logger.error("delivery at shutdown failed: %s", exc)
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.web_server is not None:
            self.web_server.should_exit = True
            if web_task is not None:
                await asyncio.wait([web_task], timeout=5)
        with contextlib.suppress(Exception):
            await self.heartbeat("stopped")
        logger.info("service %s stopped", self.instance)

    async def run_once(self) -> int:
        """Crawl every site that is due (or never crawled), then deliver, digest, assess, tidy up; the exit
        code (1 when every due crawl failed). What it did is in ``once_report``."""
        self.mode = ONCE
        report = self.once_report = OnceReport()
        await self.heartbeat()
        done = asyncio.Event()
        beating = asyncio.ensure_future(self._beat_while_running(done))

        async def stop_beating() -> None:
            done.set()
            await beating

        try:
            return await self._run_once(report, stop_beating)
        finally:
            done.set()

    async def _run_once(self, report: OnceReport, stop_beating: Callable[[], Awaitable[None]]) -> int:
        with Session(self.engine) as session:
            lasts = last_starts(session, [s.id for s in self.sites()])
        now = self.clock()
        due: list[SiteConfig] = []
        for site in self.sites():
            when = next_due(site, lasts.get(site.id))
            if when is None or when <= now:
                due.append(site)
            else:
                report.not_due.append(site.id)
        crawls = [asyncio.ensure_future(self._guarded(f"crawl {site.id}", self._crawler_for(site))) for site in due]
        stopper = asyncio.ensure_future(self.stopping.wait())
        if crawls:
            await asyncio.wait([*crawls, stopper], return_when=asyncio.FIRST_COMPLETED)
            while not all(c.done() for c in crawls) and not self.stopping.is_set():
                await asyncio.wait([*crawls, stopper], return_when=asyncio.FIRST_COMPLETED)
            if self.stopping.is_set():
                report.crawled, report.interrupted = [s.id for s in due], True
                await asyncio.to_thread(self._read_back, report)
                await stop_beating()
                await self.shutdown()
                return 0
        stopper.cancel()
        report.crawled = [s.id for s in due]
        for name, job in (("send", self.send), ("digests", self.digests), ("health", self.health),
                          ("maintenance", self.maintenance)):
            await self._guarded(name, job)
        await asyncio.to_thread(self._read_back, report)
        await stop_beating()
        await self.heartbeat("stopped", summary=report.summary())
        logger.info(
            "%s",
            report.summary(),
            extra={"crawled": report.crawled, "not_due": report.not_due, "event": "run_once"},
        )
        return report.exit_code()

    def _read_back(self, report: OnceReport) -> None:
        """The crawl runs this process's crawls recorded, and the messages delivered since it started."""
        try:
            with Session(self.engine) as session:
                ids = [run_id for site_id, run_id in self.run_ids.items() if site_id in report.crawled]
                rows = session.exec(select(CrawlRunRow).where(col(CrawlRunRow.id).in_(ids))).all() if ids else []
                report.runs = {row.site_id: row for row in rows}
                for row in rows:
                    session.expunge(row)
                sent = select(func.count()).where(
                    col(OutboxRow.status) == "sent", col(OutboxRow.sent_at) >= self.started_at
                )
                report.sent = int(session.exec(sent).one())
                queued = select(func.count()).where(col(OutboxRow.status).in_(("pending", "sending")))
                report.queued = int(session.exec(queued).one())
        except SQLAlchemyError as exc:
            logger.error("run --once: cannot read back what it did: %s", str(exc).splitlines()[0])


def loop_time() -> float:
    """The running loop's monotonic clock."""
    return asyncio.get_running_loop().time()


def _kill(handle: ChildCrawl) -> None:
    process = handle.process
    handle.stop_requested = True
    if process is not None and process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def _dead(worker: str | None, host: str, me: str) -> bool:
    """Whether the "host:pid" worker is a process of this host that no longer runs (not this one)."""
    if not worker or worker == me:
        return False
    name, _, pid = worker.rpartition(":")
    if name != host or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False

