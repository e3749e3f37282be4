"""The `newswatch alerts ...` and `newswatch digest ...` commands, and the mail step after crawls and the demo."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.alerts.mailconfig import MailConfig, MailConfigError, parse_addresses
from crawler.alerts.transport import Transport
from crawler.tables import TableFormat

if TYPE_CHECKING:
    from crawler.alerts.digest import DigestReport
    from crawler.alerts.recorder import AlertSetup
    from crawler.alerts.sender import SendReport
    from crawler.config import Config, SiteConfig
    from crawler.settings import Settings

alerts_app = typer.Typer(help="Alerts and their delivery (email).", no_args_is_help=True)
digest_app = typer.Typer(help="Digests: one email per recipient and period.", no_args_is_help=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Configuration folder (default: $NEWSWATCH_CONFIG or ./config).", show_default=False),
]
RecipientOpt = Annotated[str | None, typer.Option("--recipient", help="Only this recipient's digest.")]


class StatusFilter(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    suppressed = "suppressed"



def alert_setup(config: Config) -> AlertSetup:
    """The story index and rule modes a crawl records alerts with."""
    from crawler.alerts.recorder import AlertSetup

    return AlertSetup(modes={rule.id: rule.mode for rule in config.rules})


def mail_config(settings: Settings, config: Config, extra_sites: Sequence[SiteConfig] = ()) -> MailConfig:
    """The mail settings, with the names of the rules and of the configured sites (and of ``extra_sites``,
    crawled without being configured: the demo's sample site), or exit 2 naming the bad setting."""
    from crawler.cli import EXIT_CONFIG, fail

    names = {**config.site_names(), **{site.id: site.name for site in extra_sites}}
    try:
        return MailConfig.from_settings(settings, config.rules, names)
    except MailConfigError as exc:
        fail(str(exc), EXIT_CONFIG)


def transport_for(mail: MailConfig) -> Transport:
    """The transport (SMTP or outbox folder), or exit 2 when NEWSWATCH_SMTP_URL is unusable."""
    from crawler.alerts.sender import make_transport
    from crawler.alerts.smtp import SmtpUrlError
    from crawler.cli import EXIT_CONFIG, fail

    try:
        return make_transport(mail)
    except SmtpUrlError as exc:
        fail(f"NEWSWATCH_SMTP_URL: {exc}", EXIT_CONFIG)


def _print_send(console: Console, what: str, planned: int, report: SendReport, where: str) -> None:
    from crawler.cli import clean

    console.print(
        f"{what}: {planned} new message(s); {len(report.sent)} sent, {len(report.retrying)} to retry, "
        f"{len(report.failed)} failed ({where}).",
        markup=False,
    )
    for receipt in report.sent:
        console.print(f"  sent: {clean(receipt)}", markup=False)
    for line in report.retrying:
        console.print(f"  retry later: {clean(line)}", markup=False)
    for line in report.failed:
        console.print(f"  FAILED: {clean(line)}", markup=False)
    if report.deferred:
        console.print(f"  {report.deferred} more message(s) wait for the server.", markup=False)


def send_instant(console: Console, engine: Engine, mail: MailConfig) -> SendReport:
    """Plan the new instant alerts and deliver every due instant message; print what happened."""
    from crawler.alerts.outbox import INSTANT, plan_instant
    from crawler.alerts.sender import send_due
    from crawler.models import utcnow

    transport = transport_for(mail)
    if not mail.all_recipients():
        console.print("Alerts wait: no recipients (set NEWSWATCH_MAIL_TO or the rules' recipients).", markup=False)
    planned = plan_instant(engine, mail, utcnow())
    report = send_due(engine, mail, transport, kind=INSTANT)
    _print_send(console, "Instant alerts", len(planned), report, transport.description)
    if mail.all_webhooks():
        from crawler.alerts.outbox import WEBHOOK, plan_webhooks
        from crawler.alerts.webhook import WebhookTransport

        calls = plan_webhooks(engine, mail, utcnow())
        hooks = send_due(engine, mail, WebhookTransport(mail.smtp_timeout), channel=WEBHOOK)
        _print_send(console, "Webhooks", len(calls), hooks, "webhooks")
    return report


def send_digest_now(
    console: Console, engine: Engine, mail: MailConfig, recipients: list[str] | None = None, if_due: bool = False
) -> DigestReport:
    """Make and deliver digests; print what happened."""
    from crawler.alerts.digest import send_digests

    transport = transport_for(mail)
    report = send_digests(engine, mail, transport, recipients=recipients, if_due=if_due)
    _print_send(console, "Digests", len(report.made), report.delivery, transport.description)
    if report.nothing_new:
        console.print(f"  nothing new for: {', '.join(report.nothing_new)}", markup=False)
    if report.not_due:
        console.print(f"  not due yet for: {', '.join(report.not_due)}", markup=False)
    return report


def after_crawl(console: Console, settings: Settings, config: Config, engine: Engine) -> None:
    """The mail step after a crawl: the instant alerts of what it found go out now."""
    send_instant(console, engine, mail_config(settings, config))


def after_demo(
    console: Console, settings: Settings, config: Config, engine: Engine, demo_site: SiteConfig | None = None
) -> None:
    """The mail step of `newswatch demo`: instant alerts, then a digest of what it flagged, and where they are.
    ``demo_site``: the sample site crawled, named in the emails (default: the bundled one). The demo's emails
    always go to the outbox folder, never to a mail server or webhook the settings (or ./.env) name: the
    sample stories are not news for anybody's inbox."""
    from crawler.alerts.outbox import suppress_site_alerts
    from crawler.demo_run import demo_site_config

    site = demo_site or demo_site_config("http://127.0.0.1")  # only its id and name are used here
    mail = mail_config(settings, config, [site])
    console.print()
    if mail.smtp_url or mail.all_webhooks():
        # The sample stories are not news for anybody's inbox or chat, and other alerts waiting in the outbox
        # must still go to the mail server: the demo's own alerts are set aside, and nothing is sent now.
        count = suppress_site_alerts(engine, site.id, "the demo's sample site: never sent to a mail server")
        console.print(
            f"Alerts: {count} of the sample site set aside, not sent: NEWSWATCH_SMTP_URL or NEWSWATCH_WEBHOOKS "
            f"is set, and the demo never mails its sample stories (`alerts list` shows them as suppressed).",
            markup=False,
        )
        return
    instant = send_instant(console, engine, mail)
    digest = send_digest_now(console, engine, mail)
    if instant.sent or digest.delivery.sent:
        console.print(f"Open the new .eml files in {mail.outbox_dir} with any mail program.", markup=False)
    else:
        console.print(f"No new email: every flagged story was already sent (earlier ones are in {mail.outbox_dir}).",
                      markup=False)


def _context(config_dir: Path | None) -> tuple[Settings, Config, Engine, MailConfig]:
    from crawler.cli import _config, _database, _settings
    from crawler.logs import setup_logging

    settings = _settings(config_dir)
    setup_logging("WARNING")
    cfg = _config(settings)
    engine = _database(settings)
    return settings, cfg, engine, mail_config(settings, cfg)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


@alerts_app.command("list")
def alerts_list(
    status: Annotated[StatusFilter | None, typer.Option("--status", help="Only alerts in this state.")] = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="Output format.")] = TableFormat.table,
    limit: Annotated[int, typer.Option("--limit", help="At most this many alerts (0: all).")] = 0,
    config: ConfigOpt = None,
) -> None:
    """List alerts, newest first: one row per alert and recipient, with its delivery state."""
    from crawler.alerts.outbox import alert_statuses
    from crawler.cli import clean, out

    _settings, _cfg, engine, mail = _context(config)
    with Session(engine) as session:
        rows = alert_statuses(session, mail, limit=limit or None)
    if status is not None:
        rows = [row for row in rows if row.status == status.value]
    if format is TableFormat.json:
        records = [row.__dict__ for row in rows]
        out.print(json.dumps(records, ensure_ascii=False, default=_json_default), markup=False)
        return
    from rich.text import Text

    from crawler.tables import fitted_table

    wide = out.width >= 140
    table = fitted_table(f"{len(rows)} alert(s)", out.width, 140)
    for column in ("id", "created", "rule", *(("mode", "recipient") if wide else ()), "status"):
        table.add_column(column, no_wrap=True, justify="right" if column == "id" else "left")
    table.add_column("title", ratio=1)
    if wide:
        table.add_column("error", ratio=1)
    for row in rows:
        cells: list[str | Text] = [
            str(row.alert_id),
            row.created_at.strftime("%Y-%m-%d %H:%M" if wide else "%m-%d %H:%M"),
            Text(clean(row.rule)),
        ]
        if wide:
            cells += [row.mode, Text(clean(row.recipient or ""))]
        cells.append(row.status)
        title = Text(clean(row.title)[:160])
        if wide:
            cells += [title, Text(clean(row.error or "")[:160])]
        else:  # who it went to, and why it failed, under the title
            extra = Text(f"{row.mode} to {clean(row.recipient or '-')}", style="dim")
            if row.error:
                extra.append(f"\n{clean(row.error)[:160]}", style="red")
            cells.append(Text.assemble(title, "\n", extra))
        table.add_row(*cells)
    out.print(table)


@alerts_app.command("send")
def alerts_send(config: ConfigOpt = None) -> None:
    """Deliver the pending instant alerts now (SMTP, or .eml files in $NEWSWATCH_DATA_DIR/outbox)."""
    from crawler.cli import out

    _settings, _cfg, engine, mail = _context(config)
    send_instant(out, engine, mail)


def _recipients(recipient: str | None) -> list[str] | None:
    from crawler.cli import EXIT_CONFIG, fail

    if recipient is None:
        return None
    try:
        return list(parse_addresses(recipient))
    except MailConfigError as exc:
        fail(f"--recipient: {exc}", EXIT_CONFIG)


@digest_app.command("preview")
def digest_preview(
    recipient: RecipientOpt = None,
    html: Annotated[Path | None, typer.Option("--html", help="Also write the HTML part to this file.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Show the digest a recipient would get now (plain-text part), without sending or recording it."""
    from crawler.alerts.digest import digest_recipients, preview_digest
    from crawler.cli import fail, out
    from crawler.models import utcnow

    _settings, _cfg, engine, mail = _context(config)
    targets = _recipients(recipient) or digest_recipients(mail)
    shown = 0
    for target in targets:
        composed = preview_digest(engine, mail, target, utcnow())
        if composed is None:
            out.print(f"{target}: nothing new since the last digest.", markup=False)
            continue
        shown += 1
        out.print(f"To: {target}\nSubject: {composed.subject}\n", markup=False)
        out.print(composed.text, markup=False)
        if html is not None:
            path = html if len(targets) == 1 else html.with_name(f"{html.stem}-{shown}{html.suffix}")
            try:
                path.write_text(composed.html, encoding="utf-8")
            except OSError as exc:
                fail(f"cannot write {path}: {exc.strerror or exc}")
            out.print(f"HTML written to {path}", markup=False)


@digest_app.command("send")
def digest_send(
    recipient: RecipientOpt = None,
    if_due: Annotated[
        bool, typer.Option("--if-due", help="Only recipients whose digest is due by NEWSWATCH_DIGEST_CRON.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Make and send digests now: everything new since each recipient's last digest (none when nothing is new)."""
    from crawler.cli import out

    _settings, _cfg, engine, mail = _context(config)
    send_digest_now(out, engine, mail, _recipients(recipient), if_due=if_due)
