"""Index one article once (words, positions and offsets per field) so that many rules can be checked fast."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crawler.rules.money import Found, find_amounts
from crawler.rules.text import cased_form, tokenize

TITLE = "title"
BODY = "body"
SITE = "site"
URL = "url"
FIELDS: tuple[str, ...] = (TITLE, BODY, SITE, URL)
TEXT_FIELDS: tuple[str, ...] = (TITLE, BODY)  # the fields a term without "field:" searches

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


@dataclass(frozen=True, slots=True)
class Located:
    """An amount of money found in a field, with the positions of the words it covers."""

    found: Found
    span: Span


@dataclass
class FieldIndex:
    """The words of one field (title or body) with their positions and original offsets."""

    text: str
    words: list[str]
    starts: list[int]
    ends: list[int]
    postings: dict[str, list[int]]
    _vocabulary: list[str] | None = field(default=None, repr=False)
    _cased: dict[int, str] = field(default_factory=dict, repr=False)
    _amounts: list[Located] | None = field(default=None, repr=False)

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

    def cased(self, position: int) -> str:
        """The case-sensitive form of the word at ``position`` (see :func:`crawler.rules.text.cased_form`)."""
        found = self._cased.get(position)
        if found is None:
            found = self._cased[position] = cased_form(self.text[self.starts[position] : self.ends[position]])
        return found

    def span(self, field_name: str, first: int, last: int) -> Span:
        """The span of tokens ``first``..``last`` of this field."""
        return Span(field_name, first, last, self.starts[first], self.ends[last])

    def amounts(self, field_name: str) -> list[Located]:
        """The amounts of money in this field, each with the span of the words it covers (computed once)."""
        if self._amounts is None:
            located: list[Located] = []
            for found in find_amounts(self.text):
                first = bisect_right(self.ends, found.start)  # the first word ending after the amount starts
                last = bisect_left(self.starts, found.end) - 1  # the last word starting before it ends
                if first <= last:
                    located.append(Located(found, Span(field_name, first, last, found.start, found.end)))
            self._amounts = located
        return self._amounts


@dataclass
class DocumentIndex:
    """One article indexed once: a :class:`FieldIndex` per field ("title", "body", "site", "url").

    ``site`` holds the site's id and name (each given string, one per line) and ``url`` the article's URL;
    both are empty when not given, so ``site:`` and ``url:`` terms do not match.
    """

    fields: Mapping[str, FieldIndex]
    _vocabulary: list[str] | None = field(default=None, repr=False)
    _words: frozenset[str] | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls, title: str, body: str, *, site: str | Sequence[str] | None = None, url: str | None = None
    ) -> DocumentIndex:
        """Index an article's title and body text, and optionally its site (id and/or name) and URL."""
        site_text = site if isinstance(site, str) else "\n".join(site or ())
        return cls(
            {
                TITLE: FieldIndex.build(title or ""),
                BODY: FieldIndex.build(body or ""),
                SITE: FieldIndex.build(site_text),
                URL: FieldIndex.build(url or ""),
            }
        )

    def words(self) -> frozenset[str]:
        """The distinct words of the title and body."""
        if self._words is None:
            self._words = frozenset().union(*(self.fields[name].postings for name in TEXT_FIELDS))
        return self._words

    def vocabulary(self) -> list[str]:
        """The distinct words of the title and body, sorted."""
        if self._vocabulary is None:
            self._vocabulary = sorted(self.words())
        return self._vocabulary

    def has_prefix(self, prefix: str) -> bool:
        """True if a word of the title or body starts with ``prefix``."""
        vocabulary = self.vocabulary()
        at = bisect_left(vocabulary, prefix)
        return at < len(vocabulary) and vocabulary[at].startswith(prefix)

    def amounts(self) -> list[Located]:
        """Every amount of money in the title, then the body, in text order."""
        return [*self.fields[TITLE].amounts(TITLE), *self.fields[BODY].amounts(BODY)]
