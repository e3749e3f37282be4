"""Kill the sending process (SIGKILL) at chosen points, many times: no alert is lost, and a message is sent
twice only when the kill fell between the server's 250 and the record of it (at most one per such kill).

Each round stores new stories (instant and digest rules) and runs `newswatch alerts send` or
`newswatch digest send` in a subprocess that kills itself at a crash point (NEWSWATCH_CRASH_AT): after
the claim is committed, after the server's 250 before marking sent, after marking sent, during digest
assembly, or after the digest is stored but before its commit. Then a clean run finishes the work and
the messages received by the SMTP server on 127.0.0.1 are counted.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.alerts.mailconfig import MailConfig, RuleDelivery
from crawler.alerts.outbox import EMAIL
from crawler.alerts.recorder import AlertSetup
from crawler.models import AlertRow, OutboxAlertRow, OutboxRow
from crawler.store import open_database
from tests.alerts_data import recorder, store
from tests.smtp_server import SMTPServer

REPO = Path(__file__).resolve().parents[1]
RECIPIENTS = ("alice@example.com", "bob@example.com")
POINTS = [
    ("alerts", "claimed"),
    ("alerts", "accepted"),
    ("alerts", "sent"),
    ("digest", "digest-assembly"),
    ("digest", "digest-stored"),
    ("digest", "accepted"),
]
ROUNDS = int(os.environ.get("NEWSWATCH_KILL_ROUNDS", "24"))  # benchmarks/soak.py asks for more

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
"""


def _run(command: str, env: dict[str, str], crash: str | None) -> int:
    run_env = dict(env)
    if crash:
        run_env["NEWSWATCH_CRASH_AT"] = crash
    result = subprocess.run(
        [sys.executable, "-m", "crawler", command, "send"],
        cwd=env["HOME_DIR"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"{command} send failed ({result.returncode}): {result.stderr}")
    return result.returncode


def test_kills_lose_nothing_and_duplicate_only_after_250(tmp_path: Path, smtp: SMTPServer, db_url: str) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "sites.toml").write_text(SITES, encoding="utf-8")
    (tmp_path / "config" / "rules.toml").write_text(RULES, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_") or k == "NEWSWATCH_ENV_FILE"}
    env.update(
        HOME_DIR=str(tmp_path),
        NEWSWATCH_CONFIG=str(tmp_path / "config"),
        NEWSWATCH_DATABASE_URL=db_url,
        NEWSWATCH_DATA_DIR=str(tmp_path / "data"),
        NEWSWATCH_SMTP_URL=smtp.url,
        NEWSWATCH_SMTP_TIMEOUT="5",
        NEWSWATCH_MAIL_TO=",".join(RECIPIENTS),
        NEWSWATCH_MAIL_FROM="newswatch@alerts.example",
        NEWSWATCH_SEND_LEASE="0",  # one sender at a time here: a dead sender's claim is taken over at once
        # No hourly cap: with the soak's 100 rounds it would rightly keep the last instant alerts waiting.
        NEWSWATCH_MAX_MAILS_PER_HOUR="0",
    )
    engine: Engine = open_database(db_url)
    setup = AlertSetup(modes={"fast-rule": "instant", "slow-rule": "digest"})
    rng = random.Random(20261122)
    kills: Counter[str] = Counter()
    story = 0
    try:
        for round_number in range(ROUNDS):
            for _ in range(2):
                story += 1
                store(engine, recorder(setup=setup), 1000 + story, ["fast-rule", "slow-rule"][story % 2 :][:1])
            command, point = POINTS[round_number % len(POINTS)]
            code = _run(command, env, f"{point}:{rng.randint(1, 2)}")
            if code == -signal.SIGKILL:
                kills[point] += 1
        # Clean runs finish what the kills left.
        _run("alerts", env, None)
        _run("digest", env, None)

        config = MailConfig(
            default_recipients=RECIPIENTS,
            rules={"fast-rule": RuleDelivery("instant"), "slow-rule": RuleDelivery("digest")},
        )
        with Session(engine) as session:
            alerts = session.exec(select(AlertRow)).all()
            messages = session.exec(select(OutboxRow)).all()
            links = session.exec(select(OutboxAlertRow).where(OutboxAlertRow.channel == EMAIL)).all()
        # Every alert was carried to every recipient by a message that was sent.
        sent = {m.id: m for m in messages if m.status == "sent"}
        assert {m.status for m in messages} == {"sent"}
        carried = {(link.alert_id, link.recipient) for link in links if link.outbox_id in sent}
        expected = {(a.id, r) for a in alerts for r in config.recipients_for(a.rule_id)}
        assert carried == expected
        received = smtp.handler.counts()
        lost = [m.message_id for m in sent.values() if received[m.message_id] == 0]
        duplicates = sum(count - 1 for count in received.values())
        extra = set(received) - {m.message_id for m in sent.values()}
        print(
            f"\nkill test: {ROUNDS} rounds, {sum(kills.values())} kills {dict(kills)}; "
            f"{len(alerts)} alerts, {len(sent)} messages; lost {len(lost)}, duplicates {duplicates}"
        )
        assert sum(kills.values()) >= 20
        assert lost == []
        assert extra == set()  # nothing the outbox does not know (e.g. a digest assembled twice)
        # A message is sent again only after a kill between the server's 250 and the recorded "sent" (one
        # message may be caught there in several rounds, so the bound is on the total, not per message).
        assert duplicates <= kills["accepted"]
    finally:
        engine.dispose()
