"""Split a query string into lexemes (terms, phrases, operators, parentheses), each with its column."""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

from crawler.rules.errors import RuleError

MAX_QUERY_LENGTH = 10_000

# Characters allowed inside a bare term between letters/digits; the tokenizer treats them as word
# separators, so a bare term containing them is a phrase: IoT-based, SoftBank's, U.S., AT&T.
_JOINERS = frozenset("-'’._&")
# Letters, digits and joiners (``\w`` also takes "_", a joiner); marks are checked one by one.
_TERM_RUN = re.compile(r"[\w\-'’.&]+")
_KEYWORDS = {"AND", "OR", "NOT"}
# Reserved for next round's syntax (fields, NEAR/n, @aliases) or otherwise meaningless in a query.
_HINTS = {
    "“": 'straight double quotes (") around a phrase',
    "”": 'straight double quotes (") around a phrase',
    "„": 'straight double quotes (") around a phrase',
    "«": 'straight double quotes (") around a phrase',
    "»": 'straight double quotes (") around a phrase',
    "（": "ASCII parentheses",
    "）": "ASCII parentheses",
    "|": "OR",
    "&": "AND",
    "!": "NOT or -",
}


class Kind(enum.Enum):
    """What a lexeme is."""

    WORD = "term"
    PHRASE = "phrase"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    MINUS = "-"
    LPAREN = "("
    RPAREN = ")"
    END = "end of query"


@dataclass(frozen=True, slots=True)
class Lexeme:
    """One lexeme: its kind, its text as written and its 1-based column."""

    kind: Kind
    text: str
    column: int


def lex(query: str) -> list[Lexeme]:
    """The lexemes of ``query``, ending with one ``END``; raises RuleError (without rule id) on bad input."""
    if len(query) > MAX_QUERY_LENGTH:
        raise RuleError(f"a query of at most {MAX_QUERY_LENGTH} characters", MAX_QUERY_LENGTH + 1)
    lexemes: list[Lexeme] = []
    size = len(query)
    i = 0
    while i < size:
        char = query[i]
        if char.isspace():
            i += 1
            continue
        if char == "(":
            lexemes.append(Lexeme(Kind.LPAREN, char, i + 1))
            i += 1
        elif char == ")":
            lexemes.append(Lexeme(Kind.RPAREN, char, i + 1))
            i += 1
        elif char == "-":
            following = query[i + 1] if i + 1 < size else ""
            if not (following == "(" or following == '"' or _is_term_start(following)):
                raise RuleError("a term, a phrase or '(' right after '-' (use NOT for a stand-alone operator)", i + 2)
            lexemes.append(Lexeme(Kind.MINUS, char, i + 1))
            i += 1
        elif char == '"':
            i = _lex_phrase(query, i, lexemes)
        elif _is_term_start(char):
            i = _lex_word(query, i, lexemes)
        elif char == "*":
            raise RuleError("a word before '*' (it marks the end of a prefix, like invest*)", i + 1)
        else:
            raise RuleError(_unknown(char), i + 1)
    lexemes.append(Lexeme(Kind.END, "", size + 1))
    return lexemes


def _lex_phrase(query: str, i: int, lexemes: list[Lexeme]) -> int:
    """Add the phrase opening at ``i``; return the index after its closing quote."""
    close = query.find('"', i + 1)
    if close < 0:
        raise RuleError(f"'\"' to close the phrase opened at column {i + 1}", len(query) + 1)
    star = query.find("*", i + 1, close)
    if star >= 0 and not (star == close - 1 and _is_word_char(query[star - 1])):
        raise RuleError("'*' only right after the last word of a phrase, like \"vision fund*\"", star + 1)
    lexemes.append(Lexeme(Kind.PHRASE, query[i : close + 1], i + 1))
    _check_separated(query, close + 1)
    return close + 1


def _lex_word(query: str, i: int, lexemes: list[Lexeme]) -> int:
    """Add the bare term (or keyword) starting at ``i``; return the index after it."""
    size = len(query)
    j = i + 1
    while j < size:
        run = _TERM_RUN.match(query, j)
        if run is not None:
            j = run.end()
        elif _is_word_char(query[j]):  # a combining mark or format character
            j += 1
        else:
            break
    if j < size and query[j] == "*":
        if not _is_word_char(query[j - 1]):
            raise RuleError("a letter or digit right before '*'", j + 1)
        j += 1
    text = query[i:j]
    kind = Kind[text] if text in _KEYWORDS else Kind.WORD
    lexemes.append(Lexeme(kind, text, i + 1))
    _check_separated(query, j)
    return j


def _check_separated(query: str, j: int) -> None:
    """A term or phrase must be followed by a space, a parenthesis or the end of the query."""
    if j < len(query) and not (query[j].isspace() or query[j] in "()"):
        found = query[j]
        raise RuleError(f"a space, '(' or ')' after a term, found {found!r}", j + 1)


def _is_term_start(char: str) -> bool:
    return char.isalnum()


def _is_word_char(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char) in ("Mn", "Mc", "Me", "Cf")


def _unknown(char: str) -> str:
    hint = _HINTS.get(char)
    message = f"a term, a phrase, an operator or a parenthesis, found {char!r}"
    return f"{message}; use {hint}" if hint else message
