"""Three processes on one SQLite file, as in production: a crawler storing articles, an alert sender
planning and marking outbox rows, and a reader listing stories and marking them (triage); with the figures.

Each role runs as its own OS process (``python -m tests.sqlite_contention ROLE DATABASE SECONDS FOLDER TITLES``)
through the real functions (PageProcessor with stories and alerts, plan_instant / send_due, list_stories /
triage.mark), counts what it wrote and every error it met, and prints that as JSON. :func:`contend` starts
the three, samples the WAL file's size meanwhile, and checks what they report against the database.
Used by tests/test_sqlite_writers.py (seconds) and benchmarks/sqlite_contention.py (minutes).
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ROLES = ("crawler", "sender", "reader")
RULE = "fast-rule"
BATCH = 16  # articles per store transaction, as the crawl's pipeline stores them (STORE_BATCH)


class ErrorLog(logging.Handler):
    """Collects logged warnings and errors (the processor logs what the database refused)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().splitlines()[0][:300]
        (self.errors if record.levelno >= logging.ERROR else self.warnings).append(message)


def _errors(raised: list[str], logged: ErrorLog) -> dict[str, Any]:
    errors = raised + logged.errors
    return {
        "errors": len(errors),
        "locked": sum("database is locked" in message for message in errors + logged.warnings),
        "warnings": len(logged.warnings),
        "examples": list(dict.fromkeys(errors + logged.warnings))[:5],
    }


def _where(exc: BaseException) -> str:
    """The innermost line of the project's own code the exception passed through."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/crawler/" in f.filename]
    return f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""


def _work(engine: Any, seconds: float, step: Callable[[int], None]) -> dict[str, Any]:
    """Run ``step`` for ``seconds`` and close ``engine``: the rounds, and the errors raised or logged."""
    logged = ErrorLog()
    logging.getLogger("crawler").addHandler(logged)
    raised: list[str] = []
    rounds = _loop(seconds, step, raised)
    engine.dispose()
    return {"rounds": rounds, **_errors(raised, logged)}


def _loop(seconds: float, step: Callable[[int], None], raised: list[str]) -> int:
    """Call ``step(n)`` until ``seconds`` have passed; an exception is one error, and the loop goes on."""
    end = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < end:
        began = time.monotonic()
        try:
            step(rounds)
        except Exception as exc:  # counted and shown: the figure this harness exists for
            took = time.monotonic() - began
            raised.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}{_where(exc)} after {took:.1f}s")
        rounds += 1
    return rounds


def _title(n: int, similar: bool) -> str:
    """Distinct headlines, as a site's are; or ``similar`` ones sharing most words (a running story), which
    make the story lookup compare each new article with every recent story."""
    if similar:
        return f"Robot maker {n} raises money"
    return " ".join(f"w{random.Random(n * 8 + k).getrandbits(30)}" for k in range(6))


def _crawler(database: str, seconds: float, _folder: Path, similar: bool) -> dict[str, Any]:
    from crawler.alerts.recorder import AlertSetup
    from crawler.alerts.stories import signature
    from crawler.analysis import Analysis
    from crawler.article import Article, Match, Page
    from crawler.config import SiteConfig
    from crawler.process import PageProcessor
    from crawler.store import create_db_engine
    from tests.alerts_data import body

    engine = create_db_engine(database)
    site = SiteConfig.model_validate({"id": "news", "feeds": ["https://news.example/feed"], "backfill": "all"})
    recorder = AlertSetup(modes={RULE: "instant"}).for_site(site, first_crawl=False)
    processor = PageProcessor(engine, matcher=None, recorder=recorder)  # type: ignore[arg-type]
    stored: list[int] = []
    outcomes: Counter[str] = Counter()

    def analysed(n: int) -> tuple[Page, Analysis]:
        url = f"https://news.example/a/{n}/"
        now = datetime.now(UTC)
        if n % 10 == 9:  # every tenth page is a stub
            return Page("news", url, "", now), Analysis(url, skipped="body too short (80 chars)")
        text = body(n)
        title = _title(n, similar)
        article = Article(url=url, canonical_url=url, title=title, text=text, published=now, language="en")
        matches = [Match(RULE, ["robot"])] if n % 2 else []
        return Page("news", url, "", now), Analysis(url, article, matches, signature(text))

    def step(round_: int) -> None:
        pairs = [analysed(round_ * BATCH + i) for i in range(BATCH)]
        for outcome in processor.store_many(pairs):
            outcomes[outcome.status] += 1
            if outcome.article_id is not None:
                stored.append(outcome.article_id)

    return {**_work(engine, seconds, step), "stored": stored, "outcomes": dict(outcomes)}


def _sender(database: str, seconds: float, folder: Path, _similar: bool) -> dict[str, Any]:
    from crawler.alerts.mailconfig import MailConfig, RuleDelivery
    from crawler.alerts.outbox import plan_instant
    from crawler.alerts.sender import send_due
    from crawler.alerts.transport import FileTransport
    from crawler.store import create_db_engine

    engine = create_db_engine(database)
    config = MailConfig(
        default_recipients=tuple(f"reader{n}@example.com" for n in range(5)), rules={RULE: RuleDelivery("instant")},
        outbox_dir=folder / "outbox", send_lease=600.0,
    )
    sent: list[str] = []
    planned = 0

    def step(_round: int) -> None:
        nonlocal planned
        planned += len(plan_instant(engine, config, datetime.now(UTC)))
        report = send_due(engine, config, FileTransport(config.outbox_dir))
        sent.extend(report.sent)
        time.sleep(0.05)  # the service's send loop waits between rounds too

    return {**_work(engine, seconds, step), "planned": planned, "sent": len(sent)}


def _reader(database: str, seconds: float, _folder: Path, _similar: bool) -> dict[str, Any]:
    from sqlmodel import Session

    from crawler.review.stories import StoryFilter, list_stories, story_detail
    from crawler.review.triage import mark
    from crawler.store import create_db_engine

    engine = create_db_engine(database)
    rng = random.Random(46)
    verdicts: dict[int, str] = {}
    reads = 0

    def step(_round: int) -> None:
        nonlocal reads
        with Session(engine) as session:  # the story list, as the web page asks for it
            page = list_stories(session, StoryFilter(status="new"), page=1, per_page=25)
            reads += 1
        if not page.items:
            time.sleep(0.05)
            return
        item = rng.choice(page.items)
        with Session(engine) as session:  # the story page, then a verdict on it
            story_detail(session, item.article_id)
            state = rng.choice(("relevant", "irrelevant", "reviewed"))
            mark(session, item.article_id, state, note=f"round {_round}", by="web")
            verdicts[item.article_id] = state

    return {**_work(engine, seconds, step), "reads": reads, "verdicts": verdicts}


@dataclass
class Figures:
    """What the three processes reported and what the database holds afterwards."""

    seconds: float
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    wal_max_bytes: int = 0
    wal_samples: int = 0
    articles: int = 0
    lost_articles: int = 0  # reported stored, but not in the database
    unreported_articles: int = 0  # in the database, but never reported stored
    sent_rows: int = 0
    lost_sends: int = 0  # |messages reported delivered - rows marked sent|
    lost_verdicts: int = 0  # triage rows not holding the last verdict written
    integrity: str = ""
    exit_codes: dict[str, int] = field(default_factory=dict)

    @property
    def locked(self) -> int:
        return sum(int(report.get("locked", 0)) for report in self.reports.values())

    @property
    def errors(self) -> int:
        return sum(int(report.get("errors", 0)) for report in self.reports.values())

    def lines(self) -> Iterator[str]:
        """The figures, one line each."""
        yield f"{self.seconds:.0f} s, 3 processes on one SQLite file (WAL, busy_timeout 10 s)"
        for role, report in self.reports.items():
            work = {k: v for k, v in report.items() if k not in ("stored", "verdicts", "examples")}
            yield f"  {role}: {json.dumps(work)}"
            for example in report.get("examples", []):
                yield f"    {example}"
        yield f"  'database is locked': {self.locked}; errors (raised or logged): {self.errors}"
        yield (
            f"  lost writes: {self.lost_articles} articles (of {self.articles}), {self.lost_sends} sends "
            f"(of {self.sent_rows}), {self.lost_verdicts} verdicts; unreported articles: {self.unreported_articles}"
        )
        yield f"  WAL file: at most {self.wal_max_bytes / 1e6:.1f} MB over {self.wal_samples} samples"
        yield f"  integrity_check: {self.integrity}"


def contend(database: Path, seconds: float, folder: Path, similar_titles: bool = False) -> Figures:
    """Run the three roles against ``database`` (created and upgraded here) for ``seconds``, with files in
    ``folder`` (the outbox); the figures. ``similar_titles``: see :func:`_title`."""
    from crawler.store import open_database

    open_database(f"sqlite:///{database}").dispose()
    titles = "similar" if similar_titles else "distinct"
    figures = Figures(seconds)
    processes = {
        role: subprocess.Popen(
            [sys.executable, "-m", "tests.sqlite_contention", role, f"sqlite:///{database}", str(seconds), str(folder),
             titles],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for role in ROLES
    }
    wal = Path(f"{database}-wal")
    deadline = time.monotonic() + seconds + 120
    while any(p.poll() is None for p in processes.values()) and time.monotonic() < deadline:
        if wal.exists():
            figures.wal_max_bytes = max(figures.wal_max_bytes, wal.stat().st_size)
            figures.wal_samples += 1
        time.sleep(0.05)
    for role, process in processes.items():
        try:
            out, err = process.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        figures.exit_codes[role] = process.returncode
        lines = out.strip().splitlines()
        figures.reports[role] = json.loads(lines[-1]) if lines else {"errors": 1, "examples": [err[-500:]]}
    _check(database, figures)
    return figures


def _check(database: Path, figures: Figures) -> None:
    crawler, sender, reader = (figures.reports[role] for role in ROLES)
    with sqlite3.connect(database) as db:
        ids = {row[0] for row in db.execute("SELECT id FROM article")}
        figures.articles = len(ids)
        reported = set(crawler.get("stored", []))
        figures.lost_articles = len(reported - ids)
        figures.unreported_articles = len(ids - reported)
        figures.sent_rows = db.execute("SELECT count(*) FROM outbox WHERE status = 'sent'").fetchone()[0]
        figures.lost_sends = abs(figures.sent_rows - int(sender.get("sent", 0)))
        states = dict(db.execute("SELECT article_id, state FROM triage").fetchall())
        verdicts = {int(k): v for k, v in reader.get("verdicts", {}).items()}
        figures.lost_verdicts = sum(states.get(article) != state for article, state in verdicts.items())
        figures.integrity = db.execute("PRAGMA integrity_check").fetchone()[0]


def main(argv: list[str]) -> int:
    role, database, seconds, folder, titles = argv
    run = {"crawler": _crawler, "sender": _sender, "reader": _reader}[role]
    report = run(database, float(seconds), Path(folder), titles == "similar")
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
