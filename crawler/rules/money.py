"""Find amounts of money in running text: "$4.5B", "5 trillion won", "US$1.2 billion", "₩5조", "$15-25bn".

One fixed regular expression over the *original* text (no case folding, so "US$" and "won" keep their
meaning), with no quantifier inside another quantifier and at most one space between its parts, so its
running time is linear in the text; it is never built from user input. The grammar::

    amount   = [ currency_before ] number [ range ] [ scale ] [ currency_after ]
    range    = ( "-" | "–" | "—" | "to" ) [ currency_before ] number      (* "$15-25bn", "$1 to $2 billion" *)
    scale    = trillion | tn | trn | billion | bn | bln | b | million | mn | mln | m | thousand | k
             | crore | lakh | 조 | 억 | 만 | 兆 | 億 | 万 | 亿 | 千万 | 百万 | 천만 | 백만 [ number 억|만|億|万|亿 ]
    number   = digit { digit | "," | "." }                                 (* 1,200.5  4.5  1.200,5 *)

* An amount needs a currency: a symbol or code before (``$`` ``US$`` ``A$`` ``C$`` ``HK$`` ``S$`` ``NT$``
  ``€`` ``£`` ``¥`` ``₩`` ``₹`` ``Rs`` ``USD`` ``EUR``...) or a word, code or CJK currency after
  (dollars, euros, pounds, sterling, yen, won, yuan, renminbi, rupees, ``USD``..., 원 円 元 달러 ドル 美元...).
  A bare number ("2019", "5 billion people") is not money.
* "won" and "pounds" after a number count only with a scale word or a currency before ("5 trillion won",
  not "won 500" or "500 pounds of steel"); "R" (South African rand) only with a scale ("R4bn").
* ``¥`` is Japanese yen, unless "yuan", "RMB", "renminbi", "CNY", 人民币 or 人民元 is written within
  100 characters (then Chinese yuan). ``$`` alone is the US dollar.
* One-letter scales (b, m, k) must touch the number ("$4.5B", "€500m"); longer ones may follow a space or
  a hyphen ("$3 billion", "a 10-billion-dollar deal").
* A range gives two amounts with the same currency and scale ("$15-25bn": 15 and 25 billion US dollars;
  both carry the text and offsets of the whole range). "$15bn to $25bn" is two amounts anyway.
* Korean and Japanese compound numbers add up: "5조3000억원" is 5.3 trillion won.

Values are converted to US dollars at fixed reference rates (:data:`DEFAULT_USD_RATES`, overridable in
rules.toml ``[money] usd_rates``); an amount in a currency without a rate has ``usd = None`` and never
satisfies ``MONEY>=...``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# Reference rates: US dollars per unit of each currency (rounded 2024-2025 averages; kept fixed on purpose,
# so that alerts do not change with the markets).
DEFAULT_USD_RATES: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "JPY": 0.0067,
    "KRW": 0.00072,
    "CNY": 0.14,
    "INR": 0.012,
    "CHF": 1.13,
    "CAD": 0.73,
    "AUD": 0.66,
    "NZD": 0.60,
    "HKD": 0.128,
    "SGD": 0.74,
    "TWD": 0.031,
    "ZAR": 0.055,
    "SEK": 0.095,
    "NOK": 0.093,
    "DKK": 0.145,
    "BRL": 0.18,
    "MXN": 0.055,
}
CURRENCIES = frozenset(DEFAULT_USD_RATES)

_DOLLAR_PREFIXES = {
    "": "USD", "US": "USD", "U.S.": "USD", "A": "AUD", "AU": "AUD", "C": "CAD", "CA": "CAD", "CAN": "CAD",
    "HK": "HKD", "NZ": "NZD", "S": "SGD", "SG": "SGD", "NT": "TWD", "R": "BRL", "Mex": "MXN",
}  # fmt: skip
_SYMBOLS = {
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "￥": "JPY",
    "₩": "KRW",
    "₹": "INR",
    "＄": "USD",
    "Rs": "INR",
    "Rs.": "INR",
}
_CODES = "USD|EUR|GBP|JPY|KRW|CNY|RMB|INR|CHF|CAD|AUD|NZD|HKD|SGD|TWD|ZAR|SEK|NOK|DKK|BRL|MXN"
_WORDS = {
    "dollar": "USD", "dollars": "USD", "us dollar": "USD", "us dollars": "USD", "u.s. dollar": "USD",
    "u.s. dollars": "USD", "euro": "EUR", "euros": "EUR", "pound": "GBP", "pounds": "GBP",
    "pounds sterling": "GBP", "sterling": "GBP", "yen": "JPY", "won": "KRW", "yuan": "CNY",
    "renminbi": "CNY", "rupee": "INR", "rupees": "INR",
}  # fmt: skip
_CJK_CURRENCIES = {
    "원": "KRW", "円": "JPY", "元": "CNY", "美元": "USD", "日元": "JPY", "欧元": "EUR", "韩元": "KRW",
    "人民币": "CNY", "人民元": "CNY", "달러": "USD", "ドル": "USD", "ユーロ": "EUR", "ウォン": "KRW",
    "엔": "JPY", "위안": "CNY", "유로": "EUR",
}  # fmt: skip
_SCALES = {
    "trillion": 1e12, "tn": 1e12, "trn": 1e12, "billion": 1e9, "bn": 1e9, "bln": 1e9, "b": 1e9,
    "million": 1e6, "mn": 1e6, "mln": 1e6, "m": 1e6, "thousand": 1e3, "k": 1e3, "crore": 1e7, "lakh": 1e5,
    "조": 1e12, "억": 1e8, "만": 1e4, "천만": 1e7, "백만": 1e6, "兆": 1e12, "億": 1e8, "亿": 1e8, "万": 1e4,
    "千万": 1e7, "百万": 1e6,
}  # fmt: skip
_NEEDS_SCALE = frozenset({"won", "pound", "pounds"})
_YUAN_NEARBY = re.compile(r"\b(?:yuan|RMB|renminbi|CNY)\b|人民币|人民元", re.IGNORECASE)
_YUAN_WINDOW = 100

_SP = "[ \u00a0\u202f]?"
_BEFORE = r"(?:(?:US|U\.S\.|AU|A|CAN|CA|C|HK|NZ|SG|S|NT|R|Mex)?\$|[€£¥￥₩₹＄]|Rs\.?|R(?=\d))"
_NUMBER = r"\d[\d,.]*"
_WORD_NAMES = (
    r"u\.s\.[ ]dollars?|us[ ]dollars?|dollars?|euros?|pounds[ ]sterling|pounds?|sterling|yen|won|yuan|renminbi|rupees?"
)
_PATTERN = re.compile(
    rf"""
    (?=[\d$€£¥￥₩₹＄UACHNSRMEGJKITDBZ])  # a cheap first test: the characters an amount can start with
    (?<![A-Za-z0-9$€£¥￥₩₹＄.,])
    (?:(?P<sym>{_BEFORE}){_SP}|(?P<code>{_CODES}){_SP})?
    (?P<num>{_NUMBER})
    (?:{_SP}(?:-|–|—|to){_SP}(?:{_BEFORE}{_SP})?(?P<num2>{_NUMBER}))?
    (?:
        [ \u00a0\u202f-]?(?P<scale>(?i:trillion|billion|million|thousand|crore|lakh|trn|tn|bn|bln|mn|mln))(?![A-Za-z])
      | (?P<short>[bBmMkK])(?![A-Za-z])
      | {_SP}(?P<cjk>千万|百万|천만|백만|조|억|만|兆|億|亿|万)
        (?:{_SP}(?P<num3>{_NUMBER}){_SP}(?P<cjk2>千万|천만|억|만|億|亿|万))?
    )?
    (?:
        [ \u00a0\u202f-]?(?P<word>(?i:{_WORD_NAMES}))(?![A-Za-z])
      | {_SP}(?P<after>{_CODES})(?![A-Za-z])
      | {_SP}(?P<cjkcur>人民币|人民元|美元|日元|欧元|韩元|달러|ドル|ユーロ|ウォン|위안|유로|원|円|元|엔)
    )?
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Found:
    """An amount found in one string: its text, value and currency, and ``[start, end)`` in that string."""

    text: str
    value: float
    currency: str
    start: int
    end: int


def find_amounts(text: str) -> list[Found]:
    """Every amount of money in ``text``, in order (a range gives two)."""
    if not text:
        return []
    found: list[Found] = []
    for match in _PATTERN.finditer(text):
        found.extend(_amounts(match, text))
    return found


def usd_value(value: float, currency: str, rates: Mapping[str, float]) -> float | None:
    """``value`` in US dollars at ``rates`` (None for a currency without a rate)."""
    rate = rates.get(currency)
    return None if rate is None else value * rate


def _amounts(match: re.Match[str], text: str) -> list[Found]:
    groups = match.groupdict()
    sym, code, word, after, cjkcur = groups["sym"], groups["code"], groups["word"], groups["after"], groups["cjkcur"]
    scale_word = groups["scale"] or groups["short"]
    scale = _SCALES[scale_word.lower()] if scale_word else 1.0
    cjk = groups["cjk"]
    if not (sym or code or word or after or cjkcur):
        return []
    if word and word.lower() in _NEEDS_SCALE and not (scale_word or cjk or sym or code):
        return []
    if sym == "R" and not (scale_word or cjk):
        return []
    currency = _currency(sym, code, word, after, cjkcur)
    start, end = match.start(), match.end()
    if not (word or after or cjkcur or scale_word or cjk):
        end = _trim(text, match.start("num2") if groups["num2"] else match.start("num"), end)
    if (
        currency == "JPY"
        and sym in ("¥", "￥")
        and _YUAN_NEARBY.search(text, max(0, start - _YUAN_WINDOW), min(len(text), end + _YUAN_WINDOW))
    ):
        currency = "CNY"
    first = _number(groups["num"])
    if first is None:
        return []
    written = text[start:end]
    if cjk:
        value = first * _SCALES[cjk]
        if groups["num3"] and groups["cjk2"]:
            value += (_number(groups["num3"]) or 0.0) * _SCALES[groups["cjk2"]]
        return [Found(written, value, currency, start, end)]
    values = [first * scale]
    if groups["num2"]:
        second = _number(groups["num2"])
        if second is not None:
            values.append(second * scale)
    return [Found(written, value, currency, start, end) for value in values]


def _currency(sym: str | None, code: str | None, word: str | None, after: str | None, cjkcur: str | None) -> str:
    if sym:
        if sym.endswith("$") and sym != "＄":
            base = _DOLLAR_PREFIXES.get(sym[:-1], "USD")
            return base
        if sym in ("¥", "￥") and (
            (word and word.lower() in ("yuan", "renminbi"))
            or cjkcur in ("元", "人民币", "人民元")
            or after in ("CNY", "RMB")
        ):
            return "CNY"
        return "ZAR" if sym == "R" else _SYMBOLS[sym]
    if code:
        return "CNY" if code == "RMB" else code
    if word:
        return _WORDS[" ".join(word.lower().split())]
    if after:
        return "CNY" if after == "RMB" else after
    assert cjkcur is not None
    return _CJK_CURRENCIES[cjkcur]


def _trim(text: str, number_start: int, end: int) -> int:
    """The end of an amount without the trailing separators of its last number ("$500," -> "$500")."""
    while end > number_start and text[end - 1] in ",.":
        end -= 1
    return end


def _number(written: str) -> float | None:
    """The value of a number written with thousands separators and a decimal point or comma.

    "1,200" and "1.200.000" are thousands; "4.5" and "4,5" decimals; with both "," and ".", the last one is
    the decimal separator ("1,234.5", "1.234,5"). A single "." is always a decimal point (English news).
    """
    digits = written.rstrip(",.")
    if not digits:
        return None
    commas, dots = digits.count(","), digits.count(".")
    if commas and dots:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        digits = digits.replace(thousands, "").replace(decimal, ".")
    elif commas:
        decimal_comma = commas == 1 and len(digits.split(",")[1]) != 3  # "4,5"
        digits = digits.replace(",", "." if decimal_comma else "")
    elif dots > 1:
        digits = digits.replace(".", "")
    if digits.count(".") > 1:
        return None
    try:
        return float(digits)
    except ValueError:  # pragma: no cover - the pattern only lets digits and separators through
        return None
