"""The parsed form of a rule query: frozen AST nodes and the Query that holds them.

Leaves are :class:`Term` (a word, prefix or phrase) and :class:`Money` (amounts of money); inner nodes are
:class:`And`, :class:`Or`, :class:`Not`, :class:`Near` (proximity) and :class:`Ref` (an ``@alias``, kept
as a node so that errors and renderings can name it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from crawler.rules.text import is_unspaced

# What identifies a leaf for matching, independent of where and how it was written:
# a Term is (words, prefix, cased words or None, field or None); MONEY is ("MONEY", minimum, field).
TermKey = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Term:
    """Consecutive words to find; one word (``softbank``), a prefix (``invest*``) or a phrase.

    ``words`` are normalised (see :mod:`crawler.rules.text`); with ``prefix`` the last word only has to
    start a word of the text. A quoted phrase (``"joint venture"``) and a bare term that the tokenizer
    splits (``IoT-based``, ``SoftBank's``) are both phrases. ``source`` is the term as written in the
    query and ``column`` where it starts (1-based).

    ``field`` is None (title or body) or one of "title", "body", "site", "url". ``cased`` is None for the
    usual case-insensitive match, or (``=AI``) the words as written, NFKC-normalised but not case-folded,
    which the text's words must then equal exactly.
    """

    words: tuple[str, ...]
    prefix: bool
    source: str
    column: int
    field: str | None = None
    cased: tuple[str, ...] | None = None

    @property
    def key(self) -> TermKey:
        """What the term matches, independent of where and how it was written."""
        return (self.words, self.prefix, self.cased, self.field)


@dataclass(frozen=True, slots=True)
class Money:
    """``MONEY`` or ``MONEY>=100M``: an amount of money in the text (at least ``minimum`` US dollars)."""

    minimum: float | None
    source: str
    column: int
    field: str | None = None

    @property
    def key(self) -> TermKey:
        return ("MONEY", self.minimum, self.field)


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


@dataclass(frozen=True, slots=True)
class Near:
    """``left NEAR/distance right``: an occurrence of each side, in the same field, with at most
    ``distance`` words between them, in either order. ``column`` is that of the ``NEAR/n`` operator."""

    left: Node
    right: Node
    distance: int
    column: int


@dataclass(frozen=True, slots=True)
class Ref:
    """``@name``: the alias ``name`` (its parsed definition is ``child``), with the field written before it."""

    name: str
    child: Node
    column: int
    field: str | None = None


Node = Term | Money | And | Or | Not | Near | Ref
Leaf = Term | Money


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: the ``source`` text, its AST ``root`` and the rule it belongs to (if known)."""

    source: str
    root: Node
    rule_id: str | None = None

    def terms(self) -> list[Leaf]:
        """Every leaf of the query (terms and MONEY), left to right, negated ones and alias contents included."""
        return list(iter_terms(self.root))

    def __str__(self) -> str:
        return describe(self.root)


def iter_terms(node: Node) -> Iterator[Leaf]:
    """The leaves under ``node``, left to right."""
    if isinstance(node, Term | Money):
        yield node
    elif isinstance(node, Not | Ref):
        yield from iter_terms(node.child)
    elif isinstance(node, Near):
        yield from iter_terms(node.left)
        yield from iter_terms(node.right)
    else:
        for child in node.children:
            yield from iter_terms(child)


def describe(node: Node, expand: bool = False) -> str:
    """A canonical, fully parenthesised rendering (``(a AND (b OR c))``) for logs and tests.

    Aliases are shown as ``@name`` unless ``expand`` is true.
    """
    if isinstance(node, Term):
        field = f"{node.field}:" if node.field else ""
        if node.cased is not None:
            text = _join_words(node.cased) + ("*" if node.prefix else "")
            return f'{field}="{text}"' if len(node.cased) > 1 else f"{field}={text}"
        text = _join_words(node.words) + ("*" if node.prefix else "")
        return f'{field}"{text}"' if len(node.words) > 1 else field + text
    if isinstance(node, Money):
        field = f"{node.field}:" if node.field else ""
        return field + ("MONEY" if node.minimum is None else f"MONEY>={_amount(node.minimum)}")
    if isinstance(node, Not):
        return f"NOT {describe(node.child, expand)}"
    if isinstance(node, Ref):
        if expand:
            return describe(node.child, expand)
        return (f"{node.field}:" if node.field else "") + f"@{node.name}"
    if isinstance(node, Near):
        return f"({describe(node.left, expand)} NEAR/{node.distance} {describe(node.right, expand)})"
    operator = " AND " if isinstance(node, And) else " OR "
    return "(" + operator.join(describe(child, expand) for child in node.children) + ")"


def _amount(value: float) -> str:
    """``value`` as written after ``MONEY>=``: 100M, 1.5B, 250 (no exponent, so it parses again)."""
    scale, suffix = next(
        ((s, x) for x, s in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)) if value >= s), (1.0, "")
    )
    return f"{value / scale:.6f}".rstrip("0").rstrip(".") + suffix


def _join_words(words: tuple[str, ...]) -> str:
    """Words separated by spaces, except between characters of scripts written without spaces."""
    text = words[0]
    for before, word in pairwise(words):
        text += word if is_unspaced(before[-1]) and is_unspaced(word[0]) else " " + word
    return text
