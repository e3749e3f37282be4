"""Verdicts on flagged articles: states and aliases, notes, who and when, back to new, bad input, a racing writer."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.models import ArticleRow, TriageRow
from crawler.review.stories import MAX_ID, ReviewError
from crawler.review.triage import MAX_BY, MAX_NOTE, mark, parse_state
from tests.alerts_data import NOW
from tests.test_review_stories import add


@pytest.fixture
def article(engine: Engine) -> int:
    return add(engine, "kobo", "Kobo Robotics raises $5m", "Kobo builds robots for warehouses.")


def _row(engine: Engine, article_id: int) -> TriageRow | None:
    with Session(engine) as session:
        return session.get(TriageRow, article_id)


@pytest.mark.parametrize(
    ("typed", "state"),
    [
        ("relevant", "relevant"),
        ("irrelevant", "irrelevant"),
        ("not-relevant", "irrelevant"),
        ("not_relevant", "irrelevant"),
        (" Reviewed ", "reviewed"),
        ("NEW", "new"),
    ],
)
def test_parse_state_accepts_the_states_and_aliases(typed: str, state: str) -> None:
    assert parse_state(typed) == state


@pytest.mark.parametrize("typed", ["", "yes", "relevant!", "irrelevant; DROP TABLE triage", "nouveau"])
def test_parse_state_refuses_anything_else(typed: str) -> None:
    with pytest.raises(ReviewError, match="unknown state"):
        parse_state(typed)


def test_mark_records_state_note_who_and_when(engine: Engine, article: int) -> None:
    with Session(engine) as session:
        assert mark(session, article, "relevant", note="  big deal \r\n second line ", by="cli", clock=lambda: NOW) == (
            "relevant"
        )
    row = _row(engine, article)
    assert row is not None
    assert (row.state, row.note, row.updated_by, row.updated_at) == ("relevant", "big deal \n second line", "cli", NOW)

    later = NOW + timedelta(hours=1)
    with Session(engine) as session:
        assert mark(session, article, "not-relevant", by="web:ann", clock=lambda: later) == "irrelevant"
    row = _row(engine, article)
    assert row is not None
    assert (row.state, row.note, row.updated_by, row.updated_at) == (
        "irrelevant",
        "big deal \n second line",  # note None keeps the note
        "web:ann",
        later,
    )

    with Session(engine) as session:
        assert mark(session, article, "reviewed", note="") == "reviewed"  # "" clears it
    row = _row(engine, article)
    assert row is not None and row.note is None


def test_back_to_new_deletes_the_verdict_unless_a_note_is_given(engine: Engine, article: int) -> None:
    with Session(engine) as session:
        mark(session, article, "relevant", note="keep an eye on it")
        assert mark(session, article, "new") == "new"
        assert _row(engine, article) is None
        assert mark(session, article, "new") == "new"  # already new: nothing to do
        assert mark(session, article, "new", note="seen it, no verdict") == "reviewed"
    row = _row(engine, article)
    assert row is not None and (row.state, row.note) == ("reviewed", "seen it, no verdict")


def test_bad_input_is_a_review_error_and_changes_nothing(engine: Engine, article: int) -> None:
    with Session(engine) as session:
        for article_id in (999_999, 0, -3, MAX_ID + 1, 10**30):
            with pytest.raises(ReviewError, match=f"no article with id {article_id}"):
                mark(session, article_id, "relevant")
        with pytest.raises(ReviewError, match="unknown state"):
            mark(session, article, "maybe")
        with pytest.raises(ReviewError, match="note too long"):
            mark(session, article, "relevant", note="x" * (MAX_NOTE + 1))
        with pytest.raises(ReviewError, match="note"):
            mark(session, article, "relevant", note="a\x00b")  # PostgreSQL refuses NUL in text
        with pytest.raises(ReviewError, match="note"):
            mark(session, article, "relevant", note="a\udcffb")
    assert _row(engine, article) is None


def test_a_long_user_name_is_cut_to_the_column(engine: Engine, article: int) -> None:
    with Session(engine) as session:
        mark(session, article, "relevant", by="web:" + "u" * 200)
    row = _row(engine, article)
    assert row is not None and row.updated_by == ("web:" + "u" * 200)[:MAX_BY]


def test_a_verdict_written_meanwhile_by_another_reader_is_overwritten_not_an_error(
    engine: Engine, article: int
) -> None:
    """Two readers mark the same new article at once: the second insert meets the first's row and retries."""
    raced: list[bool] = []

    def racing_clock() -> datetime:
        if not raced:  # after this session saw no row, another one commits its verdict
            raced.append(True)
            with Session(engine) as other:
                other.add(TriageRow(article_id=article, state="irrelevant", note="theirs", updated_at=NOW))
                other.commit()
        return NOW + timedelta(minutes=1)

    with Session(engine) as session:
        assert mark(session, article, "relevant", by="cli", clock=racing_clock) == "relevant"
    row = _row(engine, article)
    assert raced and row is not None
    assert (row.state, row.note, row.updated_by) == ("relevant", "theirs", "cli")


def test_the_verdict_goes_with_its_article(engine: Engine, article: int) -> None:
    with Session(engine) as session:
        mark(session, article, "relevant")
        session.execute(delete(ArticleRow).where(ArticleRow.id == article))  # type: ignore[arg-type]
        session.commit()
        assert session.exec(select(TriageRow)).all() == []
