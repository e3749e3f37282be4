"""Normalise text and split it into words: the one tokenizer shared by article text and query terms.

Normalisation is NFKC, then casefold, then NFKC again (so full-width ``ＳｏｆｔＢａｎｋ``, ``SOFTBANK`` and
``softbank`` are the same word, and ``ß`` matches ``ss``). It is applied the same way to queries and articles.

A *word* is a run of letters and digits (``str.isalnum``, with any combining marks that follow them); every
other character separates words: spaces, punctuation, hyphens, apostrophes, underscores, symbols. So
``IoT-based`` is the words ``iot`` ``based`` and ``SoftBank's`` is ``softbank`` ``s``. Format characters
(soft hyphen, zero-width joiners) are dropped without splitting the word.

Scripts written without spaces between words (Han, Hiragana, Katakana, Hangul, Thai, Lao, Khmer, Myanmar)
are split into one token per character. A query term in those scripts becomes the same character sequence,
matched as consecutive tokens, i.e. as a substring of the running text: ``ソフトバンク`` is found in
``ソフトバンクグループは`` and ``소프트뱅크`` in ``소프트뱅크가``.

Each token keeps the offsets of the characters it came from in the original (un-normalised) string, so a
match can be highlighted in the text as published.

Case-sensitive terms (``=AI``) compare the *cased form* of a token instead: the characters it came from,
NFKC-normalised but not case-folded, format characters dropped (:func:`cased_form`). Full-width ``ＡＩ`` is
then ``AI``, and ``Ai`` or ``ai`` are not.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

# Runs of characters that are neither whitespace nor ASCII punctuation/controls. A run that is pure ASCII is
# therefore exactly one ASCII word; other runs go through the full Unicode path.
_RUN = re.compile(r"[^\s\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+")

_WORD, _UNSPACED, _MARK, _IGNORE, _SEP = range(5)

# Blocks of scripts written without spaces between words (inclusive code point ranges).
_UNSPACED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3031, 0x303C),  # kana repeat marks, 〻 〼
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31A0, 0x31FF),  # Bopomofo extended, CJK strokes, Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana (NFKC maps them to full width anyway)
    (0xFFA0, 0xFFDC),  # half-width Hangul
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


class Tokens(NamedTuple):
    """The words of one string: normalised text and original ``[start, end)`` offsets, index by index."""

    words: list[str]
    starts: list[int]
    ends: list[int]


def normalise(text: str) -> str:
    """``text`` in the comparison form used for matching: NFKC, casefold, NFKC."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def is_unspaced(char: str) -> bool:
    """True for a character of a script written without spaces (it becomes a token of its own)."""
    code = ord(char)
    return any(low <= code <= high for low, high in _UNSPACED_RANGES)


def cased_form(original: str) -> str:
    """The case-sensitive comparison form of the characters of one token: NFKC, format characters dropped."""
    if original.isascii():
        return original
    kept = "".join(char for char in original if unicodedata.category(char) != "Cf")
    return unicodedata.normalize("NFKC", kept)


def cased_words(text: str) -> list[str]:
    """The cased forms of the words of ``text`` (one per word of :func:`tokenize`)."""
    tokens = tokenize(text)
    return [cased_form(text[start:end]) for start, end in zip(tokens.starts, tokens.ends, strict=True)]


def words(text: str) -> list[str]:
    """The normalised words of ``text``."""
    return tokenize(text).words


def tokenize(text: str) -> Tokens:
    """Split ``text`` into normalised words with their offsets in ``text``."""
    tokens = Tokens([], [], [])
    for match in _RUN.finditer(text):
        run = match.group()
        if run.isascii():
            tokens.words.append(run.lower())
            tokens.starts.append(match.start())
            tokens.ends.append(match.end())
        else:
            _tokenize_run(run, match.start(), tokens)
    return tokens


def _tokenize_run(run: str, base: int, tokens: Tokens) -> None:
    """Add the words of one run that contains non-ASCII characters (offsets are ``base`` + index in run)."""
    out_words, out_starts, out_ends = tokens
    buffer: list[str] = []
    buffer_start = buffer_end = 0
    after_unspaced = False  # the last token added is an unspaced character and nothing has come since
    size = len(run)
    i = 0
    while i < size:
        j = i + 1
        while j < size and _attaches(run[j]):
            j += 1
        start, end = base + i, base + j
        for char in _normalise_cluster(run[i:j]):
            kind = _kind(char)
            if kind == _WORD:
                if not buffer:
                    buffer_start = start
                buffer.append(char)
                buffer_end = end
                after_unspaced = False
            elif kind == _UNSPACED:
                if buffer:
                    out_words.append("".join(buffer))
                    out_starts.append(buffer_start)
                    out_ends.append(buffer_end)
                    buffer = []
                out_words.append(char)
                out_starts.append(start)
                out_ends.append(end)
                after_unspaced = True
            elif kind == _MARK:
                if buffer:
                    buffer.append(char)
                    buffer_end = end
                elif after_unspaced:
                    out_words[-1] += char
                    out_ends[-1] = end
            elif kind == _SEP:
                if buffer:
                    out_words.append("".join(buffer))
                    out_starts.append(buffer_start)
                    out_ends.append(buffer_end)
                    buffer = []
                after_unspaced = False
        i = j
    if buffer:
        out_words.append("".join(buffer))
        out_starts.append(buffer_start)
        out_ends.append(buffer_end)


@lru_cache(maxsize=65536)
def _attaches(char: str) -> bool:
    """True for a character that belongs with the one before it (combining marks and the like)."""
    if unicodedata.category(char).startswith("M"):
        return True
    # Hangul vowel/final Jamo compose with the leading consonant; half-width (semi-)voiced sound marks.
    return "\u1160" <= char <= "\u11ff" or char in "\uff9e\uff9f"


def _normalise_cluster(cluster: str) -> str:
    """A base character with its marks, normalised (single characters are cached)."""
    return _normalise_char(cluster) if len(cluster) == 1 else normalise(cluster)


@lru_cache(maxsize=65536)
def _normalise_char(char: str) -> str:
    return normalise(char)


@lru_cache(maxsize=65536)
def _kind(char: str) -> int:
    if char.isalnum():
        return _UNSPACED if is_unspaced(char) else _WORD
    category = unicodedata.category(char)
    if category.startswith("M"):
        return _MARK
    if category == "Cf":
        return _IGNORE
    return _SEP
