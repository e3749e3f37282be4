"""Query flagged articles for review: filtered, searched, sorted and paged lists, facet counts, one story.

Everything the reader types arrives here as a :class:`StoryFilter` of plain values; every value reaches SQL
as a bound parameter, sorting goes through the :data:`SORTS` allow-list, and the search box through
:mod:`crawler.review.search`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlmodel import Session

from crawler.models import AlertRow, ArticleRow, CrawlRunRow, MatchRow, OutboxAlertRow, OutboxRow, TriageRow
from crawler.review.search import search_condition

STATUSES = ("new", "relevant", "irrelevant", "reviewed")
STATUS_LABELS = {"new": "new", "relevant": "relevant", "irrelevant": "not relevant", "reviewed": "reviewed"}

_article = ArticleRow.__table__.c  # type: ignore[attr-defined]
_match = MatchRow.__table__.c  # type: ignore[attr-defined]
_triage = TriageRow.__table__.c  # type: ignore[attr-defined]
_alert = AlertRow.__table__.c  # type: ignore[attr-defined]
_outbox = OutboxRow.__table__.c  # type: ignore[attr-defined]
_outbox_alert = OutboxAlertRow.__table__.c  # type: ignore[attr-defined]

# Sort keys a request may name, and what they mean (newest first unless the key says otherwise).
SORTS: dict[str, tuple[Any, ...]] = {
    "newest": (_article.created_at.desc(), _article.id.desc()),
    "oldest": (_article.created_at.asc(), _article.id.asc()),
    "published": (_article.published.desc().nulls_last(), _article.id.desc()),
    "site": (_article.site_id.asc(), _article.created_at.desc(), _article.id.desc()),
    "title": (_article.title.asc(), _article.id.asc()),
}
DEFAULT_SORT = "newest"
MAX_PER_PAGE = 200
MAX_ID = 2**31 - 1  # article.id is an INTEGER: 32 bits on PostgreSQL, which refuses a larger value outright
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")  # NUL (PostgreSQL refuses it) and lone surrogates (no UTF-8)


class ReviewError(Exception):
    """A review request that cannot be served: unknown article, bad state or filter value."""


def get_article(session: Session, article_id: int) -> ArticleRow:
    """The article, or ReviewError when there is none (also for ids out of the column's range)."""
    article = session.get(ArticleRow, article_id) if 0 < article_id <= MAX_ID else None
    if article is None:
        raise ReviewError(f"no article with id {article_id}")
    return article


def check_text(value: str | None, what: str) -> None:
    """ReviewError when ``value`` holds characters no database takes (NUL, lone surrogates)."""
    if value and _UNSTORABLE.search(value):
        raise ReviewError(f"{what}: holds a character that cannot be stored (NUL or invalid Unicode)")


@dataclass(frozen=True)
class StoryFilter:
    """What the list shows: flagged articles of one rule / site / status, found within [since, until), matching
    the search box ``q``; sorted by one of :data:`SORTS`."""

    rule: str | None = None
    site: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""
    sort: str = DEFAULT_SORT

    def __post_init__(self) -> None:
        check_text(self.rule, "rule")
        check_text(self.site, "site")
        if self.status is not None and self.status not in STATUSES:
            raise ReviewError(f"unknown status {self.status!r} (one of: {', '.join(STATUSES)})")
        if self.sort not in SORTS:
            raise ReviewError(f"unknown sort {self.sort!r} (one of: {', '.join(SORTS)})")


@dataclass(frozen=True)
class StoryItem:
    """One row of the list."""

    article_id: int
    title: str
    url: str
    site_id: str
    found: datetime
    published: datetime | None
    rules: tuple[str, ...]
    status: str
    note: str | None
    snippet: str | None  # HTML (escaped text with <mark>ed hits) of the first rule's match
    outlets: int  # other articles of the same story


@dataclass(frozen=True)
class StoryPage:
    """One page of the list, with the total, the page number and each rule's count under the same filter."""

    items: list[StoryItem]
    total: int
    page: int
    per_page: int
    rule_counts: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class MatchView:
    """A rule's match on the story page."""

    rule_id: str
    terms: list[str]
    snippet: str | None
    amounts: list[dict[str, Any]]
    hits: list[dict[str, Any]]
    flagged_at: datetime


@dataclass(frozen=True)
class Outlet:
    """Another article of the same story."""

    article_id: int
    site_id: str
    title: str
    url: str
    published: datetime | None
    flagged: bool


@dataclass(frozen=True)
class AlertView:
    """An alert of the story and what became of its messages."""

    rule_id: str
    mode: str
    suppressed: bool
    reason: str | None
    created_at: datetime
    deliveries: list[tuple[str, str, str]]  # (channel, recipient, status)


@dataclass(frozen=True)
class StoryDetail:
    """Everything the story page shows."""

    article: ArticleRow
    matches: list[MatchView]
    status: str
    note: str | None
    triaged_at: datetime | None
    triaged_by: str | None
    outlets: list[Outlet]
    alerts: list[AlertView]


def _flagged(rule: str | None = None) -> ColumnElement[bool]:
    condition = _match.article_id == _article.id
    if rule:
        condition = and_(condition, _match.rule_id == rule)
    return exists(select(_match.id).where(condition))


def _conditions(session: Session, flt: StoryFilter, *, flagged: bool = True) -> list[ColumnElement[bool]]:
    conditions = [_flagged(flt.rule)] if flagged else []
    if flt.site:
        conditions.append(_article.site_id == flt.site)
    if flt.since is not None:
        conditions.append(_article.created_at >= flt.since)
    if flt.until is not None:
        conditions.append(_article.created_at < flt.until)
    if flt.status == "new":
        conditions.append(~exists(select(_triage.article_id).where(_triage.article_id == _article.id)))
    elif flt.status:
        conditions.append(
            exists(select(_triage.article_id).where(_triage.article_id == _article.id, _triage.state == flt.status))
        )
    if flt.q.strip():
        search = search_condition(session.get_bind().dialect, flt.q)
        if search is None:  # a search with no word in it finds nothing, rather than everything
            conditions.append(_article.id.is_(None))
        else:
            conditions.append(search)
    return conditions


def list_stories(session: Session, flt: StoryFilter, page: int = 1, per_page: int = 25) -> StoryPage:
    """One page of flagged articles under ``flt`` (page numbers start at 1), with the rule counts."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    conditions = _conditions(session, flt)
    total = int(session.execute(select(func.count()).select_from(ArticleRow).where(*conditions)).scalar_one())
    items = _page(session, flt, conditions, (page - 1) * per_page, per_page)
    return StoryPage(items, total, page, per_page, rule_counts(session, flt))


def iter_stories(session: Session, flt: StoryFilter, limit: int = 100_000, batch: int = 500) -> list[StoryItem]:
    """Every flagged article under ``flt`` (at most ``limit``), in the filter's order: for exports."""
    conditions = _conditions(session, flt)
    batch = max(1, batch)
    found: list[StoryItem] = []
    while len(found) < limit:
        size = min(batch, limit - len(found))
        chunk = _page(session, flt, conditions, len(found), size)
        found.extend(chunk)
        if len(chunk) < size:
            break
    return found


def _page(
    session: Session, flt: StoryFilter, conditions: list[ColumnElement[bool]], offset: int, limit: int
) -> list[StoryItem]:
    rows = session.execute(
        select(
            _article.id,
            _article.title,
            _article.url,
            _article.site_id,
            _article.created_at,
            _article.published,
            _article.story_id,
        )
        .where(*conditions)
        .order_by(*SORTS[flt.sort])
        .offset(offset)
        .limit(limit)
    ).all()
    return _items(session, rows, flt.rule)


def _items(session: Session, rows: Sequence[Any], rule: str | None) -> list[StoryItem]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    matches: dict[int, list[tuple[str, str | None]]] = {}
    for article_id, rule_id, snippet in session.execute(
        select(_match.article_id, _match.rule_id, _match.snippet).where(_match.article_id.in_(ids)).order_by(_match.id)
    ).all():
        matches.setdefault(article_id, []).append((rule_id, snippet))
    triage = {
        r.article_id: (r.state, r.note)
        for r in session.execute(
            select(_triage.article_id, _triage.state, _triage.note).where(_triage.article_id.in_(ids))
        )
    }
    stories = {row.story_id for row in rows if row.story_id is not None}
    sizes: dict[int, int] = {}
    if stories:
        sizes = {
            story_id: int(count)
            for story_id, count in session.execute(
                select(_article.story_id, func.count())
                .where(_article.story_id.in_(stories))
                .group_by(_article.story_id)
            ).all()
        }
    items = []
    for row in rows:
        found = matches.get(row.id, [])
        snippet = next((s for r, s in found if r == rule), None) if rule else None
        snippet = snippet or next((s for _, s in found if s), None)
        state, note = triage.get(row.id, ("new", None))
        items.append(
            StoryItem(
                article_id=row.id,
                title=row.title,
                url=row.url,
                site_id=row.site_id,
                found=row.created_at,
                published=row.published,
                rules=tuple(dict.fromkeys(r for r, _ in found)),
                status=state,
                note=note,
                snippet=snippet,
                outlets=max(0, sizes.get(row.story_id, 1) - 1) if row.story_id is not None else 0,
            )
        )
    return items


def rule_counts(session: Session, flt: StoryFilter) -> dict[str, int]:
    """How many articles under ``flt`` each rule flagged (the rule filter itself left out), by rule id."""
    conditions = _conditions(session, replace(flt, rule=None), flagged=False)  # the join to match flags
    query = (
        select(_match.rule_id, func.count(func.distinct(_match.article_id)))
        .join(ArticleRow, _article.id == _match.article_id)
        .where(*conditions)
        .group_by(_match.rule_id)
    )
    return {rule_id: int(count) for rule_id, count in session.execute(query).all()}


def story_detail(session: Session, article_id: int) -> StoryDetail:
    """The story page of one article; ReviewError when there is no such article."""
    article = get_article(session, article_id)
    matches = [
        MatchView(m.rule_id, list(m.terms), m.snippet, list(m.amounts or []), list(m.hits or []), m.flagged_at)
        for m in session.execute(select(MatchRow).where(_match.article_id == article_id).order_by(_match.id)).scalars()
    ]
    triage = session.get(TriageRow, article_id)
    outlets: list[Outlet] = []
    if article.story_id is not None:
        flagged = _flagged()
        for row in session.execute(
            select(_article.id, _article.site_id, _article.title, _article.url, _article.published, flagged)
            .where(_article.story_id == article.story_id, _article.id != article_id)
            .order_by(_article.created_at, _article.id)
            .limit(50)
        ).all():
            outlets.append(Outlet(row[0], row[1], row[2], row[3], row[4], bool(row[5])))
    return StoryDetail(
        article=article,
        matches=matches,
        status=triage.state if triage else "new",
        note=triage.note if triage else None,
        triaged_at=triage.updated_at if triage else None,
        triaged_by=triage.updated_by if triage else None,
        outlets=outlets,
        alerts=_alerts(session, article),
    )


def _alerts(session: Session, article: ArticleRow) -> list[AlertView]:
    if article.story_id is None:
        return []
    alerts = (
        session.execute(
            select(AlertRow)
            .where(or_(_alert.story_id == article.story_id, _alert.article_id == article.id))
            .order_by(_alert.id)
        )
        .scalars()
        .all()
    )
    views = []
    for alert in alerts:
        deliveries = [
            (channel, recipient, status)
            for channel, recipient, status in session.execute(
                select(_outbox_alert.channel, _outbox_alert.recipient, _outbox.status)
                .join(OutboxRow, _outbox.id == _outbox_alert.outbox_id)
                .where(_outbox_alert.alert_id == alert.id)
                .order_by(_outbox.id)
            ).all()
        ]
        views.append(AlertView(alert.rule_id, alert.mode, alert.suppressed, alert.reason, alert.created_at, deliveries))
    return views


def crawled_site_ids(session: Session) -> list[str]:
    """The ids of the sites that have crawl runs (configured or not: a demo's sample site, a removed site)."""
    column = CrawlRunRow.__table__.c.site_id  # type: ignore[attr-defined]
    return sorted(session.execute(select(column).distinct()).scalars())
