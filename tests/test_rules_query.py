"""Tests for crawler.rules.query: the grammar, precedence, and RuleError columns and messages."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from crawler.rules import (
    And,
    Money,
    Near,
    Not,
    Or,
    Ref,
    RuleError,
    Term,
    Threshold,
    describe,
    parse_aliases,
    parse_query,
    parse_threshold,
)
from crawler.rules.lexer import MAX_QUERY_LENGTH
from crawler.rules.query import MAX_ALIAS_DEPTH, MAX_DEPTH, MAX_TREE_DEPTH


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
    assert [(t.source, t.column, t.words, t.prefix) for t in query.terms() if isinstance(t, Term)] == [
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
        ("a $", 3, "found '$'; use MONEY"),
        ("near/3", 5, "found '/'; use NEAR/n"),
        ("a ~3 b", 3, "found '~'; use NEAR/n"),
        ("@alias", 1, "a defined alias, found '@alias' (defined: none)"),
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


# ---- the full language: NEAR, fields, case-sensitive terms, aliases, MONEY ----

ALIASES = parse_aliases(
    {
        "softbank": 'SoftBank OR "Vision Fund*" OR "Masayoshi Son" OR ソフトバンク',
        "deal": ["invest*", "stake", '"joint venture"'],
        "both": "@softbank @deal",
        "money_words": "MONEY OR funding",
    }
)


def full(query: str, expand: bool = False) -> str:
    return describe(parse_query(query, aliases=ALIASES).root, expand)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("softbank NEAR/10 invest*", "(softbank NEAR/10 invest*)"),
        ('"joint venture" NEAR/3 (ai OR iot)', '("joint venture" NEAR/3 (ai OR iot))'),
        ("a NEAR/1 b NEAR/2 c", "((a NEAR/1 b) NEAR/2 c)"),  # left to right
        ("a NEAR/0 b c", "((a NEAR/0 b) AND c)"),  # NEAR binds tighter than AND
        ("x OR a NEAR/5 b", "(x OR (a NEAR/5 b))"),
        ("NOT a NEAR/5 b x", "(NOT (a NEAR/5 b) AND x)"),  # ... and than NOT
        ("-a NEAR/5 b x", "(NOT (a NEAR/5 b) AND x)"),
        ("a NEAR/1000 b", "(a NEAR/1000 b)"),
        ("near", "near"),  # lower case: a word
        ('"NEAR"', "near"),
        ("title:softbank", "title:softbank"),
        ("Title:SoftBank", "title:softbank"),
        ('body:"joint venture"', 'body:"joint venture"'),
        ("site:rcrwireless url:softbank*", "(site:rcrwireless AND url:softbank*)"),
        ("title:(a OR b*) c", "((title:a OR title:b*) AND c)"),
        ("title:(a -b)", "(title:a AND NOT title:b)"),
        ("-title:a b", "(NOT title:a AND b)"),
        ("title:(a NEAR/3 b)", "(title:a NEAR/3 title:b)"),
        ("title:(title:a OR b)", "(title:a OR title:b)"),  # the same field twice is fine
        ("url:example.com", 'url:"example com"'),
        ("=AI", "=AI"),
        ("=AI invest*", "(=AI AND invest*)"),
        ('="Vision Fund"', '="Vision Fund"'),
        ("=SoftB*", "=SoftB*"),
        ("=ＡＩ", "=AI"),  # NFKC, but no case folding
        ("title:=AI", "title:=AI"),
        ("-=AI x", "(NOT =AI AND x)"),
        ("=NOT x", "(=NOT AND x)"),  # after "=", a keyword is a word
        ("=MONEY OR =NEAR", "(=MONEY OR =NEAR)"),
        ("@softbank", "@softbank"),
        ("@SoftBank", "@softbank"),  # alias names are case-insensitive
        ("@softbank NEAR/10 @deal", "(@softbank NEAR/10 @deal)"),
        ("title:@softbank", "title:@softbank"),
        ("@both", "@both"),
        ("MONEY", "MONEY"),
        ("MONEY>=100M", "MONEY>=100M"),
        ("MONEY>=1.5b", "MONEY>=1.5B"),
        ("MONEY>=2BN", "MONEY>=2B"),
        ("MONEY>=250k", "MONEY>=250K"),
        ("MONEY>=1T", "MONEY>=1T"),
        ("MONEY>=1tn", "MONEY>=1T"),
        ("MONEY>=1500000", "MONEY>=1.5M"),
        ("MONEY>=99", "MONEY>=99"),
        ("title:MONEY>=1B", "title:MONEY>=1B"),
        ("MONEY NEAR/15 invest*", "(MONEY NEAR/15 invest*)"),
        ("money", "money"),  # lower case: a word
        ("money*", "money*"),
    ],
)
def test_full_language_shapes(query: str, expected: str) -> None:
    assert full(query) == expected
    assert full(full(query)) == full(query)  # the rendering parses back to itself


def test_aliases_expand_in_place() -> None:
    assert full("@deal", expand=True) == '(invest* OR stake OR "joint venture")'
    assert full("title:@both", expand=True) == (
        '((title:softbank OR title:"vision fund*" OR title:"masayoshi son" OR title:"ソフトバンク")'
        ' AND (title:invest* OR title:stake OR title:"joint venture"))'
    )
    query = parse_query("x @softbank", aliases=ALIASES)
    assert [term.source for term in query.terms()] == [
        "x",
        "SoftBank",
        '"Vision Fund*"',
        '"Masayoshi Son"',
        "ソフトバンク",
    ]
    root = query.root
    assert isinstance(root, And) and isinstance(root.children[1], Ref)
    assert root.children[1].column == 3


def test_terms_carry_field_case_and_source() -> None:
    root = parse_query('title:softbank =AI body:="Vision Fund" MONEY>=1B').root
    assert isinstance(root, And)
    first, second, third, fourth = root.children
    assert isinstance(first, Term) and (first.field, first.cased, first.source, first.column) == (
        "title",
        None,
        "title:softbank",
        1,
    )
    assert isinstance(second, Term) and (second.words, second.cased, second.source) == (("ai",), ("AI",), "=AI")
    assert isinstance(third, Term) and (third.field, third.cased) == ("body", ("Vision", "Fund"))
    assert isinstance(fourth, Money) and (fourth.minimum, fourth.source, fourth.column) == (1e9, "MONEY>=1B", 40)
    [money] = parse_query("title:MONEY>=1B").terms()
    assert (money.source, money.field, money.column) == ("title:MONEY>=1B", "title", 1)


def test_near_node() -> None:
    root = parse_query("a NEAR/7 (b OR c)").root
    assert isinstance(root, Near)
    assert (root.distance, root.column) == (7, 3)
    assert isinstance(root.left, Term) and isinstance(root.right, Or)


def test_alias_definitions_may_use_later_aliases_and_lists() -> None:
    aliases = parse_aliases({"a": "@b OR x", "b": ["y", '"z w"']})
    assert describe(aliases["a"], expand=True) == '((y OR "z w") OR x)'


@pytest.mark.parametrize(
    ("query", "column", "expected"),
    [
        ("NEAR", 5, "'/' and a number of words right after NEAR"),
        ("a NEAR b", 7, "'/' and a number of words right after NEAR"),
        ("a NEAR/ b", 8, "'/' and a number of words right after NEAR"),
        ("a NEAR/x b", 8, "'/' and a number of words right after NEAR"),
        ("a NEAR/1001 b", 8, "a distance of at most 1000 words"),
        ("a NEAR/99999999999999999999 b", 8, "a distance of at most 1000 words"),
        ("a NEAR/5", 9, "a term after 'NEAR/5' at column 3"),
        ("NEAR/5 b", 1, "a term, found 'NEAR/5'"),
        ("a NEAR/5 NOT b", 10, "a term after 'NEAR/5' at column 3, found 'NOT'"),
        ("a NEAR/5 -b", 10, "a term after 'NEAR/5' at column 3, found '-'"),
        ("a NEAR/5 (NOT b)", 11, "a term that must be present on each side of NEAR/5"),
        ("(x OR -y) NEAR/5 b", 7, "a term that must be present on each side of NEAR/5"),
        ("a NEAR/5x b", 9, "a space, '(' or ')' after a term, found 'x'"),
        ("color:red", 1, "a field name before ':' (title, body, site or url), found 'color'"),
        ("title: a", 7, "right after 'title:' (no space)"),
        ("title:", 7, "right after 'title:' (no space)"),
        ("title:title:a", 7, "found a second field"),
        ("title:(body:a)", 1, "terms without a field of their own after 'title:'"),
        ("title:(a NOT body:b)", 1, "terms without a field of their own after 'title:'"),
        ("site:MONEY", 1, "MONEY only in the title or body"),
        ("url:(MONEY OR a)", 1, "MONEY only in the title or body"),
        ("title:-a", 7, "right after 'title:' (no space)"),
        ("title:NOT", 7, "a term after 'title:' at column 1, found 'NOT'"),
        ("=", 2, "a term or a phrase right after '='"),
        ("= AI", 2, "a term or a phrase right after '='"),
        ("=(a OR b)", 2, "a term or a phrase right after '='"),
        ("=@softbank", 2, "a term or a phrase right after '='"),
        ('=""', 2, "a letter or digit inside the quotes"),
        ("@", 2, "an alias name right after '@'"),
        ("@-x", 2, "an alias name right after '@'"),
        ("@nope", 1, "a defined alias, found '@nope' (defined: none)"),
        ("@a.b", 3, "a space, '(' or ')' after a term, found '.'"),
        ("MONEY>100M", 6, "'>=' and an amount right after MONEY"),
        ("MONEY<=100M", 6, "'>=' and an amount right after MONEY"),
        ("MONEY>=", 8, "an amount right after 'MONEY>='"),
        ("MONEY>=M", 8, "an amount right after 'MONEY>='"),
        ("MONEY>=100X", 11, "a space, '(' or ')' after a term, found 'X'"),
        ("MONEY>=9999999999T", 8, "an amount of at most 1000000T"),
        ("MONEY >= 1M", 7, "found '>'"),
        ("MONEY*", 6, "a space, '(' or ')' after MONEY"),
        ("NOT MONEY", 1, "a term that must be present"),
    ],
)
def test_full_language_errors(query: str, column: int, expected: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_query(query, "r")
    error = caught.value
    assert expected in error.expected, str(error)
    assert error.column == column, str(error)
    assert str(error).startswith(f"rule 'r', column {column}: expected ")


def test_unknown_alias_lists_the_defined_ones() -> None:
    with pytest.raises(RuleError) as caught:
        parse_query("x @sofbank", "r", ALIASES)
    assert caught.value.column == 3
    assert caught.value.expected == (
        "a defined alias, found '@sofbank' (defined: @both, @deal, @money_words, @softbank)"
    )


@pytest.mark.parametrize(
    ("definitions", "alias", "column", "expected"),
    [
        ({"a": "x AND (y"}, "a", 9, "')' to close '(' at column 7"),
        ({"a": "@a"}, "a", 1, "an alias that does not use itself (@a -> @a)"),
        ({"a": "x @nope"}, "a", 3, "a defined alias, found '@nope' (defined: @a)"),
        ({"a": ["x", "(y"]}, "a[2]", 3, "')' to close '(' at column 1"),
        ({"a": []}, "a", 1, "at least one expression in the list"),
        ({"bad name": "x"}, "bad name", 1, "an alias name of letters, digits, '_' or '-'"),
    ],
)
def test_alias_errors_name_the_alias(definitions: dict[str, Any], alias: str, column: int, expected: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_aliases(definitions)
    error = caught.value
    assert (error.alias, error.column, error.rule_id) == (alias, column, None), str(error)
    assert expected in error.expected, str(error)
    assert str(error).startswith(f"alias {alias!r}, column {column}: expected ")


def test_alias_cycles_are_errors() -> None:
    errors: list[RuleError] = []
    assert parse_aliases({"a": "x @b", "b": "y OR @a", "c": "z"}, errors).keys() == {"c"}
    assert [(e.alias, e.column, e.expected) for e in errors] == [
        ("a", 3, "a valid alias: @b has an error of its own"),
        ("b", 6, "an alias that does not use itself (@a -> @b -> @a)"),
    ]


def test_alias_errors_are_collected_and_the_rest_kept() -> None:
    errors: list[RuleError] = []
    parsed = parse_aliases({"good": "x OR y", "bad": "(", "user": "@bad OR z"}, errors)
    assert set(parsed) == {"good"}
    assert [(e.alias, e.column) for e in errors] == [("bad", 2), ("user", 1)]
    assert "@bad has an error of its own" in errors[1].expected


def test_aliases_cannot_multiply_beyond_the_term_limit() -> None:
    definitions: dict[str, str | list[str]] = {"a0": " ".join(f"w{n}" for n in range(10))}
    for level in range(1, 4):  # each level repeats the one below 10 times: 10,000 terms at a3
        definitions[f"a{level}"] = " OR ".join([f"@a{level - 1}"] * 10)
    aliases = parse_aliases(definitions)
    parse_query("@a3", aliases=aliases)
    parse_query("title:@a3", aliases=aliases)
    with pytest.raises(RuleError) as caught:
        parse_query("x OR @a3", "r", aliases)
    assert "at most 10000 terms once aliases are expanded" in caught.value.expected
    with pytest.raises(RuleError) as caught:
        parse_aliases({**definitions, "a4": "@a3 OR @a3"})
    assert caught.value.alias == "a4"


def test_threshold_errors_name_the_key() -> None:
    with pytest.raises(RuleError) as caught:
        parse_threshold(Threshold("softbank (", True, 2), "r")
    assert str(caught.value) == "rule 'r', key 'threshold.terms', column 11: expected a term after '(' at column 10"
    with pytest.raises(RuleError) as caught:
        parse_threshold(Threshold("softbank", False, 0), "r")
    assert caught.value.key == "threshold"
    assert parse_threshold(Threshold("@softbank", True, 0), "r", ALIASES).root is not None


def test_rule_error_with_alias_and_key_pickles() -> None:
    error = RuleError("a term", 3, "r", alias="a", key="threshold.terms")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.expected, copy.column, copy.rule_id, copy.alias, copy.key) == (
        "a term",
        3,
        "r",
        "a",
        "threshold.terms",
    )
    assert str(copy) == "rule 'r', alias 'a', key 'threshold.terms', column 3: expected a term"


def test_near_chains_count_as_nesting() -> None:
    parse_query("a NEAR/1 " * MAX_DEPTH + "a")
    with pytest.raises(RuleError) as caught:
        parse_query("a NEAR/1 " * (MAX_DEPTH + 1) + "a")
    assert caught.value.column == 9 * MAX_DEPTH + 3
    assert "nested parentheses, NOTs, fields and NEARs" in caught.value.expected


def test_aliases_cannot_nest_without_bound() -> None:
    definitions = {f"a{n}": f"@a{n + 1} x{n}" for n in range(MAX_ALIAS_DEPTH + 5)}
    definitions[f"a{MAX_ALIAS_DEPTH + 5}"] = "end"
    deep: list[RuleError] = []
    assert parse_aliases(definitions, deep).keys() > {"a21", "a25"}
    assert any(f"aliases used at most {MAX_ALIAS_DEPTH} deep" in error.expected for error in deep)
    assert {error.alias for error in deep} == {f"a{n}" for n in range(MAX_ALIAS_DEPTH)}
    chain = {"a0": "end", **{f"a{n}": f"@a{n - 1} NEAR/2 x{n}" for n in range(1, 60)}}  # defined in order
    errors: list[RuleError] = []
    parsed = parse_aliases(chain, errors)
    assert errors and f"at most {MAX_TREE_DEPTH} levels of nesting" in errors[0].expected
    assert "a49" in parsed and "a50" not in parsed
