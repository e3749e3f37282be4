"""Query flagged articles for review: filtered, searched, sorted and paged lists, facet counts, one story.

Everything the reader types arrives here as a :class:`StoryFilter` of plain values; every value reaches SQL
as a bound parameter, sorting goes through the :data:`SORTS` allow-list, and the search box through
:mod:`crawler.review.search`.

Built for a million articles, a tenth of them flagged (``benchmarks/review_page.py``): counts come from
``match`` (one row per article and rule) and the search index, which holds flagged articles only, never from
a scan of ``article``; a page either walks the articles in date order until it is full or sorts the few
candidates, whichever the counts say is cheaper (:func:`_page`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, literal, or_, select, text, tuple_
from sqlmodel import Session

from crawler.models import AlertRow, ArticleRow, CrawlRunRow, MatchRow, OutboxAlertRow, OutboxRow, TriageRow
from crawler.review.search import search_condition, search_ids

STATUSES = ("new", "relevant", "irrelevant", "reviewed")
STATUS_LABELS = {"new": "new", "relevant": "relevant", "irrelevant": "not relevant", "reviewed": "reviewed"}

_article = ArticleRow.__table__.c  # type: ignore[attr-defined]
_match = MatchRow.__table__.c  # type: ignore[attr-defined]
_triage = TriageRow.__table__.c  # type: ignore[attr-defined]
_alert = AlertRow.__table__.c  # type: ignore[attr-defined]
_outbox = OutboxRow.__table__.c  # type: ignore[attr-defined]
_outbox_alert = OutboxAlertRow.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Key:
    """One column of a sort order: its direction, and whether it may be NULL (NULLs come last either way)."""

    column: Any
    descending: bool = False
    nullable: bool = False

    def order(self, reverse: bool = False) -> Any:
        """The ORDER BY term (``reverse``: the opposite order, NULLs first)."""
        clause = self.column.desc() if self.descending != reverse else self.column.asc()
        if self.nullable:
            clause = clause.nulls_first() if reverse else clause.nulls_last()
        return clause

    def beyond(self, value: Any, reverse: bool) -> ColumnElement[bool] | None:
        """The rows this column puts strictly after ``value`` (``reverse``: before it); None for none."""
        if value is None:  # NULLs come last: before one, every value; after one, nothing
            return self.column.is_not(None) if reverse else None
        later = self.column < value if self.descending != reverse else self.column > value
        return or_(later, self.column.is_(None)) if self.nullable and not reverse else later

    def same(self, value: Any) -> ColumnElement[bool]:
        return self.column.is_(None) if value is None else self.column == value


# Sort keys a request may name and what they mean, each ending with the id (a total order, so a story's
# neighbours are well defined).
_SORT_KEYS: dict[str, tuple[_Key, ...]] = {
    "found-newest": (_Key(_article.created_at, descending=True), _Key(_article.id, descending=True)),
    "found-oldest": (_Key(_article.created_at), _Key(_article.id)),
    "published-newest": (
        _Key(_article.published, descending=True, nullable=True),
        _Key(_article.id, descending=True),
    ),
    "published-oldest": (_Key(_article.published, nullable=True), _Key(_article.id)),
    "site": (_Key(_article.site_id), _Key(_article.created_at, descending=True), _Key(_article.id, descending=True)),
    "title": (_Key(_article.title), _Key(_article.id)),
}
SORTS: dict[str, tuple[Any, ...]] = {name: tuple(key.order() for key in keys) for name, keys in _SORT_KEYS.items()}
# Earlier names of sorts, still taken (bookmarked URLs, scripts calling `review list --sort`).
SORT_ALIASES = {"newest": "found-newest", "oldest": "found-oldest", "published": "published-newest"}
DEFAULT_SORT = "found-newest"
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
    the search box ``q``; sorted by one of :data:`SORTS` (or an alias of one in :data:`SORT_ALIASES`)."""

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
        sort = SORT_ALIASES.get(self.sort, self.sort)
        if sort not in SORTS:
            raise ReviewError(f"unknown sort {self.sort!r} (one of: {', '.join(SORTS)})")
        object.__setattr__(self, "sort", sort)  # an alias becomes the sort's name


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


def _article_conditions(flt: StoryFilter) -> list[ColumnElement[bool]]:
    """The filters on article columns: site and when found."""
    conditions: list[ColumnElement[bool]] = []
    if flt.site:
        conditions.append(_article.site_id == flt.site)
    if flt.since is not None:
        conditions.append(_article.created_at >= flt.since)
    if flt.until is not None:
        conditions.append(_article.created_at < flt.until)
    return conditions


def _id_conditions(
    session: Session, flt: StoryFilter, ids: ColumnElement[int], *, correlated: bool = False
) -> list[ColumnElement[bool]]:
    """The filters on the article id ``ids`` (``article.id`` or ``match.article_id``): status and search.

    ``correlated``: look each id up (the search index included) rather than collect all the hits first."""
    conditions: list[ColumnElement[bool]] = []
    if flt.status == "new":
        conditions.append(ids.not_in(select(_triage.article_id)))
    elif flt.status:
        conditions.append(ids.in_(select(_triage.article_id).where(_triage.state == flt.status)))
    if flt.q.strip():
        search = search_condition(session.get_bind().dialect, flt.q, ids, correlated=correlated)
        # a search with no word in it finds nothing, rather than everything
        conditions.append(false() if search is None else search)
    return conditions


def _matches(
    session: Session, flt: StoryFilter, *columns: Any, articles: Sequence[ColumnElement[bool]] = ()
) -> Select[Any]:
    """``columns`` of the match rows of the articles under ``flt``, its rule filter included (and the
    conditions ``articles`` on article columns).

    Counting goes through ``match`` (one row per article and rule): joined to ``article`` only for the site
    and date filters; on SQLite the join then starts from the article index of those filters (the planner
    has no statistics to choose by), on PostgreSQL the planner chooses."""
    query = select(*columns).select_from(MatchRow).where(*_id_conditions(session, flt, _match.article_id))
    if flt.rule:
        query = query.where(_match.rule_id == flt.rule)
    article_conditions = [*_article_conditions(flt), *articles]
    if article_conditions:
        key: ColumnElement[int] = _article.id
        if session.get_bind().dialect.name == "sqlite":
            key = key + 0  # not the article's rowid: the loop over articles comes first
        query = query.join(ArticleRow, _match.article_id == key).where(*article_conditions)
    return query


@contextmanager
def _search_plans(session: Session, flt: StoryFilter) -> Iterator[None]:
    """Run the statements of a search on PostgreSQL without sequential scans (this transaction only).

    For a common word the planner would rather read every row of the search table than its GIN index: it
    does not count reading each document out of TOAST, some 400 ms for 100,000 flagged articles against
    about 20 ms through the index. The setting is put back afterwards (SET LOCAL: a rollback undoes it too).
    """
    if not flt.q.strip() or session.get_bind().dialect.name != "postgresql":
        yield
        return
    previous = session.execute(text("SELECT current_setting('enable_seqscan')")).scalar_one()
    session.execute(text("SELECT set_config('enable_seqscan', 'off', true)"))
    yield
    session.execute(text("SELECT set_config('enable_seqscan', :value, true)"), {"value": previous})


def count_stories(session: Session, flt: StoryFilter) -> int:
    """How many flagged articles ``flt`` finds."""
    with _search_plans(session, flt):
        return _count(session, flt)


def _count(session: Session, flt: StoryFilter) -> int:
    if flt.q.strip() and not flt.rule and not _article_conditions(flt):
        # the search index holds flagged articles only, one row each: count its hits (no match rows to fold)
        found = search_ids(session.get_bind().dialect, flt.q)
        if found is None:
            return 0
        found = found.where(*_id_conditions(session, replace(flt, q=""), found.selected_columns[0]))
        return int(session.execute(select(func.count()).select_from(found.subquery())).scalar_one())
    ids = _matches(session, flt, _match.article_id).distinct().subquery()
    return int(session.execute(select(func.count()).select_from(ids)).scalar_one())


def list_stories(session: Session, flt: StoryFilter, page: int = 1, per_page: int = 25) -> StoryPage:
    """One page of flagged articles under ``flt`` (page numbers start at 1), with the rule counts."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    with _search_plans(session, flt):
        counts, total = _counts(session, flt)
        items = _page(session, flt, (page - 1) * per_page, per_page, total) if total else []
    return StoryPage(items, total, page, per_page, counts)


def _counts(session: Session, flt: StoryFilter) -> tuple[dict[str, int], int]:
    """The rule counts and the total of ``flt``."""
    if flt.rule:  # its count is the total: the rule counts leave out only that filter
        counts = _rule_counts(session, flt)
        return counts, counts.get(flt.rule, 0)
    if flt.q.strip() and session.get_bind().dialect.name == "postgresql":
        # both in one pass: the search is the costly part there (a phrase re-reads each candidate's document)
        query = _matches(
            session, flt, _match.rule_id, func.count(), func.count(func.distinct(_match.article_id))
        ).group_by(func.rollup(_match.rule_id))
        counts, total = {}, 0
        for rule_id, rows, articles in session.execute(query).all():
            if rule_id is None:  # the grand total row
                total = int(articles)
            else:
                counts[rule_id] = int(rows)
        return counts, total
    return _rule_counts(session, flt), _count(session, flt)


def iter_stories(session: Session, flt: StoryFilter, limit: int = 100_000, batch: int = 500) -> list[StoryItem]:
    """Every flagged article under ``flt`` (at most ``limit``), in the filter's order: for exports."""
    batch = max(1, batch)
    found: list[StoryItem] = []
    with _search_plans(session, flt):
        total = min(_count(session, flt), limit)
        while len(found) < total:
            size = min(batch, total - len(found))
            chunk = _page(session, flt, len(found), size, total)
            found.extend(chunk)
            if len(chunk) < size:
                break
    return found


# Sorts an index gives in order (article.created_at): a page of those can walk the index and stop.
_WALKABLE = ("found-newest", "found-oldest")
# Fetching a candidate by id and sorting it costs about this many steps of such a walk.
_CANDIDATE_COST = 4
_ITEM_COLUMNS = (
    _article.id,
    _article.title,
    _article.url,
    _article.site_id,
    _article.created_at,
    _article.published,
    _article.story_id,
)


def _walk_is_cheaper(session: Session, flt: StoryFilter, rows: int, total: int) -> bool:
    """Whether ``rows`` of the ``total`` articles under ``flt`` are found faster by walking the articles in
    date order (about rows × articles / total steps) than by sorting the candidates (see :func:`_page`)."""
    if flt.sort not in _WALKABLE:
        return False
    # the articles the walk goes through: those of the site and dates asked for (counted on their index),
    # else all of them (the largest id: no count of a big table)
    range_conditions = _article_conditions(flt)
    size = func.count() if range_conditions else func.coalesce(func.max(_article.id), 0)
    articles = int(session.execute(select(size).select_from(ArticleRow).where(*range_conditions)).scalar_one())
    return rows * articles <= _CANDIDATE_COST * total * total


def _keys(session: Session, flt: StoryFilter, walk: bool) -> Select[Any]:
    """The ids of the flagged articles under ``flt`` (unordered): checked one by one along the articles
    (``walk``), or collected through ``match`` first."""
    if walk:
        conditions = [
            _flagged(flt.rule),
            *_article_conditions(flt),
            *_id_conditions(session, flt, _article.id, correlated=True),
        ]
        return select(_article.id).where(*conditions)
    # the candidates first, all of them (a planner seeing LIMIT would rather walk, hoping to stop early)
    found = _matches(session, replace(flt, site=None, since=None, until=None), _match.article_id.label("id"))
    candidates = found.distinct().cte("candidates").prefix_with("MATERIALIZED")
    return select(_article.id).join(candidates, candidates.c.id == _article.id).where(*_article_conditions(flt))


def _page(session: Session, flt: StoryFilter, offset: int, limit: int, total: int) -> list[StoryItem]:
    """Rows ``offset`` to ``offset + limit`` of the ``total`` flagged articles under ``flt``.

    Two ways: walk the articles in date order, checking each one (matches, then the search index), until the
    page is full: about (offset + limit) × articles / total steps, cheap for a long list; or collect the
    ``total`` candidates through ``match`` and sort them: cheap for a short one. The counts tell which."""
    keys = _keys(session, flt, _walk_is_cheaper(session, flt, offset + limit, total))
    order = SORTS[flt.sort]
    # the ids first (from indexes alone where the sort has one), then just those rows
    page = keys.order_by(*order).offset(offset).limit(limit).subquery()
    rows = session.execute(select(*_ITEM_COLUMNS).join(page, page.c.id == _article.id).order_by(*order)).all()
    return _items(session, rows, flt.rule)


def story_items(session: Session, article_ids: Sequence[int], rule: str | None = None) -> list[StoryItem]:
    """The list rows of these articles, in id order (the snippet of ``rule`` first when it has one)."""
    ids = [i for i in article_ids if 0 < i <= MAX_ID]
    if not ids:
        return []
    rows = session.execute(select(*_ITEM_COLUMNS).where(_article.id.in_(ids)).order_by(_article.id)).all()
    return _items(session, rows, rule)


@dataclass(frozen=True)
class Neighbours:
    """Where an article stands in a list: the stories shown before and after it, how many come before it,
    whether the list holds it (a verdict may have taken it out of a status filter) and the list's length."""

    previous: int | None
    next: int | None
    before: int
    listed: bool
    total: int


def _beyond(keys: Sequence[_Key], values: Sequence[Any], reverse: bool) -> ColumnElement[bool]:
    """The rows strictly after (``reverse``: before) the row of ``values`` in the order of ``keys``."""
    if not any(key.nullable for key in keys) and len({key.descending for key in keys}) == 1:
        # one direction, no NULLs: a row-value comparison, which both databases answer from an index
        columns = tuple_(*(key.column for key in keys))
        bound = tuple_(*(literal(value, key.column.type) for key, value in zip(keys, values, strict=True)))
        later = keys[0].descending != reverse
        return columns < bound if later else columns > bound
    alternatives: list[ColumnElement[bool]] = []
    same: list[ColumnElement[bool]] = []
    for key, value in zip(keys, values, strict=True):
        step = key.beyond(value, reverse)
        if step is not None:
            alternatives.append(and_(*same, step))
        same.append(key.same(value))
    return or_(*alternatives) if alternatives else false()


def neighbours(session: Session, flt: StoryFilter, article_id: int) -> Neighbours:
    """The stories around ``article_id`` in the list of ``flt`` (in its order), whether or not the list still
    holds it (a verdict may have taken it out of a status filter); ReviewError when there is no such article.

    About one pass over the list's candidates: in a date order, the first story on either side of its sort
    values (walking the articles where that is cheaper, see :func:`_page`) and a count of those before it;
    in another order, the candidates ranked (the article must be one of them)."""
    get_article(session, article_id)
    keys = _SORT_KEYS[flt.sort]
    order = SORTS[flt.sort]
    with _search_plans(session, flt):
        total = _count(session, flt)
        if not total:
            return Neighbours(None, None, 0, False, 0)
        listed = _matches(session, flt, _match.article_id, articles=[_article.id == article_id]).limit(1)
        held = session.execute(listed).first() is not None
        if held and flt.sort not in _WALKABLE:
            ranked = (
                _keys(session, flt, walk=False)
                .add_columns(
                    func.lag(_article.id).over(order_by=order).label("preceding"),
                    func.lead(_article.id).over(order_by=order).label("following"),
                    func.row_number().over(order_by=order).label("place"),
                )
                .subquery()
            )
            found = session.execute(select(ranked).where(ranked.c.id == article_id)).one()
            return Neighbours(found.preceding, found.following, int(found.place) - 1, True, total)
        values = session.execute(select(*(key.column for key in keys)).where(_article.id == article_id)).one()
        after, before = _beyond(keys, values, reverse=False), _beyond(keys, values, reverse=True)
        ids = _keys(session, flt, _walk_is_cheaper(session, flt, 1, total))
        following = session.execute(ids.where(after).order_by(*order).limit(1)).scalar()
        preceding = session.execute(
            ids.where(before).order_by(*(key.order(reverse=True) for key in keys)).limit(1)
        ).scalar()
        # counted over the candidates: a walk would go through every article before it
        earlier = _keys(session, flt, walk=False).where(before).subquery()
        count = int(session.execute(select(func.count()).select_from(earlier)).scalar_one())
    return Neighbours(preceding, following, count, held, total)


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
    with _search_plans(session, flt):
        return _rule_counts(session, flt)


def _rule_counts(session: Session, flt: StoryFilter) -> dict[str, int]:
    # one match row per article and rule (unique), so rows are articles
    query = _matches(session, replace(flt, rule=None), _match.rule_id, func.count()).group_by(_match.rule_id)
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
