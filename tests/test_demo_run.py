"""`newswatch demo` end to end: the sample site is crawled, the right stories flagged, a rerun adds nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from crawler.demo import load_articles
from crawler.demo_run import DEMO_NOW, first_line
from crawler.models import ArticleRow, MatchRow
from crawler.store import open_database
from tests.local_site import free_port

REPO = Path(__file__).resolve().parents[1]


def run_demo(workdir: Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "crawler", "demo", "--port", str(port), *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_flags_the_investment_stories_and_a_rerun_adds_nothing(tmp_path: Path) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    port = free_port()
    first = run_demo(tmp_path, port)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr

    articles = load_articles(now=DEMO_NOW)
    engine = open_database(f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}")
    with Session(engine) as session:
        stored = session.exec(select(ArticleRow)).all()
        flagged = session.exec(select(ArticleRow.title, MatchRow.rule_id).join(MatchRow)).all()
    engine.dispose()
    assert {a.title for a in stored} == {a.title for a in articles}
    expected = {(a.title, "softbank-investment") for a in articles if a.softbank_investment} | {
        (a.title, "ai-iot-investment") for a in articles if a.ai_iot_investment
    }
    assert set(flagged) == expected

    # Clean bodies: no breadcrumb, author box, related list or repeated headline in what was stored.
    for row in stored:
        assert not row.text.startswith(row.title)
        for junk in ("YOU ARE AT", "ABOUT AUTHOR", "Recent Posts", "days ago", "Leave a Reply", "Subscribe"):
            assert junk not in row.text, (row.title, junk)

    # The report lists each flagged story with the first line of its clean body.
    for title in {t for t, _ in expected}:
        assert title in first.stdout
    for row in stored:
        if any(t == row.title for t, _ in expected):
            assert first_line(row.text)[:60] in first.stdout

    # "skipped" is explained: each page that gave no article, with the reason.
    assert "page(s) skipped, i.e. they gave no article:" in first.stdout
    assert f"http://127.0.0.1:{port}/about/\n    a stub, teaser or paywall: body too short" in first.stdout
    assert "not an article: listing page" in first.stdout
    assert "Open the new .eml files in data/outbox" in first.stdout

    second = run_demo(tmp_path, port)
    assert second.returncode == 0, second.stderr
    assert "0 new articles" in second.stdout
    # Nothing new was written to the outbox, and the demo does not pretend otherwise.
    assert ".eml files" not in second.stdout
    assert "No new email: every flagged story was already sent" in second.stdout
    engine = open_database(f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}")
    with Session(engine) as session:
        assert len(session.exec(select(ArticleRow)).all()) == len(stored)
    engine.dispose()


def test_the_closing_hints_work_as_printed(tmp_path: Path) -> None:
    """The hints name the command the way it was started, so that pasting them works without an active venv."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env["PATH"] = "/usr/bin:/bin"  # no venv on the PATH, as after `python3 -m venv .venv && .venv/bin/pip ...`
    script = Path(sys.executable).parent / "newswatch"
    demo = subprocess.run([str(script), "demo", "--port", str(free_port())], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr
    hints = [line.split()[1:3] for line in demo.stdout.splitlines() if line.startswith(f"  {script} ")]
    assert hints == [["review", "list"], ["web", "review"], ["demo", "--reset"]]
    listed = subprocess.run([str(script), "review", "list", "--format", "json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 11


def test_demo_reset_starts_from_nothing(tmp_path: Path) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    port = free_port()
    assert run_demo(tmp_path, port).returncode == 0
    data = tmp_path / "data"
    (data / "notes.txt").write_text("mine", encoding="utf-8")
    again = run_demo(tmp_path, port, "--reset")
    assert again.returncode == 0, again.stderr
    assert "Reset: removed data/newswatch.db" in again.stdout and "data/outbox" in again.stdout
    assert "36 new articles" in again.stdout  # everything is new again
    assert "Open the new .eml files" in again.stdout
    assert (data / "notes.txt").read_text(encoding="utf-8") == "mine"  # nothing else of the folder is touched


def test_demo_reset_refuses_another_database(tmp_path: Path) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env["NEWSWATCH_DATABASE_URL"] = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
    result = subprocess.run([sys.executable, "-m", "crawler", "demo", "--reset", "--port", str(free_port())],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "NEWSWATCH_DATABASE_URL names another database" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_reports_a_busy_port(tmp_path: Path) -> None:
    import socket

    shutil.copytree(REPO / "config", tmp_path / "config")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run_demo(tmp_path, busy.getsockname()[1])
    assert result.returncode == 1
    assert "cannot start the sample site" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_reset_keeps_the_users_own_sites_and_a_running_service(tmp_path: Path) -> None:
    import fcntl

    from crawler.demo_run import DEMO_SITE_ID
    from tests.alerts_data import store

    shutil.copytree(REPO / "config", tmp_path / "config")
    port = free_port()
    assert run_demo(tmp_path, port).returncode == 0
    database = tmp_path / "data" / "newswatch.db"
    # A lock held as `newswatch run` holds it: the reset waits for nobody, it refuses.
    locks = tmp_path / "data" / "locks"
    locks.mkdir(exist_ok=True)
    fd = os.open(locks / "_scheduler.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        busy = run_demo(tmp_path, port, "--reset")
    finally:
        os.close(fd)
    assert busy.returncode == 2 and "a `newswatch run` is using data: stop it first" in busy.stderr
    # An article of the user's own site: the reset refuses to take it with the demo's.
    engine = open_database(f"sqlite:///{database}")
    store(engine, None, 1, [], site_id="my-news")
    engine.dispose()
    refused = run_demo(tmp_path, port, "--reset")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--reset would delete the articles of my-news too" in refused.stderr
    engine = open_database(f"sqlite:///{database}")
    with Session(engine) as session:
        sites = set(session.exec(select(ArticleRow.site_id)).all())
    engine.dispose()
    assert sites == {DEMO_SITE_ID, "my-news"}


def test_the_demo_never_mails_its_sample_stories(tmp_path: Path) -> None:
    """With a mail server in ./.env (as the README suggests), the demo sends nothing and sets its alerts aside;
    an alert of a real site waiting in the outbox is left for the mail server."""
    from crawler.demo_run import DEMO_SITE_ID
    from crawler.models import AlertRow, OutboxRow
    from tests.alerts_data import recorder, store
    from tests.smtp_server import SMTPServer

    shutil.copytree(REPO / "config", tmp_path / "config")
    database = f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"
    engine = open_database(database)
    real = store(engine, recorder(), 1, site_id="my-news")  # an instant alert of a real site, not sent yet
    engine.dispose()
    smtp = SMTPServer()
    smtp.start()
    try:
        (tmp_path / ".env").write_text(f"NEWSWATCH_SMTP_URL={smtp.url}\nNEWSWATCH_MAIL_TO=me@example.com\n",
                                       encoding="utf-8")
        result = run_demo(tmp_path, free_port())
        assert result.returncode == 0, result.stderr
        assert smtp.handler.received == []
    finally:
        smtp.stop()
    assert "set aside, not sent: NEWSWATCH_SMTP_URL or NEWSWATCH_WEBHOOKS is set" in result.stdout
    assert not (tmp_path / "data" / "outbox").exists() or not list((tmp_path / "data" / "outbox").iterdir())
    engine = open_database(database)
    with Session(engine) as session:
        alerts = session.exec(select(AlertRow, ArticleRow.site_id).join(ArticleRow)).all()
        demo = [a for a, site in alerts if site == DEMO_SITE_ID]
        assert demo and all(a.suppressed for a in demo)
        assert [(a.article_id, a.suppressed) for a, site in alerts if site == "my-news"] == [(real, False)]
        assert session.exec(select(OutboxRow)).all() == []
    engine.dispose()
