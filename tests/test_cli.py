"""The command line: every command has help, inputs are read as documented, errors are clear."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crawler.cli import app
from tests.conftest import shared_path

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()

COMMANDS = [
    [],
    ["crawl"],
    ["demo"],
    ["extract"],
    ["match"],
    ["review"],
    ["review", "list"],
    ["db"],
    ["db", "upgrade"],
    ["config"],
    ["config", "check"],
]

ARTICLE_HTML = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>SoftBank plans investment in robotics venture</title>
<meta property="article:published_time" content="2026-11-18T08:00:00Z"></head>
<body><nav><a href="/">Home</a></nav><article><h1>SoftBank plans investment in robotics venture</h1>
{paragraphs}</article><footer>Copyright</footer></body></html>"""
PARAGRAPHS = "".join(
    f"<p>Paragraph {i}: SoftBank said it would invest in a robotics venture with a partner, adding engineers "
    f"and factories over the next few years as demand from warehouses and hospitals keeps growing.</p>"
    for i in range(6)
)


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "root")
def test_every_command_has_help(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_extract_saved_pages_in_every_format(tmp_path: Path) -> None:
    page = tmp_path / "story.html.gz"
    page.write_bytes(gzip.compress(ARTICLE_HTML.format(paragraphs=PARAGRAPHS).encode()))
    text = runner.invoke(app, ["extract", str(page)])
    assert text.exit_code == 0, text.output
    assert "SoftBank plans investment in robotics venture" in text.output
    assert "Paragraph 5" in text.output
    jsonl = runner.invoke(app, ["extract", "--format", "jsonl", str(page)])
    record = json.loads(jsonl.output.splitlines()[0])
    assert record["title"] == "SoftBank plans investment in robotics venture"
    assert record["published"].startswith("2026-11-18")
    assert "Home" not in record["text"] and "Copyright" not in record["text"]
    as_json = runner.invoke(app, ["extract", "--format", "json", str(page)])
    assert json.loads(as_json.output)[0]["source"] == str(page)


def test_extract_reports_missing_and_non_article_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body><p>Hi</p></body></html>")
    result = runner.invoke(app, ["extract", str(tmp_path / "missing.html"), str(empty)])
    assert result.exit_code == 1
    assert "missing.html: cannot read" in result.output
    assert "empty.html: no article" in result.output
    assert "Traceback" not in result.output


def test_extract_real_benchmark_page() -> None:
    pages = sorted(shared_path("eval", "extraction", "html").glob("*.html.gz"))
    result = runner.invoke(app, ["extract", "--format", "jsonl", str(pages[0])])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output.splitlines()[0])["text"]) > 200


def _config(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "sites.toml").write_text('[[site]]\nid = "x"\nfeeds = ["https://x.example/feed"]\n')
    (folder / "rules.toml").write_text(
        "[[rule]]\nid = \"softbank-robots\"\nquery = 'softbank AND robot*'\n"
        '[[rule]]\nid = "ai-funding"\nquery = \'"artificial intelligence" AND fund*\'\n'
    )
    return folder


def test_match_reads_html_json_and_txt(tmp_path: Path) -> None:
    config = _config(tmp_path)
    html = tmp_path / "a.html"
    html.write_text(ARTICLE_HTML.format(paragraphs=PARAGRAPHS))
    doc = tmp_path / "b.json"
    doc.write_text(json.dumps({"title": "Start-up funding", "text": "Artificial intelligence firm gets funding."}))
    txt = tmp_path / "c.txt"
    txt.write_text("A phone review\nThe camera is fine and the battery lasts.\n")
    result = runner.invoke(app, ["match", "--config", str(config), "--format", "jsonl", str(html), str(doc), str(txt)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["path"] for r in records] == [str(html), str(doc), str(txt)]
    assert [[m["rule"] for m in r["matches"]] for r in records] == [["softbank-robots"], ["ai-funding"], []]
    assert records[0]["title"] == "SoftBank plans investment in robotics venture"
    assert records[0]["matches"][0]["terms"]
    text = runner.invoke(app, ["match", "--config", str(config), str(txt)])
    assert "no match" in text.output


def test_match_the_two_example_articles_with_shipped_rules() -> None:
    examples = sorted(shared_path("examples").glob("*.txt"))
    assert len(examples) == 2
    result = runner.invoke(app, ["match", "--config", str(REPO / "config"), "--format", "jsonl", *map(str, examples)])
    assert result.exit_code == 0, result.output
    for line in result.output.splitlines():
        rules = {m["rule"] for m in json.loads(line)["matches"]}
        assert rules == {"softbank-investment", "ai-iot-investment"}


def test_match_bad_inputs(tmp_path: Path) -> None:
    config = _config(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    odd = tmp_path / "x.pdf"
    odd.write_bytes(b"%PDF")
    result = runner.invoke(app, ["match", "--config", str(config), str(bad), str(odd)])
    assert result.exit_code == 1
    assert 'bad.json: expected a JSON object with "title" and "text"' in result.output
    assert "x.pdf: unsupported file type" in result.output


def test_bad_database_url_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", "nosuchdb://x")
    result = runner.invoke(app, ["db", "upgrade", "--config", str(_config(tmp_path))])
    assert result.exit_code == 1
    assert "cannot use database URL nosuchdb://x" in result.output
    assert "Traceback" not in result.output


def test_review_list_on_empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    result = runner.invoke(app, ["review", "list", "--format", "json", "--since", "7d"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
    bad = runner.invoke(app, ["review", "list", "--since", "someday"])
    assert bad.exit_code == 2 and "--since" in bad.output


def test_extract_a_url_from_a_local_server() -> None:
    from tests.local_site import LocalSite, Response

    with LocalSite() as site:
        site.routes["/story/"] = Response(ARTICLE_HTML.format(paragraphs=PARAGRAPHS).encode())
        refused = runner.invoke(app, ["extract", site.url("/story/")])
        result = runner.invoke(
            app, ["extract", "--allow-private", "--format", "jsonl", site.url("/story/"), site.url("/missing/")]
        )
        hits = site.hits["/story/"]
    # Without --allow-private a loopback URL is refused before any request, with a clear message.
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "127.0.0.1 is not a public address (--allow-private to fetch it anyway)" in refused.output
    assert hits == 1
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("{")]
    record = json.loads(lines[0])
    assert record["url"] == site.url("/story/")
    assert record["title"] == "SoftBank plans investment in robotics venture"
    assert f"{site.url('/missing/')}: HTTP 404" in result.output


def test_db_upgrade_never_prints_the_database_password(pg_url: str, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    with_password = pg_url.replace("postgres@", "postgres:s3cret-pw@")  # trust auth ignores it
    env = {**os.environ, "NEWSWATCH_DATABASE_URL": with_password, "NEWSWATCH_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert "postgres:***@" in result.stdout


def test_a_bad_setting_is_named_without_a_traceback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update(NEWSWATCH_DISTRIBUTED="maybe", NEWSWATCH_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "crawler", "status"], env=env, capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bad setting: NEWSWATCH_DISTRIBUTED='maybe'" in result.stderr
