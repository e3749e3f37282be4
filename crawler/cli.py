"""The `newswatch` command line (typer): parses arguments, calls the library, prints results."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from crawler.alerts.cli import after_crawl, after_demo, alert_setup, alerts_app, digest_app
from crawler.article import Match
from crawler.config import Config, ConfigError, load_config
from crawler.durations import parse_duration
from crawler.logs import setup_logging
from crawler.settings import Settings, SettingsError, load_settings
from crawler.store import StoreError, error_text, iter_articles, match_counts, open_database
from crawler.tables import TableFormat

logger = logging.getLogger(__name__)

app = typer.Typer(
    help="Newswatch: watch news sites and flag the stories that match your rules.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration files.", no_args_is_help=True)
review_app = typer.Typer(help="Review flagged articles.", no_args_is_help=True)
rules_app = typer.Typer(help="Alert rules: list them, test a query before it goes live.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(review_app, name="review")
app.add_typer(rules_app, name="rules")
app.add_typer(alerts_app, name="alerts")
app.add_typer(digest_app, name="digest")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Configuration folder (default: $NEWSWATCH_CONFIG or ./config).", show_default=False),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show detailed logs, Scrapy's included.")]

EXIT_CONFIG = 2
EXIT_FAILURE = 1
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class TextFormat(StrEnum):
    text = "text"
    json = "json"
    jsonl = "jsonl"


class MatchFormat(StrEnum):
    text = "text"
    jsonl = "jsonl"


def clean(text: str | None) -> str:
    """Text safe to print on a terminal: no control or bidi characters from untrusted pages."""
    return _CONTROL.sub(" ", text or "")


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    err.print(f"[bold red]error:[/] {clean(message)}", markup=True)
    raise typer.Exit(code)


def check_versions() -> None:
    """Exit 2 with a message when a dependency lacks the security fixes the crawl relies on."""
    from crawler.versions import UnsafeDependency, check_dependencies

    try:
        check_dependencies()
    except UnsafeDependency as exc:
        fail(f"cannot crawl safely: {exc}", EXIT_CONFIG)


def _settings(config_dir: Path | None) -> Settings:
    try:
        return load_settings(config_dir)
    except SettingsError as exc:
        fail(f"bad setting: {exc}", EXIT_CONFIG)


def start_process(config_dir: Path | None, verbose: bool) -> Settings:
    """What a long-running command does first: check the dependencies, load the settings, set up logging."""
    from crawler.logs import setup_logging

    check_versions()
    settings = _settings(config_dir)
    setup_logging("DEBUG" if verbose else settings.log_level, tracebacks=verbose, fmt=settings.log_format)
    return settings


def _config(settings: Settings) -> Config:
    try:
        return load_config(settings.config)
    except ConfigError as exc:
        err.print("[bold red]configuration error:[/]", markup=True)
        for problem in exc.problems:
            err.print(f"  {clean(problem)}", markup=False)
        raise typer.Exit(EXIT_CONFIG) from None


def _database(settings: Settings) -> Engine:
    try:
        return open_database(settings.resolved_database_url())
    except StoreError as exc:
        fail(str(exc))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default)


# --------------------------------------------------------------------------- crawl and demo


def _print_runs(runs: Sequence[Any]) -> None:
    from crawler.tables import fitted_table

    table = fitted_table("Crawl summary", out.width, 100)
    for column in ("site", "status", "pages", "new", "skipped", "flagged", "errors", "seconds"):
        table.add_column(column, justify="left" if column in ("site", "status") else "right", no_wrap=True)
    for run in runs:
        status = run.status if run.status == "finished" else f"[red]{run.status}[/]"
        table.add_row(
            run.site_id,
            status,
            str(run.pages),
            str(run.new_articles),
            str(run.skipped),
            str(run.flagged),
            str(run.errors),
            f"{run.duration:.1f}",
        )
    out.print(table)
    for run in runs:
        for problem in run.problems:
            err.print(f"[yellow]{run.site_id}:[/] {clean(problem)}", markup=True)



def _skipped_pages(session: Session, run: Any, limit: int) -> tuple[list[Any], int]:
    from crawler.store import pages_without_article, run_started_at

    started = run_started_at(session, run.run_id)
    if started is None or not run.skipped:
        return [], 0
    return pages_without_article(session, run.site_id, started, limit)


_NO_ARTICLE = {"skipped": "not an article", "partial": "a stub, teaser or paywall"}


def _print_skipped(session: Session, run: Any, limit: int) -> None:
    """The pages of ``run`` that gave no article ("skipped" in the summary), each with the reason."""
    rows, total = _skipped_pages(session, run, limit)
    if not rows:
        return
    out.print(f"{run.site_id}: {total} page(s) skipped, i.e. they gave no article:", markup=False)
    for row in rows:
        what = _NO_ARTICLE.get(row.status, row.status)
        out.print(f"  {clean(row.canonical_url)}", markup=False)
        out.print(f"    {what}: {clean(row.reason or '-')}", markup=False)
    if total > len(rows):
        out.print(f"  ... and {total - len(rows)} more", markup=False)


def _run_record(session: Session, run: Any, with_skipped: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "site": run.site_id,
        "status": run.status,
        **run.counts(),
        "seconds": round(run.duration, 1),
        "problems": list(run.problems),
        "failed_sources": dict(run.failed_sources),
    }
    if with_skipped:
        rows, _total = _skipped_pages(session, run, 1000)
        record["skipped_pages"] = [{"url": r.canonical_url, "status": r.status, "reason": r.reason} for r in rows]
    return record


def invoked_as() -> str:
    """How the user started this command, to repeat in hints: "newswatch" when that is what the shell finds,
    else the path they typed (".venv/bin/newswatch"), or "python -m crawler"."""
    import shutil
    import sys

    typed = sys.argv[0] if sys.argv else "newswatch"
    if Path(typed).name == "__main__.py":
        return f"{sys.executable} -m crawler"
    found = shutil.which("newswatch")
    if found and Path(typed).name == "newswatch" and Path(found).resolve() == Path(typed).resolve():
        return "newswatch"
    return typed if Path(typed).name == "newswatch" else "newswatch"


@app.command()
def crawl(
    site_ids: Annotated[list[str] | None, typer.Argument(help="Sites to crawl (default: every enabled site).")] = None,
    show_skipped: Annotated[
        bool, typer.Option("--show-skipped", help="List the pages of this crawl that gave no article, and why.")
    ] = False,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="Output format.")] = TableFormat.table,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Crawl the configured sites once, store new articles, flag them with the rules, then exit."""
    from crawler.crawl import crawl_sites, run_on_reactor
    from crawler.httpcache import http_cache

    check_versions()
    settings = _settings(config)
    setup_logging("DEBUG" if verbose else settings.log_level, "INFO" if verbose else "WARNING", tracebacks=verbose)
    cfg = _config(settings)
    try:
        sites = cfg.select_sites(site_ids or [])
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    if not sites:
        fail("no enabled sites to crawl (see sites.toml)", EXIT_CONFIG)
    engine = _database(settings)
    matcher = cfg.ruleset()
    alerts = alert_setup(cfg)
    overrides = http_cache(settings.http_cache_dir)
    runs = run_on_reactor(
        lambda: crawl_sites(
            engine, sites, matcher, settings=overrides, alerts=alerts, workers=settings.extract_workers
        )
    )
    if format is TableFormat.json:
        with Session(engine) as session:
            records = [_run_record(session, run, show_skipped) for run in runs]
        out.print(_dumps(records), markup=False)
    else:
        _print_runs(runs)
        if show_skipped:
            with Session(engine) as session:
                for run in runs:
                    _print_skipped(session, run, limit=50)
        elif any(run.skipped for run in runs):
            err.print(f"skipped: pages that gave no article; {invoked_as()} crawl --show-skipped lists them with "
                      "the reason", markup=False)
    refused = [run.site_id for run in runs if run.database_failed]
    if refused:  # nothing of these crawls is stored: a failed run, whatever else went well
        fail(f"the database refused the crawl of {', '.join(refused)}; see the messages above", EXIT_FAILURE)
    try:
        after_crawl(err if format is TableFormat.json else out, settings, cfg, engine)
    except SQLAlchemyError as exc:  # the crawl is stored; its alerts go out with the next run
        fail(f"cannot send the alerts of this crawl (they go out with the next one): {error_text(exc)}")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the local sample site (127.0.0.1).")] = 8765,
    reset: Annotated[
        bool, typer.Option("--reset", help="First delete the SQLite database, outbox and cache of the data folder.")
    ] = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Crawl a bundled sample news site on 127.0.0.1 through the real pipeline and show what was flagged."""
    from crawler.crawl import crawl_sites, run_on_reactor
    from crawler.datadir import ResetError, reset_data
    from crawler.demo.server import SampleSite
    from crawler.demo_run import DEMO_NOW, DEMO_SITE_ID, demo_site_config, print_flagged
    from crawler.httpcache import http_cache

    check_versions()
    settings = _settings(config)
    setup_logging("DEBUG" if verbose else "WARNING", "INFO" if verbose else "WARNING", tracebacks=verbose)
    cfg = _config(settings)
    if reset:
        try:
            removed = reset_data(settings.data_dir, settings.resolved_database_url(), DEMO_SITE_ID)
        except ResetError as exc:
            fail(str(exc), EXIT_CONFIG)
        except OSError as exc:
            fail(f"cannot reset {settings.data_dir}: {exc.strerror or exc}")
        out.print(f"Reset: removed {', '.join(str(p) for p in removed) or 'nothing (no demo data yet)'}", markup=False)
    engine = _database(settings)
    try:
        site_server = SampleSite(port=port, now=DEMO_NOW)
        site_server.start()
    except OSError as exc:
        fail(f"cannot start the sample site on 127.0.0.1:{port}: {exc.strerror or exc} (try --port)")
    try:
        site = demo_site_config(site_server.base_url)
        out.print(f"Sample news site running at {site_server.base_url}/ ({len(site_server.articles)} articles)")
        out.print(f"Database: {shown_url(settings.resolved_database_url())}")
        overrides = {"AUTOTHROTTLE_ENABLED": False, **http_cache(settings.http_cache_dir)}
        alerts = alert_setup(cfg)
        runs = run_on_reactor(
            lambda: crawl_sites(
                engine, [site], cfg.ruleset(), settings=overrides, max_age=None, alerts=alerts,
                workers=settings.extract_workers,
            )
        )
    finally:
        site_server.stop()
    _print_runs(runs)
    command = invoked_as()
    with Session(engine) as session:
        print_flagged(out, session, site.id, runs[0])
        if runs[0].skipped:
            _print_skipped(session, runs[0], limit=10)
            out.print()
    after_demo(out, settings, cfg, engine, site)
    out.print("Next:", markup=False)
    out.print(f"  {command} review list          the flagged stories on the terminal", markup=False)
    out.print(
        f"  {command} web                  review them in a browser: "
        f"http://{settings.web_host}:{settings.web_port}/stories",
        markup=False,
    )
    out.print(f"  {command} demo --reset         start the demo again from nothing", markup=False)


# --------------------------------------------------------------------------- extract and match


@app.command()
def extract(
    sources: Annotated[list[str], typer.Argument(help="Saved HTML files (.html or .html.gz) or http(s) URLs.")],
    format: Annotated[TextFormat, typer.Option("--format", "-f", help="Output format.")] = TextFormat.text,
    allow_private: Annotated[
        bool, typer.Option("--allow-private", help="Also fetch URLs on private addresses (e.g. an intranet).")
    ] = False,
    verbose: VerboseOpt = False,
) -> None:
    """Extract the clean article (body and metadata) from saved pages or URLs."""
    from crawler.article import Skipped
    from crawler.extract import decode_html, extract_page, load_html_file
    from crawler.fetch import FetchError, fetch_html

    setup_logging("DEBUG" if verbose else "WARNING", tracebacks=verbose)
    results: list[dict[str, Any]] = []
    failures = 0
    for source in sources:
        try:
            if re.match(r"^https?://", source, re.IGNORECASE):
                final_url, body, _ctype = fetch_html(source, allow_private=allow_private)
                html, url = decode_html(body), final_url
            else:
                html, url = load_html_file(Path(source)), None
        except FetchError as exc:
            failures += 1
            err.print(f"{clean(str(exc))}", markup=False)
            continue
        except OSError as exc:
            failures += 1
            err.print(f"{clean(source)}: cannot read: {exc.strerror or exc}", markup=False)
            continue
        result = extract_page(html, url)
        if isinstance(result, Skipped):
            failures += 1
            results.append({"source": source, "skipped": result.reason})
            err.print(f"{clean(source)}: no article ({clean(result.reason)})", markup=False)
            continue
        record = {"source": source, **result.__dict__}
        results.append(record)
    _print_extracted(results, format)
    if failures == len(sources):
        raise typer.Exit(EXIT_FAILURE)


def _print_extracted(results: list[dict[str, Any]], format: TextFormat) -> None:
    articles = [r for r in results if "skipped" not in r]
    if format is TextFormat.json:
        out.print(_dumps(results), markup=False)
    elif format is TextFormat.jsonl:
        for record in results:
            out.print(_dumps(record), markup=False)
    else:
        for index, record in enumerate(articles):
            if index:
                out.print()
            meta = ", ".join(
                f"{k}: {clean(str(record[k]))}"
                for k in ("author", "published", "language", "canonical_url")
                if record.get(k)
            )
            out.print(f"# {clean(record['title'])}", markup=False)
            if meta:
                out.print(meta, markup=False)
            out.print()
            out.print(clean(record["text"]).replace(" \n", "\n"), markup=False)


@app.command()
def match(
    paths: Annotated[list[Path], typer.Argument(help="Saved articles: .html, .html.gz, .json or .txt.")],
    format: Annotated[MatchFormat, typer.Option("--format", "-f", help="Output format.")] = MatchFormat.text,
    config: ConfigOpt = None,
) -> None:
    """Run the configured rules on saved articles and show which rules match."""
    from crawler.inputs import InputError, load_document

    settings = _settings(config)
    setup_logging("WARNING")
    ruleset = _config(settings).ruleset()
    failures = 0
    for path in paths:
        try:
            doc = load_document(path)
        except InputError as exc:
            failures += 1
            err.print(clean(str(exc)), markup=False)
            continue
        matches = ruleset.match(doc.title, doc.text)
        if format is MatchFormat.jsonl:
            record = {"path": str(path), "title": doc.title, "matches": [_match_record(m) for m in matches]}
            out.print(_dumps(record), markup=False)
        else:
            flags = "; ".join(f"{m.rule_id} ({', '.join(m.terms)})" for m in matches) or "no match"
            out.print(f"{clean(str(path))}: {clean(doc.title)}\n  -> {clean(flags)}", markup=False)
    if failures == len(paths):
        raise typer.Exit(EXIT_FAILURE)


def _match_record(match: Match) -> dict[str, Any]:
    return {
        "rule": match.rule_id,
        "terms": list(match.terms),
        "snippet": match.snippet,
        "hits": [asdict(hit) for hit in match.hits],
        "amounts": [{k: v for k, v in asdict(a).items() if k not in ("start", "end")} for a in match.amounts],
    }


def snippet_text(snippet: str | None) -> Text:
    """A match snippet (escaped HTML with <mark> around hits) for the terminal, hits highlighted."""
    text = Text()
    for index, part in enumerate(re.split(r"</?mark>", snippet or "")):
        text.append(clean(html.unescape(part)), style="bold reverse" if index % 2 else "")
    return text


# --------------------------------------------------------------------------- rules



@rules_app.command("list")
def rules_list(
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="Output format.")] = TableFormat.table,
    config: ConfigOpt = None,
) -> None:
    """The configured rules, their modes, and how many stored articles each flagged in 7 and 30 days."""
    from crawler.models import utcnow

    settings = _settings(config)
    setup_logging("WARNING")
    cfg = _config(settings)
    engine = _database(settings)
    with Session(engine) as session:
        week = match_counts(session, utcnow() - parse_duration("7d"))
        month = match_counts(session, utcnow() - parse_duration("30d"))
    if format is TableFormat.json:
        records = [
            {
                "id": rule.id,
                "name": rule.name,
                "mode": rule.mode,
                "recipients": list(rule.recipients),
                "webhooks": len(rule.webhooks),
                "flagged_7d": week.get(rule.id, 0),
                "flagged_30d": month.get(rule.id, 0),
                "query": " ".join(rule.query.split()),
            }
            for rule in cfg.rules
        ]
        out.print(_dumps(records), markup=False)
        return
    # Ids and counts never wrap; names and recipients wrap; the query, the longest, only in a wide terminal.
    from crawler.tables import fitted_table

    table = fitted_table(f"{len(cfg.rules)} rules", out.width, 100)
    table.add_column("rule", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("mode", no_wrap=True)
    table.add_column("recipients", overflow="fold")
    table.add_column("7 days", justify="right", no_wrap=True)
    table.add_column("30 days", justify="right", no_wrap=True)
    wide = out.width >= 140
    if wide:
        table.add_column("query", ratio=1)
    for rule in cfg.rules:
        row = [
            Text(clean(rule.id)),
            Text(clean(rule.name)),
            rule.mode,
            Text(clean(", ".join(rule.recipients)) or "(default)"),
            str(week.get(rule.id, 0)),
            str(month.get(rule.id, 0)),
        ]
        if wide:
            query = " ".join(rule.query.split())
            row.append(Text(clean(query if len(query) <= 200 else query[:199] + "…")))
        table.add_row(*row)
    out.print(table)
    if not wide:
        err.print("queries: rules.toml, or `newswatch rules list --format json`", markup=False)


@rules_app.command("test")
def rules_test(
    query: Annotated[str, typer.Argument(help="The query to try, in the rule language (aliases of rules.toml work).")],
    files: Annotated[
        list[Path] | None, typer.Option("--file", help="Saved article (.html, .html.gz, .json, .txt); repeatable.")
    ] = None,
    stored: Annotated[bool, typer.Option("--stored", help="Backtest on the stored articles.")] = False,
    since: Annotated[str, typer.Option("--since", help="With --stored: articles stored within this period.")] = "30d",
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list the inputs that do not match (with --file they always are).")
    ] = False,
    matched_only: Annotated[bool, typer.Option("--matched-only", help="Show only the inputs that match.")] = False,
    format: Annotated[MatchFormat, typer.Option("--format", "-f", help="Output format.")] = MatchFormat.text,
    config: ConfigOpt = None,
) -> None:
    """Dry-run a query on files or stored articles and show what it would flag, matches first, hits highlighted.

    With --stored only the matches are listed (newest first); --all lists the others after them."""
    from crawler.inputs import InputError, load_document
    from crawler.models import utcnow
    from crawler.rules import Rule, RuleError, RuleSet

    if bool(files) == stored:
        fail("give either --file PATH (one or more) or --stored", EXIT_CONFIG)
    settings = _settings(config)
    setup_logging("WARNING")
    cfg = _config(settings)
    try:
        ruleset = RuleSet.compile([Rule("test", query)], aliases=cfg.rules.aliases, usd_rates=cfg.rules.usd_rates)
    except RuleError as exc:
        fail(f"bad query: {exc}", EXIT_CONFIG)
    show_misses = (bool(files) or show_all) and not matched_only
    hits: list[tuple[str, str, Match]] = []
    misses: list[tuple[str, str]] = []
    total = 0

    def record(source: str, title: str, matches: list[Match]) -> None:
        nonlocal total
        total += 1
        if matches:
            hits.append((source, title, matches[0]))
        elif show_misses:
            misses.append((source, title))

    if files:
        for path in files:
            try:
                doc = load_document(path)
            except InputError as exc:
                err.print(clean(str(exc)), markup=False)
                continue
            record(str(path), doc.title, ruleset.match(doc.title, doc.text))
    else:
        try:
            cutoff = utcnow() - parse_duration(since)
        except ValueError as exc:
            fail(f"--since: {exc}", EXIT_CONFIG)
        engine = _database(settings)
        names = {site.id: (site.id, site.name) for site in cfg.sites}
        with Session(engine) as session:
            for article in iter_articles(session, since=cutoff):
                site = names.get(article.site_id, (article.site_id,))
                record(article.url, article.title, ruleset.match(article.title, article.text, site=site,
                                                                 url=article.canonical_url))
        hits.reverse()  # stored articles come oldest first: show the newest first
        misses.reverse()
    for source, title, found in hits:
        _show_test_result(source, title, found, format)
    for source, title in misses:
        _show_test_result(source, title, None, format)
    if format is MatchFormat.text:
        hidden = total - len(hits) - len(misses)
        more = f"; {hidden} that do not match are not listed (--all lists them)" if hidden and not matched_only else ""
        err.print(f"{len(hits)} of {total} would be flagged{more}", markup=False)


def _show_test_result(source: str, title: str, found: Match | None, format: MatchFormat) -> None:
    """One input of `rules test`: its verdict, and for a match the terms, amounts and highlighted snippet."""
    if format is MatchFormat.jsonl:
        record = {"path": source, "title": title, "matched": found is not None}
        record.update(_match_record(found) if found else {"terms": [], "snippet": None})
        record.pop("rule", None)
        out.print(_dumps(record), markup=False)
        return
    verdict = Text("MATCH", style="bold green") if found else Text("no match", style="dim")
    out.print(Text.assemble(verdict, "  ", clean(title), "  ", Text(clean(source), style="dim")))
    if found:
        out.print(Text.assemble("  terms: ", clean(", ".join(found.terms))))
        if found.amounts:
            amounts = ", ".join(
                f"{a.text} ({a.currency} {a.value:,.0f}"
                + (f" ≈ ${a.usd:,.0f})" if a.usd and a.currency != "USD" else ")")
                for a in found.amounts
            )
            out.print(Text.assemble("  amounts: ", clean(amounts)))
        out.print(Text.assemble("  ", snippet_text(found.snippet)))


# --------------------------------------------------------------------------- db and config


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None) -> None:
    """Create or upgrade the database schema to the newest version."""
    settings = _settings(config)
    setup_logging("WARNING")
    _database(settings)
    out.print(f"Database schema is up to date: {shown_url(settings.resolved_database_url())}", markup=False)


def shown_url(url: str) -> str:
    """A database URL fit for printing: the password masked."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: show nothing of it that could be secret
        return "(unparseable URL)"


@config_app.command("check")
def config_check(config: ConfigOpt = None) -> None:
    """Validate sites.toml and rules.toml; exit 2 and name every problem when they are invalid."""
    settings = _settings(config)
    cfg = _config(settings)
    enabled = sum(1 for s in cfg.sites if s.enabled)
    out.print(
        f"{settings.config}: OK — {len(cfg.sites)} sites ({enabled} enabled), {len(cfg.rules)} rules",
        markup=False,
    )
    print_env_file_settings()


def print_env_file_settings() -> None:
    """Name the settings that came from the .env file (not their values: some are secrets)."""
    from crawler.envfile import loaded

    found = loaded()
    if found:
        origin = next(iter(found.values())).path
        out.print(f"settings from {origin}: {', '.join(sorted(found))}", markup=False)


def main() -> None:
    """Entry point of the console script: the NEWSWATCH_* lines of ./.env first (the environment wins), then
    the command."""
    import sys

    from crawler.envfile import EnvFileError, load_env_file

    try:
        load_env_file()
    except EnvFileError as exc:
        err.print(f"[bold red]error:[/] {clean(str(exc))}", markup=True)
        sys.exit(EXIT_CONFIG)
    app()


def _service_commands() -> None:
    from crawler.service import cli as service_cli

    app.command("run")(service_cli.run)
    app.command("status")(service_cli.status)
    app.command("web")(service_cli.web)
    from crawler.distributed import cli as distributed_cli

    app.command("worker")(distributed_cli.worker)


_service_commands()


def _review_commands() -> None:
    from crawler.review import cli as review_cli

    review_app.command("list")(review_cli.review_list)
    review_app.command("show")(review_cli.review_show)
    review_app.command("mark")(review_cli.review_mark)
    review_app.command("export")(review_cli.review_export)


_review_commands()
