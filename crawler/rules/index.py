"""Index one article once (words, positions and offsets per field) so that many rules can be checked fast."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field

from crawler.rules.text import tokenize

TITLE = "title"
BODY = "body"
FIELDS: tuple[str, ...] = (TITLE, BODY)

# Sorts after every real continuation of a prefix (the highest code point).
_AFTER_PREFIX = "\U0010ffff"


@dataclass(frozen=True, slots=True)
class Span:
    """Where a term occurs: ``field``, token positions ``[first, last]``, char offsets ``[start, end)``."""

    field: str
    first: int
    last: int
    start: int
    end: int


@dataclass
class FieldIndex:
    """The words of one field (title or body) with their positions and original offsets."""

    text: str
    words: list[str]
    starts: list[int]
    ends: list[int]
    postings: dict[str, list[int]]
    _vocabulary: list[str] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, text: str) -> FieldIndex:
        """Tokenize ``text`` and index every word by position."""
        tokens = tokenize(text)
        postings: dict[str, list[int]] = {}
        for position, word in enumerate(tokens.words):
            found = postings.get(word)
            if found is None:
                postings[word] = [position]
            else:
                found.append(position)
        return cls(text, tokens.words, tokens.starts, tokens.ends, postings)

    def positions(self, word: str, prefix: bool = False) -> list[int]:
        """Sorted positions of ``word`` (or, with ``prefix``, of every word starting with it)."""
        if not prefix:
            return self.postings.get(word, [])
        matches = self.prefixed(word)
        if len(matches) == 1:
            return self.postings[matches[0]]
        return sorted(position for match in matches for position in self.postings[match])

    def prefixed(self, prefix: str) -> list[str]:
        """The distinct words of this field that start with ``prefix``."""
        vocabulary = self._vocabulary
        if vocabulary is None:
            vocabulary = self._vocabulary = sorted(self.postings)
        low = bisect_left(vocabulary, prefix)
        high = bisect_left(vocabulary, prefix + _AFTER_PREFIX, low)
        return vocabulary[low:high]

    def span(self, field_name: str, first: int, last: int) -> Span:
        """The span of tokens ``first``..``last`` of this field."""
        return Span(field_name, first, last, self.starts[first], self.ends[last])


@dataclass
class DocumentIndex:
    """One article indexed once: a :class:`FieldIndex` per field ("title", "body")."""

    fields: Mapping[str, FieldIndex]
    _vocabulary: list[str] | None = field(default=None, repr=False)
    _words: frozenset[str] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, title: str, body: str) -> DocumentIndex:
        """Index an article's title and body text."""
        return cls({TITLE: FieldIndex.build(title), BODY: FieldIndex.build(body)})

    def words(self) -> frozenset[str]:
        """The distinct words of all fields."""
        if self._words is None:
            self._words = frozenset().union(*(index.postings for index in self.fields.values()))
        return self._words

    def vocabulary(self) -> list[str]:
        """The distinct words of all fields, sorted."""
        if self._vocabulary is None:
            self._vocabulary = sorted(self.words())
        return self._vocabulary

    def has_prefix(self, prefix: str) -> bool:
        """True if a word of any field starts with ``prefix``."""
        vocabulary = self.vocabulary()
        at = bisect_left(vocabulary, prefix)
        return at < len(vocabulary) and vocabulary[at].startswith(prefix)
