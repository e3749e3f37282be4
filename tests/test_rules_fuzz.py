"""Property tests: any query string either parses or raises RuleError, quickly; matching never fails."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.config import load_rules
from crawler.rules import DocumentIndex, Rule, RuleError, RuleSet, Threshold, describe, parse_aliases, parse_query
from crawler.rules.lexer import MAX_QUERY_LENGTH

RULES_TOML = Path(__file__).resolve().parents[1] / "config" / "rules.toml"

SEEDS = [
    'softbank AND (invest* OR "joint venture" OR stake) NOT hawks',
    '(ai OR iot) -"self driving" OR (robot* AND "series a")',
    "ソフトバンク 出資 OR 소프트뱅크가",
    'a OR (b AND -c) "d e*"',
    "NOT NOT x",
    "@softbank NEAR/10 (invest* OR stake) -title:hawks",
    'title:(=AI OR "vision fund*") AND MONEY>=100M NEAR/15 body:invest*',
    "site:rcrwireless url:softbank* (=IoT NEAR/2 MONEY)",
]
ALIASES = parse_aliases({"softbank": 'softbank OR "vision fund*" OR ソフトバンク', "deal": "invest* OR MONEY>=1B"})
PIECES = [
    "AND", "OR", "NOT", "and", "(", ")", '"', "*", "-", " ", " ", "  ", "\t", "\n", "a", "b*", "IoT-based",
    '"x y"', '"vision fund*"', "SoftBank's", "ソフトバンク", "소프트뱅크", "ＡＩ", "$", ":", "@", "/", "“", "_",
    "'", ".", "é", "\u0301", "\u00ad", "\x00", "\ud800",
]  # fmt: skip


NEW_PIECES = [
    "NEAR/3", "NEAR/0", "NEAR/", "NEAR", "NEAR/1001", "title:", "body:", "site:", "url:", "color:", "=", "=AI",
    "@softbank", "@deal", "@nope", "@", "MONEY", "MONEY>=100M", "MONEY>=", ">=", "100M", "$4.5B", "'AI'",
]  # fmt: skip


def parse_only_rule_error(query: str) -> None:
    """Parse ``query``; the only exception allowed is RuleError, and it must carry sane fields."""
    try:
        parsed = parse_query(query, "fuzz", ALIASES)
    except RuleError as error:
        assert error.rule_id == "fuzz"
        assert 1 <= error.column <= len(query) + 1
        assert error.expected
        assert str(error).startswith(f"rule 'fuzz', column {error.column}: expected ")
    else:
        assert parsed.source == query
        describe(parsed.root)


@given(st.text(max_size=300))
@settings(max_examples=500, deadline=None)
def test_any_text_parses_or_raises_rule_error(query: str) -> None:
    parse_only_rule_error(query)


@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
@settings(max_examples=1000, deadline=None)
def test_token_soup_parses_or_raises_rule_error(query: str) -> None:
    parse_only_rule_error(query)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid query with a few characters deleted, inserted or swapped."""
    query = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(query)))
        action = draw(st.sampled_from(["delete", "insert", "swap"]))
        if action == "delete":
            query = query[:at] + query[at + 1 :]
        elif action == "insert":
            query = query[:at] + draw(st.sampled_from(PIECES)) + query[at:]
        elif at + 1 < len(query):
            query = query[:at] + query[at + 1] + query[at] + query[at + 2 :]
    return query


@given(mutated())
@settings(max_examples=1000, deadline=None)
def test_mutated_queries_parse_or_raise_rule_error(query: str) -> None:
    parse_only_rule_error(query)


@given(st.lists(st.sampled_from(PIECES + NEW_PIECES), max_size=40).map("".join))
@settings(max_examples=1500, deadline=None)
def test_full_language_soup_parses_or_raises_rule_error(query: str) -> None:
    parse_only_rule_error(query)


@given(
    st.lists(st.sampled_from([*PIECES[:24], *NEW_PIECES[:8], "=AI", "@softbank", "MONEY", "MONEY>=1B"]), max_size=30)
)
@settings(max_examples=800, deadline=None)
def test_full_language_describe_round_trips(pieces: list[str]) -> None:
    query = " ".join(pieces)
    try:
        parsed = parse_query(query, aliases=ALIASES)
    except RuleError:
        return
    once = describe(parsed.root)
    assert describe(parse_query(once, aliases=ALIASES).root) == once


@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c"]), st.lists(st.sampled_from(PIECES + NEW_PIECES), max_size=12).map("".join)
    )
)
@settings(max_examples=500, deadline=None)
def test_alias_definitions_only_raise_rule_error(definitions: dict[str, str]) -> None:
    errors: list[RuleError] = []
    parsed = parse_aliases(definitions, errors)
    assert {error.alias for error in errors} | set(parsed) == set(definitions)
    for error in errors:
        assert str(error).startswith(f"alias {error.alias!r}, column {error.column}: expected ")


@given(st.lists(st.sampled_from(PIECES[:24]), max_size=30).map("".join))
@settings(max_examples=500, deadline=None)
def test_describe_round_trips(query: str) -> None:
    try:
        parsed = parse_query(query)
    except RuleError:
        return
    once = describe(parsed.root)
    assert describe(parse_query(once).root) == once


@pytest.mark.parametrize(
    "query",
    [
        "(" * MAX_QUERY_LENGTH,
        ")" * MAX_QUERY_LENGTH,
        '"' * MAX_QUERY_LENGTH,
        "-" * MAX_QUERY_LENGTH,
        "*" * MAX_QUERY_LENGTH,
        "NOT " * (MAX_QUERY_LENGTH // 4),
        "a " * (MAX_QUERY_LENGTH // 2),
        "a OR " * (MAX_QUERY_LENGTH // 5 - 1) + "a",
        "a" * (MAX_QUERY_LENGTH - 1) + "*",
        '"' + "a " * (MAX_QUERY_LENGTH // 2 - 1) + '"',
        "(a " * (MAX_QUERY_LENGTH // 3),
        "ソ" * MAX_QUERY_LENGTH,
        "x" + "\u0301" * (MAX_QUERY_LENGTH - 1),
        "a" * (MAX_QUERY_LENGTH + 1),
        "(" * 200_000,
        "a NEAR/1000 " * (MAX_QUERY_LENGTH // 12) + "a",
        "(a NEAR/1 " * (MAX_QUERY_LENGTH // 10),
        "title:(" * (MAX_QUERY_LENGTH // 7),
        "@softbank NEAR/5 " * (MAX_QUERY_LENGTH // 17) + "x",
        "=" * MAX_QUERY_LENGTH,
        "MONEY>=" + "9" * (MAX_QUERY_LENGTH - 7),
        "NEAR/" + "9" * (MAX_QUERY_LENGTH - 5),
        "@" + "a" * (MAX_QUERY_LENGTH - 1),
    ],
)
@pytest.mark.timeout(20)  # a hang guard, not a speed measurement (see benchmarks/)
def test_pathological_queries_finish(query: str) -> None:
    with contextlib.suppress(RuleError):
        parse_query(query, aliases=ALIASES)
        rules = RuleSet.compile(
            [Rule("r", query)], aliases={"softbank": 'softbank OR "vision fund*"', "deal": "invest* OR MONEY>=1B"}
        )
        rules.match("a b", "a " * 1000)


def shipped_and_sample_rules() -> RuleSet:
    problems: list[str] = []
    shipped = load_rules(RULES_TOML, problems)
    assert not problems
    rules = [r.to_rule() for r in shipped]
    rules += [Rule(f"seed{number}", query) for number, query in enumerate(SEEDS)]
    rules.append(Rule("short-prefix", "a* OR ソ*"))
    rules.append(Rule("threshold", "a* OR ソ* OR MONEY", threshold=Threshold("@softbank OR a*", False, 2)))
    aliases = {**shipped.aliases, "softbank": 'softbank OR "vision fund*" OR ソフトバンク'}
    return RuleSet.compile(rules, aliases=aliases, usd_rates=shipped.usd_rates)


RULE_SET = shipped_and_sample_rules()


TEXT_PIECES = st.sampled_from(
    [
        "SoftBank", "softbank", "Vision Fund", "ソフトバンク", "invest", "invests", "stake", "AI", "ai", "IoT",
        "$4.5B", "5 trillion won", "₩5조", "¥1tn", "$15-25bn", "US$", "1,2", "<script>", "&amp;", " ", "  ", "\n",
        "-", "’s", ".", "hawks", "a", "ｿﾌﾄ", "\u0301", "\u00ad",
    ]
)  # fmt: skip
ARTICLE_TEXT = st.one_of(st.text(max_size=2000), st.lists(TEXT_PIECES, max_size=80).map("".join))


@given(
    title=st.one_of(st.text(max_size=200), st.lists(TEXT_PIECES, max_size=20).map("".join)),
    body=ARTICLE_TEXT,
    url=st.one_of(st.none(), st.text(max_size=60), st.just("https://example.com/softbank-invests")),
    site=st.one_of(st.none(), st.text(max_size=20), st.just(["rcrwireless", "RCR Wireless News"])),
)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_matching_any_text_never_fails_and_hits_point_into_the_text(
    title: str, body: str, url: str | None, site: str | list[str] | None
) -> None:
    index = DocumentIndex.build(title, body, site=site, url=url)
    fields = {name: field.text for name, field in index.fields.items()}
    for found in RULE_SET.explain(index):
        assert found.terms
        for hit in found.hits:
            text = fields[hit.span.field]
            assert 0 <= hit.span.start < hit.span.end <= len(text)
        for amount in found.amounts:
            assert fields[amount.field][amount.start : amount.end] == amount.text
    matches = RULE_SET.match(title, body, site=site, url=url)
    assert [match.rule_id for match in matches] == RULE_SET.matching_ids(index)
    for match in matches:
        assert match.snippet is not None and "<script>" not in match.snippet


@pytest.mark.timeout(60)  # a hang guard, not a speed measurement (see benchmarks/)
def test_pathological_articles_finish() -> None:
    long_phrase = '"' + " ".join(["a"] * 64) + '"'
    rules = RuleSet.compile(
        [
            Rule("phrase", long_phrase),
            Rule("prefix", "a*"),
            Rule("cjk", "ソ" * 64),
            Rule("near", f"(a OR {long_phrase}) NEAR/1000 (a* OR ソ)"),
            Rule("nested", "((a NEAR/1000 a) NEAR/1000 a) NEAR/1000 MONEY"),
            Rule("cased", "=A NEAR/3 =a*"),
            Rule("threshold", "a", threshold=Threshold("a*", False, 1000)),
        ]
    )
    for body in [
        "a " * 100_000,
        "ソ" * 100_000,
        "a\u0301" * 50_000,
        "\u0301" * 100_000,
        "-" * 200_000,
        "A a $1 " * 30_000,
        "$1-2bn " * 30_000,
    ]:
        rules.match("a " * 1000, body, url="a/" * 1000, site="a " * 1000)


FUZZ_ARTICLE = (
    "SoftBank's Vision Fund will invest $4.5B (5 trillion won) in AI and IoT-based robots, ソフトバンク said. "
    "The Hawks a b x y d e."
)


@given(st.lists(st.sampled_from(PIECES + NEW_PIECES), max_size=30).map(" ".join))
@settings(max_examples=800, deadline=None)
def test_any_valid_query_compiles_and_matches(query: str) -> None:
    try:
        parse_query(query, aliases=ALIASES)
    except RuleError:
        return
    aliases = {"softbank": 'softbank OR "vision fund*" OR ソフトバンク', "deal": "invest* OR MONEY>=1B"}
    rules = RuleSet.compile([Rule("r", query)], aliases=aliases)
    index = DocumentIndex.build("SoftBank AI", FUZZ_ARTICLE, site="rcrwireless", url="https://x.example/a-b")
    found = rules.match("SoftBank AI", FUZZ_ARTICLE, site="rcrwireless", url="https://x.example/a-b")
    assert [match.rule_id for match in found] == rules.matching_ids(index)
