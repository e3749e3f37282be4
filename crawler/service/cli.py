"""The `newswatch run`, `newswatch status` and `newswatch web` commands (thin: parse, validate, start)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crawler.settings import Settings
from crawler.tables import TableFormat

if TYPE_CHECKING:
    from crawler.service.status import ServiceStatus

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Configuration folder (default: $NEWSWATCH_CONFIG or ./config).", show_default=False),
]



def _check_settings(settings: Settings) -> None:
    """Exit 2 naming the setting when a duration or the digest schedule is unusable."""
    from crawler.alerts.digest import DigestSchedule, ScheduleError
    from crawler.cli import EXIT_CONFIG, fail
    from crawler.durations import parse_duration
    from crawler.maintenance import retention_window

    for name in ("crawl_timeout", "send_interval", "silent_min", "min_interval"):
        try:
            parse_duration(getattr(settings, name))
        except ValueError as exc:
            fail(f"NEWSWATCH_{name.upper()}: {exc}", EXIT_CONFIG)
    for name in ("keep_article_text", "keep_crawl_runs"):
        try:
            retention_window(getattr(settings, name))
        except ValueError as exc:
            fail(f"NEWSWATCH_{name.upper()}: {exc}", EXIT_CONFIG)
    try:
        DigestSchedule(settings.digest_cron, settings.digest_tz).trigger()
    except ScheduleError as exc:
        fail(f"NEWSWATCH_DIGEST_CRON / NEWSWATCH_DIGEST_TZ: {exc}", EXIT_CONFIG)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket for the web part, or exit 1 saying why it cannot listen."""
    from crawler.cli import fail

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _type, _proto, _name, address = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} (set NEWSWATCH_WEB_PORT or --port)")
    return sock


def _check_bind(host: str, settings: Settings) -> None:
    """Exit 2 when the web page would listen on a public address without a password."""
    from crawler.cli import EXIT_CONFIG, fail
    from crawler.web.security import WebConfigError, check_bind

    try:
        check_bind(host, settings.web_password)
    except WebConfigError as exc:
        fail(str(exc), EXIT_CONFIG)


def run(
    once: Annotated[bool, typer.Option("--once", help="Run every due job once and exit (for cron).")] = False,
    web: Annotated[bool, typer.Option("--web", help="Also serve the web page (NEWSWATCH_WEB_HOST/PORT).")] = False,
    distributed: Annotated[
        bool,
        typer.Option("--distributed", help="Crawl through `newswatch worker` processes (NEWSWATCH_REDIS_URL)."),
    ] = False,
    config: ConfigOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show detailed logs.")] = False,
) -> None:
    """Run Newswatch as a service: crawl every site on its schedule, send alerts and digests, watch health."""
    from crawler.alerts.cli import mail_config, transport_for
    from crawler.cli import _config, _database, fail, out, start_process
    from crawler.service.locks import LockBusy, scheduler_lock
    from crawler.service.service import Service
    from crawler.web.app import WebContext, create_app, embedded_server

    settings = start_process(config, verbose)
    if not verbose:  # one line per job run is noise; failures are logged by the service itself
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    _check_settings(settings)
    cfg = _config(settings)
    mail = mail_config(settings, cfg)
    transport_for(mail).close()  # exit 2 now if NEWSWATCH_SMTP_URL is unusable
    redis = None
    if distributed or settings.distributed:
        from crawler.distributed.cli import redis_client, require_shared_database

        require_shared_database(settings)
        redis = redis_client(settings)
    engine = _database(settings)
    service = Service(settings, cfg, engine, mail, redis=redis)
    server = None
    if web and not once:
        _check_bind(settings.web_host, settings)
        sock = listen(settings.web_host, settings.web_port)
        app = create_app(WebContext(engine, settings, lambda: service.config))
        server = (embedded_server(app, settings.web_host, settings.web_port), [sock])
    try:
        with scheduler_lock(engine, settings.data_dir):
            code = asyncio.run(service.run(once=once, web=server))
    except LockBusy:
        fail("another `newswatch run` already schedules this deployment (same database): only one may run", 2)
    if service.once_report is not None:
        out.print(service.once_report.summary(), markup=False)
    raise typer.Exit(code)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(type(value).__name__)


def status(
    check: Annotated[
        bool,
        typer.Option("--check", help="Exit 1 unless the database answers and the service beats (or, run from "
                     "cron, the last `run --once` is recent)."),
    ] = False,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="Output format.")] = TableFormat.table,
    config: ConfigOpt = None,
) -> None:
    """Show the service's heartbeat, each site's health and the delivery backlog."""
    from crawler.cli import _config, _settings, clean, err, fail, out
    from crawler.logs import setup_logging
    from crawler.service.service import health_policy
    from crawler.service.status import NOT_STARTED, service_status
    from crawler.store import StoreError, create_db_engine

    settings = _settings(config)
    setup_logging("ERROR")
    cfg = _config(settings)
    try:
        engine = create_db_engine(settings.resolved_database_url())
    except StoreError as exc:
        fail(str(exc))
    enabled = [s for s in cfg.sites if s.enabled]
    report = service_status(engine, enabled, health_policy(settings), settings.heartbeat_interval)
    if format is TableFormat.json:
        record = asdict(report)
        record["healthy"] = report.healthy
        out.print(json.dumps(record, default=_json_default, ensure_ascii=False), markup=False)
    else:
        _print_status(report)
    if check and not report.healthy:
        verdict = "" if report.mode == NOT_STARTED else "unhealthy: "
        err.print(verdict + "; ".join(clean(p) for p in report.problems), markup=False)
        raise typer.Exit(1)


def _print_status(report: ServiceStatus) -> None:
    from crawler.cli import clean, out, print_env_file_settings
    from crawler.service.status import NOT_STARTED, ago

    now = report.checked_at
    beat = report.heartbeat
    if report.mode == NOT_STARTED:
        out.print(f"Service: [yellow]{clean(report.summary)}[/]", markup=True)
    elif report.healthy:
        out.print(f"Service: [green]healthy[/] ({clean(report.summary)})", markup=True)
    else:
        out.print("Service: [bold red]unhealthy[/]", markup=True)
    if beat is not None:
        out.print(
            f"  instance {clean(beat.instance)}, {beat.state}, started {ago(beat.started_at, now)}, "
            f"last heartbeat {ago(beat.beat_at, now)}",
            markup=False,
        )
        if beat.details.get("summary"):
            out.print(f"  last {clean(str(beat.details['summary']))}", markup=False)
    if not report.healthy and report.mode != NOT_STARTED:
        for problem in report.problems:
            out.print(f"  {clean(problem)}", markup=False)
    if report.database_ok:
        box = report.outbox
        out.print(
            f"Outbox: {box.get('pending', 0)} pending, {box.get('sending', 0)} sending, "
            f"{box.get('failed', 0)} failed, {box.get('sent_24h', 0)} sent in 24h",
            markup=False,
        )
        for line in report.failed_messages:
            out.print(f"  failed: {clean(line)}", markup=False)
        _sites_table(report.sites, now)
    print_env_file_settings()


WIDE = 140  # columns from which the status table shows every figure (narrower: on the lines under it)
STATE_COLOURS = {"ok": "green", "failing": "red", "broken": "bold red", "degraded": "yellow", "silent": "yellow",
                 "new": "dim"}


def _sites_table(sites: list[Any], now: datetime) -> None:
    """The sites' table: site, state, last crawl, last success, fails and new/run always (ids never cut); the
    HTTP, robots.txt, extraction and date figures as columns in a wide terminal, else under the table."""
    from crawler.cli import clean, out
    from crawler.service.status import ago
    from crawler.tables import fitted_table

    wide = out.width >= WIDE
    table = fitted_table(f"{len(sites)} site(s)", out.width, WIDE)
    table.add_column("site", no_wrap=True, min_width=max([len(clean(s.site_id)) for s in sites] + [4]))
    table.add_column("state", no_wrap=True)
    table.add_column("last crawl")
    table.add_column("last success")
    table.add_column("fails", justify="right")
    table.add_column("new/run", justify="right")
    if wide:
        for column in ("403/429/5xx", "robots", "no article", "no date"):
            table.add_column(column, justify="right")
        table.add_column("last new")
    for site in sites:
        row = [
            clean(site.site_id),
            f"[{STATE_COLOURS.get(site.state, 'white')}]{site.state}[/]",
            _last_crawl(site, now),
            ago(site.last_success_at, now),
            str(site.consecutive_failures),
            f"{site.articles_per_run:.1f}",
        ]
        if wide:
            row += [f"{site.http_403}/{site.http_429}/{site.http_5xx}", str(site.robots_denied),
                    f"{site.extraction_failed_share:.0%}", f"{site.undated_share:.0%}", ago(site.last_new_at, now)]
        table.add_row(*row)
    out.print(table)
    for site in sites:
        for line in _site_lines(site, now, figures=not wide):
            out.print(f"{clean(site.site_id)}: {clean(line)}", markup=False)
    if not wide and sites:
        out.print(f"(every figure: a terminal of {WIDE} columns or more, or --format json)", markup=False)


def _last_crawl(site: Any, now: datetime) -> str:
    """When the last crawl ran, and how it ended unless it simply finished."""
    from crawler.service.status import ago

    if site.last_run_at is None:
        return "-"
    when = ago(site.last_run_at, now)
    return when if site.last_status == "finished" else f"{when} ({site.last_status})"


def _site_lines(site: Any, now: datetime, figures: bool) -> list[str]:
    """What is said of a site under the table: why it is not ok, its last error, and (narrow) its figures."""
    from crawler.health import RECENT_RUNS
    from crawler.service.status import ago

    lines = []
    if site.state not in ("ok", "new") and site.reason:
        lines.append(f"{site.state}: {site.reason}")
    if site.last_error and site.state not in ("failing", "broken"):  # (their reason says it)
        lines.append(f"last error {ago(site.last_error_at, now)}: {site.last_error}")
    counts = {"HTTP 403": site.http_403, "HTTP 429": site.http_429, "HTTP 5xx": site.http_5xx,
              "robots.txt denials": site.robots_denied}
    if figures and any(counts.values()):
        found = ", ".join(f"{name} x{count}" for name, count in counts.items() if count)
        lines.append(f"in the last {RECENT_RUNS} crawls: {found}")
    return lines


def web(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default NEWSWATCH_WEB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default NEWSWATCH_WEB_PORT).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the review page (and /healthz, /readyz) on its own, next to a `newswatch run` process.

    It listens on 127.0.0.1 unless told otherwise; another address needs NEWSWATCH_WEB_PASSWORD.
    """
    from crawler.cli import _config, _database, _settings, out
    from crawler.logs import setup_logging
    from crawler.web.app import WebContext, create_app, standalone_server

    settings = _settings(config)
    setup_logging(settings.log_level, fmt=settings.log_format)
    cfg = _config(settings)
    host = host or settings.web_host
    port = port or settings.web_port
    _check_bind(host, settings)
    engine = _database(settings)
    sock = listen(host, port)
    app = create_app(WebContext(engine, settings, lambda: cfg))
    out.print(f"Serving on http://{host}:{port}/", markup=False)
    standalone_server(app, host, port).run(sockets=[sock])
