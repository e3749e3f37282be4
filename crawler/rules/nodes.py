"""The parsed form of a rule query: frozen AST nodes (terms, AND, OR, NOT) and the Query that holds them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from crawler.rules.text import is_unspaced

# What identifies a term for matching: its normalised words and whether the last one is a prefix.
# (Next round's term options, e.g. a field or case sensitivity, join this key.)
TermKey = tuple[tuple[str, ...], bool]


@dataclass(frozen=True, slots=True)
class Term:
    """Consecutive words to find; one word (``softbank``), a prefix (``invest*``) or a phrase.

    ``words`` are normalised (see :mod:`crawler.rules.text`); with ``prefix`` the last word only has to
    start a word of the text. A quoted phrase (``"joint venture"``) and a bare term that the tokenizer
    splits (``IoT-based``, ``SoftBank's``) are both phrases. ``source`` is the term as written in the
    query and ``column`` where it starts (1-based).
    """

    words: tuple[str, ...]
    prefix: bool
    source: str
    column: int

    @property
    def key(self) -> TermKey:
        """What the term matches, independent of where and how it was written."""
        return (self.words, self.prefix)


@dataclass(frozen=True, slots=True)
class And:
    """True when every child is true (``a AND b``, or ``a b``)."""

    children: tuple[Node, ...]
    column: int


@dataclass(frozen=True, slots=True)
class Or:
    """True when at least one child is true."""

    children: tuple[Node, ...]
    column: int


@dataclass(frozen=True, slots=True)
class Not:
    """True when the child is false (``NOT a`` or ``-a``); ``column`` is that of the operator."""

    child: Node
    column: int


Node = Term | And | Or | Not


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: the ``source`` text, its AST ``root`` and the rule it belongs to (if known)."""

    source: str
    root: Node
    rule_id: str | None = None

    def terms(self) -> list[Term]:
        """Every term of the query, left to right (negated ones included)."""
        return list(iter_terms(self.root))

    def __str__(self) -> str:
        return describe(self.root)


def iter_terms(node: Node) -> Iterator[Term]:
    """The terms under ``node``, left to right."""
    if isinstance(node, Term):
        yield node
    elif isinstance(node, Not):
        yield from iter_terms(node.child)
    else:
        for child in node.children:
            yield from iter_terms(child)


def describe(node: Node) -> str:
    """A canonical, fully parenthesised rendering (``(a AND (b OR c))``) for logs and tests."""
    if isinstance(node, Term):
        text = _join_words(node.words) + ("*" if node.prefix else "")
        return f'"{text}"' if len(node.words) > 1 else text
    if isinstance(node, Not):
        return f"NOT {describe(node.child)}"
    operator = " AND " if isinstance(node, And) else " OR "
    return "(" + operator.join(describe(child) for child in node.children) + ")"


def _join_words(words: tuple[str, ...]) -> str:
    """Words separated by spaces, except between characters of scripts written without spaces."""
    text = words[0]
    for before, word in pairwise(words):
        text += word if is_unspaced(before[0]) and is_unspaced(word[0]) else " " + word
    return text
