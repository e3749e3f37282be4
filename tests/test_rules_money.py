"""Amounts of money in running text (crawler.rules.money) and the MONEY term of queries."""

from __future__ import annotations

import pytest

from crawler.article import Amount
from crawler.rules import DEFAULT_USD_RATES, Rule, RuleSet, find_amounts
from crawler.rules.money import usd_value

B, M, T = 1e9, 1e6, 1e12


def amounts(text: str) -> list[tuple[str, float, str]]:
    return [(found.text, found.value, found.currency) for found in find_amounts(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the forms from the issue
        ("invest $4.5B in Korea", [("$4.5B", 4.5 * B, "USD")]),
        ("a $3 billion fund", [("$3 billion", 3 * B, "USD")]),
        ("plans to invest 5 trillion won", [("5 trillion won", 5 * T, "KRW")]),
        ("a £2.4bn campus", [("£2.4bn", 2.4 * B, "GBP")]),
        ("earmarks ¥1tn for AI", [("¥1tn", 1 * T, "JPY")]),
        ("raised US$1.2 billion", [("US$1.2 billion", 1.2 * B, "USD")]),
        ("raises €500m", [("€500m", 500 * M, "EUR")]),
        ("talks to invest $15bn to $25bn", [("$15bn", 15 * B, "USD"), ("$25bn", 25 * B, "USD")]),
        ("₩5조 규모", [("₩5조", 5 * T, "KRW")]),
        # ranges with a shared scale give two amounts with the range's text
        ("between $15-25bn", [("$15-25bn", 15 * B, "USD"), ("$15-25bn", 25 * B, "USD")]),
        ("$1 to 2 billion", [("$1 to 2 billion", 1 * B, "USD"), ("$1 to 2 billion", 2 * B, "USD")]),
        ("$1.5–$2 million", [("$1.5–$2 million", 1.5 * M, "USD"), ("$1.5–$2 million", 2 * M, "USD")]),
        ("$15bn-$25bn", [("$15bn", 15 * B, "USD"), ("$25bn", 25 * B, "USD")]),
        # symbols and codes
        ("A$2m grant", [("A$2m", 2 * M, "AUD")]),
        ("C$40 million", [("C$40 million", 40 * M, "CAD")]),
        ("HK$10bn", [("HK$10bn", 10 * B, "HKD")]),
        ("S$300m", [("S$300m", 300 * M, "SGD")]),
        ("NT$1 billion", [("NT$1 billion", 1 * B, "TWD")]),
        ("₹500 crore", [("₹500 crore", 5 * B, "INR")]),
        ("Rs 500 crore", [("Rs 500 crore", 5 * B, "INR")]),
        ("Rs. 20 lakh", [("Rs. 20 lakh", 2e6, "INR")]),
        ("R4bn budget", [("R4bn", 4 * B, "ZAR")]),
        ("USD 1.2bn", [("USD 1.2bn", 1.2 * B, "USD")]),
        ("EUR500m", [("EUR500m", 500 * M, "EUR")]),
        ("RMB 10 billion", [("RMB 10 billion", 10 * B, "CNY")]),
        ("5 billion USD", [("5 billion USD", 5 * B, "USD")]),
        ("＄5 million", [("＄5 million", 5 * M, "USD")]),
        # currency words
        ("600 million dollars", [("600 million dollars", 600 * M, "USD")]),
        ("1.2 billion US dollars", [("1.2 billion US dollars", 1.2 * B, "USD")]),
        ("a 10-billion-dollar deal", [("10-billion-dollar", 10 * B, "USD")]),
        ("500 million euros", [("500 million euros", 500 * M, "EUR")]),
        ("2 billion pounds", [("2 billion pounds", 2 * B, "GBP")]),
        ("10 billion yen", [("10 billion yen", 10 * B, "JPY")]),
        ("3 billion yuan", [("3 billion yuan", 3 * B, "CNY")]),
        ("500 dollars", [("500 dollars", 500.0, "USD")]),
        # scale words
        ("$4.5 billion", [("$4.5 billion", 4.5 * B, "USD")]),
        ("$300mn", [("$300mn", 300 * M, "USD")]),
        ("$1.2tn", [("$1.2tn", 1.2 * T, "USD")]),
        ("$100k seed", [("$100k", 1e5, "USD")]),
        ("$5 thousand", [("$5 thousand", 5e3, "USD")]),
        ("$675 mln", [("$675 mln", 675 * M, "USD")]),
        ("$4BN stake", [("$4BN", 4 * B, "USD")]),
        # separators
        ("$1,234.56", [("$1,234.56", 1234.56, "USD")]),
        ("£500,000, he said", [("£500,000", 5e5, "GBP")]),
        ("€1.234.567", [("€1.234.567", 1234567.0, "EUR")]),
        ("€1.234,5", [("€1.234,5", 1234.5, "EUR")]),
        ("€4,5 million", [("€4,5 million", 4.5 * M, "EUR")]),
        ("$500.", [("$500", 500.0, "USD")]),
        # Korean, Japanese and Chinese amounts
        ("5조3000억원", [("5조3000억원", 5.3 * T, "KRW")]),
        ("5조 원", [("5조 원", 5 * T, "KRW")]),
        ("45억 달러를 투자", [("45억 달러", 4.5 * B, "USD")]),
        ("ソフトバンクは1兆円を投じる", [("1兆円", 1 * T, "JPY")]),
        ("約1000億円", [("1000億円", 1e11, "JPY")]),
        ("10億ドル", [("10億ドル", 1 * B, "USD")]),
        ("100亿美元", [("100亿美元", 1e10, "USD")]),
        ("5000万元", [("5000万元", 5e7, "CNY")]),
        # ¥ is yen unless the text speaks of yuan nearby
        ("¥3bn in Tokyo", [("¥3bn", 3 * B, "JPY")]),
        ("¥3bn (RMB) in Shanghai", [("¥3bn", 3 * B, "CNY")]),
        ("¥10 billion yuan", [("¥10 billion yuan", 10 * B, "CNY")]),
        ("The yuan fell. ¥5bn of bonds", [("¥5bn", 5 * B, "CNY")]),
        # not money
        ("in 2019 the firm", []),
        ("5 billion people", []),
        ("he won 500 games", []),
        ("the team won 3", []),
        ("500 pounds of steel", []),
        ("R2-D2", []),
        ("the A320 and B2B", []),
        ("$", []),
        ("US$", []),
        ("bn", []),
    ],
)
def test_amounts(text: str, expected: list[tuple[str, float, str]]) -> None:
    found = amounts(text)
    assert [(t, c) for t, _, c in found] == [(t, c) for t, _, c in expected]
    assert [v for _, v, _ in found] == pytest.approx([v for _, v, _ in expected])


def test_amount_offsets_point_into_the_text() -> None:
    text = "SoftBank plans to invest $4.5B (5 trillion won) in Korea"
    assert [(f.start, f.end, text[f.start : f.end]) for f in find_amounts(text)] == [
        (25, 30, "$4.5B"),
        (32, 46, "5 trillion won"),
    ]


def test_usd_values_use_the_reference_rates() -> None:
    assert usd_value(5 * T, "KRW", DEFAULT_USD_RATES) == pytest.approx(3.6 * B)
    assert usd_value(1 * T, "JPY", DEFAULT_USD_RATES) == pytest.approx(6.7 * B)
    assert usd_value(1.0, "XYZ", DEFAULT_USD_RATES) is None
    assert set(DEFAULT_USD_RATES) >= {"USD", "EUR", "GBP", "JPY", "KRW", "CNY", "INR"}


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("invests $150 million", True),
        ("invests $50 million", False),
        ("invests €95m", True),  # 102.6M US dollars
        ("invests €90m", False),  # 97.2M
        ("invests ¥10bn", False),  # 67M
        ("invests ¥20bn", True),  # 134M
        ("invests 5 trillion won", True),
        ("invests 1000억원", False),  # 72M
        ("invests $50 million to $150 million", True),  # one end of a range is enough
        ("invests a lot", False),
    ],
)
def test_money_minimum_is_in_us_dollars(text: str, matched: bool) -> None:
    rules = RuleSet.compile([Rule("r", "MONEY>=100M NEAR/3 invest*")])
    assert bool(rules.match("", text)) is matched


def test_money_rates_can_be_overridden() -> None:
    rules = RuleSet.compile([Rule("r", "MONEY>=100M")], usd_rates={"JPY": 0.02})
    [found] = rules.match("", "a ¥10bn plan")
    assert found.amounts == [Amount("¥10bn", 10 * B, "JPY", 10 * B * 0.02, "body", 2, 7)]


def test_money_is_a_position_for_near() -> None:
    rules = RuleSet.compile([Rule("r", "MONEY NEAR/2 invest*")])
    assert rules.match("", "will invest US$1.2 billion")
    assert rules.match("", "₩5조 to invest")
    assert not rules.match("", "$5m. Much later, we will maybe invest")
    assert not rules.match("", "will invest 5 billion people")


def test_money_in_the_title() -> None:
    rules = RuleSet.compile([Rule("r", "title:MONEY>=1B")])
    assert rules.match("SoftBank's $4.5B plan", "nothing")
    assert not rules.match("SoftBank's plan", "$4.5B")


@pytest.mark.parametrize(
    "text",
    [
        "$" + "1," * 100_000,
        "1 to " * 50_000,
        "$1-" * 50_000,
        "US$" * 50_000,
        "5" * 200_000 + " billion won",
        ("1" + " " * 3) * 50_000,
        "조억만" * 50_000,
        "5조" * 50_000,
        "¥1 " * 50_000,
    ],
)
@pytest.mark.timeout(30)  # a hang guard, not a speed measurement (see benchmarks/)
def test_pathological_texts_finish(text: str) -> None:
    find_amounts(text)
