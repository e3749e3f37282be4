"""Group near-duplicate articles into stories: MinHash/LSH over body shingles, confirmed with title similarity.

Two articles are the same story when their bodies are near-duplicates (wire copies, light rewrites,
URL variants, retitled copies: estimated Jaccard of word 4-gram shingles at least :data:`SAME_JACCARD`),
when one body is mostly contained in the other (a trimmed or lead-only copy: estimated containment at
least :data:`SAME_CONTAINMENT`), or when the headlines agree (similarity at least :data:`SAME_TITLE`) and
the bodies share some text (containment at least :data:`TITLE_CONTAINMENT`: quotes, figures, names in a
row): a rewrite of the same report. The thresholds were chosen on the real pages of the shared evaluation
data; tests/test_alerts_stories.py and benchmarks/story_grouping.py measure them.

Candidates come from an LSH index over the body signatures (copies) and from an index of headline
words (rewrites); each candidate is then checked with the rules above.

The LSH index lives in memory; each story's signature is stored in the ``story`` table and the index
is rebuilt from the stories of the recent :data:`WINDOW` when a process starts, then topped up with
the stories other processes added (by id) before every lookup.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH
from sqlalchemy import text as sql
from sqlmodel import Session, col, select

from crawler.models import StoryRow, utcnow

NUM_PERM = 128
SCHEME = "affine32"  # datasketch's hashing scheme; stored hash values are only comparable within one scheme
SHINGLE = 4  # words per shingle
LSH_THRESHOLD = 0.15  # body candidates: estimated Jaccard around this or more (then checked)
SAME_JACCARD = 0.5
SAME_CONTAINMENT = 0.7
SAME_TITLE = 0.7
TITLE_CONTAINMENT = 0.1
TITLE_CANDIDATE_WORDS = 2  # headline candidates share at least this many distinctive words
MIN_SHINGLES = 8  # bodies shorter than this are compared by title only (exact normalised title)
WINDOW = timedelta(days=14)

_WORD = re.compile(r"\w+")
_STOP = frozenset(
    " ".join(
        (
            "the a an and or of to in on for with by at from as is are was be its it this that after over",
            "new says said will into about than more how why what who",
        )
    ).split()
)


def words(text: str) -> list[str]:
    """The words of ``text`` after NFKC normalisation and case folding."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(text: str, size: int = SHINGLE) -> set[bytes]:
    """The distinct word ``size``-grams of ``text`` (the whole text when it is shorter)."""
    tokens = words(text)
    if len(tokens) <= size:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i : i + size]).encode() for i in range(len(tokens) - size + 1)}


@dataclass(frozen=True)
class Signature:
    """The MinHash of a body and how many distinct shingles it had."""

    minhash: MinHash
    size: int

    def to_bytes(self) -> bytes:
        """The hash values, little-endian uint64, for the ``story.signature`` column."""
        return np.asarray(self.minhash.hashvalues, dtype="<u8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, size: int) -> Signature:
        """The signature stored by :meth:`to_bytes`."""
        values = np.frombuffer(data, dtype="<u8").astype(np.uint64)
        permutations = _permutations() if len(values) == NUM_PERM else None
        return cls(MinHash(num_perm=len(values), hashvalues=values, permutations=permutations, scheme=SCHEME), size)


@functools.cache
def _permutations() -> Any:
    """The hash permutations of every signature (fixed by the seed; costly to draw, so drawn once)."""
    return MinHash(num_perm=NUM_PERM, scheme=SCHEME).permutations


def signature(text: str) -> Signature:
    """The MinHash signature of ``text``'s shingles."""
    grams = shingles(text)
    minhash = MinHash(num_perm=NUM_PERM, scheme=SCHEME, permutations=_permutations())
    if grams:
        minhash.update_batch(list(grams))
    return Signature(minhash, len(grams))


def title_words(title: str) -> set[str]:
    """The distinctive words of a headline (no stop words, at least three characters or not Latin)."""
    return {w for w in words(title) if w not in _STOP and (len(w) >= 3 or not w.isascii())}


def title_similarity(a: str, b: str) -> float:
    """How alike two headlines are, 0..1: the better of word-set overlap and character sequence ratio."""
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 0.0
    overlap = len(set(wa) & set(wb)) / len(set(wa) | set(wb))
    ratio = SequenceMatcher(None, " ".join(wa), " ".join(wb), autojunk=False).ratio()
    return max(overlap, ratio)


@dataclass(frozen=True)
class Similarity:
    """How two articles compare: estimated Jaccard, estimated containment of the smaller body, titles."""

    jaccard: float
    containment: float
    title: float

    def same_story(self) -> bool:
        """Whether these measures say the two articles are one story."""
        if self.jaccard >= SAME_JACCARD or self.containment >= SAME_CONTAINMENT:
            return True
        return self.title >= SAME_TITLE and self.containment >= TITLE_CONTAINMENT


def compare(a: Signature, b: Signature, title_a: str, title_b: str) -> Similarity:
    """The similarity of two articles from their signatures and titles."""
    titles = title_similarity(title_a, title_b)
    if min(a.size, b.size) < MIN_SHINGLES:
        same_title = " ".join(words(title_a)) == " ".join(words(title_b)) and bool(words(title_a))
        return Similarity(0.0, 1.0 if same_title else 0.0, titles)
    jaccard = float(a.minhash.jaccard(b.minhash))
    # |A ∩ B| = J (|A| + |B|) / (1 + J); containment of the smaller body in the other.
    common = jaccard * (a.size + b.size) / (1.0 + jaccard)
    containment = min(1.0, common / max(1, min(a.size, b.size)))
    return Similarity(jaccard, containment, titles)


@dataclass
class _Entry:
    signature: Signature
    title: str
    title_key: str
    title_words: set[str]


SHARED_LOCK = 0x4E57_5354  # PostgreSQL advisory lock key of story lookups shared between processes


@dataclass(frozen=True)
class Lookup:
    """What :meth:`StoryIndex.lookup` found for an article: its signature, its story if one is known, and
    the newest story id it was compared with."""

    signature: Signature
    story_id: int | None
    newest: int


class StoryIndex:
    """The stories of the recent window, for finding the story of a new article; thread-safe.

    Hold :meth:`guard` from the story lookup until the article's transaction has committed, so that two
    copies processed at the same time do not both start a story. A story created under the guard is found
    at once by later articles of the same transaction (a batch of articles stored together); if the guarded
    block fails (its transaction rolled back), those stories leave the index again.
    """

    def __init__(self, window: timedelta = WINDOW, clock: Callable[[], datetime] = utcnow) -> None:
        """On PostgreSQL, which other processes may share (crawl workers, a service and a `newswatch crawl`),
        each lookup holds a transaction-level advisory lock until the commit, so two copies stored at once
        by two processes do not both start a story."""
        self.window = window
        self._now = clock
        self._lock = threading.RLock()
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._entries: dict[int, _Entry] = {}
        self._by_title: dict[str, list[int]] = {}
        self._by_word: dict[str, list[int]] = {}
        self._last_id = 0
        self._loaded = False
        self._depth = 0  # nesting of guard()
        self._pending: list[int] = []  # stories created under the current guard, not yet committed

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Exclusive use of the index (re-entrant); stories created under it are dropped if it fails."""
        with self._lock:
            self._depth += 1
            try:
                yield
            except BaseException:
                if self._depth == 1:
                    self._forget(self._pending)
                raise
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._pending = []

    def _forget(self, story_ids: list[int]) -> None:
        for story_id in story_ids:
            entry = self._entries.pop(story_id, None)
            if entry is None:
                continue
            if story_id in self._lsh:
                self._lsh.remove(story_id)
            for key, table in ((entry.title_key, self._by_title), *((w, self._by_word) for w in entry.title_words)):
                ids = table.get(key)
                if ids and story_id in ids:
                    ids.remove(story_id)

    def __len__(self) -> int:
        return len(self._entries)

    def refresh(self, session: Session) -> None:
        """Load the stories added since the last refresh (at first: those of the recent window)."""
        with self._lock:
            query = select(StoryRow).where(col(StoryRow.id) > self._last_id).order_by(col(StoryRow.id))
            if not self._loaded:
                query = query.where(col(StoryRow.created_at) >= self._now() - self.window)
            for row in session.exec(query):
                assert row.id is not None
                self.add(row.id, Signature.from_bytes(row.signature, row.shingles), row.title)
                self._last_id = max(self._last_id, row.id)
            self._loaded = True

    def add(self, story_id: int, sig: Signature, title: str) -> None:
        """Index a story (normally done by :meth:`refresh` from the ``story`` table)."""
        with self._lock:
            if story_id in self._entries:
                return
            key = " ".join(words(title))
            distinct = title_words(title)
            self._entries[story_id] = _Entry(sig, title, key, distinct)
            if sig.size >= MIN_SHINGLES:
                self._lsh.insert(story_id, sig.minhash)
            if key:
                self._by_title.setdefault(key, []).append(story_id)
            for word in distinct:
                self._by_word.setdefault(word, []).append(story_id)

    def _title_candidates(self, title: str) -> set[int]:
        counts: dict[int, int] = {}
        for word in title_words(title):
            for story_id in self._by_word.get(word, ()):
                counts[story_id] = counts.get(story_id, 0) + 1
        return {story_id for story_id, n in counts.items() if n >= TITLE_CANDIDATE_WORDS}

    def find(self, sig: Signature, title: str, newer_than: int = 0) -> int | None:
        """The most similar known story that is the same story as this article, or None (``newer_than``: only
        among stories with a higher id)."""
        with self._lock:
            candidates: set[int] = set(self._by_title.get(" ".join(words(title)), []))
            candidates.update(self._title_candidates(title))
            if sig.size >= MIN_SHINGLES:
                candidates.update(self._lsh.query(sig.minhash))
            best: tuple[float, int] | None = None
            for story_id in candidates:
                if story_id <= newer_than:
                    continue
                entry = self._entries[story_id]
                similarity = compare(sig, entry.signature, title, entry.title)
                if similarity.same_story():
                    score = max(similarity.jaccard, similarity.containment) + similarity.title / 10
                    if best is None or (score, -story_id) > (best[0], -best[1]):
                        best = (score, story_id)
            return None if best is None else best[1]

    def lookup(self, session: Session, title: str, text: str, sig: Signature | None = None) -> Lookup:
        """Find the story of an article before its transaction writes anything (reads only): on SQLite the
        comparisons then run before the write lock is taken, not while other processes wait for it. Pass
        the result to :meth:`assign`, under the same :meth:`guard`."""
        with self._lock:
            if session.get_bind().dialect.name == "postgresql":  # held until the commit
                # Bounded: a peer stuck mid-transaction (cut off, paused) must not hold every store for hours.
                # One round trip; taking it again in the same transaction (the next article) is immediate.
                session.execute(sql(
                    "SELECT set_config('lock_timeout', '30s', true), "
                    "set_config('idle_in_transaction_session_timeout', '60s', true), pg_advisory_xact_lock(:key)"
                ), {"key": SHARED_LOCK})
            self.refresh(session)
            sig = sig if sig is not None else signature(text)
            return Lookup(sig, self.find(sig, title), max(self._entries, default=0))

    def assign(
        self, session: Session, title: str, text: str, sig: Signature | None = None, found: Lookup | None = None
    ) -> tuple[int, bool]:
        """The story of a new article (found, or created in ``session`` without committing) and whether it
        is new. Call under :meth:`guard`: the new story joins the index at once, and leaves it if the guarded
        block fails (without the guard it joins at the next :meth:`refresh`, once committed). ``found``: the
        article's :meth:`lookup`; only stories added since are compared again."""
        with self._lock:
            self.refresh(session)
            if found is not None:
                sig = found.signature
                story_id = found.story_id if found.story_id is not None else self.find(sig, title, found.newest)
            else:
                sig = sig if sig is not None else signature(text)
                story_id = self.find(sig, title)
            if story_id is not None:
                return story_id, False
            row = StoryRow(title=title, signature=sig.to_bytes(), shingles=sig.size, created_at=self._now())
            session.add(row)
            session.flush()
            assert row.id is not None
            if self._depth:  # later articles of this transaction find it; gone again if the guard fails
                self.add(row.id, sig, title)
                self._pending.append(row.id)
            return row.id, True
