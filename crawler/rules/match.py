"""Evaluate compiled queries against an indexed article: find the rule set's terms, then check the rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crawler.rules.index import DocumentIndex, FieldIndex, Span
from crawler.rules.nodes import And, Node, Not, Query, Term, TermKey

# Prefix terms are grouped by their first _HEAD characters, so an article only tries the prefixes whose
# head starts one of its words.
_HEAD = 3


class TermTable:
    """The distinct terms of a rule set, numbered, with tables to find them from an article's words."""

    def __init__(self) -> None:
        self.terms: list[Term] = []
        self._ids: dict[TermKey, int] = {}
        self._words: dict[str, int] = {}  # one exact word -> id
        self._prefixes: dict[str, list[tuple[str, int]]] = {}  # head -> (prefix, id) of one-word prefixes
        self._short_prefixes: list[tuple[str, int]] = []  # one-word prefixes shorter than _HEAD
        self._phrases: dict[str, list[int]] = {}  # first word -> ids of phrases

    def add(self, term: Term) -> int:
        """The id of ``term`` (the same for every term with the same key)."""
        key = term.key
        found = self._ids.get(key)
        if found is not None:
            return found
        term_id = self._ids[key] = len(self.terms)
        self.terms.append(term)
        first = term.words[0]
        if len(term.words) > 1:
            self._phrases.setdefault(first, []).append(term_id)
        elif not term.prefix:
            self._words[first] = term_id
        elif len(first) < _HEAD:
            self._short_prefixes.append((first, term_id))
        else:
            self._prefixes.setdefault(first[:_HEAD], []).append((first, term_id))
        return term_id

    def id(self, term: Term) -> int:
        """The id of a term already added."""
        return self._ids[term.key]

    def find(self, index: DocumentIndex) -> set[int]:
        """Ids of the terms that occur in the article (in any field)."""
        words = index.words()
        found = {self._words[word] for word in self._words.keys() & words}
        if self._prefixes or self._short_prefixes:
            heads = {word[:_HEAD] for word in words if len(word) >= _HEAD}
            for head in self._prefixes.keys() & heads:
                found.update(term_id for prefix, term_id in self._prefixes[head] if index.has_prefix(prefix))
            found.update(term_id for prefix, term_id in self._short_prefixes if index.has_prefix(prefix))
        for first in self._phrases.keys() & words:
            for term_id in self._phrases[first]:
                term = self.terms[term_id]
                if any(_starts(field, term.words, term.prefix, first_only=True) for field in index.fields.values()):
                    found.add(term_id)
        return found


class Context:
    """One article: its index, the ids of the rule set's terms found in it, and the spans looked up so far."""

    __slots__ = ("index", "present", "spans", "table")

    def __init__(self, index: DocumentIndex, table: TermTable) -> None:
        self.index = index
        self.table = table
        self.present: set[int] = table.find(index)
        self.spans: dict[TermKey, list[Span]] = {}

    def where(self, term: Term) -> list[Span]:
        """Every occurrence of ``term``, field by field, in text order."""
        key = term.key
        found = self.spans.get(key)
        if found is None:
            found = self.spans[key] = [
                field.span(name, first, first + len(term.words) - 1)
                for name, field in self.index.fields.items()
                for first in _starts(field, term.words, term.prefix)
            ]
        return found


Check = Callable[[set[int]], bool]


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a matched term: the term as written in the query, and where it is in the article."""

    term: str
    span: Span


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a query matched: its matched terms (as written, deduplicated, in query order) and their hits."""

    terms: tuple[str, ...]
    hits: tuple[Hit, ...]


class CompiledQuery:
    """A query turned into nested closures over term ids (no code is generated or evaluated).

    ``anchors`` are term ids of which at least one must occur for the query to match, so a rule set only
    checks the queries that have an anchor in the article.
    """

    __slots__ = ("anchors", "check", "query", "table")

    def __init__(self, query: Query, table: TermTable) -> None:
        self.query = query
        self.table = table
        for term in query.terms():
            table.add(term)
        self.check: Check = _compile(query.root, table)
        anchors = _anchors(query.root, table, negated=False)
        if anchors is None:  # a query false for an empty article needs one of its terms to be true
            anchors = frozenset(table.id(term) for term in query.terms())
        self.anchors: frozenset[int] = anchors

    def matches(self, context: Context) -> bool:
        """True if the article in ``context`` matches."""
        return self.check(context.present)

    def explain(self, context: Context, with_hits: bool = True) -> Explanation | None:
        """The terms that made the query match, with their occurrences; None if it does not match.

        Without ``with_hits`` only the terms are collected (cheaper: no positions are looked up).
        """
        matched, witnesses = _witnesses(self.query.root, context.present, self.table)
        if not matched:
            return None
        terms: dict[TermKey, Term] = {}
        for term in sorted(witnesses, key=lambda term: term.column):
            terms.setdefault(term.key, term)
        hits: list[Hit] = []
        if with_hits:
            hits = [Hit(term.source, span) for term in terms.values() for span in context.where(term)]
            hits.sort(key=lambda hit: (hit.span.field != "title", hit.span.start))
        return Explanation(tuple(term.source for term in terms.values()), tuple(hits))


def _compile(node: Node, table: TermTable) -> Check:
    if isinstance(node, Term):
        term_id = table.id(node)

        def check_term(present: set[int]) -> bool:
            return term_id in present

        return check_term
    if isinstance(node, Not):
        inner = _compile(node.child, table)

        def check_not(present: set[int]) -> bool:
            return not inner(present)

        return check_not
    # The terms among the children are checked together with one set operation.
    term_ids = frozenset(table.id(child) for child in node.children if isinstance(child, Term))
    checks = tuple(_compile(child, table) for child in node.children if not isinstance(child, Term))
    if isinstance(node, And):

        def check_and(present: set[int]) -> bool:
            if not term_ids <= present:
                return False
            for check in checks:  # noqa: SIM110 - a plain loop: no generator on the hot path
                if not check(present):
                    return False
            return True

        return check_and

    def check_or(present: set[int]) -> bool:
        if not term_ids.isdisjoint(present):
            return True
        for check in checks:  # noqa: SIM110 - a plain loop: no generator on the hot path
            if check(present):
                return True
        return False

    return check_or


def _anchors(node: Node, table: TermTable, negated: bool) -> frozenset[int] | None:
    """Term ids one of which must occur for ``node`` (or, if ``negated``, NOT ``node``) to be true.

    None when no such set is known (a negated term can be true with nothing present).
    """
    if isinstance(node, Term):
        return None if negated else frozenset((table.id(node),))
    if isinstance(node, Not):
        return _anchors(node.child, table, not negated)
    found = [_anchors(child, table, negated) for child in node.children]
    if isinstance(node, And) != negated:  # every child must be true: any one child's anchors will do
        known = [anchors for anchors in found if anchors is not None]
        return min(known, key=len) if known else None
    if any(anchors is None for anchors in found):  # one child must be true: all their anchors together
        return None
    return frozenset().union(*(anchors for anchors in found if anchors is not None))


def _witnesses(node: Node, present: set[int], table: TermTable) -> tuple[bool, list[Term]]:
    """Whether ``node`` is true, and the terms found in the article that made it so.

    For a true node those are the found terms that make it true; for a false node, the found terms that
    make it false (they matter under a NOT: ``NOT NOT a`` reports ``a``). Missing terms are never reported.
    """
    if isinstance(node, Term):
        found = table.id(node) in present
        return found, [node] if found else []
    if isinstance(node, Not):
        value, terms = _witnesses(node.child, present, table)
        return not value, terms
    results = [_witnesses(child, present, table) for child in node.children]
    value = all(r[0] for r in results) if isinstance(node, And) else any(r[0] for r in results)
    # A true AND needs all its children, a true OR has its true children; false nodes mirror that.
    return value, [term for child_value, terms in results if child_value == value for term in terms]


def _starts(field: FieldIndex, words: tuple[str, ...], prefix: bool, first_only: bool = False) -> list[int]:
    """Positions where ``words`` occur in a row in ``field`` (the last word as a prefix if ``prefix``).

    Word-by-word comparison from the positions of the rarest exact word: at most (occurrences of that
    word) x (words in the phrase) comparisons, and the parser bounds the phrase length.
    """
    size = len(words)
    if size == 1:
        return field.positions(words[0], prefix)
    exact = words[:-1] if prefix else words
    postings = field.postings
    anchor_offset = -1
    anchor: list[int] = []
    for offset, word in enumerate(exact):  # anchor on the rarest exact word
        found = postings.get(word)
        if found is None:
            return []
        if anchor_offset < 0 or len(found) < len(anchor):
            anchor_offset, anchor = offset, found
    tokens = field.words
    limit = len(tokens) - size
    last = size - 1
    starts: list[int] = []
    for position in anchor:
        first = position - anchor_offset
        if first < 0 or first > limit:
            continue
        for offset in range(size):
            token = tokens[first + offset]
            if offset == last and prefix:
                if not token.startswith(words[offset]):
                    break
            elif token != words[offset]:
                break
        else:
            starts.append(first)
            if first_only:
                break
    return starts
