"""Tests for matching articles against rules: word edges, Unicode, CJK, phrases, prefixes, results, speed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.article import Match
from crawler.rules import DocumentIndex, Node, Rule, RuleError, RuleSet, Term, parse_query
from crawler.rules.nodes import And, Not
from crawler.rules.text import words


def terms(query: str, text: str, title: str = "") -> list[str] | None:
    """The matched terms of ``query`` on the article, or None if it does not match."""
    found = RuleSet.compile([Rule("r", query)]).match(title, text)
    return found[0].terms if found else None


def hits(query: str, text: str) -> list[str]:
    """The highlighted pieces of the original text."""
    index = DocumentIndex.build("", text)
    found = RuleSet.compile([Rule("r", query)]).explain(index)
    return [text[hit.span.start : hit.span.end] for hit in found[0].hits] if found else []


@pytest.mark.parametrize(
    ("query", "text", "matched"),
    [
        ("AI", "The company said it would", False),
        ("AI", "Thai air", False),
        ("AI", "AI-powered search", True),
        ("AI", "invests in (AI).", True),
        ("ai", "ＡＩ startups", True),
        ("iot", "an IoT-based platform", True),
        ("iot", "IoTs", False),
        ("IoT-based", "IoT based platform", True),
        ("IoT-based", "IoT–based platform", True),
        ("softbank", "SoftBank's fund", True),
        ("softbank", "SoftBank’s fund", True),
        ("SoftBank's", "SoftBank’s fund", True),
        ("softbank", "softbankgroup", False),
        ("softbank", "ＳｏｆｔＢａｎｋ Ｇｒｏｕｐ", True),
        ("ＳｏｆｔＢａｎｋ", "softbank", True),
        ("strasse", "Hauptstraße 1", False),
        ("hauptstrasse", "HAUPTSTRASSE 1", True),
        ("hauptstraße", "HAUPTSTRASSE 1", True),
        ("café", "Cafe\u0301 chain", True),
        ("investment", "an invest\u00adment", True),
        ("and", "rock and roll", True),
        ("rock and", "rock and roll", True),
        ("a OR b", "rock and roll", False),
        ("rock or", "or rock", True),
    ],
)
def test_whole_words(query: str, text: str, matched: bool) -> None:
    assert (terms(query, text) is not None) is matched


@pytest.mark.parametrize(
    ("query", "text", "matched"),
    [
        ('"joint venture"', "to form a joint venture", True),
        ('"joint venture"', "to form a joint-venture", True),
        ('"joint venture"', "a JOINT\nVENTURE", True),
        ('"joint venture"', "joint, venture", True),  # punctuation between words is ignored
        ('"joint venture"', "joint and venture", False),
        ('"joint venture"', "venture joint", False),
        ('"joint venture"', "joint", False),
        ("joint-venture", "a joint venture", True),
        ('"vision fund*"', "the Vision Funds", True),
        ('"vision fund*"', "its vision fund", True),
        ('"vision fund*"', "vision of funds", False),
        ('"a b c"', "a b a b c", True),
        ('"a b a"', "a b b a", False),
    ],
)
def test_phrases(query: str, text: str, matched: bool) -> None:
    assert (terms(query, text) is not None) is matched


@pytest.mark.parametrize(
    ("query", "text", "matched"),
    [
        ("invest*", "Investors cheered", True),
        ("invest*", "it will invest", True),
        ("invest*", "to reinvest", False),
        ("inv*", "INVESTMENT", True),
        ("i*", "IoT", True),
        ("robot*", "robotaxis", True),
        ("robot*", "a bot", False),
    ],
)
def test_prefixes(query: str, text: str, matched: bool) -> None:
    assert (terms(query, text) is not None) is matched


JAPANESE = "孫正義氏が率いるソフトバンクグループは、米オープンAIに出資すると発表した。"


@pytest.mark.parametrize(
    ("query", "text", "matched"),
    [
        ("ソフトバンク", JAPANESE, True),
        ("ソフトバンク 出資", JAPANESE, True),
        ("ソフトバンク AND 買収", JAPANESE, False),
        ("孫正義", JAPANESE, True),
        ("AI", JAPANESE, True),  # Latin word inside Japanese text
        ("オープンAI", JAPANESE, True),
        ("ｿﾌﾄﾊﾞﾝｸ", JAPANESE, True),  # half-width katakana query
        ("ソフトバンク", "ｿﾌﾄﾊﾞﾝｸｸﾞﾙｰﾌﾟ", True),
        ("ソフトバンク", "ソフト・バンク", True),  # punctuation between characters is ignored, as between words
        ("ソフトバンク", "ソフトウェア", False),
        ("소프트뱅크", "소프트뱅크가 투자했다", True),
        ("소프트뱅크 투자", "소프트뱅크가 투자했다", True),
        ("소프트뱅크", "소프트웨어", False),
        ("软银", "软银集团宣布投资", True),
        ("軟銀", "软银集团", False),  # traditional vs simplified characters are different
    ],
)
def test_cjk_substrings(query: str, text: str, matched: bool) -> None:
    assert (terms(query, text) is not None) is matched


def test_not_excludes() -> None:
    query = 'softbank AND (invest* OR "joint venture" OR stake) NOT hawks'
    assert terms(query, "SoftBank invests in a robot maker") == ["softbank", "invest*"]
    assert terms(query, "SoftBank Hawks invest in a new pitcher") is None
    assert terms(query, "SoftBank posts a loss") is None


def test_title_and_body_both_count_but_phrases_stay_in_one_field() -> None:
    assert terms("softbank stake", "takes a stake", title="SoftBank deal") == ["softbank", "stake"]
    assert terms('"joint venture"', "venture with OpenAI", title="SoftBank joint") is None


def test_terms_are_as_written_deduplicated_in_query_order() -> None:
    query = '(stake OR "Joint Venture" OR invest*) SoftBank softbank ("joint venture" OR nothing)'
    text = "softbank invests; a joint-venture; a stake"
    assert terms(query, text) == ["stake", '"Joint Venture"', "invest*", "SoftBank"]


def test_terms_only_include_what_made_the_rule_match() -> None:
    assert terms("(a AND zz) OR b", "a b") == ["b"]
    assert terms("b NOT zz", "a b") == ["b"]
    assert terms("NOT NOT a", "a") == ["a"]
    assert terms("b NOT (a AND zz)", "a b") == ["b"]
    assert terms("b NOT (NOT a OR zz)", "a b") == ["b", "a"]


def test_hits_are_offsets_in_the_original_text() -> None:
    text = "ＳｏｆｔＢａｎｋ’s joint-venture with ソフトバンクグループ"
    assert hits('softbank OR "joint venture" OR ソフトバンク', text) == [
        "ＳｏｆｔＢａｎｋ",
        "joint-venture",
        "ソフトバンク",
    ]


def test_hits_list_title_first_then_body() -> None:
    index = DocumentIndex.build("SoftBank invests", "Later, SoftBank said")
    [found] = RuleSet.compile([Rule("r", "softbank invest*")]).explain(index)
    assert [(hit.term, hit.span.field, hit.span.start, hit.span.end) for hit in found.hits] == [
        ("softbank", "title", 0, 8),
        ("invest*", "title", 9, 16),
        ("softbank", "body", 7, 15),
    ]
    assert found.terms == ("softbank", "invest*")


def test_match_results_use_the_pipeline_type_in_rule_order() -> None:
    rules = RuleSet.compile(
        [Rule("b-rule", "stake", mode="instant", recipients=("a@example.org",)), Rule("a-rule", "softbank")]
    )
    found = rules.match("SoftBank", "buys a stake")
    assert found == [Match("b-rule", ["stake"]), Match("a-rule", ["softbank"])]
    assert rules.matching_ids(DocumentIndex.build("SoftBank", "buys a stake")) == ["b-rule", "a-rule"]
    assert rules.match("", "nothing here") == []
    assert len(rules) == 2


def test_rule_defaults() -> None:
    rule = Rule("r", "a")
    assert (rule.mode, rule.recipients) == ("digest", ())


def test_compile_names_the_bad_rule() -> None:
    with pytest.raises(RuleError) as caught:
        RuleSet.compile([Rule("fine", "a"), Rule("broken", "a AND (b")])
    assert caught.value.rule_id == "broken"
    assert str(caught.value).startswith("rule 'broken', column 9: expected ')'")


def test_compile_rejects_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="used by more than one rule"):
        RuleSet.compile([Rule("x", "a"), Rule("x", "b")])


def test_empty_rule_set_and_empty_article() -> None:
    assert RuleSet.compile([]).match("t", "x") == []
    assert RuleSet.compile([Rule("r", "a")]).match("", "") == []


# ---- the fast matcher agrees with a naive reference evaluator ----

VOCABULARY = ["ai", "iot", "soft", "softbank", "bank", "invest", "investor", "stake", "joint", "venture", "s"]
SEPARATORS = [" ", " ", "-", ", ", "’", "\n", "…"]


def reference_term(term: Term, fields: list[list[str]]) -> bool:
    size = len(term.words)
    for tokens in fields:
        for first in range(len(tokens) - size + 1):
            window = tokens[first : first + size]
            head_ok = window[:-1] == list(term.words[:-1])
            last = window[-1]
            last_ok = last.startswith(term.words[-1]) if term.prefix else last == term.words[-1]
            if head_ok and last_ok:
                return True
    return False


def reference(node: Node, fields: list[list[str]]) -> tuple[bool, list[Term]]:
    """Truth and reported terms, written independently of crawler.rules.match.

    A true node reports the found terms under it that agree with it; a NOT swaps what agreeing means.
    """
    if isinstance(node, Term):
        found = reference_term(node, fields)
        return found, [node] if found else []
    if isinstance(node, Not):
        value, found_terms = reference(node.child, fields)
        return not value, found_terms
    results = [reference(child, fields) for child in node.children]
    values = [value for value, _ in results]
    value = all(values) if isinstance(node, And) else any(values)
    reported: list[Term] = []
    for child_value, child_terms in results:
        if child_value == value:
            reported.extend(child_terms)
    return value, reported


def word_term() -> st.SearchStrategy[str]:
    word = st.sampled_from(VOCABULARY)
    return st.one_of(
        word,
        word.map(lambda w: w[: max(1, len(w) - 2)] + "*"),
        st.lists(word, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
        st.lists(word, min_size=2, max_size=2).map("-".join),
    )


def query_text() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        group = st.lists(inner, min_size=2, max_size=4)
        return st.one_of(
            group.map(lambda parts: "(" + " AND ".join(parts) + ")"),
            group.map(lambda parts: "(" + " ".join(parts) + ")"),
            group.map(lambda parts: "(" + " OR ".join(parts) + ")"),
            inner.map(lambda part: "NOT " + part),
            inner.map(lambda part: "-(" + part + ")"),
        )

    return st.recursive(word_term(), extend, max_leaves=8)


def article_text() -> st.SearchStrategy[str]:
    pieces = st.lists(st.tuples(st.sampled_from(VOCABULARY), st.sampled_from(SEPARATORS)), max_size=12)
    return pieces.map(lambda items: "".join(word.upper() if len(word) == 3 else word + sep for word, sep in items))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(queries=st.lists(query_text(), min_size=1, max_size=5), title=article_text(), body=article_text())
def test_matcher_agrees_with_reference(queries: list[str], title: str, body: str) -> None:
    rules: list[Rule] = []
    for number, query in enumerate(queries):
        try:
            parse_query(query)
        except RuleError:
            continue
        rules.append(Rule(f"r{number}", query))
    rule_set = RuleSet.compile(rules)
    found = {match.rule_id: match.terms for match in rule_set.match(title, body)}
    fields = [words(title), words(body)]
    for rule in rules:
        matched, witnesses = reference(parse_query(rule.query).root, fields)
        if not matched:
            assert rule.id not in found, rule.query
        else:
            expected: dict[tuple[tuple[str, ...], bool], str] = {}
            for term in sorted(witnesses, key=lambda term: term.column):
                expected.setdefault(term.key, term.source)
            assert found.get(rule.id) == list(expected.values()), rule.query


@given(query=query_text())
@settings(max_examples=200, deadline=None)
def test_rejected_queries_are_exactly_those_true_for_an_empty_article(query: str) -> None:
    try:
        parsed = parse_query(query)
    except RuleError as error:
        assert "must be present" in error.expected
        return
    assert reference(parsed.root, [[], []]) == (False, [])


# ---- speed ----


def test_a_thousand_rules_against_one_article() -> None:
    """Correctness at scale; the speed is measured by benchmarks, not asserted here."""
    body = " ".join(
        f"Company{n} said it would invest in AI chips and IoT-based robotics with a joint venture partner."
        for n in range(60)
    )
    rules = [
        Rule(
            f"r{n}",
            f'(company{n} OR "firm{n} group" OR brand{n}*) AND (invest* OR stake OR "joint venture" OR acquir*)'
            f" NOT (hawks OR baseball{n})",
        )
        for n in range(1000)
    ]
    rule_set = RuleSet.compile(rules)
    found = rule_set.match("Title", body)
    assert len(found) == 60
    assert {m.rule_id for m in found} == {f"r{n}" for n in range(60)}
