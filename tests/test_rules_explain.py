"""Why a rule matched: hits with their offsets, the HTML snippet, and the amounts of money."""

from __future__ import annotations

import html
import re

from crawler.article import Amount, Hit, Match
from crawler.rules import DocumentIndex, Rule, RuleSet, Threshold
from crawler.rules.snippet import WIDTH, make_snippet

ALIASES = {"softbank": 'softbank OR "vision fund*"', "deal": 'invest* OR stake OR "joint venture"'}


def match_one(query: str, title: str, text: str, **kwargs: object) -> Match:
    [found] = RuleSet.compile([Rule("r", query, **kwargs)], aliases=ALIASES).match(title, text)  # type: ignore[arg-type]
    return found


def test_match_has_terms_hits_snippet_and_amounts() -> None:
    title = "SoftBank plans $4.5B push"
    text = "SoftBank Group said it would invest $4.5 billion (5 trillion won) in Korea."
    found = match_one("@softbank NEAR/5 @deal", title, text)
    assert found.rule_id == "r"
    assert found.terms == ["softbank", "invest*"]
    assert found.hits == [Hit("softbank", "body", 0, 8), Hit("invest*", "body", 29, 35)]
    assert found.snippet == (
        "<mark>SoftBank</mark> Group said it would <mark>invest</mark> $4.5 billion (5 trillion won) in Korea."
    )
    # without MONEY in the query: the amounts within 20 words of a hit
    assert found.amounts == [
        Amount("$4.5 billion", 4.5e9, "USD", 4.5e9, "body", 36, 48),
        Amount("5 trillion won", 5e12, "KRW", 5e12 * 0.00072, "body", 50, 64),
    ]


def test_near_reports_only_the_occurrences_within_the_distance() -> None:
    text = "SoftBank is in the news. " + "Other words here. " * 10 + "Later SoftBank agreed to invest."
    found = match_one("softbank NEAR/3 invest*", "", text)
    assert [text[hit.start : hit.end] for hit in found.hits] == ["SoftBank", "invest"]
    assert found.hits[0].start == text.rindex("SoftBank")


def test_hits_point_into_the_original_title_and_body() -> None:
    title = "ＳｏｆｔＢａｎｋ’s joint-venture"
    text = "with ソフトバンクグループ and the Vision Funds"
    found = RuleSet.compile([Rule("r", 'softbank OR "joint venture" OR ソフトバンク OR "vision fund*"')]).match(
        title, text
    )[0]
    fields = {"title": title, "body": text}
    assert [(hit.field, fields[hit.field][hit.start : hit.end]) for hit in found.hits] == [
        ("title", "ＳｏｆｔＢａｎｋ"),
        ("title", "joint-venture"),
        ("body", "ソフトバンク"),
        ("body", "Vision Funds"),
    ]


def test_snippet_escapes_the_text_before_marking() -> None:
    text = 'Hack <script>alert("x")</script> & SoftBank <b>invests</b> in AI'
    found = match_one("softbank invest*", "", text)
    assert found.snippet == (
        "Hack &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; <mark>SoftBank</mark>"
        " &lt;b&gt;<mark>invests</mark>&lt;/b&gt; in AI"
    )
    assert "<script>" not in (found.snippet or "")


def test_a_hit_that_looks_like_markup_is_escaped_too() -> None:
    found = match_one("script", "", "a <script> tag")
    assert found.snippet == "a &lt;<mark>script</mark>&gt; tag"


def test_snippet_is_a_window_around_the_densest_hits() -> None:
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20
    dense = "SoftBank will invest in a joint venture, SoftBank said."
    text = "SoftBank was founded in 1981. " + filler + dense + " " + filler + "The end, SoftBank."
    found = match_one("softbank OR @deal", "", text)
    snippet = found.snippet or ""
    plain = html.unescape(re.sub(r"</?mark>", "", snippet))
    assert dense in plain
    assert plain.startswith("…") and plain.endswith("…")
    assert len(plain) <= WIDTH + 2 * 30 + 2
    assert snippet.count("<mark>") == 4  # SoftBank, invest, joint venture, SoftBank
    inner = plain.strip("…")
    assert inner == inner.strip() and text.find(inner) >= 0  # cut at word boundaries


def test_snippet_falls_back_to_the_title_then_to_the_start_of_the_body() -> None:
    found = match_one("title:softbank", "SoftBank <Group>", "Body text")
    assert found.snippet == "<mark>SoftBank</mark> &lt;Group&gt;"
    rules = RuleSet.compile([Rule("r", "url:softbank")])
    [found] = rules.match("Title", "x " * 300, url="https://example.com/softbank")
    assert found.hits == [Hit("url:softbank", "url", 20, 28)]
    assert found.snippet is not None and found.snippet.startswith("x x") and found.snippet.endswith("…")


def test_snippet_merges_overlapping_hits_and_collapses_white_space() -> None:
    assert make_snippet("a  joint\n\nventure b", [(3, 17), (3, 8)]) == "a <mark>joint venture</mark> b"
    assert make_snippet("", []) == ""
    assert make_snippet("short", [(10, 20)]) == "short"  # spans outside the text are ignored


def test_amounts_with_money_in_the_query_are_those_that_satisfied_it() -> None:
    text = "It will invest $5 billion. Separately, a $2 million grant went to schools. It will invest $50 million too."
    found = match_one("MONEY>=1B NEAR/3 invest*", "", text)
    assert [amount.text for amount in found.amounts] == ["$5 billion"]
    assert [hit.term for hit in found.hits] == ["invest*", "MONEY>=1B"]
    found = match_one("MONEY NEAR/3 invest*", "", text)
    assert [amount.text for amount in found.amounts] == ["$5 billion", "$50 million"]


def test_amounts_without_money_in_the_query_are_those_near_a_hit() -> None:
    far = " ".join(["word"] * 30)
    text = f"SoftBank will invest $4.5B. {far} An unrelated $9 million."
    found = match_one("softbank", "", text)
    assert [amount.text for amount in found.amounts] == ["$4.5B"]


def test_title_amounts_are_reported_with_their_field() -> None:
    found = match_one("title:MONEY", "SoftBank's ¥1tn plan", "")
    assert found.amounts == [Amount("¥1tn", 1e12, "JPY", 1e12 * 0.0067, "title", 11, 15)]


def test_threshold_hits_are_part_of_the_explanation() -> None:
    found = match_one("invest*", "SoftBank deal", "It will invest", threshold=Threshold("@softbank", True, 0))
    assert found.terms == ["invest*", "softbank"]
    assert found.hits == [Hit("softbank", "title", 0, 8), Hit("invest*", "body", 8, 14)]


def test_explain_and_matching_ids_agree() -> None:
    rules = RuleSet.compile([Rule("a", "softbank"), Rule("b", "MONEY"), Rule("c", "zzz")])
    index = DocumentIndex.build("SoftBank", "$5bn")
    assert [found.rule_id for found in rules.explain(index)] == rules.matching_ids(index) == ["a", "b"]
    assert rules.explain(index)[1].to_match() == Match(
        "b", ["MONEY"], [Hit("MONEY", "body", 0, 4)], None, [Amount("$5bn", 5e9, "USD", 5e9, "body", 0, 4)]
    )
