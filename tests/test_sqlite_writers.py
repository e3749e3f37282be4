"""SQLite with several writers (catalogue G46): a crawler, an alert sender and a reader marking stories, three
processes on one database file for 20 seconds: no "database is locked", no lost write, a bounded WAL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sqlite_contention import contend

SECONDS = 20
WAL_BOUND = 64 * 2**20  # checkpoints keep it near 4 MB (1000 pages); far more means they are starved


@pytest.mark.timeout(SECONDS + 180)
def test_a_crawler_a_sender_and_a_reader_share_one_sqlite_file(tmp_path: Path) -> None:
    # Headlines sharing most words: each new article is compared with every recent story (the lookup runs
    # before the crawler's transaction writes, so the others are not kept waiting meanwhile).
    figures = contend(tmp_path / "newswatch.db", SECONDS, tmp_path, similar_titles=True)
    print("\n" + "\n".join(figures.lines()))
    assert figures.exit_codes == {"crawler": 0, "sender": 0, "reader": 0}
    crawler, sender, reader = (figures.reports[role] for role in ("crawler", "sender", "reader"))
    # Each did real work meanwhile.
    assert len(crawler["stored"]) > 100 and sender["sent"] > 0 and len(reader["verdicts"]) > 5
    assert figures.locked == 0 and figures.errors == 0
    lost = (figures.lost_articles, figures.unreported_articles, figures.lost_sends, figures.lost_verdicts)
    assert lost == (0, 0, 0, 0)
    assert figures.articles == len(crawler["stored"])
    assert 0 < figures.wal_max_bytes < WAL_BOUND
    assert figures.integrity == "ok"
