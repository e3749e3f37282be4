"""The `newswatch review ...` commands: list, show, mark and export flagged articles (thin: parse, call, print).

The work is done by :mod:`crawler.review.stories`, :mod:`~crawler.review.triage` and :mod:`~crawler.review.export`;
these commands turn options into a :class:`~crawler.review.stories.StoryFilter` and print the result. Stored
(untrusted) text reaches the terminal through :func:`crawler.cli.clean` and rich ``Text`` (no markup, no emoji
codes), CSV cells through ``csv_safe``, JSON with its control characters escaped (``escape_controls``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from crawler.alerts.cli import ConfigOpt  # not crawler.cli: that one imports this module
from crawler.review.export import escape_controls, review_url
from crawler.review.stories import DEFAULT_SORT, SORTS, STATUS_LABELS, ReviewError, StoryDetail, StoryFilter, StoryItem

if TYPE_CHECKING:
    from sqlmodel import Session

    from crawler.settings import Settings


class ReviewStatus(StrEnum):
    new = "new"
    relevant = "relevant"
    irrelevant = "irrelevant"
    reviewed = "reviewed"


class ReviewFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class ShowFormat(StrEnum):
    text = "text"
    json = "json"


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


# The filters `review list` and `review export` share (the web page's filters).
RuleOpt = Annotated[str | None, typer.Option("--rule", help="Only articles this rule flagged.")]
SiteOpt = Annotated[str | None, typer.Option("--site", help="Only articles of this site id.")]
StatusOpt = Annotated[ReviewStatus | None, typer.Option("--status", help="Only articles with this verdict.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Only articles found within this period, e.g. 7d, 12h.")]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="Only articles found on or after this UTC date (YYYY-MM-DD) or ISO time."),
]
UntilOpt = Annotated[
    str | None,
    typer.Option("--until", help="Only articles found up to this UTC date, included (YYYY-MM-DD), or ISO time."),
]
SearchOpt = Annotated[
    str, typer.Option("--search", "-q", help='Full-text search: words, "a phrase", prefix*.', show_default=False)
]
SortOpt = Annotated[str, typer.Option("--sort", help=f"Order: {', '.join(SORTS)}.")]


def parse_day(value: str, option: str, *, end: bool = False) -> datetime:
    """``YYYY-MM-DD`` (UTC midnight; with ``end``, the next midnight, so the day is included) or an ISO time
    (naive means UTC); ReviewError naming ``option`` otherwise."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ReviewError(f"{option}: not a date: {value!r} (use YYYY-MM-DD or an ISO time)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end and "T" not in value.upper() and " " not in value.strip():  # a date alone: the whole day
        parsed += timedelta(days=1)
    return parsed


def story_filter(
    rule: str | None = None,
    site: str | None = None,
    status: str | None = None,
    since: str | None = None,
    from_: str | None = None,
    until: str | None = None,
    search: str = "",
    sort: str = DEFAULT_SORT,
    now: datetime | None = None,
) -> StoryFilter:
    """The filter of the command-line options; ReviewError for a bad value."""
    from crawler.durations import parse_duration
    from crawler.models import utcnow

    if since and from_:
        raise ReviewError("give --since or --from, not both")
    start = None
    if since:
        try:
            start = (now or utcnow()) - parse_duration(since)
        except ValueError as exc:
            raise ReviewError(f"--since: {exc}") from None
    elif from_:
        start = parse_day(from_, "--from")
    end = parse_day(until, "--until", end=True) if until else None
    status = str(status) if status else None  # a ReviewStatus
    return StoryFilter(rule=rule, site=site, status=status, since=start, until=end, q=search, sort=sort)


@contextmanager
def _session(config: Path | None) -> Iterator[tuple[Settings, Session]]:
    from sqlmodel import Session

    from crawler.cli import _database, _settings
    from crawler.logs import setup_logging

    settings = _settings(config)
    setup_logging("WARNING")
    engine = _database(settings)
    try:
        with Session(engine) as session:
            yield settings, session
    finally:
        engine.dispose()


def _filter_or_exit(**options: Any) -> StoryFilter:
    from crawler.cli import EXIT_CONFIG, fail

    try:
        return story_filter(**options)
    except ReviewError as exc:
        fail(str(exc), EXIT_CONFIG)


def _check_names(flt: StoryFilter, settings: Settings, session: Session) -> None:
    """Exit 2 naming the configured rules (sites) when --rule (--site) names one that is neither configured nor
    in the database (a rule or site removed from the configuration keeps its stored stories)."""
    from sqlmodel import col, select

    from crawler.cli import EXIT_CONFIG, fail
    from crawler.config import ConfigError, load_config
    from crawler.models import ArticleRow, MatchRow

    if not (flt.rule or flt.site):
        return
    try:  # reviewing needs only the database: an unreadable configuration is no reason to refuse
        cfg = load_config(settings.config)
        rules, sites = list(cfg.rule_names()), list(cfg.site_names())
        known = "configured: {}"
    except ConfigError:
        rules, sites = [], []
        known = f"the configuration in {settings.config} cannot be read: see `newswatch config check`"

    def configured(names: list[str]) -> str:
        return known.format(", ".join(names) or "none")

    if flt.rule and flt.rule not in rules:
        stored = session.exec(select(MatchRow.id).where(col(MatchRow.rule_id) == flt.rule).limit(1)).first()
        if stored is None:
            fail(f"--rule: no rule {flt.rule!r} ({configured(rules)})", EXIT_CONFIG)
    if flt.site and flt.site not in sites:
        stored = session.exec(select(ArticleRow.id).where(col(ArticleRow.site_id) == flt.site).limit(1)).first()
        if stored is None:
            fail(f"--site: no site {flt.site!r} ({configured(sites)})", EXIT_CONFIG)


def _write(text: str) -> None:
    """Machine-readable output as is: rich would turn ``:name:`` into emoji. Already terminal-safe: CSV cells had
    their control characters blanked (``csv_safe``), JSON has them escaped (``escape_controls``)."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _render(items: list[StoryItem], base_url: str | None, *, is_json: bool) -> str:
    from crawler.review.export import to_csv, to_json

    return to_json(items, base_url) if is_json else to_csv(items, base_url)


def review_list(
    rule: RuleOpt = None,
    site: SiteOpt = None,
    status: StatusOpt = None,
    since: SinceOpt = None,
    from_: FromOpt = None,
    until: UntilOpt = None,
    search: SearchOpt = "",
    sort: SortOpt = DEFAULT_SORT,
    page: Annotated[int, typer.Option("--page", min=1, help="Page number.")] = 1,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Articles per page (0: all, in one page).")] = 50,
    format: Annotated[ReviewFormat, typer.Option("--format", "-f", help="Output format.")] = ReviewFormat.table,
    config: ConfigOpt = None,
) -> None:
    """List flagged articles (newest first): one row per article, with its rules and verdict."""
    from crawler.review.stories import iter_stories, list_stories

    flt = _filter_or_exit(
        rule=rule, site=site, status=status, since=since, from_=from_, until=until, search=search, sort=sort
    )
    with _session(config) as (settings, session):
        _check_names(flt, settings, session)
        if limit:
            found = list_stories(session, flt, page, limit)
            items, total, pages = found.items, found.total, found.pages
        else:
            items = iter_stories(session, flt)
            total, pages = len(items), 1
    if format is ReviewFormat.table:
        _print_table(items, total, page if limit else 1, pages)
    else:
        is_json = format is ReviewFormat.json
        _write(_render(items, settings.base_url, is_json=is_json))


def _print_table(items: list[StoryItem], total: int, page: int, pages: int) -> None:
    """The list as a table; in a terminal narrower than 120 columns without borders, the rules under each title,
    so that ids are never cut."""
    from crawler.cli import clean, out
    from crawler.tables import fitted_table

    title = f"{total} flagged" + (f" (page {page} of {pages})" if pages > 1 else "")
    wide = out.width >= 120
    table = fitted_table(title, out.width, 120)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("found", no_wrap=True)
    table.add_column("site", no_wrap=True)
    table.add_column("status", no_wrap=True)
    if wide:
        table.add_column("rules", no_wrap=True)
    table.add_column("title", ratio=1)
    for item in items:
        rules = Text(clean(", ".join(item.rules) if not wide else "\n".join(item.rules)))
        headline = Text(clean(item.title))
        row: list[str | Text] = [
            str(item.article_id),
            item.found.strftime("%Y-%m-%d %H:%M" if wide else "%Y-%m-%d"),
            Text(clean(item.site_id)),
            STATUS_LABELS.get(item.status, item.status),
        ]
        if wide:
            row += [rules, headline]
        else:
            rules.stylize("dim")
            row.append(Text.assemble(headline, "\n", rules))
        table.add_row(*row)
    out.print(table)


def review_show(
    article_id: Annotated[int, typer.Argument(help="The article id (see `review list`).", show_default=False)],
    format: Annotated[ShowFormat, typer.Option("--format", "-f", help="Output format.")] = ShowFormat.text,
    config: ConfigOpt = None,
) -> None:
    """Show one flagged article: metadata, verdict, each rule's terms, amounts and snippet, other outlets, alerts,
    and the body."""
    from crawler.cli import EXIT_FAILURE, _dumps, fail
    from crawler.review.stories import story_detail

    with _session(config) as (settings, session):
        try:
            detail = story_detail(session, article_id)
        except ReviewError as exc:
            fail(str(exc), EXIT_FAILURE)
    if format is ShowFormat.json:
        _write(escape_controls(_dumps(detail_record(detail, settings.base_url))))
    else:
        print_detail(detail)


def detail_record(detail: StoryDetail, base_url: str | None = None) -> dict[str, Any]:
    """The story page as plain JSON values (datetimes left to the JSON encoder)."""
    article = detail.article
    return {
        "id": article.id,
        "title": article.title,
        "site": article.site_id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "author": article.author,
        "published": article.published,
        "language": article.language,
        "found": article.created_at,
        "status": detail.status,
        "note": detail.note,
        "triaged_at": detail.triaged_at,
        "triaged_by": detail.triaged_by,
        "review_url": review_url(article.id, base_url) if article.id is not None else None,
        "matches": [
            {
                "rule": m.rule_id,
                "terms": m.terms,
                "amounts": m.amounts,
                "snippet": m.snippet,
                "hits": m.hits,
                "flagged_at": m.flagged_at,
            }
            for m in detail.matches
        ],
        "outlets": [
            {
                "id": o.article_id,
                "site": o.site_id,
                "title": o.title,
                "url": o.url,
                "published": o.published,
                "flagged": o.flagged,
            }
            for o in detail.outlets
        ],
        "alerts": [
            {
                "rule": a.rule_id,
                "mode": a.mode,
                "suppressed": a.suppressed,
                "reason": a.reason,
                "created_at": a.created_at,
                "deliveries": [{"channel": c, "recipient": r, "status": s} for c, r, s in a.deliveries],
            }
            for a in detail.alerts
        ],
        "text": article.text,
    }


def amount_text(amount: dict[str, Any]) -> str:
    """A stored amount ({"text", "value", "currency", "usd"}) as "$5m (USD 5,000,000)", or its text alone."""
    text = str(amount.get("text") or "")
    value, currency, usd = amount.get("value"), amount.get("currency"), amount.get("usd")
    if not isinstance(value, int | float) or not currency:
        return text
    extra = f" ≈ ${usd:,.0f}" if isinstance(usd, int | float) and currency != "USD" else ""
    return f"{text} ({currency} {value:,.0f}{extra})"


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def print_detail(detail: StoryDetail) -> None:
    """The story page on the terminal: untrusted text cleaned, the rules' hits highlighted."""
    from crawler.cli import clean, out, snippet_text
    from crawler.review.highlight import spans_for

    article = detail.article

    def line(*parts: str | Text) -> None:
        out.print(Text.assemble(*parts))

    line(Text(clean(article.title), style="bold"))
    line("site: ", clean(article.site_id), "   url: ", clean(article.url))
    line(
        "author: ",
        clean(article.author) or "—",
        "   published: ",
        _date(article.published),
        "   language: ",
        clean(article.language) or "—",
        "   found: ",
        _date(article.created_at),
    )
    verdict = STATUS_LABELS.get(detail.status, detail.status)
    if detail.triaged_at:
        verdict += f" (by {clean(detail.triaged_by) or '?'}, {_date(detail.triaged_at)})"
    line("status: ", Text(verdict, style="bold"))
    if detail.note:
        line("note: ", clean(detail.note))
    for match in detail.matches:
        line("")
        line(Text(f"rule {clean(match.rule_id)}", style="bold"), "  terms: ", clean(", ".join(match.terms)))
        if match.amounts:
            line("  amounts: ", clean(", ".join(amount_text(a) for a in match.amounts if isinstance(a, dict))))
        if match.snippet:
            line("  ", snippet_text(match.snippet))
    if detail.outlets:
        line("")
        line(Text(f"other outlets ({len(detail.outlets)})", style="bold"))
        for outlet in detail.outlets:
            flag = "  [flagged]" if outlet.flagged else ""
            line(f"  #{outlet.article_id} ", clean(outlet.site_id), ": ", clean(outlet.title), flag)
            line("    ", clean(outlet.url))
    if detail.alerts:
        line("")
        line(Text(f"alerts ({len(detail.alerts)})", style="bold"))
        for alert in detail.alerts:
            state = f"suppressed: {clean(alert.reason) or '?'}" if alert.suppressed else alert.mode
            sent = "; ".join(f"{clean(c)} {clean(r)}: {clean(s)}" for c, r, s in alert.deliveries) or "no message yet"
            line(f"  {_date(alert.created_at)}  ", clean(alert.rule_id), f" ({state})  ", sent)
    line("")
    text = clean(article.text)  # one character for one: the stored hit offsets still apply
    body = Text(text)
    for match in detail.matches:
        for start, end in spans_for(match.hits, "body", len(text)):
            body.stylize("bold reverse", start, end)
    out.print(body)


def review_mark(
    article_id: Annotated[int, typer.Argument(help="The article id (see `review list`).", show_default=False)],
    state: Annotated[
        str, typer.Argument(help="relevant, irrelevant (or not-relevant), reviewed, or new (clears the verdict).")
    ],
    note: Annotated[str | None, typer.Option("--note", help='A note ("" removes it; default: keep it).')] = None,
    config: ConfigOpt = None,
) -> None:
    """Record your verdict on a flagged article and print it."""
    from crawler.cli import EXIT_CONFIG, EXIT_FAILURE, fail, out
    from crawler.review.triage import mark, parse_state

    try:
        parse_state(state)
    except ReviewError as exc:
        fail(str(exc), EXIT_CONFIG)
    with _session(config) as (_settings, session):
        try:
            stored = mark(session, article_id, state, note=note, by="cli")
        except ReviewError as exc:
            fail(str(exc), EXIT_FAILURE)
    out.print(f"article {article_id}: {STATUS_LABELS.get(stored, stored)}", markup=False)


def review_export(
    rule: RuleOpt = None,
    site: SiteOpt = None,
    status: StatusOpt = None,
    since: SinceOpt = None,
    from_: FromOpt = None,
    until: UntilOpt = None,
    search: SearchOpt = "",
    sort: SortOpt = DEFAULT_SORT,
    format: Annotated[ExportFormat, typer.Option("--format", "-f", help="Output format.")] = ExportFormat.csv,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: standard output).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Export every flagged article under the filters as CSV or JSON (review links from NEWSWATCH_BASE_URL)."""
    from crawler.cli import EXIT_FAILURE, err, fail
    from crawler.review.stories import iter_stories

    flt = _filter_or_exit(
        rule=rule, site=site, status=status, since=since, from_=from_, until=until, search=search, sort=sort
    )
    with _session(config) as (settings, session):
        _check_names(flt, settings, session)
        items = iter_stories(session, flt)
    is_json = format is ExportFormat.json
    text = _render(items, settings.base_url, is_json=is_json)
    if output is None:
        _write(text)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as file:
            file.write(text)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", EXIT_FAILURE)
    err.print(f"{len(items)} articles written to {output}", markup=False, highlight=False)
