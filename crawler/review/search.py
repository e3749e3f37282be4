"""Full-text search over article titles and bodies: FTS5 on SQLite, a tsvector GIN index on PostgreSQL.

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

from sqlalchemy import ColumnElement, bindparam, func, literal_column, text
from sqlalchemy.engine import Dialect

from crawler.models import SEARCH_TABLE, ArticleRow

MAX_TERMS = 16
MAX_TERM_CHARS = 200
# A quoted phrase, or a run of anything but blanks, quotes and stars (a word, maybe with punctuation inside).
_TOKEN = re.compile(r'"([^"]*)"|([^\s"*]+)(\*?)')
_WORD = re.compile(r"[^\W_]+")  # letters and digits; "_" and punctuation separate
_UNSAYABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # controls, NUL, lone surrogates: no database takes them


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


def search_condition(dialect: Dialect, raw: str) -> ColumnElement[bool] | None:
    """A WHERE condition on ``article`` for the search box entry ``raw``; None when it holds no word."""
    terms = parse_search(raw)
    if not terms:
        return None
    if dialect.name == "sqlite":
        return ArticleRow.__table__.c.id.in_(  # type: ignore[attr-defined]
            text(f"SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :fts").bindparams(
                bindparam("fts", fts5_expression(terms))
            )
        )
    if dialect.name == "postgresql":
        simple: ColumnElement[Any] = literal_column("'simple'")
        document = func.to_tsvector(
            simple,
            # the very expression of the GIN index (migration 0005), literals and all, so the index is used
            ArticleRow.__table__.c.title.op("||")(literal_column("' '")).op("||")(ArticleRow.__table__.c.text),  # type: ignore[attr-defined]
        )
        query: ColumnElement[Any] | None = None
        for index, term in enumerate(terms):
            if term.prefix:  # built from word characters only
                part = func.to_tsquery(simple, bindparam(f"tsq{index}", tsquery_expression([term])))
            else:  # plain text: the parser splits it as it split the stored text, no operators exist
                part = func.phraseto_tsquery(simple, bindparam(f"tsq{index}", term.source))
            query = part if query is None else query.op("&&")(part)
        return document.op("@@")(query)
    raise ValueError(f"full-text search is not available on {dialect.name}")
