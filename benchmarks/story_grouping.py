"""Print how well story grouping does on real pages: copies joined, false merges, natural same-event pairs, speed.

Uses ../shared/eval (the 181 extraction pages and the 249 relevance-dev articles), the same cases as
tests/test_alerts_stories.py:

    .venv/bin/python benchmarks/story_grouping.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.alerts import stories  # noqa: E402
from tests.test_alerts_stories import extraction_docs, measure, relevance_docs  # noqa: E402


def main() -> None:
    docs = [*extraction_docs(), *relevance_docs()]
    started = time.perf_counter()
    for doc in docs:
        stories.signature(doc.text)
    per_doc = (time.perf_counter() - started) / len(docs) * 1000
    figures = measure()
    print(
        f"thresholds: same if Jaccard >= {stories.SAME_JACCARD} or containment >= {stories.SAME_CONTAINMENT}, "
        f"or title similarity >= {stories.SAME_TITLE} with containment >= {stories.TITLE_CONTAINMENT}"
    )
    print(
        f"copies (5 kinds of each page): {figures.copies}, missed {figures.missed_copies} {figures.missed_by_kind}, "
        f"joined a wrong story {figures.wrong_story}"
    )
    print(f"different-story pairs: {figures.negative_pairs}, false merges {figures.false_merges}")
    print(
        f"same event from two outlets (independent rewrites): {figures.natural_found} of {figures.natural_pairs}"
        " pairs grouped"
    )
    print(f"signature: {per_doc:.2f} ms per article")


if __name__ == "__main__":
    main()
