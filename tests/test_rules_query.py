"""Tests for crawler.rules.query: the grammar, precedence, and RuleError columns and messages."""

from __future__ import annotations

import pickle

import pytest

from crawler.rules import And, Not, Or, RuleError, Term, describe, parse_query
from crawler.rules.lexer import MAX_QUERY_LENGTH
from crawler.rules.query import MAX_DEPTH


def shape(query: str) -> str:
    return describe(parse_query(query).root)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("softbank", "softbank"),
        ("SoftBank", "softbank"),
        ("invest*", "invest*"),
        ('"joint venture"', '"joint venture"'),
        ('"Vision  Fund*"', '"vision fund*"'),
        ('"joint-venture"', '"joint venture"'),
        ("IoT-based", '"iot based"'),
        ("SoftBank's", '"softbank s"'),
        ("AT&T", '"at t"'),
        ("ＡＩ", "ai"),
        ("a AND b", "(a AND b)"),
        ("a b", "(a AND b)"),
        ("a\tb\nc", "(a AND b AND c)"),
        ("a OR b", "(a OR b)"),
        ("a OR b c", "(a OR (b AND c))"),
        ("a b OR c", "((a AND b) OR c)"),
        ("a OR b AND c OR d", "(a OR (b AND c) OR d)"),
        ("b NOT a", "(b AND NOT a)"),
        ("NOT a b", "(NOT a AND b)"),
        ("b OR c NOT a", "(b OR (c AND NOT a))"),
        ("-a b", "(NOT a AND b)"),
        ("a -(b OR c)", "(a AND NOT (b OR c))"),
        ('a -"b c"', '(a AND NOT "b c")'),
        ("NOT NOT a", "NOT NOT a"),
        ("a and b", "(a AND and AND b)"),
        ("a or b", "(a AND or AND b)"),
        ('a "OR" b', "(a AND or AND b)"),
        ("NOT* x", "(not* AND x)"),
        ("(a OR b) (c OR d)", "((a OR b) AND (c OR d))"),
        ("(a OR b)(c OR d)", "((a OR b) AND (c OR d))"),
        ("((a))", "a"),
        ("(a AND b) AND c", "(a AND b AND c)"),
        ("a OR (b OR c)", "(a OR b OR c)"),
        ("ソフトバンク", '"ソフトバンク"'),  # a phrase of characters
        ("소프트뱅크", '"소프트뱅크"'),
        ('"ソフトバンク 投資"', '"ソフトバンク投資"'),
        ("AI投資", '"ai 投資"'),
        (
            'softbank AND (invest* OR "joint venture" OR stake) NOT hawks',
            '(softbank AND (invest* OR "joint venture" OR stake) AND NOT hawks)',
        ),
    ],
)
def test_parse_shapes(query: str, expected: str) -> None:
    assert shape(query) == expected


def test_describe_round_trips() -> None:
    query = 'softbank (invest* OR "joint venture" OR IoT-based) -hawks NOT "vision fund*" OR ソフトバンク'
    once = shape(query)
    assert shape(once) == once


def test_ast_nodes_terms_and_columns() -> None:
    query = parse_query('a "joint venture" invest* -b', rule_id="r1")
    assert query.rule_id == "r1"
    assert query.source == 'a "joint venture" invest* -b'
    root = query.root
    assert isinstance(root, And)
    assert [type(child) for child in root.children] == [Term, Term, Term, Not]
    assert [(t.source, t.column, t.words, t.prefix) for t in query.terms()] == [
        ("a", 1, ("a",), False),
        ('"joint venture"', 3, ("joint", "venture"), False),
        ("invest*", 19, ("invest",), True),
        ("b", 28, ("b",), False),
    ]
    negation = root.children[3]
    assert isinstance(negation, Not) and negation.column == 27


def test_or_node_column_is_its_first_child() -> None:
    root = parse_query("x (a OR b)").root
    assert isinstance(root, And)
    inner = root.children[1]
    assert isinstance(inner, Or) and inner.column == 4


def test_nodes_are_frozen() -> None:
    term = parse_query("a").root
    with pytest.raises(AttributeError):
        term.column = 5  # type: ignore[misc]


def test_error_message_format_from_the_spec() -> None:
    query = "softbank x (invest* OR jv1"
    assert len(query) == 26
    with pytest.raises(RuleError) as caught:
        parse_query(query, "softbank-investment")
    error = caught.value
    assert str(error) == "rule 'softbank-investment', column 27: expected ')' to close '(' at column 12"
    assert (error.rule_id, error.column, error.expected) == (
        "softbank-investment",
        27,
        "')' to close '(' at column 12",
    )
    assert isinstance(error, ValueError)


def test_error_without_rule_id() -> None:
    with pytest.raises(RuleError) as caught:
        parse_query("a AND")
    assert caught.value.rule_id is None
    assert str(caught.value) == "column 6: expected a term after 'AND' at column 3"


def test_rule_error_pickles() -> None:
    error = RuleError("a term", 3, "r")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.expected, copy.column, copy.rule_id, str(copy)) == ("a term", 3, "r", str(error))


@pytest.mark.parametrize(
    ("query", "column", "expected"),
    [
        ("", 1, "the query is empty"),
        ("   ", 4, "the query is empty"),
        ("a AND", 6, "a term after 'AND' at column 3"),
        ("a OR", 5, "a term after 'OR' at column 3"),
        ("a OR OR b", 6, "a term after 'OR' at column 3, found 'OR'"),
        ("a AND OR b", 7, "a term after 'AND' at column 3, found 'OR'"),
        ("OR a", 1, "a term, found 'OR'"),
        ("AND", 1, "a term, found 'AND'"),
        ("a NOT", 6, "a term after 'NOT' at column 3"),
        ("NOT", 4, "a term after 'NOT' at column 1"),
        ("(a", 3, "')' to close '(' at column 1"),
        ("(a OR (b)", 10, "')' to close '(' at column 1"),
        ("((a)", 5, "')' to close '(' at column 1"),
        ("a)", 2, "found ')' that closes no '('"),
        ("a))", 2, "found ')' that closes no '('"),
        ("()", 2, "a term inside '()'"),
        ("(", 2, "a term after '(' at column 1"),
        ('"abc', 5, "'\"' to close the phrase opened at column 1"),
        ('a "b c', 7, "'\"' to close the phrase opened at column 3"),
        ('""', 1, "a letter or digit inside the quotes"),
        ('" , "', 1, "a letter or digit inside the quotes"),
        ('"*"', 2, "'*' only right after the last word of a phrase"),
        ('"vision* fund"', 8, "'*' only right after the last word of a phrase"),
        ('"vision fund *"', 14, "'*' only right after the last word of a phrase"),
        ("*", 1, "a word before '*'"),
        ("a *", 3, "a word before '*'"),
        ("invest-*", 8, "a letter or digit right before '*'"),
        ("invest*ment", 8, "a space, '(' or ')' after a term, found 'm'"),
        ("invest**", 8, "a space, '(' or ')' after a term, found '*'"),
        ('a"b"', 2, "a space, '(' or ')' after a term, found '\"'"),
        ('"a"b', 4, "a space, '(' or ')' after a term, found 'b'"),
        ("a $", 3, "found '$'"),
        ("title:softbank", 6, "found ':'"),
        ("near/3", 5, "found '/'"),
        ("@alias", 1, "found '@'"),
        ("a | b", 3, "found '|'; use OR"),
        ("“joint venture”", 1, 'use straight double quotes (")'),
        ("- a", 2, "a term, a phrase or '(' right after '-'"),
        ("a -", 4, "a term, a phrase or '(' right after '-'"),
        ("a --b", 4, "a term, a phrase or '(' right after '-'"),
        ("a -)", 4, "a term, a phrase or '(' right after '-'"),
        ("NOT a", 1, "a term that must be present"),
        ("-a", 1, "a term that must be present"),
        ("NOT a NOT b", 1, "a term that must be present"),
        ("a OR NOT b", 6, "a term that must be present"),
        ("(a OR -b) c OR -d", 16, "a term that must be present"),
        ("NOT (a AND NOT b)", 1, "a term that must be present"),
        ("a\x00", 2, "found '\\x00'"),
    ],
)
def test_errors(query: str, column: int, expected: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_query(query, "r")
    error = caught.value
    assert expected in error.expected
    assert error.column == column, str(error)
    assert error.rule_id == "r"
    assert str(error).startswith(f"rule 'r', column {column}: expected ")


def test_double_negation_is_anchored() -> None:
    assert shape("NOT (NOT a)") == "NOT NOT a"
    assert shape("a OR NOT NOT b") == "(a OR NOT NOT b)"


def test_query_length_is_bounded() -> None:
    parse_query("a" * MAX_QUERY_LENGTH)
    with pytest.raises(RuleError) as caught:
        parse_query("a " * (MAX_QUERY_LENGTH // 2 + 1))
    assert caught.value.column == MAX_QUERY_LENGTH + 1
    assert "at most 10000 characters" in caught.value.expected


def test_nesting_depth_is_bounded() -> None:
    parse_query("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH)
    with pytest.raises(RuleError) as caught:
        parse_query("(" * (MAX_DEPTH + 10) + "a" + ")" * (MAX_DEPTH + 10))
    assert caught.value.column == MAX_DEPTH + 1
    assert "nested" in caught.value.expected


def test_not_chain_depth_is_bounded() -> None:
    with pytest.raises(RuleError) as caught:
        parse_query("x " + "NOT " * (MAX_DEPTH + 1) + "a")
    assert caught.value.column == 3 + 4 * MAX_DEPTH


def test_deep_and_or_chains_are_flat() -> None:
    query = " OR ".join(f"w{i}" for i in range(1000))
    root = parse_query(query).root
    assert isinstance(root, Or) and len(root.children) == 1000
