"""Full-text search over the titles and bodies of flagged articles: FTS5 on SQLite, tsvectors with a GIN index
on PostgreSQL (migration 0006: only articles with a match are indexed, the only ones the review lists).

A search box takes words (all must occur, case ignored; accents too on SQLite), ``"quoted phrases"`` and
``prefix*``. Operators mean nothing: a word with punctuation in it (``1.5``, ``ai-iot``, ``robot_maker``) is
searched as the database's own tokenizer splits it, the way it split the stored text, and everything reaches
SQL as a bound parameter: an FTS5 string (never an operator) on SQLite, ``phraseto_tsquery`` text (which has
no operators) or a ``to_tsquery`` prefix built from word characters only on PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, column, exists, func, literal_column, select, table
from sqlalchemy.engine import Dialect

from crawler.models import SEARCH_TABLE, ArticleRow

MAX_TERMS = 16
MAX_TERM_CHARS = 200
# A quoted phrase, or a run of anything but blanks, quotes and stars (a word, maybe with punctuation inside).
_TOKEN = re.compile(r'"([^"]*)"|([^\s"*]+)(\*?)')
_WORD = re.compile(r"[^\W_]+")  # letters and digits; "_" and punctuation separate
_UNSAYABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # controls, NUL, lone surrogates: no database takes them
# The search index (migration 0006): FTS5 rows by article id (rowid) on SQLite, (article_id, document) on PostgreSQL.
_fts = table(SEARCH_TABLE, column("rowid"), column("article_id"), column("document"))


@dataclass(frozen=True)
class SearchTerm:
    """A word (``prefix``: also longer words starting with it) or a phrase (several words in a row).

    ``text`` is the term as typed (no quotes or star), for the database's own tokenizer; ``words`` the
    letter-and-digit runs in it, lower case."""

    words: tuple[str, ...]
    prefix: bool = False
    text: str = ""

    @property
    def source(self) -> str:
        return self.text or " ".join(self.words)


def parse_search(raw: str) -> list[SearchTerm]:
    """The terms of a search box entry (at most :data:`MAX_TERMS`); empty when it holds no word."""
    terms: list[SearchTerm] = []
    for phrase, chunk, star in _TOKEN.findall(_UNSAYABLE.sub(" ", raw or "")):
        typed = " ".join((phrase or chunk).split())[:MAX_TERM_CHARS]
        words = tuple(w.lower() for w in _WORD.findall(typed))
        if not words:  # punctuation only: nothing to look for
            continue
        terms.append(SearchTerm(words, prefix=bool(star), text=typed))
        if len(terms) >= MAX_TERMS:
            break
    return terms


def fts5_expression(terms: list[SearchTerm]) -> str:
    """An FTS5 MATCH expression: every term required, each one an FTS5 string (never an operator)."""
    parts = []
    for term in terms:
        quoted = '"' + term.source.replace('"', '""') + '"'
        parts.append(quoted + ("*" if term.prefix else ""))
    return " AND ".join(parts)


def tsquery_expression(terms: list[SearchTerm]) -> str:
    """A PostgreSQL ``to_tsquery('simple', …)`` expression: phrases with ``<->``, prefixes with ``:*``."""
    parts = []
    for term in terms:
        lexemes = [f"'{w}'" for w in term.words]
        part = " <-> ".join(lexemes)
        if term.prefix:
            part += ":*"
        parts.append(f"({part})" if len(lexemes) > 1 else part)
    return " & ".join(parts)


def _tsquery(terms: list[SearchTerm]) -> ColumnElement[Any]:
    simple: ColumnElement[Any] = literal_column("'simple'")
    query: ColumnElement[Any] | None = None
    for index, term in enumerate(terms):
        if term.prefix:  # built from word characters only
            part = func.to_tsquery(simple, bindparam(f"tsq{index}", tsquery_expression([term])))
        else:  # plain text: the parser splits it as it split the stored text, no operators exist
            part = func.phraseto_tsquery(simple, bindparam(f"tsq{index}", term.source))
        query = part if query is None else query.op("&&")(part)
    assert query is not None
    return query


def search_ids(dialect: Dialect, raw: str) -> Select[Any] | None:
    """The ids of the flagged articles the search box entry ``raw`` finds (a subquery); None when it holds no
    word. Only flagged articles (those with a match) are in the index (migration 0006)."""
    terms = parse_search(raw)
    if not terms:
        return None
    if dialect.name == "sqlite":
        return select(_fts.c.rowid).where(
            literal_column(SEARCH_TABLE).op("MATCH")(bindparam("fts", fts5_expression(terms)))
        )
    if dialect.name == "postgresql":
        return select(_fts.c.article_id).where(_fts.c.document.op("@@")(_tsquery(terms)))
    raise ValueError(f"full-text search is not available on {dialect.name}")


def search_condition(
    dialect: Dialect, raw: str, ids: ColumnElement[Any] | None = None, *, correlated: bool = False
) -> ColumnElement[bool] | None:
    """A WHERE condition: the article id ``ids`` (default ``article.id``) is one the search box entry ``raw``
    finds; None when it holds no word.

    ``correlated``: for a caller that checks only a few rows (the first page of a long list, walking the rows
    in order): look each id up in the index (EXISTS) rather than collect every hit first (IN). Except for a
    prefix on SQLite: FTS5 looks one up through every word starting with it (milliseconds each), so the hits
    are collected once and each row checked against them, without letting the planner start from them."""
    found = search_ids(dialect, raw)
    if found is None:
        return None
    if ids is None:
        ids = ArticleRow.__table__.c.id  # type: ignore[attr-defined]
    if correlated and dialect.name == "sqlite" and any(term.prefix for term in parse_search(raw)):
        return (ids + 0).in_(found)  # "+ 0": not an index lookup, a check of each row
    if not correlated:
        return ids.in_(found)
    if dialect.name == "sqlite":
        return exists(found.where(_fts.c.rowid == ids))
    # OFFSET 0 keeps it a check of each row: PostgreSQL would turn a plain EXISTS into a join, which for a
    # phrase re-reads the document of every article holding its words before the first row comes out
    return exists(found.where(_fts.c.article_id == ids).offset(0))
