"""How each rule does: matches per day and week, triage counts and precision, and backtests of a query.

Precision is relevant ÷ (relevant + irrelevant): "reviewed" records that someone looked, not a verdict, so
it counts as reviewed but not as triaged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from crawler.models import ArticleRow, MatchRow, TriageRow
from crawler.rules import Rule, RuleSet
from crawler.store import iter_articles

_match = MatchRow.__table__.c  # type: ignore[attr-defined]
_triage = TriageRow.__table__.c  # type: ignore[attr-defined]
_article = ArticleRow.__table__.c  # type: ignore[attr-defined]

DAYS = 14
WEEKS = 8


@dataclass
class RuleStats:
    """One rule's figures (``configured`` False: the rule has matches but is no longer in rules.toml)."""

    rule_id: str
    query: str | None = None
    mode: str | None = None
    configured: bool = True
    total: int = 0
    per_day: list[tuple[str, int]] = field(default_factory=list)  # (YYYY-MM-DD, count), oldest first
    per_week: list[tuple[str, int]] = field(default_factory=list)  # (Monday's YYYY-MM-DD, count), oldest first
    relevant: int = 0
    irrelevant: int = 0
    reviewed: int = 0

    @property
    def triaged(self) -> int:
        return self.relevant + self.irrelevant

    @property
    def precision(self) -> float | None:
        """relevant ÷ triaged, None before any verdict."""
        return self.relevant / self.triaged if self.triaged else None

    @property
    def last_7_days(self) -> int:
        return sum(count for _, count in self.per_day[-7:])


def _day(value: datetime) -> datetime:
    # naive means UTC, as in the database (crawler.models.UTCDateTime), never the machine's local time
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def rule_stats(
    session: Session, rules: Sequence[tuple[str, str, str]], now: datetime, days: int = DAYS, weeks: int = WEEKS
) -> list[RuleStats]:
    """Figures for the configured ``rules`` ((id, query, mode), in file order), then for any other rule id
    found in the matches. Days and weeks are UTC calendar days and ISO weeks, the current one last."""
    stats = {rule_id: RuleStats(rule_id, query, mode) for rule_id, query, mode in rules}

    def entry(rule_id: str) -> RuleStats:
        if rule_id not in stats:
            stats[rule_id] = RuleStats(rule_id, configured=False)
        return stats[rule_id]

    for rule_id, count in session.execute(select(_match.rule_id, func.count()).group_by(_match.rule_id)).all():
        entry(rule_id).total = int(count)

    today = _day(now)
    monday = today - timedelta(days=today.weekday())
    first_week = monday - timedelta(weeks=weeks - 1)
    first_day = today - timedelta(days=days - 1)
    daily: dict[str, dict[datetime, int]] = {}
    weekly: dict[str, dict[datetime, int]] = {}
    start = min(first_day, first_week)
    # Counted in Python from one narrow query: portable across SQLite and PostgreSQL date functions.
    for rule_id, flagged_at in session.execute(
        select(_match.rule_id, _match.flagged_at).where(_match.flagged_at >= start)
    ).all():
        day = _day(flagged_at)
        daily.setdefault(rule_id, {}).setdefault(day, 0)
        daily[rule_id][day] += 1
        week = day - timedelta(days=day.weekday())
        weekly.setdefault(rule_id, {}).setdefault(week, 0)
        weekly[rule_id][week] += 1
        entry(rule_id)

    for rule_id, state, count in session.execute(
        select(_match.rule_id, _triage.state, func.count())
        .join(TriageRow, _triage.article_id == _match.article_id)
        .group_by(_match.rule_id, _triage.state)
    ).all():
        item = entry(rule_id)
        if state in ("relevant", "irrelevant", "reviewed"):
            setattr(item, state, int(count))

    for rule_id, item in stats.items():
        item.per_day = [
            (
                (first_day + timedelta(days=i)).date().isoformat(),
                daily.get(rule_id, {}).get(first_day + timedelta(days=i), 0),
            )
            for i in range(days)
        ]
        item.per_week = [
            (
                (first_week + timedelta(weeks=i)).date().isoformat(),
                weekly.get(rule_id, {}).get(first_week + timedelta(weeks=i), 0),
            )
            for i in range(weeks)
        ]
    return list(stats.values())


@dataclass(frozen=True)
class BacktestHit:
    """A stored article the query matches."""

    article_id: int
    title: str
    url: str
    site_id: str
    found: datetime
    snippet: str | None
    terms: list[str]


@dataclass
class Backtest:
    """What a query would have flagged among the stored articles found since ``since``."""

    query: str
    since: datetime
    scanned: int = 0
    flagged: int = 0
    hits: list[BacktestHit] = field(default_factory=list)
    truncated: bool = False  # stopped at the article cap


def backtest(
    session: Session,
    query: str,
    since: datetime,
    aliases: dict[str, str | tuple[str, ...]] | None = None,
    usd_rates: dict[str, float] | None = None,
    site_names: dict[str, tuple[str, ...]] | None = None,
    show: int = 50,
    cap: int = 200_000,
) -> Backtest:
    """Run ``query`` over the stored articles found since ``since`` (newest matches first, ``show`` kept).

    Raises :class:`crawler.rules.RuleError` for a query that does not parse.
    """
    ruleset = RuleSet.compile([Rule("test", query)], aliases=aliases, usd_rates=usd_rates)
    result = Backtest(query, since)
    names = site_names or {}
    for article in iter_articles(session, since=since):
        if result.scanned >= cap:
            result.truncated = True
            break
        result.scanned += 1
        matches = ruleset.match(
            article.title, article.text, site=names.get(article.site_id, (article.site_id,)), url=article.canonical_url
        )
        if not matches:
            continue
        result.flagged += 1
        assert article.id is not None
        result.hits.append(
            BacktestHit(
                article.id,
                article.title,
                article.url,
                article.site_id,
                article.created_at,
                matches[0].snippet,
                list(matches[0].terms),
            )
        )
        if len(result.hits) > show:
            result.hits.pop(0)  # iter_articles goes oldest first: keep the newest
    result.hits.reverse()
    return result
