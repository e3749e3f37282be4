"""`newswatch rules list` and `rules test`: dry runs on files and backtests on stored articles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from crawler.article import Article, Match
from crawler.cli import app, snippet_text
from crawler.store import open_database, save_article

runner = CliRunner()

RULES = """
[aliases]
sb = ['softbank', '"vision fund"']

[[rule]]
id = "sb"
query = '@sb NEAR/5 invest*'
mode = "instant"
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sites.toml").write_text('[[site]]\nid = "x"\nname = "X News"\nfeeds = ["https://x.example/feed"]\n')
    (config / "rules.toml").write_text(RULES)
    monkeypatch.setenv("NEWSWATCH_CONFIG", str(config))
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    return tmp_path


def test_rules_test_on_files_shows_terms_snippet_and_amounts(env: Path) -> None:
    hit = env / "hit.txt"
    hit.write_text("Deal\nThe Vision Fund will invest $40m in <b>Robo</b> Ltd, it said.\n")
    miss = env / "miss.json"
    miss.write_text(json.dumps({"title": "Earnings", "text": "SoftBank reported a profit. Analysts invest time."}))
    result = runner.invoke(
        app, ["rules", "test", "@sb NEAR/3 invest* AND MONEY", "--file", str(hit), "--file", str(miss), "-f", "jsonl"]
    )
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.splitlines() if line.startswith("{"))
    assert first["matched"] is True and first["path"] == str(hit)
    assert set(first["terms"]) >= {'"vision fund"', "invest*", "MONEY"}
    assert "<mark>" in first["snippet"] and "&lt;b&gt;Robo&lt;/b&gt;" in first["snippet"]
    assert first["amounts"][0]["currency"] == "USD" and first["amounts"][0]["value"] == 40_000_000
    assert second["matched"] is False and second["terms"] == []
    text = runner.invoke(app, ["rules", "test", "@sb NEAR/3 invest*", "--file", str(hit)])
    assert "MATCH" in text.output and "1 of 1 would be flagged" in text.output


def test_rules_test_rejects_bad_queries_and_arguments(env: Path) -> None:
    bad = runner.invoke(app, ["rules", "test", "softbank AND (", "--stored"])
    assert bad.exit_code == 2
    assert "bad query" in bad.output and "column" in bad.output and "Traceback" not in bad.output
    neither = runner.invoke(app, ["rules", "test", "softbank"])
    assert neither.exit_code == 2 and "--file" in neither.output


def test_backtest_on_stored_articles_and_rule_counts(env: Path) -> None:
    engine = open_database(f"sqlite:///{env / 'db.sqlite'}")
    with Session(engine) as session:
        for n, body in enumerate(["SoftBank will invest in chips.", "A phone review with nothing to see."]):
            article = Article(f"https://x.example/{n}", f"https://x.example/{n}", f"Story {n}", body)
            save_article(session, "x", article, [Match("sb", ["softbank"])] if n == 0 else [])
    engine.dispose()
    result = runner.invoke(app, ["rules", "test", "site:x AND softbank", "--stored", "--since", "1d", "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [(r["path"], r["matched"]) for r in records] == [("https://x.example/0", True)]
    result = runner.invoke(app, ["rules", "test", "softbank", "--stored", "--all", "-f", "jsonl"])
    records = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [(r["path"], r["matched"]) for r in records] == [
        ("https://x.example/0", True),
        ("https://x.example/1", False),
    ]
    listing = runner.invoke(app, ["rules", "list"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0, listing.output
    row = next(line for line in listing.output.splitlines() if " sb " in line)
    assert "instant" in row and row.split("│")[5].strip() == "1"
    records = json.loads(runner.invoke(app, ["rules", "list", "--format", "json"]).stdout)
    assert records == [
        {"id": "sb", "name": "sb", "mode": "instant", "recipients": [], "webhooks": 0, "flagged_7d": 1,
         "flagged_30d": 1, "query": "@sb NEAR/5 invest*"}
    ]


def test_backtest_lists_matches_first_newest_first(env: Path) -> None:
    engine = open_database(f"sqlite:///{env / 'db.sqlite'}")
    bodies = ["SoftBank will invest in chips.", "A phone review.", "SoftBank invests in robots.", "Weather news."]
    with Session(engine) as session:
        for n, body in enumerate(bodies):
            url = f"https://x.example/{n}"
            save_article(session, "x", Article(url, url, f"Story {n}", body), [])
    engine.dispose()
    result = runner.invoke(app, ["rules", "test", "softbank", "--stored"])
    assert result.exit_code == 0, result.output
    verdicts = [line.split("  ")[0:2] for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert verdicts == [["MATCH", "Story 2"], ["MATCH", "Story 0"]]
    assert "2 of 4 would be flagged; 2 that do not match are not listed (--all lists them)" in result.stderr
    everything = runner.invoke(app, ["rules", "test", "softbank", "--stored", "--all"])
    verdicts = [line.split("  ")[0:2] for line in everything.stdout.splitlines() if not line.startswith(" ")]
    assert verdicts == [["MATCH", "Story 2"], ["MATCH", "Story 0"], ["no match", "Story 3"], ["no match", "Story 1"]]
    assert "2 of 4 would be flagged" in everything.stderr and "not listed" not in everything.stderr


def test_rules_list_keeps_ids_whole_at_80_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWATCH_CONFIG", str(Path(__file__).resolve().parents[1] / "config"))
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    listing = runner.invoke(app, ["rules", "list"], env={"COLUMNS": "80"})
    assert listing.exit_code == 0, listing.output
    lines = listing.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for rule_id in ("softbank-investment", "ai-iot-investment"):
        assert any(line.split()[:1] == [rule_id] for line in lines if line.strip()), listing.stdout
    assert "SoftBank" in listing.stdout and "investments" in listing.stdout  # the name, wrapped


def test_snippet_text_highlights_marks_and_unescapes() -> None:
    rendered = snippet_text("a &lt;b&gt; <mark>SoftBank</mark> c\x1b[31m")
    assert rendered.plain == "a <b> SoftBank c [31m"
    assert any(span.style == "bold reverse" for span in rendered.spans)
