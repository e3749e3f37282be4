"""SQLite with several writers, the long version (catalogue G46; tests/test_sqlite_writers.py runs 20 s).

Usage::

    .venv/bin/python benchmarks/sqlite_contention.py                   # 10 minutes
    .venv/bin/python benchmarks/sqlite_contention.py --minutes 1 --similar-titles

A crawler storing articles with their stories and alerts, an alert sender planning and marking outbox rows,
and a reader listing stories and marking them, three processes on one SQLite file; prints what each did,
the "database is locked" errors, the lost writes, the largest WAL file and the integrity check. With
``--similar-titles`` every headline shares most words, so that the story lookup compares each article with
every recent story (it runs before the crawler's transaction writes: with it inside, 30 s gave the reader
21 rounds and one "database is locked"; now about 1,200 rounds and none). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sqlite_contention import contend  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the three processes run")
    parser.add_argument("--similar-titles", action="store_true", help="headlines sharing most of their words")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newswatch-contention-") as folder:
        figures = contend(Path(folder) / "newswatch.db", args.minutes * 60, Path(folder), args.similar_titles)
    print("\n".join(figures.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
