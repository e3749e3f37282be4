"""Record a reader's verdict on a flagged article: relevant, irrelevant, reviewed (or back to new), with a note."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crawler.models import TRIAGE_STATES, TriageRow, utcnow
from crawler.review.stories import ReviewError, check_text, get_article

logger = logging.getLogger(__name__)

MAX_NOTE = 4000
MAX_BY = 64  # width of triage.updated_by
# What people type (CLI, forms) → the stored state; "new" clears the verdict.
STATE_ALIASES = {
    "relevant": "relevant",
    "irrelevant": "irrelevant",
    "not-relevant": "irrelevant",
    "not_relevant": "irrelevant",
    "reviewed": "reviewed",
    "new": "new",
}


def parse_state(value: str) -> str:
    """The stored state for what a person typed; ReviewError for anything else."""
    state = STATE_ALIASES.get(value.strip().lower())
    if state is None:
        raise ReviewError(f"unknown state {value!r} (one of: relevant, irrelevant, reviewed, new)")
    return state


def mark(
    session: Session,
    article_id: int,
    state: str,
    note: str | None = None,
    by: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> str:
    """Set the article's verdict (``note`` None keeps the current note, "" clears it); returns the state.

    ReviewError when the article does not exist or the state is unknown. Commits.
    """
    state = parse_state(state)
    if state != "new" and state not in TRIAGE_STATES:
        raise ReviewError(f"unknown state {state!r}")
    check_text(note, "note")
    check_text(by, "by")
    if note is not None:
        note = note.replace("\r\n", "\n").strip()
        if len(note) > MAX_NOTE:
            raise ReviewError(f"note too long ({len(note)} characters, at most {MAX_NOTE})")
    by = by[:MAX_BY] if by else None  # the column's width: a long user name is cut, not a database error
    for attempt in range(2):
        get_article(session, article_id)
        try:
            return _write(session, article_id, state, note, by, clock)
        except IntegrityError:  # another writer created the verdict (or deleted the article) meanwhile
            session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def _write(
    session: Session, article_id: int, state: str, note: str | None, by: str | None, clock: Callable[[], datetime]
) -> str:
    row = session.get(TriageRow, article_id)
    if state == "new" and not note:
        if row is not None:
            session.execute(delete(TriageRow).where(TriageRow.article_id == article_id))  # type: ignore[arg-type]
        session.commit()
        logger.info("article %d set back to new", article_id)
        return "new"
    if row is None:
        row = TriageRow(article_id=article_id, state=state)
    row.state = "reviewed" if state == "new" else state  # a note alone makes it "reviewed"
    if note is not None:
        row.note = note or None
    row.updated_at = clock()
    row.updated_by = by
    session.add(row)
    session.commit()
    logger.info("article %d marked %s by %s", article_id, row.state, by or "?")
    return row.state
