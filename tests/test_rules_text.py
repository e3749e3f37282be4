"""Tests for crawler.rules.text: normalisation and the word tokenizer shared by queries and articles."""

from __future__ import annotations

import pytest

from crawler.rules.text import is_unspaced, normalise, tokenize, words


def test_ascii_words_are_lower_cased_with_offsets() -> None:
    text = "SoftBank plans to invest $4.5B"
    tokens = tokenize(text)
    assert tokens.words == ["softbank", "plans", "to", "invest", "4", "5b"]
    assert [text[s:e] for s, e in zip(tokens.starts, tokens.ends, strict=True)] == [
        "SoftBank",
        "plans",
        "to",
        "invest",
        "4",
        "5B",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IoT-based", ["iot", "based"]),
        ("SoftBank's", ["softbank", "s"]),
        ("SoftBank’s", ["softbank", "s"]),
        ("joint-venture", ["joint", "venture"]),
        ("snake_case", ["snake", "case"]),
        ("U.S.-based", ["u", "s", "based"]),
        ("e-mail—and…more", ["e", "mail", "and", "more"]),
        ("said", ["said"]),
    ],
)
def test_punctuation_splits_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＳｏｆｔＢａｎｋ", ["softbank"]),  # full-width letters (NFKC)
        ("ＡＩ", ["ai"]),
        ("STRASSE Straße", ["strasse", "strasse"]),  # casefold
        ("ﬁnance", ["finance"]),  # ligature
        ("cafe\u0301", ["café"]),  # decomposed accent composes
        ("invest\u00adment", ["investment"]),  # soft hyphen does not split
        ("zero\u200bwidth", ["zerowidth"]),
        ("Ⅻ", ["xii"]),
    ],
)
def test_unicode_normalisation(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_normalise_is_nfkc_casefold() -> None:
    assert normalise("ＳｏｆｔＢａｎｋ ß") == "softbank ss"
    assert normalise(normalise("Ǆ ﬃ")) == normalise("Ǆ ﬃ")


def test_offsets_point_into_the_original_text() -> None:
    text = "Ｓｏｆｔ ｂａｎｋ’s ＩｏＴ-based ソフトバンク"
    tokens = tokenize(text)
    pieces = [text[s:e] for s, e in zip(tokens.starts, tokens.ends, strict=True)]
    assert pieces[:5] == ["Ｓｏｆｔ", "ｂａｎｋ", "s", "ＩｏＴ", "based"]
    assert "".join(pieces[5:]) == "ソフトバンク"


def test_japanese_is_one_token_per_character() -> None:
    assert words("ソフトバンクグループは投資") == list("ソフトバンクグループは投資")


def test_korean_syllables_are_tokens_and_particles_stay_separate_characters() -> None:
    assert words("소프트뱅크가 투자") == list("소프트뱅크가투자")


def test_latin_next_to_cjk_is_a_word_of_its_own() -> None:
    assert words("AI投資とIoT") == ["ai", "投", "資", "と", "iot"]


def test_half_width_katakana_matches_full_width() -> None:
    assert words("ｿﾌﾄﾊﾞﾝｸ") == words("ソフトバンク")


def test_hangul_jamo_compose() -> None:
    assert words("\u1112\u1161\u11ab") == ["한"]


def test_is_unspaced() -> None:
    assert is_unspaced("ソ") and is_unspaced("漢") and is_unspaced("한")
    assert not is_unspaced("a") and not is_unspaced("é") and not is_unspaced("Я")


def test_empty_and_punctuation_only() -> None:
    assert words("") == []
    assert words(" -- ,,, ?! “” ") == []
