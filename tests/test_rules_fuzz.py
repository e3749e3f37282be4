"""Property tests: any query string either parses or raises RuleError, quickly; matching never fails."""

from __future__ import annotations

import contextlib
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.rules import DocumentIndex, Rule, RuleError, RuleSet, describe, parse_query
from crawler.rules.lexer import MAX_QUERY_LENGTH

RULES_TOML = Path(__file__).resolve().parents[1] / "config" / "rules.toml"

SEEDS = [
    'softbank AND (invest* OR "joint venture" OR stake) NOT hawks',
    '(ai OR iot) -"self driving" OR (robot* AND "series a")',
    "ソフトバンク 出資 OR 소프트뱅크가",
    'a OR (b AND -c) "d e*"',
    "NOT NOT x",
]
PIECES = [
    "AND", "OR", "NOT", "and", "(", ")", '"', "*", "-", " ", " ", "  ", "\t", "\n", "a", "b*", "IoT-based",
    '"x y"', '"vision fund*"', "SoftBank's", "ソフトバンク", "소프트뱅크", "ＡＩ", "$", ":", "@", "/", "“", "_",
    "'", ".", "é", "\u0301", "\u00ad", "\x00", "\ud800",
]  # fmt: skip


def parse_only_rule_error(query: str) -> None:
    """Parse ``query``; the only exception allowed is RuleError, and it must carry sane fields."""
    try:
        parsed = parse_query(query, "fuzz")
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
    ],
)
@pytest.mark.timeout(20)  # a hang guard, not a speed measurement (see benchmarks/)
def test_pathological_queries_finish(query: str) -> None:
    with contextlib.suppress(RuleError):
        parse_query(query)


def shipped_and_sample_rules() -> RuleSet:
    with RULES_TOML.open("rb") as handle:
        tables = tomllib.load(handle)["rule"]
    rules = [Rule(table["id"], table["query"]) for table in tables]
    rules += [Rule(f"seed{number}", query) for number, query in enumerate(SEEDS)]
    rules.append(Rule("short-prefix", "a* OR ソ*"))
    return RuleSet.compile(rules)


RULE_SET = shipped_and_sample_rules()


@given(title=st.text(max_size=200), body=st.text(max_size=2000))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_matching_any_text_never_fails_and_hits_point_into_the_text(title: str, body: str) -> None:
    index = DocumentIndex.build(title, body)
    fields = {"title": title, "body": body}
    for found in RULE_SET.explain(index):
        assert found.terms
        for hit in found.hits:
            text = fields[hit.span.field]
            assert 0 <= hit.span.start < hit.span.end <= len(text)
    assert [match.rule_id for match in RULE_SET.match(title, body)] == RULE_SET.matching_ids(index)


@pytest.mark.timeout(60)  # a hang guard, not a speed measurement (see benchmarks/)
def test_pathological_articles_finish() -> None:
    long_phrase = '"' + " ".join(["a"] * 64) + '"'
    rules = RuleSet.compile([Rule("phrase", long_phrase), Rule("prefix", "a*"), Rule("cjk", "ソ" * 64)])
    for body in ["a " * 100_000, "ソ" * 100_000, "a\u0301" * 50_000, "\u0301" * 100_000, "-" * 200_000]:
        rules.match("", body)
