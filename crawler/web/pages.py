"""The review pages: stories list, story page with triage, rules, sources, exports (thin FastAPI routes).

Queries are plain functions in :mod:`crawler.review`; these routes parse the request, call them and render.
GET never changes anything; the one state-changing route (triage) is a POST behind the CSRF check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session

from crawler.config import SiteConfig
from crawler.durations import parse_duration
from crawler.models import utcnow
from crawler.review.export import to_csv, to_json
from crawler.review.highlight import highlight, highlight_paragraphs, spans_for
from crawler.review.rulestats import Backtest, backtest, rule_stats
from crawler.review.stories import (
    DEFAULT_SORT,
    STATUSES,
    ReviewError,
    StoryFilter,
    crawled_site_ids,
    iter_stories,
    list_stories,
    neighbours,
    story_detail,
    story_items,
)
from crawler.review.triage import mark
from crawler.rules import RuleError
from crawler.web.access import csrf_protect
from crawler.web.render import with_query

logger = logging.getLogger(__name__)

PER_PAGE = 25
EXPORT_LIMIT = 100_000
SORT_LABELS = [
    ("found-newest", "found: newest first"),
    ("found-oldest", "found: oldest first"),
    ("published-newest", "published: newest first"),
    ("published-oldest", "published: oldest first"),
    ("site", "site"),
    ("title", "title"),
]
FILTER_KEYS = ("q", "rule", "site", "status", "from", "until", "sort")
MAX_BACK = 8000  # characters of a list's query string carried by a form
TEST_PERIODS = ("7d", "30d", "90d", "365d")


class BadRequest(Exception):
    """A filter value that cannot be used (shown to the reader as a 400 page)."""


def _date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value.strip()), datetime.min.time(), tzinfo=UTC)
    except ValueError:
        raise BadRequest(f"{name}: not a date (use YYYY-MM-DD): {value[:40]!r}") from None


def _filter(params: dict[str, str]) -> StoryFilter:
    """The StoryFilter of a request's query parameters (BadRequest for values outside the allow-lists)."""
    since = _date(params.get("from"), "from")
    until = _date(params.get("until"), "until")
    status = params.get("status") or None
    if status and status not in STATUSES:
        raise BadRequest(f"status: one of {', '.join(STATUSES)}")
    try:
        return StoryFilter(
            rule=params.get("rule") or None,
            site=params.get("site") or None,
            status=status,
            since=since,
            until=until + timedelta(days=1) if until else None,  # "until" names the last day shown
            q=(params.get("q") or "")[:500],
            sort=params.get("sort") or DEFAULT_SORT,
        )
    except ReviewError as exc:
        raise BadRequest(str(exc)) from None


def _params(source: Mapping[str, str]) -> dict[str, str]:
    return {k: (source.get(k) or "").strip() for k in FILTER_KEYS}


def _list_of(source: Mapping[str, str]) -> tuple[dict[str, str], StoryFilter]:
    """A list's filter parameters (a given sort under its current name) and its StoryFilter; BadRequest for
    values outside the allow-lists."""
    params = _params(source)
    flt = _filter(params)
    if params["sort"]:
        params["sort"] = flt.sort  # an older name of the sort becomes the current one
    return params, flt


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or "1"), 1_000_000))
    except ValueError:
        raise BadRequest("page: not a number") from None


def _back(value: str) -> tuple[dict[str, str], StoryFilter, int]:
    """The list a form came from (its query string in the field ``back``), validated like the list's own
    parameters: filter parameters, StoryFilter and page number."""
    try:
        pairs = parse_qsl(value[:MAX_BACK], max_num_fields=len(FILTER_KEYS) + 1)
    except ValueError:
        raise BadRequest("back: not a list's query string") from None
    given: dict[str, str] = {}
    for key, item in pairs:
        given.setdefault(key, item)
    params, flt = _list_of(given)
    return params, flt, _page_number(given.get("page"))


def _page_param(page: int) -> int | None:
    """The ``page`` parameter of a list URL (none for the first page)."""
    return page if page > 1 else None


def bar_height(count: int, series: list[tuple[str, int]]) -> int:
    """A bar's height class (0–10) relative to the biggest count of its series."""
    top = max((c for _, c in series), default=0)
    if not count or not top:
        return 0
    return max(1, round(10 * count / top))


def install(app: FastAPI) -> None:
    """Add the review routes to ``app`` (``app.state.context`` and ``app.state.render`` are set)."""
    router = APIRouter()
    context = app.state.context
    render: Callable[..., Response] = app.state.render

    def session() -> Session:
        return Session(context.engine)

    def site_names() -> dict[str, str]:
        """Configured sites by id, then any other site with crawl runs (e.g. the demo's sample site)."""
        names = context.config().site_names()
        with session() as db:
            for site_id in crawled_site_ids(db):
                names.setdefault(site_id, site_id)
        return names

    def all_sites() -> list[SiteConfig]:
        configured = list(context.config().sites)
        known = {site.id for site in configured}
        with session() as db:
            extra = [SiteConfig.model_construct(id=i, name=i) for i in crawled_site_ids(db) if i not in known]
        return configured + extra

    @router.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @router.get("/")
    def home() -> Response:
        return RedirectResponse("/stories", status_code=303)

    @router.get("/review")
    def review_link(request: Request) -> Response:
        """Where older email links point: the list, filtered by their rule."""
        rule = request.query_params.get("rule")
        return RedirectResponse(with_query("/stories", {"rule": rule}), status_code=303)

    def rule_names() -> dict[str, str]:
        """Configured rules by id (a rule no longer configured is shown by its id)."""
        return context.config().rule_names()

    def bad_filter(request: Request, exc: BadRequest) -> Response:
        return render(request, "error.html", {"heading": "Bad filter", "detail": str(exc)}, status=400)

    def row_values(params: dict[str, str], page: int) -> dict[str, Any]:
        """What each row of a list needs: names, and the list it belongs to (for its links and forms)."""
        return {
            "site_names": site_names(),
            "rule_names": rule_names(),
            "list_params": params,
            "back": urlencode([(k, v) for k, v in {**params, "page": _page_param(page)}.items() if v]),
        }

    @router.get("/stories")
    def stories(request: Request) -> Response:
        try:
            params, flt = _list_of(request.query_params)
            page_number = _page_number(request.query_params.get("page"))
        except BadRequest as exc:
            return bad_filter(request, exc)
        with session() as db:
            page = list_stories(db, flt, page_number, PER_PAGE)
        configured = [rule.id for rule in context.config().rules]
        rules = list(dict.fromkeys([*configured, *sorted(page.rule_counts)]))
        values = row_values(params, page.page)
        return render(
            request,
            "stories.html",
            {
                **values,
                "nav": "stories",
                "params": params,
                "sort": flt.sort,
                "page": page,
                "rules": rules,
                "rule_counts": sorted(page.rule_counts.items(), key=lambda kv: (-kv[1], kv[0])),
                "sites": sorted(values["site_names"].items(), key=lambda kv: kv[1].lower()),
                "sorts": SORT_LABELS,
            },
        )

    def story_context(article_id: int, params: dict[str, str], flt: StoryFilter) -> dict[str, Any] | None:
        with session() as db:
            try:
                story = story_detail(db, article_id)
                place = neighbours(db, flt, article_id)
            except ReviewError:
                return None
        article = story.article
        hits = [hit for match in story.matches for hit in match.hits]
        names = site_names()

        def story_url(other: int | None) -> str | None:
            return with_query(f"/stories/{other}", params) if other is not None else None

        list_url = with_query("/stories", params, page=_page_param(place.before // PER_PAGE + 1))
        return {
            "nav": "stories",
            "story": story,
            "title_html": Markup(highlight(article.title, spans_for(hits, "title", len(article.title)))),
            "body": [Markup(p) for p in highlight_paragraphs(article.text, spans_for(hits, "body", len(article.text)))],
            "site_name": names.get(article.site_id, article.site_id),
            "site_names": names,
            "rule_names": rule_names(),
            "place": place,
            "list_params": params,
            "previous_url": story_url(place.previous),
            "next_url": story_url(place.next),
            "list_url": f"{list_url}#story-{article_id}",
            "filtered": any(v for k, v in params.items() if k != "sort"),
            "back": urlencode([(k, v) for k, v in params.items() if v]),
        }

    def not_found(request: Request, article_id: int) -> Response:
        detail = f"There is no stored article with id {article_id}."
        return render(request, "error.html", {"heading": "Not found", "detail": detail}, status=404)

    @router.get("/stories/{article_id}")
    def story(request: Request, article_id: int) -> Response:
        """One story, in the list it was opened from (its filter parameters): previous, next and back."""
        try:
            params, flt = _list_of(request.query_params)
        except BadRequest as exc:
            return bad_filter(request, exc)
        values = story_context(article_id, params, flt)
        if values is None:
            return not_found(request, article_id)
        return render(request, "story.html", values)

    @router.post("/stories/{article_id}/triage", dependencies=[Depends(csrf_protect)])
    def triage(
        request: Request,
        article_id: int,
        state: str = Form(...),
        note: str | None = Form(None),
        back: str = Form(""),
        to: str = Form(""),
    ) -> Response:
        """A verdict from the story page (back to it) or from a row of the list (``to=list``: back to the
        list, or with htmx the row alone); ``back`` is the list's query string."""
        try:
            params, flt, page = _back(back)
        except BadRequest as exc:
            return bad_filter(request, exc)
        user = getattr(request.state, "user", None)
        with session() as db:
            try:
                mark(db, article_id, state, note, by=f"web:{user}" if user else "web")
            except ReviewError as exc:
                if "no article" in str(exc):
                    return not_found(request, article_id)
                return render(request, "error.html", {"heading": "Cannot save", "detail": str(exc)}, status=400)
            if to == "list" and request.headers.get("hx-request") == "true":
                rows = story_items(db, [article_id], flt.rule)
                if not rows:  # deleted meanwhile
                    return not_found(request, article_id)
                return render(request, "_story_row.html", {**row_values(params, page), "item": rows[0]})
        if to == "list":
            target = with_query("/stories", params, page=_page_param(page))
            return RedirectResponse(f"{target}#story-{article_id}", status_code=303)
        return RedirectResponse(with_query(f"/stories/{article_id}", params), status_code=303)

    @router.get("/rules")
    def rules(request: Request) -> Response:
        cfg = context.config()
        now = utcnow()
        query = (request.query_params.get("test") or "").strip()[:4000]
        since = request.query_params.get("since") or "30d"
        if since not in TEST_PERIODS:
            since = "30d"
        result: Backtest | None = None
        error: str | None = None
        names = site_names()
        with session() as db:
            stats = rule_stats(db, [(r.id, r.query, r.mode) for r in cfg.rules], now)
            if query:
                try:
                    result = backtest(
                        db,
                        query,
                        now - parse_duration(since),
                        aliases=cfg.rules.aliases,
                        usd_rates=cfg.rules.usd_rates,
                        site_names={site.id: (site.id, site.name) for site in cfg.sites},
                    )
                except RuleError as exc:
                    error = f"bad query: {exc}"
        return render(
            request,
            "rules.html",
            {
                "nav": "rules",
                "stats": stats,
                "test_query": query,
                "since": since,
                "backtest": result,
                "test_error": error,
                "site_names": names,
                "rule_names": cfg.rule_names(),
                "bar_height": bar_height,
            },
        )

    @router.get("/sources")
    def sources(request: Request) -> Response:
        from crawler.service.status import service_status

        status = service_status(
            context.engine,
            all_sites(),
            context.policy(),
            context.settings.heartbeat_interval,
            schedule=context.config().sites,  # as `newswatch status` judges a cron setup: configured sites only
        )
        return render(request, "sources.html", {"nav": "sources", "sites": status.sites, "service": status})

    def export(request: Request, kind: str) -> Response:
        try:
            _, flt = _list_of(request.query_params)
        except BadRequest as exc:
            return Response(f"{exc}\n", status_code=400, media_type="text/plain; charset=utf-8")
        with session() as db:
            items = iter_stories(db, flt, limit=EXPORT_LIMIT)
        stamp = utcnow().strftime("%Y%m%d-%H%M")
        base = context.settings.base_url
        if kind == "csv":
            body, media = to_csv(items, base), "text/csv; charset=utf-8"
        else:
            body, media = to_json(items, base), "application/json"
        headers = {"Content-Disposition": f'attachment; filename="newswatch-stories-{stamp}.{kind}"'}
        return Response(body, media_type=media, headers=headers)

    @router.get("/export.csv")
    def export_csv(request: Request) -> Response:
        return export(request, "csv")

    @router.get("/export.json")
    def export_json(request: Request) -> Response:
        return export(request, "json")

    app.include_router(router)
