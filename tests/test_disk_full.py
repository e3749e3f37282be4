"""A full disk during a crawl (SQLite can no longer grow): clear errors, no traceback, no half-written
article, an intact database, and the next crawl stores what the full disk kept out."""

from __future__ import annotations

import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.local_site import LocalSite, Response
from tests.test_crawl import PARAGRAPH, REPO, RULES, article_html, rss


def test_a_full_disk_loses_nothing_and_the_next_crawl_catches_up(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(RULES)
    database = tmp_path / "data" / "newswatch.db"
    env = {
        **os.environ,
        "NEWSWATCH_CONFIG": str(tmp_path / "config"),
        "NEWSWATCH_DATA_DIR": str(tmp_path / "data"),
        "NEWSWATCH_DATABASE_URL": f"sqlite:///{database}",
    }

    def newswatch(*args: str, limit: int | None = None) -> subprocess.CompletedProcess[str]:
        def cap() -> None:  # no file may grow past ``limit`` bytes: the disk is full for this process
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return subprocess.run([sys.executable, "-m", "crawler", *args], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=300, preexec_fn=cap)

    with LocalSite() as site:
        paths = [f"/news/{n}/" for n in range(40)]
        for number, path in enumerate(paths):
            site.routes[path] = Response(article_html(f"SoftBank invests in robot maker {number}", PARAGRAPH * 30))
        site.routes["/feed.xml"] = Response(rss(site.base_url, paths), "application/rss+xml")
        (tmp_path / "config" / "sites.toml").write_text(
            f'[[site]]\nid = "news"\nfeeds = ["{site.base_url}/feed.xml"]\ndelay = 0\nallow_private_network = true\n'
        )
        assert newswatch("db", "upgrade").returncode == 0
        full = newswatch("crawl", limit=database.stat().st_size + 200_000)
        assert full.returncode == 0, full.stderr
        assert "Traceback" not in full.stderr, full.stderr[-3000:]
        assert "disk I/O error" in full.stderr or "database or disk is full" in full.stderr
        with sqlite3.connect(database) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            stored = db.execute("SELECT count(*) FROM article").fetchone()[0]
            # Every stored article is whole: its page record and its matches went in with it.
            assert db.execute(
                "SELECT count(*) FROM article a WHERE NOT EXISTS (SELECT 1 FROM match m WHERE m.article_id = a.id)"
                " OR NOT EXISTS (SELECT 1 FROM page p WHERE p.canonical_url = a.canonical_url)"
            ).fetchone() == (0,)
        assert stored < 40
        again = newswatch("crawl")
        assert again.returncode == 0, again.stderr
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM article").fetchone() == (40,)
