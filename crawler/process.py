"""Turn one fetched page into a stored outcome: extract, match the rules, store (plain functions, no Scrapy)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from crawler.article import Article, Match, Page, PageFailure, Skipped
from crawler.extract import extract_page
from crawler.store import record_page, save_article
from crawler.urls import canonicalize_url, host_of

logger = logging.getLogger(__name__)


class Matcher(Protocol):
    """Anything that flags an article: crawler.rules.RuleSet."""

    def match(
        self, title: str, text: str, *, site: str | Sequence[str] | None = None, url: str | None = None
    ) -> list[Match]: ...


class NewArticleRecorder(Protocol):
    """Anything that adds rows to a new article's transaction: crawler.alerts.recorder.AlertRecorder."""

    def guard(self) -> AbstractContextManager[None]: ...

    def record(
        self, session: Session, article_id: int, site_id: str, article: Article, matches: Sequence[Match]
    ) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """What became of a page: "new", "duplicate", "skipped" or "error"."""

    url: str
    status: str
    reason: str | None = None
    article_id: int | None = None
    matches: list[Match] = field(default_factory=list)
    title: str | None = None
    undated: bool = False  # a new article whose publication date was not found


def _same_site(url: str, other: str) -> bool:
    a, b = host_of(url), host_of(other)
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def finish_article(article: Article, page: Page) -> Article:
    """Fill in what the listing knew (feed date first, title as a fallback) and canonicalise the URL."""
    canonical = article.canonical_url or page.url
    if not _same_site(canonical, page.url):
        canonical = page.url
    return replace(
        article,
        url=page.url,
        canonical_url=canonicalize_url(canonical),
        published=page.listed_published or article.published,
        title=article.title or (page.listed_title or ""),
    )


class PageProcessor:
    """Extract, match and store pages for one crawl; safe to call from worker threads."""

    def __init__(
        self,
        engine: Engine,
        matcher: Matcher,
        recorder: NewArticleRecorder | None = None,
        site_names: tuple[str, ...] = (),
    ) -> None:
        self.engine = engine
        self.matcher = matcher
        self.recorder = recorder  # stories and alerts, in the article's transaction
        self.site_names = site_names  # what `site:` terms look at: the site's id and name

    def process(self, page: Page) -> Outcome:
        """Store the page's article with its matches, or record why it was skipped. Never raises."""
        try:
            result = extract_page(page.html, page.url)
        except Exception as exc:  # an extractor bug must not stop the crawl
            logger.exception("extraction failed for %s", page.url)
            return self._record(page.site_id, page.url, "skipped", f"extraction failed: {type(exc).__name__}")
        if isinstance(result, Skipped):
            logger.info("skipped %s: %s", page.url, result.reason)
            return self._record(page.site_id, page.url, "skipped", result.reason, page.requested_url)
        article = finish_article(result, page)
        site = self.site_names or (page.site_id,)
        matches = self.matcher.match(article.title, article.text, site=site, url=article.canonical_url)
        seen = {canonicalize_url(page.url)}
        if page.requested_url:
            seen.add(page.requested_url)
        recorder = self.recorder
        try:
            with recorder.guard() if recorder else nullcontext(), Session(self.engine) as session:
                article_id = save_article(
                    session,
                    page.site_id,
                    article,
                    matches,
                    fetched_at=page.fetched_at,
                    also_seen=seen,
                    on_new=recorder.record if recorder else None,
                )
        except SQLAlchemyError as exc:
            logger.error("cannot store %s: %s", page.url, exc)
            return Outcome(page.url, "error", f"database error: {type(exc).__name__}")
        except Exception as exc:  # a bug in the story / alert step: nothing was stored, the page is retried
            logger.exception("cannot store %s", page.url)
            return Outcome(page.url, "error", f"alert step failed: {type(exc).__name__}")
        if article_id is None:
            return Outcome(page.url, "duplicate", "already stored", title=article.title)
        if matches:
            logger.info("flagged %s by %s", page.url, ", ".join(m.rule_id for m in matches))
        return Outcome(page.url, "new", None, article_id, matches, article.title, article.published is None)

    def fail(self, failure: PageFailure) -> Outcome:
        """Record a page that failed before extraction."""
        return self._record(failure.site_id, failure.url, failure.status, failure.reason, None, failure.http_status)

    def _record(
        self,
        site_id: str,
        url: str,
        status: str,
        reason: str,
        requested: str | None = None,
        http_status: int | None = None,
    ) -> Outcome:
        try:
            with Session(self.engine) as session:
                for seen in {canonicalize_url(url), *([requested] if requested else [])}:
                    record_page(session, site_id, seen, status, reason, http_status)
                session.commit()
        except SQLAlchemyError as exc:
            logger.error("cannot record %s: %s", url, exc)
            return Outcome(url, "error", f"database error: {type(exc).__name__}")
        return Outcome(url, status, reason)
