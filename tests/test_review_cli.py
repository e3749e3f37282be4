"""`newswatch review list|show|mark|export` on a real SQLite database: filters, formats, clean terminal output,
one-line errors; and the same commands on the database `newswatch demo` leaves behind."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from crawler.cli import app
from crawler.store import open_database
from tests.alerts_data import NOW, recorder
from tests.local_site import free_port
from tests.test_demo_run import run_demo
from tests.test_review_stories import CHIPS, ROBOTS, add
from tests.test_web_injection import PAYLOADS, table_counts

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
HOSTILE_TITLE = "\x1b[31mRed\x1b[0m [bold]Kobo[/] raises :thumbs_up: \u202eevil"
BODY = "Kobo Robotics raised five million dollars from a fund to build warehouse robots in Osaka. " * 3


@dataclass
class Stored:
    kobo: int  # robots + chips, news-a, hostile title, found today
    copy: int  # the same story on news-b, robots, 1 day ago
    formula: int  # robots, news-a, title "=...", 2 days ago
    nano: int  # chips, news-b, 5 days ago


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stored]:
    for key in list(os.environ):
        if key.startswith("NEWSWATCH_"):
            monkeypatch.delenv(key)
    url = f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", url)
    monkeypatch.setenv("NEWSWATCH_CONFIG", str(tmp_path / "no-config"))  # review needs no configuration
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    engine = open_database(url)
    rec = recorder()
    yield Stored(
        kobo=add(engine, "kobo", HOSTILE_TITLE, BODY, (ROBOTS, CHIPS), rec=rec, published=NOW - timedelta(hours=2)),
        copy=add(
            engine,
            "kobo-copy",
            "UPDATE 1-Kobo gets $5m",
            "OSAKA (Wire) - " + BODY,
            site="news-b",
            found=NOW - timedelta(days=1),
            rec=rec,
        ),
        formula=add(engine, "formula", '=HYPERLINK("x") robots', "Robots.", found=NOW - timedelta(days=2)),
        nano=add(engine, "nano", "Nano chip plant", "A chip plant.", (CHIPS,), site="news-b", found=NOW - timedelta(5)),
    )
    engine.dispose()


def ok(*args: str) -> Result:
    result = runner.invoke(app, ["review", *args])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def result_text(*args: str) -> str:
    return ok(*args).stdout


def listed(*args: str) -> list[int]:
    return [r["id"] for r in json.loads(ok("list", "--format", "json", *args).stdout)]


def error(code: int, *args: str) -> str:
    result = runner.invoke(app, ["review", *args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.output


def test_help_of_every_review_command() -> None:
    for command, options in [
        ("list", ["--rule", "--site", "--status", "--since", "--from", "--until", "--search", "--sort", "--page"]),
        ("show", ["--format"]),
        ("mark", ["--note"]),
        ("export", ["--status", "--from", "--until", "--search", "--format", "--output"]),
    ]:
        result = runner.invoke(app, ["review", command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        for option in options:
            assert option in result.output, (command, option)


def test_list_filters_sort_and_pages(stored: Stored) -> None:
    s = stored
    assert listed() == [s.kobo, s.copy, s.formula, s.nano]  # newest first
    assert listed("--rule", CHIPS) == [s.kobo, s.nano]
    assert listed("--site", "news-b") == [s.copy, s.nano]
    assert listed("--status", "new", "--sort", "oldest") == [s.nano, s.formula, s.copy, s.kobo]
    assert listed("--search", "osaka warehouse") == [s.kobo, s.copy]
    assert listed("-q", '"chip plant"') == [s.nano]
    assert listed("-q", "\" OR * NEAR( ' ; --") == []
    assert listed("-q", "%") == []
    days = [(NOW - timedelta(days=n)).date().isoformat() for n in (0, 1, 2, 5)]
    assert listed("--from", days[2], "--until", days[0]) == [s.kobo, s.copy, s.formula]
    assert listed("--from", days[2], "--until", days[1]) == [s.copy, s.formula]  # --until is included
    assert listed("--from", f"{days[1]}T00:00:00+00:00") == [s.kobo, s.copy]
    assert listed("--sort", "title", "--limit", "1", "--page", "2") == [s.formula]
    assert listed("--limit", "0") == listed()
    record = json.loads(ok("list", "--format", "json", "--rule", CHIPS, "--site", "news-a").stdout)[0]
    assert record["rules"] == [ROBOTS, CHIPS] and record["status"] == "new"
    assert record["title"] == HOSTILE_TITLE  # exact: controls travel as JSON escapes
    assert "\x1b" not in result_text("list", "--format", "json") and "\u202e" not in result_text("list", "-f", "json")


def test_list_since_a_period(stored: Stored) -> None:
    assert listed("--since", "7d") == []  # everything was found around NOW, long before the real clock's week
    assert len(listed("--since", "100000d")) == 4


def test_list_table_prints_untrusted_text_cleaned_and_literally(stored: Stored) -> None:
    result = ok("list")
    out = result.stdout
    assert "4 flagged" in out
    assert "\x1b" not in out and "\u202e" not in out
    assert "[bold]Kobo[/]" in out and ":thumbs_up:" in out  # neither markup nor emoji codes are interpreted
    assert "news-b" in out and "not relevant" not in out
    assert "2 flagged (page 1 of 2)" in ok("list", "--limit", "1", "--rule", CHIPS).stdout


def test_list_csv_neutralises_formulas(stored: Stored) -> None:
    rows = list(csv.DictReader(io.StringIO(ok("list", "--format", "csv").stdout)))
    assert [int(r["id"]) for r in rows] == listed()
    formula = next(r for r in rows if r["id"] == str(stored.formula))
    assert formula["title"] == '\'=HYPERLINK("x") robots'
    assert "\x1b" not in rows[0]["title"] and rows[0]["review_url"] == ""


def test_show_prints_the_story_page(stored: Stored) -> None:
    out = ok("show", str(stored.kobo)).stdout
    assert "\x1b" not in out and "\u202e" not in out
    assert "[bold]Kobo[/] raises :thumbs_up:" in out
    for expected in (
        "site: news-a",
        "url: https://news-a.example/kobo",
        "author: Ann Lee",
        "language: en",
        "status: new",
        f"rule {ROBOTS}  terms: robot*",
        f"rule {CHIPS}",
        "amounts: $5m (USD 5,000,000)",
        "kobo: the robot & co",  # the snippet's HTML made text
        "other outlets (1)",
        f"#{stored.copy} news-b: UPDATE 1-Kobo gets $5m  [flagged]",
        "alerts (2)",
        f"{ROBOTS} (instant)  no message yet",
        "Kobo Robotics raised five million dollars",
    ):
        assert expected in out, expected
    assert "<mark>" not in out and "&amp;" not in out


def test_show_as_json(stored: Stored) -> None:
    record = json.loads(ok("show", str(stored.copy), "--format", "json").stdout)
    assert (record["id"], record["site"], record["status"], record["title"]) == (
        stored.copy,
        "news-b",
        "new",
        "UPDATE 1-Kobo gets $5m",
    )
    assert [m["rule"] for m in record["matches"]] == [ROBOTS]
    assert record["matches"][0]["amounts"][0]["currency"] == "USD"
    assert [(o["id"], o["flagged"]) for o in record["outlets"]] == [(stored.kobo, True)]
    assert sorted(a["rule"] for a in record["alerts"]) == [ROBOTS, CHIPS]
    assert record["text"].startswith("OSAKA (Wire)") and record["review_url"] is None


def test_mark_prints_the_new_state_and_the_list_follows(stored: Stored) -> None:
    assert ok("mark", str(stored.kobo), "relevant", "--note", "big one").stdout.strip() == (
        f"article {stored.kobo}: relevant"
    )
    assert ok("mark", str(stored.nano), "not-relevant").stdout.strip() == f"article {stored.nano}: not relevant"
    assert ok("mark", str(stored.copy), "reviewed").stdout.strip() == f"article {stored.copy}: reviewed"
    assert listed("--status", "relevant") == [stored.kobo]
    assert listed("--status", "irrelevant") == [stored.nano]
    assert listed("--status", "reviewed") == [stored.copy]
    assert listed("--status", "new") == [stored.formula]
    page = ok("show", str(stored.kobo)).stdout
    assert "status: relevant (by cli," in page and "note: big one" in page
    assert ok("mark", str(stored.kobo), "new").stdout.strip() == f"article {stored.kobo}: new"
    assert listed("--status", "new") == [stored.kobo, stored.formula]


def test_unknown_ids_and_states_are_one_line_errors(stored: Stored) -> None:
    assert error(1, "show", "999999").strip() == "error: no article with id 999999"
    assert error(1, "show", str(10**30)).strip() == f"error: no article with id {10**30}"
    assert error(1, "mark", "999999", "relevant").strip() == "error: no article with id 999999"
    message = error(2, "mark", str(stored.kobo), "maybe").strip()
    assert message.startswith("error: unknown state 'maybe'") and "\n" not in message
    assert "note" in error(1, "mark", str(stored.kobo), "relevant", "--note", "x" * 5000)
    assert listed("--status", "new") == listed()  # nothing was marked


def test_bad_filters_exit_2(stored: Stored) -> None:
    assert "--since" in error(2, "list", "--since", "someday")
    assert "not both" in error(2, "list", "--since", "7d", "--from", "2026-01-01")
    assert "--from: not a date" in error(2, "list", "--from", "2026-13-01")
    assert "--until: not a date" in error(2, "export", "--until", "tomorrow")
    assert "unknown sort 'id; DROP TABLE article'" in error(2, "list", "--sort", "id; DROP TABLE article")
    assert "maybe" in error(2, "list", "--status", "maybe")
    assert "site" in error(2, "list", "--site", "a\x00b")


def test_export_csv_to_stdout_with_review_links(stored: Stored, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWATCH_BASE_URL", "https://news.example/watch/")
    text = ok("export", "--rule", ROBOTS).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["id"]) for r in rows] == [stored.kobo, stored.copy, stored.formula]
    assert rows[0]["review_url"] == f"https://news.example/watch/stories/{stored.kobo}"
    assert rows[2]["title"].startswith("'=")
    assert "\x1b" not in text and "\u202e" not in text


def test_export_json_to_a_file(stored: Stored, tmp_path: Path) -> None:
    target = tmp_path / "out" / "stories.json"
    target.parent.mkdir()
    result = ok("export", "--format", "json", "--site", "news-b", "--output", str(target))
    assert f"2 articles written to {target}" in result.output
    records = json.loads(target.read_text(encoding="utf-8"))
    assert [r["id"] for r in records] == [stored.copy, stored.nano]
    assert records[0]["rules"] == [ROBOTS] and records[1]["status"] == "new"
    csv_target = tmp_path / "out" / "stories.csv"
    ok("export", "-o", str(csv_target), "-q", "kobo")
    assert [r["id"] for r in csv.DictReader(csv_target.open(encoding="utf-8", newline=""))] == [
        str(stored.kobo),
        str(stored.copy),
    ]
    assert "cannot write" in error(1, "export", "--output", str(tmp_path / "missing" / "x.csv"))


def test_review_commands_on_the_demo_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.demo import load_articles
    from crawler.demo_run import DEMO_NOW

    shutil.copytree(REPO / "config", tmp_path / "config")
    demo = run_demo(tmp_path, free_port())
    assert demo.returncode == 0, demo.stderr
    for key in list(os.environ):
        if key.startswith("NEWSWATCH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}")
    monkeypatch.setenv("COLUMNS", "250")

    articles = load_articles(now=DEMO_NOW)
    softbank = {a.title for a in articles if a.softbank_investment}
    flagged = {a.title for a in articles if a.softbank_investment or a.ai_iot_investment}
    records = json.loads(ok("list", "--rule", "softbank-investment", "--format", "json", "--limit", "0").stdout)
    assert {r["title"] for r in records} == softbank
    everything = json.loads(ok("list", "--format", "json", "--limit", "0").stdout)
    assert {r["title"] for r in everything} == flagged
    assert {r["title"] for r in json.loads(ok("list", "-q", "softbank", "--format", "json").stdout)} >= softbank

    first = records[0]
    page = ok("show", str(first["id"])).stdout
    assert first["title"] in page and "rule softbank-investment" in page and "alerts (" in page
    assert ok("mark", str(first["id"]), "relevant").stdout.strip() == f"article {first['id']}: relevant"
    exported = list(csv.DictReader(io.StringIO(ok("export", "--status", "relevant").stdout)))
    assert [(r["id"], r["status"]) for r in exported] == [(str(first["id"]), "relevant")]


def test_sql_payloads_on_every_list_option_change_nothing(stored: Stored, tmp_path: Path) -> None:
    """The injection corpus through each `review list` option: a result or a clear error, never a traceback,
    and every table keeps its row count."""
    engine = open_database(os.environ["NEWSWATCH_DATABASE_URL"])
    before = table_counts(engine)
    for payload in PAYLOADS:
        for option in ("--rule", "--site", "--status", "--since", "--from", "--until", "--search", "--sort"):
            for fmt in ("table", "csv"):
                result = runner.invoke(app, ["review", "list", option, payload, "--format", fmt])
                assert result.exit_code in (0, 1, 2), (option, payload, result.output[-300:])
                assert "Traceback" not in result.output, (option, payload, result.output[-300:])
                assert result.exception is None or isinstance(result.exception, SystemExit), (option, payload)
    assert table_counts(engine) == before
    engine.dispose()


def test_an_unknown_rule_or_site_exits_2_naming_the_configured_ones(stored: Stored, monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    message = error(2, "list", "--rule", "NOPE")
    assert "error: --rule: no rule 'NOPE' (the configuration in " in message  # the fixture's folder is absent
    assert "cannot be read: see `newswatch config check`)" in message
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.setenv("NEWSWATCH_CONFIG", str(tmp_path / "config"))
    message = error(2, "list", "--rule", "NOPE")
    assert "no rule 'NOPE' (configured: softbank-investment, ai-iot-investment)" in message
    assert "no site 'nope' (configured: rcrwireless" in error(2, "export", "--site", "nope")
    assert listed("--rule", CHIPS) == [stored.kobo, stored.nano]  # removed from the configuration, still stored
    assert listed("--rule", "softbank-investment") == []  # configured, nothing flagged yet
    assert listed("--site", "news-b") == [stored.copy, stored.nano]
