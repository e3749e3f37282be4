"""Rules and the RuleSet that compiles them once and matches articles against all of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crawler.article import Amount, Match
from crawler.article import Hit as ArticleHit
from crawler.rules.errors import RuleError
from crawler.rules.index import BODY, TITLE, DocumentIndex, Located
from crawler.rules.match import CompiledQuery, Context, Hit, TermTable, Threshold
from crawler.rules.money import DEFAULT_USD_RATES, usd_value
from crawler.rules.nodes import Query
from crawler.rules.query import Aliases, parse_aliases, parse_query
from crawler.rules.snippet import make_snippet


@dataclass(frozen=True)
class Rule:
    """One alert rule: its id, its query, how it is delivered ("instant" or "digest") and to whom, and an
    optional :class:`Threshold` against passing mentions."""

    id: str
    query: str
    mode: str = "digest"
    recipients: tuple[str, ...] = ()
    threshold: Threshold | None = None


@dataclass(frozen=True)
class RuleMatch:
    """A rule that matched an article: the matched terms (as written), every hit, and the amounts."""

    rule_id: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    amounts: tuple[Amount, ...] = ()

    def to_match(self, index: DocumentIndex | None = None) -> Match:
        """The pipeline's :class:`crawler.article.Match`; with the article's ``index``, also its snippet."""
        hits = [ArticleHit(hit.term, hit.span.field, hit.span.start, hit.span.end) for hit in self.hits]
        snippet = None if index is None else snippet_for(index, self.hits)
        return Match(self.rule_id, list(self.terms), hits, snippet, list(self.amounts))


def snippet_for(index: DocumentIndex, hits: Sequence[Hit]) -> str:
    """The HTML snippet of a match: around the body's hits, else the title's, else the start of the body."""
    for name in (BODY, TITLE):
        spans = [(hit.span.start, hit.span.end) for hit in hits if hit.span.field == name]
        if spans:
            return make_snippet(index.fields[name].text, spans)
    return make_snippet(index.fields[BODY].text or index.fields[TITLE].text, [])


class RuleSet:
    """Compiled rules; :meth:`match` indexes an article once and checks every rule against that index.

    All rules share one table of distinct terms: an article's words are looked up in it once, and only
    the rules with an *anchor* term (one that must be present for the rule to match) in the article are
    evaluated. Explanations (hits, snippet, amounts) are built only for the rules that matched.
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        table: TermTable,
        compiled: Sequence[CompiledQuery],
        usd_rates: Mapping[str, float] | None = None,
    ) -> None:
        """Use :meth:`compile`."""
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.usd_rates: dict[str, float] = dict(DEFAULT_USD_RATES if usd_rates is None else usd_rates)
        self._table = table
        self._compiled = tuple(compiled)
        self._by_anchor: dict[int, list[int]] = {}
        self._aliases: dict[str, str | Sequence[str]] = {}
        self._money_anchored = [number for number, query in enumerate(self._compiled) if query.money_anchored]
        for number, query in enumerate(self._compiled):
            if not query.money_anchored:
                for term_id in query.anchors:
                    self._by_anchor.setdefault(term_id, []).append(number)

    @classmethod
    def compile(
        cls,
        rules: Sequence[Rule],
        *,
        aliases: Mapping[str, str | Sequence[str]] | None = None,
        usd_rates: Mapping[str, float] | None = None,
    ) -> RuleSet:
        """Parse every rule's query (and threshold) with the given alias definitions.

        ``usd_rates`` (currency code -> US dollars per unit) are merged over :data:`DEFAULT_USD_RATES`.
        Raises :class:`~crawler.rules.errors.RuleError` for the first invalid alias (naming it) or rule
        (naming the rule, and the key if it is the threshold), and ValueError if two rules share an id.
        """
        parsed_aliases = parse_aliases(aliases or {})
        seen: set[str] = set()
        table = TermTable()
        compiled: list[CompiledQuery] = []
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used by more than one rule")
            seen.add(rule.id)
            query = parse_query(rule.query, rule.id, parsed_aliases)
            threshold_query = None
            if rule.threshold is not None:
                threshold_query = parse_threshold(rule.threshold, rule.id, parsed_aliases)
            compiled.append(CompiledQuery(query, table, rule.threshold, threshold_query))
        ruleset = cls(rules, table, compiled, {**DEFAULT_USD_RATES, **(usd_rates or {})})
        ruleset._aliases = dict(aliases or {})
        return ruleset

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its source (rules, aliases, rates) and compiled again where it is loaded: extraction
        workers get the rules this way (compiled queries hold closures, which do not pickle)."""
        return (_compiled, (self.rules, self._aliases, self.usd_rates))

    def __len__(self) -> int:
        return len(self.rules)

    def match(
        self, title: str, text: str, *, site: str | Sequence[str] | None = None, url: str | None = None
    ) -> list[Match]:
        """The rules that match the article, in rule order, each with its terms, hits, snippet and amounts.

        ``site`` (the site's id and/or name) and ``url`` are what ``site:`` and ``url:`` terms look at;
        without them those terms do not match.
        """
        index = DocumentIndex.build(title, text, site=site, url=url)
        return [found.to_match(index) for found in self.explain(index)]

    def matching_ids(self, index: DocumentIndex) -> list[str]:
        """Ids of the rules that match an indexed article (the fast path: no terms or hits collected)."""
        context = Context(index, self._table, self.usd_rates)
        return [self.rules[number].id for number in self._matching(context)]

    def explain(self, index: DocumentIndex) -> list[RuleMatch]:
        """The rules that match an indexed article, with matched terms, every hit and the amounts."""
        context = Context(index, self._table, self.usd_rates)
        found: list[RuleMatch] = []
        for number in self._matching(context):
            explanation = self._compiled[number].explain(context)
            if explanation is not None:
                amounts = tuple(self._amount(located) for located in explanation.amounts)
                found.append(RuleMatch(self.rules[number].id, explanation.terms, explanation.hits, amounts))
        return found

    def _amount(self, located: Located) -> Amount:
        found, span = located.found, located.span
        usd = usd_value(found.value, found.currency, self.usd_rates)
        return Amount(found.text, found.value, found.currency, usd, span.field, span.start, span.end)

    def _matching(self, context: Context) -> list[int]:
        """Numbers of the matching rules, in rule order."""
        candidates: set[int] = set()
        by_anchor = self._by_anchor
        for term_id in context.present:
            numbers = by_anchor.get(term_id)
            if numbers is not None:
                candidates.update(numbers)
        if self._money_anchored:
            candidates.update(self._money_anchored)
        compiled = self._compiled
        return [number for number in sorted(candidates) if compiled[number].check(context)]


def parse_threshold(threshold: Threshold, rule_id: str | None = None, aliases: Aliases | None = None) -> Query:
    """Parse and check a threshold: RuleError naming the rule and the key ``threshold.terms`` (or ``threshold``)."""
    if threshold.body < 0:
        raise RuleError("a number of body hits of at least 0", 1, rule_id, key="threshold.body")
    if not threshold.title and threshold.body < 1:
        raise RuleError("title = true or body >= 1 (otherwise the threshold never holds)", 1, rule_id, key="threshold")
    return parse_query(threshold.terms, rule_id, aliases, key="threshold.terms")


def _compiled(
    rules: Sequence[Rule], aliases: Mapping[str, str | Sequence[str]], usd_rates: Mapping[str, float]
) -> RuleSet:
    return RuleSet.compile(rules, aliases=aliases, usd_rates=usd_rates)
