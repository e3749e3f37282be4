"""Evaluate compiled queries against an indexed article: find the rule set's terms, then check the rules.

Two passes per article:

1. *Presence*: the rule set's distinct leaves are numbered once (:class:`TermTable`). The article's words
   are looked up in the table (exact words in one set intersection, prefixes by their first characters,
   phrases by their first word), which gives the set of leaves present. Field-limited (``title:``) and
   case-sensitive (``=AI``) terms are checked only when their words are present; MONEY is scanned only
   when a rule that could match needs it.
2. *Rules*: only rules with an *anchor* present (a leaf that must occur for the rule to match) are
   evaluated, as nested closures over the present set; NEAR and thresholds look at word positions, only
   after the cheaper parts of their rule have passed, and cache their results for the article.

Matched rules are then explained (:meth:`CompiledQuery.explain`): their terms as written, every hit
(positions and character offsets), and the amounts of money involved.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from crawler.rules.index import BODY, FIELDS, TEXT_FIELDS, TITLE, DocumentIndex, FieldIndex, Located, Span
from crawler.rules.nodes import And, Leaf, Money, Near, Node, Not, Or, Query, Ref, Term, TermKey

# Prefix terms are grouped by their first _HEAD characters, so an article only tries the prefixes whose
# head starts one of its words.
_HEAD = 3
# Without MONEY in a rule, the amounts reported with its match are those this many words from a hit.
AMOUNT_CONTEXT = 20
_FIELD_RANK = {name: rank for rank, name in enumerate(FIELDS)}

Occurrence = tuple[Span, int]  # where a leaf occurs, and the leaf's id
BaseKey = tuple[tuple[str, ...], bool]


class TermTable:
    """The distinct leaves (terms, MONEY) of a rule set, numbered, with tables to find them in an article."""

    def __init__(self) -> None:
        self.leaves: list[Leaf] = []
        self._ids: dict[TermKey, int] = {}
        # Lookups over the words of the title and body, by "base" (the words and prefix flag only).
        self._base_ids: dict[BaseKey, int] = {}
        self._base_keys: list[BaseKey] = []
        self._words: dict[str, int] = {}  # one exact word -> base id
        self._prefixes: dict[str, list[tuple[str, int]]] = {}  # head -> (prefix, base id) of one-word prefixes
        self._short_prefixes: list[tuple[str, int]] = []  # one-word prefixes shorter than _HEAD
        self._phrases: dict[str, list[int]] = {}  # first word -> base ids of phrases
        self._plain: dict[int, int] = {}  # base id -> id of the leaf without field or case
        self._checked: dict[int, list[int]] = {}  # base id -> ids of title:/body:/=cased leaves
        self._elsewhere: list[int] = []  # site: and url: terms
        self.money: list[int] = []  # MONEY leaves
        self.slots: dict[Node, int] = {}  # NEAR nodes, numbered for caching their results per article
        self.near_functions: dict[int, tuple[Check, Hits]] = {}  # slot -> compiled check and hits

    @property
    def terms(self) -> list[Leaf]:
        """The leaves by id (kept under its old name)."""
        return self.leaves

    def add(self, leaf: Leaf) -> int:
        """The id of ``leaf`` (the same for every leaf with the same key)."""
        key = leaf.key
        found = self._ids.get(key)
        if found is not None:
            return found
        leaf_id = self._ids[key] = len(self.leaves)
        self.leaves.append(leaf)
        if isinstance(leaf, Money):
            self.money.append(leaf_id)
        elif leaf.field in ("site", "url"):
            self._elsewhere.append(leaf_id)
        else:
            base = self._base(leaf.words, leaf.prefix)
            if leaf.field is None and leaf.cased is None:
                self._plain[base] = leaf_id
            else:
                self._checked.setdefault(base, []).append(leaf_id)
        return leaf_id

    def _base(self, words: tuple[str, ...], prefix: bool) -> int:
        key = (words, prefix)
        found = self._base_ids.get(key)
        if found is not None:
            return found
        base = self._base_ids[key] = len(self._base_keys)
        self._base_keys.append(key)
        first = words[0]
        if len(words) > 1:
            self._phrases.setdefault(first, []).append(base)
        elif not prefix:
            self._words[first] = base
        elif len(first) < _HEAD:
            self._short_prefixes.append((first, base))
        else:
            self._prefixes.setdefault(first[:_HEAD], []).append((first, base))
        return base

    def id(self, leaf: Leaf) -> int:
        """The id of a leaf already added."""
        return self._ids[leaf.key]

    def slot(self, node: Near) -> int:
        """A number for ``node``, the same for equal nodes (their results are cached per article)."""
        found = self.slots.get(node)
        if found is None:
            found = self.slots[node] = len(self.slots)
        return found

    def find(self, context: Context) -> set[int]:
        """Ids of the terms that occur in the article (MONEY excluded: see :meth:`Context.has_money`)."""
        index = context.index
        words = index.words()
        bases = [self._words[word] for word in self._words.keys() & words]
        if self._prefixes or self._short_prefixes:
            heads = {word[:_HEAD] for word in words if len(word) >= _HEAD}
            for head in self._prefixes.keys() & heads:
                bases.extend(base for prefix, base in self._prefixes[head] if index.has_prefix(prefix))
            bases.extend(base for prefix, base in self._short_prefixes if index.has_prefix(prefix))
        text_fields = [index.fields[name] for name in TEXT_FIELDS]
        for first in self._phrases.keys() & words:
            for base in self._phrases[first]:
                phrase, prefix = self._base_keys[base]
                if any(_starts(field, phrase, prefix, first_only=True) for field in text_fields):
                    bases.append(base)
        present: set[int] = set()
        plain, checked = self._plain, self._checked
        for base in bases:
            leaf_id = plain.get(base)
            if leaf_id is not None:
                present.add(leaf_id)
            variants = checked.get(base)
            if variants is not None:
                present.update(leaf_id for leaf_id in variants if context.occurrences(leaf_id))
        if self._elsewhere and (index.fields["site"].words or index.fields["url"].words):
            present.update(leaf_id for leaf_id in self._elsewhere if context.occurrences(leaf_id))
        return present


class Context:
    """One article: its index, the leaves present, and the occurrences and NEAR results looked up so far."""

    __slots__ = ("_money_done", "_occurrences", "cache", "index", "present", "table", "usd_rates")

    def __init__(self, index: DocumentIndex, table: TermTable, usd_rates: dict[str, float] | None = None) -> None:
        self.index = index
        self.table = table
        self.usd_rates = usd_rates or {}
        self._occurrences: dict[int, list[Occurrence]] = {}
        self._money_done = False
        self.cache: dict[int, object] = {}
        self.present: set[int] = table.find(self)

    def occurrences(self, leaf_id: int) -> list[Occurrence]:
        """Every occurrence of a leaf, field by field (title, body, site, url), in text order."""
        found = self._occurrences.get(leaf_id)
        if found is None:
            leaf = self.table.leaves[leaf_id]
            if isinstance(leaf, Money):
                found = [(located.span, leaf_id) for located in self.amounts(leaf)]
            else:
                found = [(span, leaf_id) for span in _term_spans(self.index, leaf)]
            self._occurrences[leaf_id] = found
        return found

    def amounts(self, leaf: Money) -> list[Located]:
        """The amounts of the article that a MONEY leaf matches (its field, its minimum in US dollars)."""
        found = self.index.amounts()
        if leaf.field is not None:
            found = [located for located in found if located.span.field == leaf.field]
        if leaf.minimum is not None:
            minimum, rates = leaf.minimum, self.usd_rates
            found = [
                located
                for located in found
                if (rate := rates.get(located.found.currency)) is not None and located.found.value * rate >= minimum
            ]
        return found

    def has_money(self, leaf_id: int) -> bool:
        """True if the MONEY leaf occurs; the first call scans the article's amounts for every MONEY leaf."""
        if not self._money_done:
            self._money_done = True
            self.present.update(money_id for money_id in self.table.money if self.occurrences(money_id))
        return leaf_id in self.present


Check = Callable[[Context], bool]
Hits = Callable[[Context], list[Occurrence]]


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a matched term: the term as written in the query, and where it is in the article."""

    term: str
    span: Span


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a query matched: its matched terms (as written, deduplicated, in query order), their hits, and
    the amounts of money that go with the match (see :meth:`CompiledQuery.explain`)."""

    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    amounts: tuple[Located, ...] = ()


@dataclass(frozen=True)
class Threshold:
    """A rule's extra condition against passing mentions: ``terms`` (a query expression, usually an alias)
    must occur in the title (if ``title``), or at least ``body`` times in the body (if ``body`` > 0)."""

    terms: str
    title: bool = True
    body: int = 0


class CompiledQuery:
    """A query (and its optional threshold) turned into nested closures over leaf ids.

    No code is generated or evaluated. ``anchors`` are leaf ids of which at least one must occur for the
    query to match, so a rule set only checks the queries that have an anchor in the article;
    ``money_anchored`` is true when those anchors are MONEY leaves (found only by scanning for amounts).
    """

    __slots__ = ("anchors", "check", "money_anchored", "query", "table", "threshold", "threshold_query")

    def __init__(
        self, query: Query, table: TermTable, threshold: Threshold | None = None, threshold_query: Query | None = None
    ) -> None:
        self.query = query
        self.table = table
        self.threshold = threshold
        self.threshold_query = threshold_query
        roots = [query.root] if threshold_query is None else [query.root, threshold_query.root]
        for root in roots:
            for leaf in _leaves(root):
                table.add(leaf)
        check = _compile(query.root, table)
        if threshold is not None and threshold_query is not None:
            check = _and_checks(check, _compile_threshold(threshold, threshold_query.root, table))
        self.check: Check = check
        root = roots[0] if len(roots) == 1 else And(tuple(roots), query.root.column)
        anchors = _anchors(root, table, negated=False)
        if anchors is None:  # pragma: no cover - the parser rejects queries without a term that must be present
            anchors = frozenset(table.id(leaf) for leaf in _leaves(root))
        self.anchors: frozenset[int] = anchors
        self.money_anchored = bool(anchors) and anchors <= frozenset(table.money)

    def matches(self, context: Context) -> bool:
        """True if the article in ``context`` matches."""
        return self.check(context)

    def explain(self, context: Context, with_hits: bool = True) -> Explanation | None:
        """The terms that made the query match, with their occurrences; None if it does not match.

        Without ``with_hits`` only the terms are collected. Terms are reported as written, once each, in
        query order (the threshold's after the query's). Amounts: the amounts that a MONEY term of the query
        (or threshold) matched, if any; otherwise the amounts within :data:`AMOUNT_CONTEXT` words of a hit.
        """
        if not self.check(context):
            return None
        witnesses: list[tuple[Leaf, list[Occurrence] | None]] = []
        _witnesses(self.query.root, context, self.table, witnesses)
        if self.threshold_query is not None:
            _witnesses(self.threshold_query.root, context, self.table, witnesses)
        table = self.table
        order: dict[int, Leaf] = {}  # leaf id -> the leaf as first written (witnesses are in query order)
        for leaf, _found in witnesses:
            order.setdefault(table.id(leaf), leaf)
        terms = tuple(dict.fromkeys(leaf.source for leaf in order.values()))  # as written, once each
        if not with_hits:
            return Explanation(terms, ())
        where: dict[int, list[Occurrence] | None] = {}
        for leaf, found in witnesses:
            leaf_id = table.id(leaf)
            if leaf_id in where and where[leaf_id] is None:
                continue
            where[leaf_id] = None if found is None else [*(where.get(leaf_id) or []), *found]
        hits: dict[tuple[str, int, int, str], Hit] = {}
        money_spans: set[Span] = set()
        for leaf_id, leaf in order.items():
            found = where[leaf_id]
            for span, _ in context.occurrences(leaf_id) if found is None else found:
                hits.setdefault((span.field, span.start, span.end, leaf.source), Hit(leaf.source, span))
                if isinstance(leaf, Money):
                    money_spans.add(span)
        ordered = sorted(hits.values(), key=lambda hit: (_FIELD_RANK[hit.span.field], hit.span.start, hit.span.end))
        located = context.index.amounts()
        if money_spans:
            amounts = [amount for amount in located if amount.span in money_spans]
        else:
            amounts = _amounts_near(located, ordered)
        return Explanation(terms, tuple(ordered), tuple(amounts))


def _amounts_near(located: list[Located], hits: Sequence[Hit]) -> list[Located]:
    """The amounts within AMOUNT_CONTEXT words of a hit in the same field (a bisection per amount)."""
    sides: dict[str, _Side] = {}
    by_field: dict[str, list[Occurrence]] = {}
    for hit in hits:
        by_field.setdefault(hit.span.field, []).append((hit.span, 0))
    for field, occurrences in by_field.items():
        sides[field] = _Side(occurrences)
    near: list[Located] = []
    for amount in located:
        span = amount.span
        side = sides.get(span.field)
        if side is not None and (
            side.overlaps(span.first, span.last) or side.near(span.first, span.last, AMOUNT_CONTEXT)
        ):
            near.append(amount)
    return near


def _leaves(node: Node) -> Iterable[Leaf]:
    if isinstance(node, Term | Money):
        yield node
    elif isinstance(node, Not | Ref):
        yield from _leaves(node.child)
    elif isinstance(node, Near):
        yield from _leaves(node.left)
        yield from _leaves(node.right)
    else:
        for child in node.children:
            yield from _leaves(child)


def _and_checks(first: Check, second: Check) -> Check:
    def check_both(context: Context) -> bool:
        return first(context) and second(context)

    return check_both


def _compile(node: Node, table: TermTable) -> Check:
    if isinstance(node, Term):
        term_id = table.id(node)

        def check_term(context: Context) -> bool:
            return term_id in context.present

        return check_term
    if isinstance(node, Money):
        money_id = table.id(node)

        def check_money(context: Context) -> bool:
            return context.has_money(money_id)

        return check_money
    if isinstance(node, Ref):
        return _compile(node.child, table)
    if isinstance(node, Not):
        inner = _compile(node.child, table)

        def check_not(context: Context) -> bool:
            return not inner(context)

        return check_not
    if isinstance(node, Near):
        return _compile_near(node, table)[0]
    # The terms among the children are checked together with one set operation; then the other children,
    # NEAR last (it looks at positions).
    children = [_unwrap(child) for child in node.children]
    term_ids = frozenset(table.id(child) for child in children if isinstance(child, Term))
    rest = sorted((child for child in children if not isinstance(child, Term)), key=lambda child: _cost(child))
    checks = tuple(_compile(child, table) for child in rest)
    if isinstance(node, And):

        def check_and(context: Context) -> bool:
            if not term_ids <= context.present:
                return False
            for check in checks:  # noqa: SIM110 - a plain loop: no generator on the hot path
                if not check(context):
                    return False
            return True

        return check_and

    def check_or(context: Context) -> bool:
        if not term_ids.isdisjoint(context.present):
            return True
        for check in checks:  # noqa: SIM110 - a plain loop: no generator on the hot path
            if check(context):
                return True
        return False

    return check_or


def _unwrap(node: Node) -> Node:
    while isinstance(node, Ref):
        node = node.child
    return node


def _cost(node: Node) -> int:
    """A rough evaluation cost, to check cheap children first."""
    node = _unwrap(node)
    if isinstance(node, Term):
        return 0
    if isinstance(node, Money):
        return 2
    if isinstance(node, Near):
        return 3
    if isinstance(node, Not | Ref):
        return _cost(node.child)
    return max((_cost(child) for child in node.children), default=0) + (1 if isinstance(node, Or) else 0)


def _compile_near(node: Near, table: TermTable) -> tuple[Check, Hits]:
    """The check and the hits of a NEAR node; equal nodes (of any rule) share them and their cached results."""
    slot = table.slot(node)
    known = table.near_functions.get(slot)
    if known is not None:
        return known
    left_check, right_check = _compile(node.left, table), _compile(node.right, table)
    left_hits, right_hits = _compile_hits(node.left, table), _compile_hits(node.right, table)
    distance = node.distance
    hits_slot = -1 - slot

    def check_near(context: Context) -> bool:
        cache = context.cache
        known = cache.get(slot)
        if known is None:
            known = cache[slot] = (
                left_check(context)
                and right_check(context)
                and _near_any(left_hits(context), right_hits(context), distance)
            )
        return bool(known)

    def near_hits(context: Context) -> list[Occurrence]:
        cache = context.cache
        known = cache.get(hits_slot)
        if known is None:
            known = cache[hits_slot] = (
                _near_all(left_hits(context), right_hits(context), distance) if check_near(context) else []
            )
        assert isinstance(known, list)
        return known

    table.near_functions[slot] = (check_near, near_hits)
    return check_near, near_hits


def _compile_hits(node: Node, table: TermTable) -> Hits:
    """A function giving the occurrences of a node's positive leaves, for a node that is true.

    A term or MONEY: all its occurrences; a group: those of its true children (nothing from a NOT);
    NEAR: the occurrences of either side that have one of the other side within the distance.
    """
    if isinstance(node, Term | Money):
        leaf_id = table.id(node)

        def leaf_hits(context: Context) -> list[Occurrence]:
            return context.occurrences(leaf_id)

        return leaf_hits
    if isinstance(node, Ref):
        return _compile_hits(node.child, table)
    if isinstance(node, Not):
        return _no_hits
    if isinstance(node, Near):
        return _compile_near(node, table)[1]
    parts = [(_compile(child, table), _compile_hits(child, table)) for child in node.children]

    def group_hits(context: Context) -> list[Occurrence]:
        found: list[Occurrence] = []
        for check, hits in parts:
            if check(context):
                found.extend(hits(context))
        return found

    return group_hits


def _no_hits(context: Context) -> list[Occurrence]:
    return []


def _compile_threshold(threshold: Threshold, node: Node, table: TermTable) -> Check:
    check, hits = _compile(node, table), _compile_hits(node, table)
    in_title, in_body = threshold.title, threshold.body

    def check_threshold(context: Context) -> bool:
        if not check(context):
            return False
        found = hits(context)
        if in_title and any(span.field == TITLE for span, _ in found):
            return True
        if in_body > 0:
            return len({span.first for span, _ in found if span.field == BODY}) >= in_body
        return False

    return check_threshold


def _by_field(occurrences: list[Occurrence]) -> dict[str, list[Occurrence]]:
    grouped: dict[str, list[Occurrence]] = {}
    for occurrence in occurrences:
        grouped.setdefault(occurrence[0].field, []).append(occurrence)
    return grouped


class _Side:
    """One side of a NEAR in one field: the first positions of its occurrences, sorted, and their last
    positions, sorted, so that the nearest occurrence before or after a span is found by bisection."""

    __slots__ = ("firsts", "lasts")

    def __init__(self, occurrences: list[Occurrence]) -> None:
        self.firsts = sorted(span.first for span, _ in occurrences)
        self.lasts = sorted(span.last for span, _ in occurrences)

    def near(self, first: int, last: int, distance: int) -> bool:
        """True if an occurrence that does not overlap the span [first, last] has at most ``distance``
        words between it and the span."""
        before = bisect_left(self.lasts, first)  # lasts[before - 1] is the last end strictly before `first`
        if before and first - self.lasts[before - 1] - 1 <= distance:
            return True
        after = bisect_right(self.firsts, last)  # firsts[after] is the first start strictly after `last`
        return after < len(self.firsts) and self.firsts[after] - last - 1 <= distance

    def overlaps(self, first: int, last: int) -> bool:
        """True if an occurrence shares a position with the span [first, last]."""
        starting = bisect_right(self.firsts, last)  # occurrences starting at or before `last`...
        ended = bisect_left(self.lasts, first)  # ...minus those ending before `first`
        return starting > ended


def _near_any(left: list[Occurrence], right: list[Occurrence], distance: int) -> bool:
    """True if some occurrence of ``left`` and one of ``right`` are within ``distance`` words (one field)."""
    if not left or not right:
        return False
    rights = _by_field(right)
    for field, found in _by_field(left).items():
        others = rights.get(field)
        if others is None:
            continue
        side = _Side(others)
        for span, _ in found:
            if side.near(span.first, span.last, distance):
                return True
    return False


def _near_all(left: list[Occurrence], right: list[Occurrence], distance: int) -> list[Occurrence]:
    """The occurrences of either side that have an occurrence of the other side within ``distance`` words."""
    if not left or not right:
        return []
    lefts, rights = _by_field(left), _by_field(right)
    found: list[Occurrence] = []
    for field in lefts.keys() & rights.keys():
        mine, others = lefts[field], rights[field]
        left_side, right_side = _Side(mine), _Side(others)
        found.extend(
            occurrence for occurrence in mine if right_side.near(occurrence[0].first, occurrence[0].last, distance)
        )
        found.extend(
            occurrence for occurrence in others if left_side.near(occurrence[0].first, occurrence[0].last, distance)
        )
    return found


def _anchors(node: Node, table: TermTable, negated: bool) -> frozenset[int] | None:
    """Leaf ids one of which must occur for ``node`` (or, if ``negated``, NOT ``node``) to be true.

    None when no such set is known (a negated term can be true with nothing present). Among the children
    of an AND, the smallest set without MONEY is preferred (MONEY is found by scanning the text).
    """
    if isinstance(node, Term | Money):
        return None if negated else frozenset((table.id(node),))
    if isinstance(node, Not | Ref):
        return _anchors(node.child, table, not negated if isinstance(node, Not) else negated)
    children: tuple[Node, ...] = (node.left, node.right) if isinstance(node, Near) else node.children
    if isinstance(node, Near) and negated:  # NOT (a NEAR b) holds whenever one side is missing
        return None
    found = [_anchors(child, table, negated) for child in children]
    if isinstance(node, And | Near) != negated:  # every child must be true: any one child's anchors will do
        known = [anchors for anchors in found if anchors is not None]
        money = frozenset(table.money)
        return min(known, key=lambda anchors: (bool(anchors & money), len(anchors))) if known else None
    if any(anchors is None for anchors in found):  # one child must be true: all their anchors together
        return None
    return frozenset().union(*(anchors for anchors in found if anchors is not None))


def _witnesses(node: Node, context: Context, table: TermTable, out: list[tuple[Leaf, list[Occurrence] | None]]) -> bool:
    """Whether ``node`` is true; adds to ``out`` the leaves found in the article that made it so.

    For a true node those are the found leaves that make it true; for a false node, the found leaves that
    make it false (they matter under a NOT: ``NOT NOT a`` reports ``a``). Missing leaves are never
    reported. Each leaf comes with the occurrences that count (None: all of them); for NEAR only the
    occurrences within the distance of the other side count, and a false NEAR reports nothing.
    """
    if isinstance(node, Term):
        found = table.id(node) in context.present
        if found:
            out.append((node, None))
        return found
    if isinstance(node, Money):
        found = context.has_money(table.id(node))
        if found:
            out.append((node, None))
        return found
    if isinstance(node, Ref):
        return _witnesses(node.child, context, table, out)
    if isinstance(node, Not):
        return not _witnesses(node.child, context, table, out)
    if isinstance(node, Near):
        hits = _compile_near(node, table)[1](context)
        if not hits:
            return False
        by_leaf: dict[int, list[Occurrence]] = {}
        for occurrence in hits:
            by_leaf.setdefault(occurrence[1], []).append(occurrence)
        for leaf in _leaves(node):
            occurrences = by_leaf.pop(table.id(leaf), None)
            if occurrences is not None:
                out.append((leaf, occurrences))
        return True
    results: list[tuple[bool, list[tuple[Leaf, list[Occurrence] | None]]]] = []
    for child in node.children:
        child_out: list[tuple[Leaf, list[Occurrence] | None]] = []
        results.append((_witnesses(child, context, table, child_out), child_out))
    value = all(r[0] for r in results) if isinstance(node, And) else any(r[0] for r in results)
    # A true AND needs all its children, a true OR has its true children; false nodes mirror that.
    for child_value, child_out in results:
        if child_value == value:
            out.extend(child_out)
    return value


def _term_spans(index: DocumentIndex, term: Term) -> list[Span]:
    """Every occurrence of ``term`` in its field(s), with the case check of ``=`` terms."""
    spans: list[Span] = []
    names = TEXT_FIELDS if term.field is None else (term.field,)
    size = len(term.words)
    for name in names:
        field = index.fields[name]
        for first in _starts(field, term.words, term.prefix):
            if term.cased is None or _same_case(field, first, term.cased, term.prefix):
                spans.append(field.span(name, first, first + size - 1))
    return spans


def _same_case(field: FieldIndex, first: int, cased: tuple[str, ...], prefix: bool) -> bool:
    last = len(cased) - 1
    for offset, word in enumerate(cased):
        form = field.cased(first + offset)
        if offset == last and prefix:
            if not form.startswith(word):
                return False
        elif form != word:
            return False
    return True


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
