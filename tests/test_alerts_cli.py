"""`newswatch alerts ...`, `newswatch digest ...`, and the demo's email: outbox files, a rerun sends nothing."""

from __future__ import annotations

import email
import json
import os
import shutil
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crawler.alerts.recorder import AlertSetup
from crawler.cli import app
from crawler.store import open_database
from tests.alerts_data import recorder, store
from tests.local_site import free_port
from tests.test_demo_run import run_demo

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
SITES = """
[[site]]
id = "news-a"
feeds = ["https://a.example/feed"]
"""
RULES = """
[[rule]]
id = "fast-rule"
query = "robot OR fund"
mode = "instant"

[[rule]]
id = "slow-rule"
query = "robot OR fund"
mode = "digest"
recipients = ["carol@example.com"]
"""


def _read(path: Path) -> EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "sites.toml").write_text(SITES, encoding="utf-8")
    (tmp_path / "config" / "rules.toml").write_text(RULES, encoding="utf-8")
    for key in list(os.environ):
        if key.startswith("NEWSWATCH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("NEWSWATCH_CONFIG", str(tmp_path / "config"))
    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSWATCH_MAIL_TO", "dave@example.com")
    engine = open_database(f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}")
    setup = AlertSetup(modes={"fast-rule": "instant", "slow-rule": "digest"})
    store(engine, recorder(setup=setup), 1, ["fast-rule"], title="Robot <b>maker</b>\r\nBcc: x@evil.example")
    store(engine, recorder(setup=setup), 2, ["slow-rule"])
    engine.dispose()
    yield tmp_path


def test_help_of_the_mail_commands() -> None:
    for args in (["alerts", "--help"], ["alerts", "list", "--help"], ["digest", "preview", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output


def test_alerts_list_send_and_digest(workdir: Path) -> None:
    listed = runner.invoke(app, ["alerts", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    records = json.loads(listed.output)
    assert sorted((r["rule"], r["recipient"], r["status"]) for r in records) == [
        ("fast-rule", "dave@example.com", "pending"),
        ("slow-rule", "carol@example.com", "pending"),
    ]
    sent = runner.invoke(app, ["alerts", "send"])
    assert sent.exit_code == 0, sent.output
    assert "1 sent" in sent.output
    outbox = workdir / "data" / "outbox"
    (instant,) = sorted(outbox.glob("*-instant-*.eml"))
    message = _read(instant)
    assert message["To"] == "dave@example.com" and "Bcc" not in message
    assert "Robot &lt;b&gt;maker&lt;/b&gt;" in message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    table = runner.invoke(app, ["alerts", "list", "--status", "sent"])
    assert table.exit_code == 0 and "1 alert(s)" in table.output
    for width in ("80", "200"):  # ids whole and every line within the terminal, narrow or wide
        listed_at = runner.invoke(app, ["alerts", "list"], env={"COLUMNS": width})
        lines = listed_at.stdout.splitlines()
        assert max(len(line) for line in lines) <= int(width)
        assert "dave@example.com" in listed_at.stdout
        shown = {word for line in lines for word in line.replace("│", " ").split()}
        assert {"fast-rule", "slow-rule"} <= shown, listed_at.stdout
    only_sent = json.loads(runner.invoke(app, ["alerts", "list", "--status", "sent", "--format", "json"]).output)
    assert [(r["recipient"], r["message_id"] is not None) for r in only_sent] == [("dave@example.com", True)]

    html_file = workdir / "preview.html"
    preview = runner.invoke(app, ["digest", "preview", "--recipient", "carol@example.com", "--html", str(html_file)])
    assert preview.exit_code == 0, preview.output
    assert "Subject: [Newswatch] Digest: 1 new story for slow-rule" in preview.output
    assert "<mark" in html_file.read_text(encoding="utf-8")
    assert list(outbox.glob("*-digest-*.eml")) == []

    digest = runner.invoke(app, ["digest", "send"])
    assert digest.exit_code == 0, digest.output
    (digest_file,) = sorted(outbox.glob("*-digest-*.eml"))
    assert _read(digest_file)["To"] == "carol@example.com"
    again = runner.invoke(app, ["digest", "send"])
    assert "nothing new for: carol@example.com" in again.output
    assert len(list(outbox.glob("*.eml"))) == 2


def test_bad_mail_settings_exit_2(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSWATCH_SMTP_URL", "http://not-smtp.example")
    result = runner.invoke(app, ["alerts", "send"])
    assert result.exit_code == 2 and "NEWSWATCH_SMTP_URL" in result.output
    monkeypatch.delenv("NEWSWATCH_SMTP_URL")
    monkeypatch.setenv("NEWSWATCH_MAIL_TO", "not an address")
    result = runner.invoke(app, ["alerts", "list"])
    assert result.exit_code == 2 and "not an email address" in result.output


def test_demo_leaves_instant_alerts_and_a_digest_in_the_outbox(tmp_path: Path) -> None:
    from crawler.demo import load_articles
    from crawler.demo_run import DEMO_NOW

    shutil.copytree(REPO / "config", tmp_path / "config")
    port = free_port()
    first = run_demo(tmp_path, port)
    assert first.returncode == 0, first.stderr
    outbox = tmp_path / "data" / "outbox"
    assert "Open the new .eml files in data/outbox" in first.stdout
    instants = sorted(outbox.glob("*-instant-*.eml"))
    digests = sorted(outbox.glob("*-digest-*.eml"))
    articles = load_articles(now=DEMO_NOW)
    softbank = {a.title for a in articles if a.softbank_investment}
    ai_iot = {a.title for a in articles if a.ai_iot_investment}
    # softbank-investment is an instant rule: one email per story; ai-iot-investment goes in the digest.
    # Both are shown by their names, and the demo site by its own.
    instant_subjects = [str(_read(path)["Subject"]) for path in instants]
    assert len(instants) == len(softbank)
    assert all(s.startswith("[Newswatch] 1 new story for SoftBank investments: ") for s in instant_subjects)
    (digest_path,) = digests
    digest = _read(digest_path)
    assert str(digest["Subject"]) == f"[Newswatch] Digest: {len(ai_iot)} new stories for AI and IoT investments"
    html = digest.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "## Rule: AI and IoT investments" in text and "rule ai-iot-investment" not in text
    assert "Sample News (local demo site) | " in text and "sample-news |" not in text
    for title in ai_iot:
        assert title.replace("&", "&amp;").replace("'", "&#39;") in html or title in text
    assert html.count("<mark") >= len(ai_iot)
    assert "Amounts:" in text and ("$" in text or "€" in text)

    second = run_demo(tmp_path, port)
    assert second.returncode == 0, second.stderr
    assert "Instant alerts: 0 new message(s); 0 sent" in second.stdout
    assert "nothing new for" in second.stdout
    assert sorted(outbox.glob("*.eml")) == sorted([*instants, *digests])
