"""Rules and the RuleSet that compiles them once and matches articles against all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crawler.article import Match
from crawler.rules.index import DocumentIndex
from crawler.rules.match import CompiledQuery, Context, Hit, TermTable
from crawler.rules.query import parse_query


@dataclass(frozen=True)
class Rule:
    """One alert rule: its id, its query, how it is delivered ("instant" or "digest") and to whom."""

    id: str
    query: str
    mode: str = "digest"
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleMatch:
    """A rule that matched an article: the matched terms (as written in the query) and every hit."""

    rule_id: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...]

    def to_match(self) -> Match:
        """The pipeline's :class:`crawler.article.Match`."""
        return Match(self.rule_id, list(self.terms))


class RuleSet:
    """Compiled rules; :meth:`match` indexes an article once and checks every rule against that index.

    All rules share one table of distinct terms: an article's words are looked up in it once, and only
    the rules with an *anchor* term (one that must be present for the rule to match) in the article are
    evaluated.
    """

    def __init__(self, rules: Sequence[Rule], table: TermTable, compiled: Sequence[CompiledQuery]) -> None:
        """Use :meth:`compile`."""
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._table = table
        self._compiled = tuple(compiled)
        self._by_anchor: dict[int, list[int]] = {}
        for number, query in enumerate(self._compiled):
            for term_id in query.anchors:
                self._by_anchor.setdefault(term_id, []).append(number)

    @classmethod
    def compile(cls, rules: Sequence[Rule]) -> RuleSet:
        """Parse every rule's query.

        Raises :class:`~crawler.rules.errors.RuleError` naming the first rule whose query is invalid, and
        ValueError if two rules share an id.
        """
        seen: set[str] = set()
        table = TermTable()
        compiled: list[CompiledQuery] = []
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used by more than one rule")
            seen.add(rule.id)
            compiled.append(CompiledQuery(parse_query(rule.query, rule.id), table))
        return cls(rules, table, compiled)

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, title: str, text: str) -> list[Match]:
        """The rules that match the article, in rule order, each with its matched terms."""
        return [found.to_match() for found in self._explain(DocumentIndex.build(title, text), with_hits=False)]

    def matching_ids(self, index: DocumentIndex) -> list[str]:
        """Ids of the rules that match an indexed article (the fast path: no terms or hits collected)."""
        context = Context(index, self._table)
        return [self.rules[number].id for number in self._matching(context)]

    def explain(self, index: DocumentIndex) -> list[RuleMatch]:
        """The rules that match an indexed article, with matched terms and every hit (for highlighting)."""
        return self._explain(index, with_hits=True)

    def _explain(self, index: DocumentIndex, with_hits: bool) -> list[RuleMatch]:
        context = Context(index, self._table)
        found: list[RuleMatch] = []
        for number in self._matching(context):
            explanation = self._compiled[number].explain(context, with_hits)
            if explanation is not None:
                found.append(RuleMatch(self.rules[number].id, explanation.terms, explanation.hits))
        return found

    def _matching(self, context: Context) -> list[int]:
        """Numbers of the matching rules, in rule order."""
        candidates: set[int] = set()
        by_anchor = self._by_anchor
        for term_id in context.present:
            numbers = by_anchor.get(term_id)
            if numbers is not None:
                candidates.update(numbers)
        present = context.present
        compiled = self._compiled
        return [number for number in sorted(candidates) if compiled[number].check(present)]
