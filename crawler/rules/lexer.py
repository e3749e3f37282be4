"""Split a query string into lexemes (terms, phrases, operators, fields...), each with its 1-based column.

The lexer is a hand-written loop over the characters; the only regular expressions are fixed ones of this
module (no quantifier inside a quantifier), never built from the query.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

from crawler.rules.errors import RuleError

MAX_QUERY_LENGTH = 10_000
MAX_NEAR = 1000  # the largest n of NEAR/n
MAX_AMOUNT = 1e18  # the largest minimum of MONEY>=

FIELDS = ("title", "body", "site", "url")

# Characters allowed inside a bare term between letters/digits; the tokenizer treats them as word
# separators, so a bare term containing them is a phrase: IoT-based, SoftBank's, U.S., AT&T.
_JOINERS = frozenset("-'’._&")
# Letters, digits and joiners (``\w`` also takes "_", a joiner); marks are checked one by one.
_TERM_RUN = re.compile(r"[\w\-'’.&]+")
_ALIAS_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*")
_DIGITS = re.compile(r"[0-9]+")
# The minimum of MONEY>=...: a number and an optional scale letter (K, M, B or BN, T or TN).
_AMOUNT = re.compile(r"([0-9]+(?:\.[0-9]+)?)([bB][nN]|[tT][nN]|[kKmMtTbB])?")
_SCALES = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12, "tn": 1e12}
_KEYWORDS = {"AND", "OR", "NOT"}
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
    "$": "MONEY for amounts of money (MONEY>=100M for at least 100 million US dollars)",
    "/": "NEAR/n for proximity (a NEAR/10 b)",
    ":": "a field name right before ':' (title:, body:, site:, url:)",
    "~": "NEAR/n for proximity (a NEAR/10 b)",
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
    NEAR = "NEAR/n"
    FIELD = "field:"
    CASED = "="
    ALIAS = "@alias"
    MONEY = "MONEY"
    END = "end of query"


@dataclass(frozen=True, slots=True)
class Lexeme:
    """One lexeme: its kind, its text as written and its 1-based column.

    ``value`` is the number of a NEAR/n (n) or of MONEY>=amount (the amount), else None.
    """

    kind: Kind
    text: str
    column: int
    value: float | None = None


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
            if not _operand_follows(query, i + 1):
                raise RuleError("a term, a phrase or '(' right after '-' (use NOT for a stand-alone operator)", i + 2)
            lexemes.append(Lexeme(Kind.MINUS, char, i + 1))
            i += 1
        elif char == "=":
            following = query[i + 1] if i + 1 < size else ""
            if not (following == '"' or _is_term_start(following)):
                raise RuleError("a term or a phrase right after '=' (=AI matches AI but not ai or Ai)", i + 2)
            lexemes.append(Lexeme(Kind.CASED, char, i + 1))
            i = _lex_phrase(query, i + 1, lexemes) if following == '"' else _lex_word(query, i + 1, lexemes, True)
        elif char == "@":
            i = _lex_alias(query, i, lexemes)
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


def _operand_follows(query: str, j: int) -> bool:
    """True if an operand (term, phrase, group, =term, @alias) starts right at ``j``."""
    following = query[j] if j < len(query) else ""
    return following in ("(", '"', "=", "@") or _is_term_start(following)


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


def _lex_alias(query: str, i: int, lexemes: list[Lexeme]) -> int:
    """Add the alias reference ``@name`` at ``i``; return the index after it."""
    name = _ALIAS_NAME.match(query, i + 1)
    if name is None:
        raise RuleError("an alias name right after '@' (letters, digits, '_' or '-', like @softbank)", i + 2)
    lexemes.append(Lexeme(Kind.ALIAS, query[i : name.end()], i + 1))
    _check_separated(query, name.end())
    return name.end()


def _lex_word(query: str, i: int, lexemes: list[Lexeme], literal: bool = False) -> int:
    """Add the bare term, keyword, field, NEAR/n or MONEY starting at ``i``; return the index after it.

    With ``literal`` (after "="), the word is a term even if it is spelled like a keyword (=NOT, =MONEY).
    """
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
    text = query[i:j]
    if not literal:
        if j < size and query[j] == ":":
            return _lex_field(query, i, j, lexemes)
        if text == "NEAR":
            return _lex_near(query, i, j, lexemes)
        if text == "MONEY":
            return _lex_money(query, i, j, lexemes)
    if j < size and query[j] == "*":
        if not _is_word_char(query[j - 1]):
            raise RuleError("a letter or digit right before '*'", j + 1)
        j += 1
        text = query[i:j]
    kind = Kind[text] if text in _KEYWORDS and not literal else Kind.WORD
    lexemes.append(Lexeme(kind, text, i + 1))
    _check_separated(query, j)
    return j


def _lex_field(query: str, i: int, colon: int, lexemes: list[Lexeme]) -> int:
    name = query[i:colon]
    if name.lower() not in FIELDS:
        raise RuleError(f"a field name before ':' (title, body, site or url), found {name!r}", i + 1)
    following = query[colon + 1] if colon + 1 < len(query) else ""
    if not (following in ("(", '"', "=", "@") or _is_term_start(following)):
        raise RuleError(f"a term, a phrase, '(' or an @alias right after '{name}:' (no space)", colon + 2)
    lexemes.append(Lexeme(Kind.FIELD, name.lower(), i + 1))
    return colon + 1


def _lex_near(query: str, i: int, j: int, lexemes: list[Lexeme]) -> int:
    digits = _DIGITS.match(query, j + 1) if j < len(query) and query[j] == "/" else None
    if digits is None:
        where = j + 2 if j < len(query) and query[j] == "/" else j + 1
        raise RuleError("'/' and a number of words right after NEAR, like NEAR/10 (or \"near\" for the word)", where)
    distance = int(digits.group()) if len(digits.group()) <= 6 else MAX_NEAR + 1
    if distance > MAX_NEAR:
        raise RuleError(f"a distance of at most {MAX_NEAR} words after NEAR/", j + 2)
    lexemes.append(Lexeme(Kind.NEAR, query[i : digits.end()], i + 1, float(distance)))
    _check_separated(query, digits.end())
    return digits.end()


def _lex_money(query: str, i: int, j: int, lexemes: list[Lexeme]) -> int:
    size = len(query)
    if j < size and query[j] in "<>=":
        if not query.startswith(">=", j):
            raise RuleError("'>=' and an amount right after MONEY, like MONEY>=100M", j + 1)
        amount = _AMOUNT.match(query, j + 2)
        if amount is None:
            raise RuleError("an amount right after 'MONEY>=', like 100M (K, M, B or T: thousand to trillion)", j + 3)
        scale = _SCALES[(amount.group(2) or "").lower()]
        minimum = float(amount.group(1)) * scale
        if minimum > MAX_AMOUNT:
            raise RuleError("an amount of at most 1000000T after 'MONEY>='", j + 3)
        lexemes.append(Lexeme(Kind.MONEY, query[i : amount.end()], i + 1, minimum))
        _check_separated(query, amount.end())
        return amount.end()
    if j < size and query[j] == "*":
        raise RuleError("a space, '(' or ')' after MONEY (write money* for words starting with money)", j + 1)
    lexemes.append(Lexeme(Kind.MONEY, "MONEY", i + 1))
    _check_separated(query, j)
    return j


def _check_separated(query: str, j: int) -> None:
    """A term or phrase must be followed by a space, a parenthesis or the end of the query."""
    if j < len(query) and not (query[j].isspace() or query[j] in "()"):
        found = query[j]
        hint = _HINTS.get(found)
        message = f"a space, '(' or ')' after a term, found {found!r}"
        raise RuleError(f"{message}; use {hint}" if hint else message, j + 1)


def _is_term_start(char: str) -> bool:
    return char.isalnum()


def _is_word_char(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char) in ("Mn", "Mc", "Me", "Cf")


def _unknown(char: str) -> str:
    hint = _HINTS.get(char)
    message = f"a term, a phrase, an operator or a parenthesis, found {char!r}"
    return f"{message}; use {hint}" if hint else message
