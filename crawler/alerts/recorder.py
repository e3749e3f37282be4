"""Give each new article its story and create its alert rows, inside the transaction that stores it.

One :class:`AlertSetup` per crawl (shared story index, rule modes, clock); one :class:`AlertRecorder` per
site crawl (the site's backfill window and whether this is its first crawl). An alert is per story and
rule: a later copy of a story that already has an alert for a rule adds nothing but its story link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from crawler.alerts.stories import Lookup, Signature, StoryIndex
from crawler.article import Article, Match
from crawler.config import SiteConfig
from crawler.models import AlertRow, ArticleRow, CrawlRunRow, utcnow
from crawler.store import _insert


def is_first_crawl(session: Session, site_id: str) -> bool:
    """Whether no crawl of ``site_id`` has finished yet (call before recording the new run)."""
    query = select(CrawlRunRow.id).where(CrawlRunRow.site_id == site_id, CrawlRunRow.status == "finished").limit(1)
    return session.exec(query).first() is None


@dataclass
class AlertSetup:
    """What every site's recorder shares during a crawl: the story index, the rule modes, the clock."""

    modes: Mapping[str, str]  # rule id -> "instant" | "digest"
    index: StoryIndex = field(default_factory=StoryIndex)
    clock: Callable[[], datetime] = utcnow

    def for_site(self, site: SiteConfig, first_crawl: bool, started: datetime | None = None) -> AlertRecorder:
        """The recorder for one crawl of ``site``."""
        return AlertRecorder(self, site.id, site.backfill_window, first_crawl, started or self.clock())


@dataclass
class AlertRecorder:
    """Assigns stories and creates alerts for one crawl of one site (see :func:`crawler.store.save_article`)."""

    setup: AlertSetup
    site_id: str
    backfill: timedelta | None  # None: everything alerts on a first crawl
    first_crawl: bool
    started: datetime

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Held around the whole article transaction, so concurrent copies find each other's story."""
        with self.setup.index.guard():
            yield

    def suppression(self, article: Article) -> str | None:
        """Why this article's alerts are not sent (the site's first crawl, older than its backfill), or None."""
        if not self.first_crawl or self.backfill is None:
            return None
        if article.published is None:
            return "first crawl of the site: no publication date, outside the backfill window"
        if article.published < self.started - self.backfill:
            return f"first crawl of the site: published before the backfill window ({self.backfill})"
        return None

    def prepare(self, session: Session, article: Article, signature: Signature | None = None) -> Lookup:
        """Look up the article's story before its transaction writes (see StoryIndex.lookup); under guard()."""
        return self.setup.index.lookup(session, article.title, article.text, signature)

    def record(
        self,
        session: Session,
        article_id: int,
        site_id: str,
        article: Article,
        matches: Sequence[Match],
        signature: Signature | None = None,
        found: Lookup | None = None,
    ) -> None:
        """Link the article to its story and add the alerts of its matches (no commit: the caller's).

        ``signature``: the article's story signature when a worker already computed it; ``found``: its
        :meth:`prepare`, done earlier in the same transaction."""
        story_id, _new = self.setup.index.assign(session, article.title, article.text, signature, found)
        session.execute(update(ArticleRow).where(col(ArticleRow.id) == article_id).values(story_id=story_id))
        if not matches:
            return
        reason = self.suppression(article)
        now = self.setup.clock()
        for match in matches:
            stmt = (
                _insert(session, AlertRow)
                .values(
                    story_id=story_id,
                    rule_id=match.rule_id,
                    article_id=article_id,
                    mode=self.setup.modes.get(match.rule_id, "digest"),
                    suppressed=reason is not None,
                    reason=reason,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["story_id", "rule_id"])
            )
            session.execute(stmt)
