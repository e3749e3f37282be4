"""Tests for matching articles against rules: word edges, Unicode, CJK, phrases, prefixes, results, speed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.article import Hit, Match
from crawler.rules import DocumentIndex, Node, Rule, RuleError, RuleSet, Term, Threshold, parse_query
from crawler.rules.nodes import And, Near, Not, Or, iter_terms
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
    assert found == [
        Match("b-rule", ["stake"], [Hit("stake", "body", 7, 12)], "buys a <mark>stake</mark>"),
        Match("a-rule", ["softbank"], [Hit("softbank", "title", 0, 8)], "<mark>SoftBank</mark>"),
    ]
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


FIELD_NAMES = ("title", "body")


def reference_spans(term: Term, fields: list[list[str]]) -> list[tuple[int, int, int]]:
    """(field number, first, last) of every occurrence of ``term``, by brute force."""
    size = len(term.words)
    found = []
    for number, tokens in enumerate(fields):
        if term.field is not None and term.field != FIELD_NAMES[number]:
            continue
        for first in range(len(tokens) - size + 1):
            window = tokens[first : first + size]
            head_ok = window[:-1] == list(term.words[:-1])
            last = window[-1]
            last_ok = last.startswith(term.words[-1]) if term.prefix else last == term.words[-1]
            if head_ok and last_ok:
                found.append((number, first, first + size - 1))
    return found


def reference_term(term: Term, fields: list[list[str]]) -> bool:
    return bool(reference_spans(term, fields))


Located = tuple[Term, tuple[int, int, int]]


def reference_near(left: list[Located], right: list[Located], distance: int) -> list[Located]:
    """Occurrences of either side with a non-overlapping occurrence of the other within ``distance`` words."""

    def close(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
        if a[0] != b[0]:
            return False
        if b[1] > a[2]:
            return b[1] - a[2] - 1 <= distance
        if a[1] > b[2]:
            return a[1] - b[2] - 1 <= distance
        return False  # overlapping

    return [x for x in left if any(close(x[1], y[1]) for y in right)] + [
        y for y in right if any(close(y[1], x[1]) for x in left)
    ]


def reference(node: Node, fields: list[list[str]]) -> tuple[bool, list[Term], list[Located]]:
    """Truth, reported terms and the occurrences that count, written independently of crawler.rules.match.

    A true node reports the found terms under it that agree with it; a NOT swaps what agreeing means. The
    occurrences are those of the positive terms of a true node (for NEAR: the ones within the distance),
    which is what a NEAR around the node looks at.
    """
    if isinstance(node, Term):
        spans = reference_spans(node, fields)
        return bool(spans), [node] if spans else [], [(node, span) for span in spans]
    if isinstance(node, Not):
        value, found_terms, _ = reference(node.child, fields)
        return not value, found_terms, []
    if isinstance(node, Near):
        left_value, _, left = reference(node.left, fields)
        right_value, _, right = reference(node.right, fields)
        near = reference_near(left, right, node.distance) if left_value and right_value else []
        reported: list[Term] = []
        for leaf in iter_terms(node):
            if any(term is leaf for term, _ in near) and isinstance(leaf, Term):
                reported.append(leaf)
        return bool(near), reported, near
    assert isinstance(node, And | Or)
    results = [reference(child, fields) for child in node.children]
    values = [value for value, _, _ in results]
    value = all(values) if isinstance(node, And) else any(values)
    reported = []
    located: list[Located] = []
    for child_value, child_terms, child_located in results:
        if child_value == value:
            reported.extend(child_terms)
        if child_value:
            located.extend(child_located)
    return value, reported, located if value else []


def word_term() -> st.SearchStrategy[str]:
    word = st.sampled_from(VOCABULARY)
    plain = st.one_of(
        word,
        word.map(lambda w: w[: max(1, len(w) - 2)] + "*"),
        st.lists(word, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
        st.lists(word, min_size=2, max_size=2).map("-".join),
    )
    return st.one_of(plain, plain, plain, st.tuples(st.sampled_from(["title:", "body:"]), plain).map("".join))


def query_text() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        group = st.lists(inner, min_size=2, max_size=4)
        return st.one_of(
            group.map(lambda parts: "(" + " AND ".join(parts) + ")"),
            group.map(lambda parts: "(" + " ".join(parts) + ")"),
            group.map(lambda parts: "(" + " OR ".join(parts) + ")"),
            inner.map(lambda part: "NOT " + part),
            inner.map(lambda part: "-(" + part + ")"),
            st.tuples(inner, st.integers(0, 4), inner).map(lambda t: f"(({t[0]}) NEAR/{t[1]} ({t[2]}))"),
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
    assert list(found) == rule_set.matching_ids(DocumentIndex.build(title, body))
    fields = [words(title), words(body)]
    for rule in rules:
        matched, witnesses, _ = reference(parse_query(rule.query).root, fields)
        if not matched:
            assert rule.id not in found, rule.query
        else:
            expected: dict[object, str] = {}
            for term in witnesses:  # in query order
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
    assert reference(parsed.root, [[], []]) == (False, [], [])


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


# ---- proximity, fields, case, aliases, thresholds, MONEY ----


def matches(query: str, text: str, title: str = "", **kwargs: Any) -> bool:
    return bool(RuleSet.compile([Rule("r", query)], aliases=ALIASES).match(title, text, **kwargs))


ALIASES = {"softbank": 'softbank OR "vision fund*" OR ソフトバンク', "deal": 'invest* OR stake OR "joint venture"'}


@pytest.mark.parametrize(
    ("query", "text", "matched"),
    [
        ("softbank NEAR/3 invest*", "SoftBank will invest", True),
        ("softbank NEAR/3 invest*", "investments by SoftBank", True),  # either order
        ("softbank NEAR/3 invest*", "SoftBank said it would invest", True),  # 3 words between
        ("softbank NEAR/3 invest*", "SoftBank said that it would invest", False),  # 4 words between
        ("softbank NEAR/0 invest*", "SoftBank invests", True),
        ("softbank NEAR/0 invest*", "SoftBank, the investor", False),
        ("softbank NEAR/0 invest*", "SoftBank-invested", True),  # punctuation is not a word
        ('"joint venture" NEAR/2 openai', "a joint venture with OpenAI", True),
        ('"joint venture" NEAR/2 openai', "OpenAI and SoftBank form a joint venture", False),
        ('openai NEAR/2 "joint venture"', "OpenAI agreed a joint-venture", True),
        ("(ai OR iot) NEAR/2 fund*", "an IoT fund", True),
        ("(ai OR iot) NEAR/2 fund*", "AI is everywhere; the fund", False),
        ("(softbank -hawks) NEAR/3 invest*", "SoftBank will invest", True),
        ("(softbank -hawks) NEAR/3 invest*", "SoftBank will invest; the Hawks won", False),
        (
            "(softbank invest*) NEAR/2 ai",
            "SoftBank: AI chips. Elsewhere it will invest",
            True,
        ),  # group: any of its hits
        ("softbank NEAR/5 softbank", "SoftBank said", False),  # the two sides never overlap
        ("softbank NEAR/5 softbank", "SoftBank and SoftBank Corp", True),
        ('softbank NEAR/0 "softbank group"', "SoftBank Group", False),
        ("(a NEAR/1 b) NEAR/1 c", "a b c", True),
        ("(a NEAR/1 b) NEAR/1 c", "a b x x c", False),
        ("(a NEAR/1 b) NEAR/1 c", "c x b a", True),  # b is within 1 of c
        ("@softbank NEAR/3 @deal", "the Vision Fund takes a stake", True),
        ("@softbank NEAR/3 @deal", "ソフトバンクは stake", True),
        ("x NEAR/2 y", "x " + "filler " * 1000 + "y", False),
    ],
)
def test_near(query: str, text: str, matched: bool) -> None:
    assert matches(query, text) is matched


def test_near_stays_in_one_field() -> None:
    assert not matches("softbank NEAR/50 invest*", "invests in robots", title="SoftBank")
    assert matches("softbank NEAR/50 invest*", "body", title="SoftBank invests")


@pytest.mark.parametrize(
    ("query", "title", "text", "matched"),
    [
        ("title:softbank", "SoftBank deal", "nothing", True),
        ("title:softbank", "A deal", "SoftBank", False),
        ("body:softbank", "SoftBank deal", "nothing", False),
        ("body:softbank", "A deal", "SoftBank", True),
        ("softbank", "A deal", "SoftBank", True),
        ('title:"joint venture"', "A joint venture", "", True),
        ("title:invest* NOT body:hawks", "Invests", "Hawks", False),
        ("title:invest* NOT title:hawks", "Invests", "Hawks", True),
        ("title:(softbank OR sb*) invest*", "SBI", "invests", True),
        ("title:MONEY", "SoftBank's $4.5B plan", "", True),
        ("title:MONEY", "A plan", "$4.5B", False),
        ("body:MONEY NEAR/2 plan", "A plan", "$4.5B plan", True),
    ],
)
def test_title_and_body_fields(query: str, title: str, text: str, matched: bool) -> None:
    assert matches(query, text, title=title) is matched


@pytest.mark.parametrize(
    ("query", "site", "url", "matched"),
    [
        ("site:rcrwireless", "rcrwireless", None, True),
        ("site:rcrwireless", ["silicon-uk", "Silicon UK"], None, False),
        ('site:"silicon uk"', ["silicon-uk", "Silicon UK"], None, True),
        ("site:silicon-uk", ["silicon-uk", "Silicon UK"], None, True),
        ("site:silicon", "Silicon UK", None, True),
        ("site:rcrwireless", None, "https://rcrwireless.com/x", False),  # no site given: site: never matches
        ("url:softbank", None, "https://news.example/2025/softbank-invests-4-5b/", True),
        ("url:invest*", None, "https://news.example/2025/softbank-invests-4-5b/", True),
        ('url:"news.example"', None, "https://news.example/2025/x", True),
        ("url:example.com", None, "https://news.example/2025/x", False),
        ("url:bank", None, "https://news.example/softbank", False),  # words, not substrings
        ("url:softbank", None, None, False),
        ("url:softbank", "softbank", None, False),
    ],
)
def test_site_and_url(query: str, site: Any, url: str | None, matched: bool) -> None:
    assert matches(query + " OR zzz", "SoftBank", site=site, url=url) is matched


@pytest.mark.parametrize(
    ("query", "text", "matched"),
    [
        ("=AI", "AI chips", True),
        ("=AI", "ai chips", False),
        ("=AI", "Ai Weiwei", False),
        ("=AI", "ＡＩ chips", True),  # full-width letters are NFKC-normalised
        ("=AI", "AI-powered", True),
        ("=AI", "said", False),
        ("AI", "ai chips", True),  # without "=" case does not matter
        ("=IoT", "IoT-based", True),
        ("=IoT", "IOT", False),
        ("=Soft*", "SoftBank", True),
        ("=Soft*", "softbank", False),
        ('="Vision Fund"', "the Vision Fund", True),
        ('="Vision Fund"', "the vision fund", False),
        ('="Vision Fund"', "the Vision fund", False),
        ("=Straße", "Straße", True),
        ("=Straße", "STRASSE", False),
        ("straße", "STRASSE", True),
        ("=AI NEAR/2 chip*", "AI chips and ai", True),
        ("=AI ai", "ai only", False),
        ("=ソフトバンク", "ｿﾌﾄﾊﾞﾝｸ", True),  # no case in kana; NFKC still applies
    ],
)
def test_case_sensitive_terms(query: str, text: str, matched: bool) -> None:
    assert matches(query, text) is matched


def test_alias_terms_are_reported_as_written_in_the_alias() -> None:
    rules = RuleSet.compile([Rule("r", "@softbank NEAR/3 @deal")], aliases=ALIASES)
    [found] = rules.match("", "The Vision Fund took a stake. Later on, in a statement, SoftBank said")
    assert found.terms == ['"vision fund*"', "stake"]
    assert [(hit.term, hit.start, hit.end) for hit in found.hits] == [('"vision fund*"', 4, 15), ("stake", 23, 28)]


@pytest.mark.parametrize(
    ("threshold", "title", "text", "matched"),
    [
        (Threshold("@softbank", True, 0), "SoftBank invests", "money", True),
        (Threshold("@softbank", True, 0), "A deal", "SoftBank invests. SoftBank.", False),
        (Threshold("@softbank", True, 2), "A deal", "SoftBank invests. SoftBank.", True),
        (Threshold("@softbank", True, 3), "A deal", "SoftBank invests. SoftBank.", False),
        (Threshold("@softbank", False, 2), "SoftBank", "SoftBank invests.", False),
        (Threshold("@softbank", False, 2), "SoftBank", "SoftBank invests; the Vision Fund", True),
        (Threshold("softbank", True, 2), "", "SoftBank Group, SoftBank Corp invest", True),
        (Threshold('softbank OR "softbank group"', True, 2), "", "SoftBank Group invests", False),  # one place
        (Threshold("softbank -hawks", True, 0), "SoftBank invests", "Hawks", False),
    ],
)
def test_thresholds(threshold: Threshold, title: str, text: str, matched: bool) -> None:
    rules = RuleSet.compile([Rule("r", "invest*", threshold=threshold)], aliases=ALIASES)
    assert bool(rules.match(title, text)) is matched


def test_threshold_terms_join_the_explanation() -> None:
    rules = RuleSet.compile([Rule("r", "invest*", threshold=Threshold("@softbank", True, 0))], aliases=ALIASES)
    [found] = rules.match("SoftBank plans", "It will invest")
    assert found.terms == ["invest*", "softbank"]
    assert [(hit.term, hit.field) for hit in found.hits] == [("softbank", "title"), ("invest*", "body")]


def test_matching_ids_agrees_with_match_on_every_construct() -> None:
    rules = RuleSet.compile(
        [
            Rule("near", "@softbank NEAR/3 @deal"),
            Rule("money", "MONEY>=1B NEAR/5 invest*"),
            Rule("money-only", "MONEY>=3B"),
            Rule("cased", "=AI"),
            Rule("title", "title:@softbank"),
            Rule("url", "url:softbank"),
            Rule("site", "site:rcr"),
            Rule("threshold", "invest*", threshold=Threshold("@softbank", False, 2)),
        ],
        aliases=ALIASES,
    )
    text = "SoftBank will invest $4.5 billion (5 trillion won) in AI; SoftBank said."
    index = DocumentIndex.build("SoftBank's plan", text, site="rcr", url="https://x.example/softbank")
    expected = ["near", "money", "money-only", "cased", "title", "url", "site", "threshold"]
    assert rules.matching_ids(index) == expected
    assert [
        m.rule_id for m in rules.match("SoftBank's plan", text, site="rcr", url="https://x.example/softbank")
    ] == expected
    assert rules.matching_ids(DocumentIndex.build("", "ai")) == []
