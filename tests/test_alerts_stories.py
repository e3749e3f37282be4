"""Story grouping on real pages: copies of one story are one story, different stories on a topic are not.

Positives are built from the 181 real pages of ../shared/eval/extraction (extracted by the pipeline):
each page re-published as a URL variant, retitled, trimmed to its lead, as a wire copy (dateline, footer,
last paragraphs cut, "UPDATE 1-" headline) and as a light rewrite (every third paragraph dropped, every
tenth word deleted). Negatives are every other pair of distinct pages there and in the 249 real articles
of ../shared/eval/relevance-dev (many on the same topic: SoftBank, AI funding, "Women in AI" columns),
except the pairs listed in NATURAL_SAME (the same event reported by two outlets), which are measured
and reported separately.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.alerts import stories
from crawler.alerts.stories import StoryIndex, compare, signature, title_similarity
from tests.conftest import shared_path

# The same event from two outlets, judged by reading both (titles as extracted / as recorded).
NATURAL_SAME = [
    ("New York State Attorney General investigating WeWork", "New York State Attorney General reportedly"),
    ("New York man pleads guilty to threatening to kill Omar", "New York man pleads guilty to threatening to kill R"),
    ("Doobie Brothers to reunite with Michael McDonald", "The Doobie Brothers Unite With Michael McDonald"),
    ("A Man Developed 'Feather Duvet Lung'", "A Man Develops 'Feather-Duvet Lung'"),
    ("South Dakota governor doubles down", "South Dakota doubles down"),
    ("Video shows dramatic rescue of 8-year-old", "'We Got Her!': Video Shows Dramatic Rescue"),
    ("Chinese hunter catches bubonic plague", "Hunter in Beijing diagnosed with bubonic plague"),
    ("british chipmaker graphcore acquired by softbank", "SoftBank snaps up troubled British AI chip developer"),
    ("SoftBank’s Nvidia stake is reportedly worth", "softbanks ambitious investment strategy continues"),
    ("meta makes major ai move 143 billion", "meta invests 143b 49 stake scale ai"),
    ("openai softbank and oracle donald trump", "openai oracle form ai data firm stargate"),
    ("softbank announces ai focused second 108 billion", "softbank secures 108b for vision fund 2"),
]


@dataclass(frozen=True)
class Doc:
    """An article as the grouping sees it."""

    key: str
    title: str
    text: str


@cache
def extraction_docs() -> tuple[Doc, ...]:
    """The 181 real pages of the extraction benchmark, extracted by the pipeline."""
    from crawler.article import Skipped
    from crawler.extract import extract_page

    folder = shared_path("eval", "extraction")
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    docs = []
    for page_id, record in sorted(truth.items()):
        with gzip.open(folder / "html" / f"{page_id}.html.gz", "rt", encoding="utf-8", errors="replace") as fh:
            result = extract_page(fh.read(), record["url"])
        if not isinstance(result, Skipped):
            docs.append(Doc(page_id, result.title, result.text))
    return tuple(docs)


@cache
def relevance_docs() -> tuple[Doc, ...]:
    """The 249 real articles of the relevance development set (title and text as recorded)."""
    path = shared_path("eval", "relevance-dev", "articles.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return tuple(Doc(row["id"], row["title"], row["text"]) for row in rows)


def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n") if p.strip()]


def variants(doc: Doc, other_title: str, rng: random.Random) -> Iterator[tuple[str, Doc]]:
    """Copies of ``doc`` that are the same story: (kind, copy)."""
    paras = _paragraphs(doc.text)
    yield "url-variant", Doc(doc.key + "?utm_source=x", doc.title, doc.text)
    yield "retitled", Doc(doc.key + "#retitled", other_title, doc.text)
    lead: list[str] = []
    for para in paras:
        lead.append(para)
        if sum(len(p) for p in lead) >= 0.4 * len(doc.text):
            break
    yield "trimmed", Doc(doc.key + "#lead", doc.title, "\n".join(lead))
    kept = paras[: max(1, (len(paras) * 3) // 4)]
    wire = [f"TOKYO (Newswire) - {kept[0]}", *kept[1:], "(Reporting by A. Writer; Editing by B. Editor)"]
    yield "wire-copy", Doc(doc.key + "#wire", f"UPDATE 1-{doc.title}", "\n".join(wire))
    rewritten = []
    for index, para in enumerate(paras):
        if index % 3 == 2 and len(paras) > 2:
            continue
        tokens = para.split()
        rewritten.append(" ".join(t for n, t in enumerate(tokens) if n % 10 != 9 or rng.random() < 0.2))
    yield "light-rewrite", Doc(doc.key + "#rewrite", doc.title, "\n".join(rewritten))


def _natural(a: Doc, b: Doc) -> bool:
    for left, right in NATURAL_SAME:
        if (a.title.startswith(left) and b.title.startswith(right)) or (
            a.title.startswith(right) and b.title.startswith(left)
        ):
            return True
    return False


@dataclass
class Figures:
    """Measured errors of the grouping."""

    copies: int = 0
    missed_copies: int = 0
    wrong_story: int = 0
    missed_by_kind: dict[str, int] | None = None
    negative_pairs: int = 0
    false_merges: int = 0
    false_merge_titles: list[tuple[str, str]] | None = None
    natural_pairs: int = 0
    natural_found: int = 0


def measure() -> Figures:
    """Group copies against an index of the originals; group every corpus incrementally, page by page."""
    figures = Figures(missed_by_kind={}, false_merge_titles=[])
    assert figures.missed_by_kind is not None and figures.false_merge_titles is not None
    rng = random.Random(4)
    for corpus in (extraction_docs(), relevance_docs()):
        sigs = [signature(doc.text) for doc in corpus]
        # Different stories: each page, in order, must not join the story of any earlier page.
        index = StoryIndex()
        for number, (doc, sig) in enumerate(zip(corpus, sigs, strict=True)):
            found = index.find(sig, doc.title)
            if found is not None:
                other = corpus[found]
                if _natural(doc, other):
                    figures.natural_found += 1
                else:
                    figures.false_merges += 1
                    figures.false_merge_titles.append((doc.title, other.title))
            index.add(number, sig, doc.title)
        for i, a in enumerate(corpus):
            for b in corpus[i + 1 :]:
                if _natural(a, b):
                    figures.natural_pairs += 1
                else:
                    figures.negative_pairs += 1
        # Copies: each copy must join its original's story, and no other.
        for number, doc in enumerate(corpus):
            other_title = corpus[(number + 7) % len(corpus)].title
            for kind, copy in variants(doc, other_title, rng):
                figures.copies += 1
                found = index.find(signature(copy.text), copy.title)
                if found is None:
                    figures.missed_copies += 1
                    figures.missed_by_kind[kind] = figures.missed_by_kind.get(kind, 0) + 1
                elif found != number:
                    figures.wrong_story += 1
    return figures


@cache
def figures() -> Figures:
    return measure()


@pytest.mark.slow
def test_copies_of_a_story_join_it() -> None:
    result = figures()
    print(
        f"\ncopies: {result.copies}, missed: {result.missed_copies} {result.missed_by_kind}, "
        f"joined a wrong story: {result.wrong_story}"
    )
    assert result.copies >= 5 * 400
    assert result.wrong_story == 0
    assert result.missed_copies <= result.copies * 0.02


@pytest.mark.slow
def test_different_stories_on_a_topic_stay_apart() -> None:
    result = figures()
    print(
        f"\nnegative pairs: {result.negative_pairs}, false merges: {result.false_merges} "
        f"{result.false_merge_titles}; natural same-event pairs: {result.natural_found}/{result.natural_pairs}"
    )
    assert result.negative_pairs > 40_000
    assert result.false_merges == 0


def test_wire_copy_of_a_sample_story_is_the_same_story() -> None:
    text = " ".join(f"Sentence {n} about the SoftBank investment in robots and sensors." for n in range(60))
    copy = "TOKYO (Newswire) - " + text[: len(text) // 2]
    similarity = compare(signature(text), signature(copy), "SoftBank invests", "UPDATE 1-SoftBank invests")
    assert similarity.same_story()
    other = " ".join(f"Line {n}: a different report on chips, with its own words {n * 7}." for n in range(60))
    assert not compare(signature(text), signature(other), "SoftBank invests", "SoftBank invests again").same_story()


def test_title_similarity_is_symmetric_and_bounded() -> None:
    assert title_similarity("SoftBank buys Arm", "SoftBank buys Arm") == 1.0
    assert title_similarity("", "x") == 0.0
    a, b = "SoftBank pours $2bn into robots", "Robots get $2bn from SoftBank"
    assert title_similarity(a, b) == title_similarity(b, a)
    assert 0.0 <= title_similarity(a, b) <= 1.0


def test_signature_round_trips_through_bytes() -> None:
    sig = signature("one two three four five six seven eight nine ten eleven twelve")
    again = stories.Signature.from_bytes(sig.to_bytes(), sig.size)
    assert again.minhash.jaccard(sig.minhash) == 1.0
    assert again.size == sig.size


def test_index_assigns_stories_in_the_database_and_reloads_them(engine: Engine, tmp_path: Path) -> None:
    body = " ".join(f"Paragraph {n} of the story about a new robot fund worth {n} million dollars." for n in range(40))
    other = " ".join(f"Unrelated item {n}: the weather in Osaka was {n} degrees and dry." for n in range(40))
    index = StoryIndex()
    with Session(engine) as session, index.guard():
        first, new = index.assign(session, "Robot fund launched", body)
        session.commit()
        assert new
        second, new2 = index.assign(session, "Robot fund launched (update)", body[: len(body) // 2])
        assert (second, new2) == (first, False)
        third, new3 = index.assign(session, "Osaka weather", other)
        session.commit()
        assert new3 and third != first
    fresh = StoryIndex()  # a restarted process rebuilds the index from the story table
    with Session(engine) as session:
        fresh.refresh(session)
        assert len(fresh) == 2
        assert fresh.find(signature(body), "Robot fund launched") == first
