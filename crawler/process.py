"""Turn one analysed page into a stored outcome: the article, its matches, story and alerts (no Scrapy)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from crawler.alerts.stories import Lookup, Signature
from crawler.analysis import Analysis, analyse, finish_article
from crawler.article import Article, Match, Page, PageFailure
from crawler.store import add_article, connection_lost, error_text, record_page, retry_lost_connection
from crawler.urls import canonicalize_url

__all__ = ["Matcher", "NewArticleRecorder", "Outcome", "PageProcessor", "finish_article"]

T = TypeVar("T")

logger = logging.getLogger(__name__)

# Why crawler.extract skips a page whose body is below its minimum size: a teaser, a paywall or consent wall.
# Such a page is recorded "partial" and fetched again on later crawls, in case the full article appears.
STUB_REASON = "body too short"
DATABASE_ERROR = "database error"  # how an Outcome's reason begins when the database refused the page


class Matcher(Protocol):
    """Anything that flags an article: crawler.rules.RuleSet."""

    def match(
        self, title: str, text: str, *, site: str | Sequence[str] | None = None, url: str | None = None
    ) -> list[Match]: ...


class NewArticleRecorder(Protocol):
    """Anything that adds rows to a new article's transaction: crawler.alerts.recorder.AlertRecorder."""

    def guard(self) -> AbstractContextManager[None]: ...

    def prepare(self, session: Session, article: Article, signature: Signature | None = None) -> Lookup: ...

    def record(
        self,
        session: Session,
        article_id: int,
        site_id: str,
        article: Article,
        matches: Sequence[Match],
        signature: Signature | None = None,
        found: Lookup | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """What became of a page: "new", "duplicate", "skipped", "partial" (a stub, tried again later) or "error"."""

    url: str
    status: str
    reason: str | None = None
    article_id: int | None = None
    matches: list[Match] = field(default_factory=list)
    title: str | None = None
    undated: bool = False  # a new article whose publication date was not found

    @property
    def database_failed(self) -> bool:
        """Whether the page was lost to a database error (it is fetched again on the next crawl)."""
        return self.status == "error" and (self.reason or "").startswith(DATABASE_ERROR)


def _refused(url: str, exc: BaseException) -> Outcome:
    """The outcome of a page the database did not take."""
    return Outcome(url, "error", f"{DATABASE_ERROR}: {error_text(exc)}")


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
        """Analyse the page here (no worker process) and store the outcome. Never raises."""
        try:
            analysis = analyse(page, self.matcher, self.site_names)
        except Exception as exc:  # an extractor bug must not stop the crawl
            logger.exception("extraction failed for %s", page.url)
            analysis = Analysis(page.url, error=f"extraction failed: {type(exc).__name__}")
        return self.store(page, analysis)

    def store(self, page: Page, analysis: Analysis) -> Outcome:
        """Store the analysed page's article with its matches and story, or record why there is none."""
        if analysis.error is not None:  # the analysis failed (deadline, a dead worker): tried again later
            return self._record(page.site_id, page.url, "error", analysis.error)
        if analysis.article is None:
            reason = analysis.skipped or "no article"
            status = "partial" if reason.startswith(STUB_REASON) else "skipped"
            logger.info("%s %s: %s", status, page.url, reason)
            return self._record(page.site_id, page.url, status, reason, page.requested_url)
        try:
            article_id = self._in_transaction(
                lambda session: self._add(session, page, analysis, self._prepare(session, analysis)),
                f"storing {page.url}",
            )
        except SQLAlchemyError as exc:
            logger.error("cannot store %s: %s", page.url, error_text(exc))
            return _refused(page.url, exc)
        except Exception as exc:  # a bug in the story / alert step: nothing was stored, the page is retried
            logger.exception("cannot store %s", page.url)
            return Outcome(page.url, "error", f"alert step failed: {type(exc).__name__}")
        return self._stored(page, analysis, article_id)

    def store_many(self, pairs: Sequence[tuple[Page, Analysis]]) -> list[Outcome]:
        """Store several analysed pages, their articles in one transaction (one commit for all). If that
        transaction fails, each page is stored on its own, so that only a faulty one is lost. Never raises."""
        outcomes: dict[int, Outcome] = {}
        articles = []
        for number, (page, analysis) in enumerate(pairs):
            if analysis.error is None and analysis.article is not None:
                articles.append(number)
            else:
                outcomes[number] = self.store(page, analysis)
        if len(articles) > 1:

            def add_all(session: Session) -> list[int | None]:
                # Every story lookup before the first write: the comparisons hold no write lock.
                found = [self._prepare(session, pairs[number][1]) for number in articles]
                return [self._add(session, *pairs[number], look) for number, look in zip(articles, found, strict=True)]

            try:
                ids = self._in_transaction(add_all, f"storing {len(articles)} articles")
            except Exception as exc:  # a database error or a bug: find the page it was, one at a time
                if connection_lost(exc):  # the server is gone, not one faulty page: all are fetched again later
                    logger.error("cannot store %d articles: %s", len(articles), error_text(exc))
                    for number in articles:
                        outcomes[number] = _refused(pairs[number][0].url, exc)
                    articles = []
                else:
                    logger.warning(
                        "cannot store %d articles together (%s), storing them one by one: %s",
                        len(articles), error_text(exc), ", ".join(pairs[n][0].url for n in articles),
                    )
            else:
                for number, article_id in zip(articles, ids, strict=True):
                    outcomes[number] = self._stored(*pairs[number], article_id)
                articles = []
        for number in articles:
            outcomes[number] = self.store(*pairs[number])
        return [outcomes[number] for number in range(len(pairs))]

    def _in_transaction(self, add: Callable[[Session], T], what: str) -> T:
        """``add`` rows in one transaction under the story guard, and commit; done again if the connection
        to the database server broke under it."""

        def unit() -> T:
            with self._guard(), Session(self.engine) as session:
                result = add(session)
                session.commit()
                return result

        return retry_lost_connection(self.engine, unit, what)

    def _guard(self) -> AbstractContextManager[None]:
        return self.recorder.guard() if self.recorder else nullcontext()

    def _prepare(self, session: Session, analysis: Analysis) -> Lookup | None:
        assert analysis.article is not None
        return self.recorder.prepare(session, analysis.article, analysis.signature) if self.recorder else None

    def _add(self, session: Session, page: Page, analysis: Analysis, found: Lookup | None = None) -> int | None:
        """Add the page's article to the session's transaction (no commit); its id, None if already stored.
        ``found``: its story lookup, made earlier in the transaction (before any write)."""
        assert analysis.article is not None
        seen = {canonicalize_url(page.url)}
        if page.requested_url:
            seen.add(page.requested_url)
        recorder = self.recorder
        return add_article(
            session,
            page.site_id,
            analysis.article,
            analysis.matches,
            fetched_at=page.fetched_at,
            also_seen=seen,
            on_new=partial(recorder.record, signature=analysis.signature, found=found) if recorder else None,
        )

    def _stored(self, page: Page, analysis: Analysis, article_id: int | None) -> Outcome:
        article, matches = analysis.article, analysis.matches
        assert article is not None
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
        def unit() -> None:
            with Session(self.engine) as session:
                for seen in {canonicalize_url(url), *([requested] if requested else [])}:
                    record_page(session, site_id, seen, status, reason, http_status)
                session.commit()

        try:
            retry_lost_connection(self.engine, unit, f"recording {url}")
        except SQLAlchemyError as exc:
            logger.error("cannot record %s: %s", url, error_text(exc))
            return _refused(url, exc)
        return Outcome(url, status, reason)
