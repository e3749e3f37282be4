"""How fast the review list (/stories) answers on a big database: 1,000,000 articles, 100,000 alerts.

Usage::

    .venv/bin/python benchmarks/review_page.py [--db sqlite|postgresql|both] [--articles 1000000]
        [--alerts 100000] [--repeat 20] [--keep] [--explain CASE ...] [--pg-url URL] [--sqlite PATH]

It generates the database (SQLite: ``/tmp/nw_bench_review.db``; PostgreSQL: the database ``nw_bench_review``
on ``--pg-url``'s server), then times what the /stories page does, per case: ``list_stories`` (count, page
of 25, rule counts) end to end, the rule counts alone, and for the main case the whole HTTP page through
FastAPI's TestClient. Each case runs ``--warmup`` times (2), then ``--repeat`` times (20); the table shows the median
and the 95th percentile in milliseconds, and the number of stories the filter finds. The target is <= 200 ms
for every case on both databases. Timings are printed, never asserted.

Generation is slow (minutes, see the printed times): ``--keep`` keeps the database and reuses it on the
next run with the same ``--articles`` and ``--alerts`` (without it the SQLite file is deleted and the
PostgreSQL database dropped at the end). ``--explain CASE`` prints each SQL statement of that case's
``list_stories`` with its time and plan (``EXPLAIN QUERY PLAN`` / ``EXPLAIN ANALYZE``).

The data (fixed seed): titles and 1-3 KB bodies of common words (Zipf-distributed, a few hundred real
words and a long synthetic tail) with topic sentences (SoftBank investing, robots, chips, funding rounds,
batteries, drones ...); about 20 sites; ``created_at`` spread over the last year, ids in that order; every
article in a story (copies of a story on other sites share its body); about 10% of the articles flagged by
1-3 of 10 rules (skewed: the biggest rule flags about a quarter of them), exactly ``--alerts`` alerts
(one per story and rule), a fifth of the flagged articles triaged, and hourly crawl runs of every site over
the last 90 days. Topic words also occur in unflagged articles, so searches hit from a few rows
("zeppelin") to tens of thousands ("softbank") and hundreds of thousands ("company").
"""

from __future__ import annotations

import argparse
import html
import json
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from crawler.config import Config, load_config  # noqa: E402
from crawler.review.stories import StoryFilter, list_stories, rule_counts  # noqa: E402
from crawler.settings import Settings  # noqa: E402
from crawler.store import create_db_engine, open_database  # noqa: E402

SEED = 20251207
DB_NAME = "nw_bench_review"
SQLITE_PATH = Path("/tmp/nw_bench_review.db")
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
YEAR = 365 * 86400.0
SIGNATURE = bytes(range(256)) * 4  # 128 MinHash values of 8 bytes, as crawler.alerts.stories stores them
SITES = [f"site{n:02d}" for n in range(1, 21)]
SITE_WEIGHTS = [1 / (n + 2) for n in range(len(SITES))]
TRIAGE_STATES = (("relevant", 0.4), ("irrelevant", 0.35), ("reviewed", 0.25))

_COMMON_WORDS = """
the of and to a in that is for it on was with he as said at by from his be this have are an has not but its
had they were which their been would year will more after also new one who two first than about up people
company percent over last other into could some time market years there business government when no million
such group new out what can all may billion between since government under per three while market plan company
report country world state before during officials week months says told chief executive analysts investors
shares price prices sales growth quarter demand production industry services technology companies based
according including statement data customers systems national team project local public support years
international global deal capital plans program economy policy trade energy power network product products
factory workers jobs expected likely around major recent further expects already several four five increase
higher lower strong weak early late official secretary minister president board members partners partner firm
firms area region city operations management development research design supply chain costs revenue profit
loss results financial bank banks fund funds money tax rates rate interest inflation exports imports consumers
mobile digital software cloud platform service online users internet security data center devices
manufacturing engineers engineering launch launched announced announcement agreement contract contracts
approval regulators regulation court case rules law industry sector markets stock exchange index gains fell
rose rising falling slow fast record quarterly annual month monday tuesday wednesday thursday friday weekend
morning evening reporters interview conference event visit trip meeting talks"""
COMMON = _COMMON_WORDS.split()
_SYLLABLES_WORDS = """
ka to ri ne mu sa lo vi de pa zu ko ba ne fi go ha ji ku le mo na po ra su ta wu ya ze"""
SYLLABLES = _SYLLABLES_WORDS.split()

# The rules: id, query (for the web page's configuration), share of the flagged stories, topic sentences
# (each holds the rule's words), the words a match reports, and mentions for unflagged articles.
RULES: list[tuple[str, str, float, list[str], list[str]]] = [
    ("softbank-deals", "softbank AND invest*", 0.22, [
        "SoftBank said it would invest {amount} in {co} over the next three years.",
        "The SoftBank Vision Fund led the funding round for {co}, investing {amount}.",
        "SoftBank plans to invest another {amount} in {co}, people familiar with the matter said.",
    ], ["softbank", "invest"]),
    ("robotics", "robot* OR automation", 0.18, [
        "{co} builds warehouse robots that pick and sort parcels for online shops.",
        "The robot maker {co} said demand for factory automation kept rising.",
        "{co} will show its new humanoid robot at the trade fair next month.",
    ], ["robot", "automation"]),
    ("chips", "chip* OR semiconductor*", 0.15, [
        "{co} opened a semiconductor plant that will make chips for cars and phones.",
        "The chipmaker {co} expects chip demand to recover in the second half.",
        "{co} signed a supply deal for advanced chips worth {amount}.",
    ], ["chip", "semiconductor"]),
    ("ai-funding", '"artificial intelligence" AND (funding OR raises)', 0.12, [
        "{co}, an artificial intelligence startup, raises {amount} in a new funding round.",
        "The artificial intelligence company {co} closed a funding round of {amount}.",
    ], ["artificial intelligence", "funding"]),
    ("batteries", "batter* OR lithium", 0.09, [
        "{co} will build a battery factory with lithium from its own mines.",
        "The battery maker {co} cut prices of its lithium cells again.",
    ], ["battery", "lithium"]),
    ("drones", "drone*", 0.07, [
        "{co} delivers parcels by drone in three cities.",
        "Regulators allowed {co} to fly its drones beyond the line of sight.",
    ], ["drone"]),
    ("quantum", '"quantum computing" OR qubit*', 0.06, [
        "{co} unveiled a quantum computing chip with more qubits than any before.",
        "Investors put {amount} into {co}, which works on quantum computing.",
    ], ["quantum computing", "qubit"]),
    ("fintech", "fintech OR neobank*", 0.05, [
        "The fintech {co} applied for a banking licence.",
        "{co}, a neobank, said its customers doubled this year.",
    ], ["fintech", "neobank"]),
    ("lidar", "lidar", 0.035, [
        "{co} supplies lidar sensors to carmakers.",
        "The lidar startup {co} raised {amount} from carmakers.",
    ], ["lidar"]),
    ("space", "satellite* AND launch*", 0.025, [
        "{co} plans to launch its first satellite next year.",
        "The satellite operator {co} ordered launches worth {amount}.",
    ], ["satellite", "launch"]),
]  # fmt: skip
# Topic words in articles no rule flagged (a passing mention): sentence, share of unflagged articles.
MENTIONS = [
    ("Shares of SoftBank also moved.", 0.015),
    ("Analysts said investors may invest elsewhere.", 0.04),
    ("The company uses a robot arm in one plant.", 0.02),
    ("A shortage of chips slowed deliveries.", 0.03),
    ("Several startups announced funding rounds this week.", 0.03),
    ("The battery costs were higher than expected.", 0.02),
    ("A drone filmed the event.", 0.005),
    ("The satellite images were published on Monday.", 0.005),
    ("An okapi was born at the city zoo.", 0.002),
    ("The zeppelin flight was cancelled.", 0.0002),
]
CITIES = ["TOKYO", "SEOUL", "LONDON", "PARIS", "BERLIN", "SINGAPORE", "NEW YORK", "OSAKA", "TAIPEI", "BOSTON"]
AMOUNTS = ["$4.5 billion", "$120 million", "¥30 billion", "€800 million", "$2 billion", "$35 million"]


@dataclass
class Plan:
    """What to store, in id order: per article its time (seconds into the year), site, story and rules."""

    times: list[float] = field(default_factory=list)
    sites: list[int] = field(default_factory=list)
    stories: list[int] = field(default_factory=list)  # story number (ids are given in order of first article)
    rules: list[tuple[int, ...]] = field(default_factory=list)
    story_sizes: dict[int, int] = field(default_factory=dict)
    alerts: int = 0


@dataclass
class Timing:
    name: str
    found: int
    list_ms: list[float]
    counts_ms: list[float]


# --------------------------------------------------------------------------- the data


def plan(articles: int, alerts: int, rng: random.Random) -> Plan:
    """Stories (flagged ones until ``alerts`` alerts, then unflagged ones), laid out over a year."""
    weights = [share for _, _, share, _, _ in RULES]
    stories: list[tuple[float, int, tuple[int, ...]]] = []
    made = flagged = 0
    while made < alerts:
        count = min(rng.choices((1, 2, 3), (0.7, 0.25, 0.05))[0], alerts - made)
        chosen: list[int] = []
        while len(chosen) < count:
            rule = rng.choices(range(len(RULES)), weights)[0]
            if rule not in chosen:
                chosen.append(rule)
        size = rng.choices((1, 2, 3, 4), (0.7, 0.18, 0.08, 0.04))[0]
        stories.append((rng.random() * YEAR, size, tuple(sorted(chosen))))
        made += count
        flagged += size
    if flagged > articles:
        raise SystemExit(f"--articles {articles} is too few for --alerts {alerts} (needs about {flagged * 2})")
    left = articles - flagged
    while left:
        size = min(left, rng.choices((1, 2, 3), (0.8, 0.15, 0.05))[0])
        stories.append((rng.random() * YEAR, size, ()))
        left -= size
    laid: list[tuple[float, int, int]] = []  # (time, story number, copy number)
    for number, (start, size, _) in enumerate(stories):
        for copy in range(size):
            laid.append((min(YEAR - 1, start + (copy and rng.random() * 6 * 3600)), number, copy))
    laid.sort()
    result = Plan(alerts=made)
    base_site = [rng.choices(range(len(SITES)), SITE_WEIGHTS)[0] for _ in stories]
    for moment, number, copy in laid:
        result.times.append(moment)
        result.sites.append((base_site[number] + 7 * copy) % len(SITES))
        result.stories.append(number)
        result.rules.append(stories[number][2])
    result.story_sizes = {number: size for number, (_, size, _) in enumerate(stories)}
    return result


class Writer:
    """Titles and bodies: sentences from a pool of common words, with topic sentences and mentions."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        tail = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(4000)} - set(COMMON)
        vocab = list(dict.fromkeys(COMMON)) + sorted(tail)
        weights = [1 / (rank + 1) for rank in range(len(vocab))]
        self.sentences = []
        for _ in range(40_000):
            chosen = rng.choices(vocab, weights, k=rng.randint(8, 22))
            self.sentences.append(" ".join(chosen).capitalize() + ".")
        self.companies = [
            "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
            + rng.choice([" Robotics", " Labs", " Systems", " Energy", " Tech", " Holdings", "", " AI"])
            for _ in range(500)
        ]
        self.titles = [" ".join(rng.choices(vocab[:400], k=rng.randint(5, 10))).capitalize() for _ in range(5000)]

    def story(self, rules: tuple[int, ...]) -> tuple[str, str, list[tuple[int, str]]]:
        """Title, body and per rule the topic sentence its snippet shows."""
        rng = self.rng
        company = rng.choice(self.companies)
        amount = rng.choice(AMOUNTS)
        parts = rng.choices(self.sentences, k=rng.randint(12, 32))
        topics: list[tuple[int, str]] = []
        for rule in rules:
            for _ in range(rng.randint(1, 3)):
                sentence = rng.choice(RULES[rule][3]).format(co=company, amount=amount)
                parts.insert(rng.randrange(len(parts) + 1), sentence)
            topics.append((rule, sentence))
        for sentence, share in MENTIONS:
            if rng.random() < share:
                parts.insert(rng.randrange(len(parts) + 1), sentence)
        paragraphs = [" ".join(parts[i : i + 4]) for i in range(0, len(parts), 4)]
        title = topics[0][1].rstrip(".")[:90] if rules else rng.choice(self.titles)
        return title, "\n".join(paragraphs), topics


def snippet(sentence: str, words: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """The match's HTML snippet (escaped, hits in <mark>) and its hits."""
    marked = html.escape(sentence)
    hits = []
    for word in words:
        start = sentence.lower().find(word)
        if start >= 0:
            hits.append({"term": word, "field": "body", "start": start, "end": start + len(word)})
            found = html.escape(sentence[start : start + len(word)])
            marked = marked.replace(found, f"<mark>{found}</mark>", 1)
    return "…" + marked + "…", hits


Rows = dict[str, list[tuple[Any, ...]]]


def generate(articles: int, alerts: int, now: datetime, batch: int = 20_000) -> Iterator[Rows]:
    """Rows to insert, table by table, in batches (stories before their articles, articles before matches)."""
    rng = random.Random(SEED)
    layout = plan(articles, alerts, rng)
    writer = Writer(rng)
    start = now - timedelta(seconds=YEAR)
    story_ids: dict[int, int] = {}
    open_stories: dict[int, tuple[str, str, list[tuple[int, str]], int]] = {}  # number -> title, body, ...
    alert_keys: set[tuple[int, int]] = set()
    rows: Rows = {"story": [], "article": [], "match": [], "alert": [], "triage": []}
    for index in range(articles):
        article_id = index + 1
        number = layout.stories[index]
        rules = layout.rules[index]
        created = start + timedelta(seconds=layout.times[index])
        site = SITES[layout.sites[index]]
        if number not in story_ids:
            story_ids[number] = story_id = len(story_ids) + 1
            title, body, topics = writer.story(rules)
            open_stories[number] = (title, body, topics, article_id)
            rows["story"].append((story_id, title, SIGNATURE, 120, created))
        story_id = story_ids[number]
        title, body, topics, first = open_stories[number]
        if first != article_id:  # a copy: the same story told by another outlet
            body = f"{rng.choice(CITIES)} ({site}) - {body}"
            title = rng.choice(["UPDATE 1-", "", "", "Exclusive: "]) + title
        layout.story_sizes[number] -= 1
        if not layout.story_sizes[number]:
            del open_stories[number]
        published = None if rng.random() < 0.05 else created - timedelta(seconds=rng.random() * 6 * 3600)
        slug = "-".join(title.lower().split()[:6]).replace("/", "")
        url = f"https://{site}.example/news/{created:%Y/%m}/{slug}-{article_id}"
        rows["article"].append(
            (article_id, site, url, url, title, body, None, published, "en", created, created, story_id)
        )
        for rule, sentence in topics:
            rule_id, _, _, _, words = RULES[rule]
            marked, hits = snippet(sentence, words)
            amounts: list[dict[str, Any]] = []
            if "$" in sentence:
                amounts = [{"text": "$120 million", "value": 1.2e8, "currency": "USD", "usd": 1.2e8}]
            flagged = created + timedelta(seconds=1)
            rows["match"].append(
                (article_id, rule_id, json.dumps(words), json.dumps(hits), marked, json.dumps(amounts), flagged)
            )
            if (story_id, rule) not in alert_keys:
                alert_keys.add((story_id, rule))
                mode = "instant" if rule % 2 else "digest"
                rows["alert"].append((story_id, rule_id, article_id, mode, False, None, flagged))
        if rules and rng.random() < 0.2:
            state = rng.choices([s for s, _ in TRIAGE_STATES], [w for _, w in TRIAGE_STATES])[0]
            note = "follow up with the desk" if rng.random() < 0.15 else None
            rows["triage"].append((article_id, state, note, created + timedelta(hours=rng.random() * 48), "web"))
        if len(rows["article"]) >= batch:
            yield rows
            rows = {name: [] for name in rows}
    yield rows
    runs = []
    for site in SITES:
        for hour in range(90 * 24):
            started = now - timedelta(hours=hour, minutes=rng.random() * 30)
            finished = started + timedelta(seconds=20 + rng.random() * 200)
            runs.append((site, started, finished, "ok", 40, 3, 30, 0, 0, "{}"))
    yield {"crawl_run": runs}


COLUMNS = {
    "story": "id, title, signature, shingles, created_at",
    "article": "id, site_id, url, canonical_url, title, text, author, published, language, fetched_at, "
    "created_at, story_id",
    "match": "article_id, rule_id, terms, hits, snippet, amounts, flagged_at",
    "alert": "story_id, rule_id, article_id, mode, suppressed, reason, created_at",
    "triage": "article_id, state, note, updated_at, updated_by",
    "crawl_run": "site_id, started_at, finished_at, status, pages, new_articles, skipped, errors, flagged, stats",
}


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):  # as crawler.models.UTCDateTime stores it: naive UTC, SQLAlchemy's format
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load_sqlite(path: Path, articles: int, alerts: int) -> None:
    """Generate into a new SQLite file, in big transactions. The search index fills itself as in production:
    the triggers of migration 0006 add each article on its first match."""
    open_database(f"sqlite:///{path}").dispose()  # the schema, by the migrations
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    db.execute("BEGIN")
    loaded = 0
    for rows in generate(articles, alerts, datetime.now(UTC)):
        for table, values in rows.items():
            if values:
                marks = ", ".join("?" * len(values[0]))
                db.executemany(
                    f'INSERT INTO "{table}" ({COLUMNS[table]}) VALUES ({marks})',
                    ([_sqlite_value(v) for v in row] for row in values),
                )
        loaded += len(rows.get("article", ()))
        if loaded % 200_000 == 0 and rows.get("article"):
            db.execute("COMMIT")
            db.execute("BEGIN")
            print(f"  {loaded:,} articles", flush=True)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def load_postgresql(url: str, articles: int, alerts: int) -> None:
    """Generate into a new PostgreSQL database with COPY, a transaction per batch; the search index fills
    itself through the triggers of migration 0006, as in production."""
    import psycopg

    open_database(url).dispose()  # the schema, by the migrations
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as db:
        loaded = 0
        for rows in generate(articles, alerts, datetime.now(UTC)):
            with db.transaction():
                for table, values in rows.items():
                    if values:
                        with db.cursor().copy(f'COPY "{table}" ({COLUMNS[table]}) FROM STDIN') as copy:
                            for row in values:
                                copy.write_row(row)
            loaded += len(rows.get("article", ()))
            if loaded % 200_000 == 0 and rows.get("article"):
                print(f"  {loaded:,} articles", flush=True)
        for table in ("story", "article", "match", "alert", "crawl_run"):
            db.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))")
        db.execute("VACUUM ANALYZE")  # what autovacuum does to a live database


def sizes(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            path = Path(str(engine.url.database))
            return f"{sum(p.stat().st_size for p in path.parent.glob(path.name + '*')) / 2**30:.2f} GiB"
        total = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        return f"{total / 2**30:.2f} GiB"


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
            for table in ("article", "story", "match", "alert", "triage", "crawl_run")
        }


# --------------------------------------------------------------------------- the timings

CASES: list[tuple[str, dict[str, Any], int]] = [
    ("rule (big)", {"rule": "softbank-deals"}, 1),
    ("rule (small)", {"rule": "space"}, 1),
    ("rule + q common", {"rule": "robotics", "q": "company"}, 1),
    ("rule + q topic", {"rule": "robotics", "q": "softbank"}, 1),
    ("rule + q rare", {"rule": "chips", "q": "zeppelin"}, 1),
    ("rule + q prefix", {"rule": "softbank-deals", "q": "robot*"}, 1),
    ("rule + q phrase", {"rule": "robotics", "q": '"funding round"'}, 1),
    ("q topic", {"q": "softbank"}, 1),
    ("q common", {"q": "company"}, 1),
    ("q rare", {"q": "okapi"}, 1),
    ("q phrase", {"q": '"funding round"'}, 1),
    ("no filter", {}, 1),
    ("no filter p.1000", {}, 1000),
    ("rule p.200", {"rule": "robotics"}, 200),
    ("status new", {"status": "new"}, 1),
    ("status relevant", {"status": "relevant"}, 1),
    ("rule + status new", {"rule": "robotics", "status": "new"}, 1),
    ("site + rule", {"site": "site03", "rule": "chips"}, 1),
    ("last 30 days", {"since": "30d"}, 1),
    ("last 365 days", {"since": "365d"}, 1),
    ("sort title", {"sort": "title"}, 1),
    ("sort published", {"sort": "published"}, 1),
]
HTTP_CASES = [
    ("HTTP rule + q", "/stories?rule=robotics&q=softbank"),
    ("HTTP no filter", "/stories"),
    ("HTTP q common", "/stories?q=company"),
]


def story_filter(values: dict[str, Any]) -> StoryFilter:
    values = dict(values)
    if "since" in values:
        values["since"] = datetime.now(UTC) - timedelta(days=int(values["since"].rstrip("d")))
    return StoryFilter(**values)


WARMUP = 2


def measure(run: Callable[[], Any], repeat: int) -> list[float]:
    for _ in range(WARMUP):
        run()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append((time.perf_counter() - began) * 1000)
    return times


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def web_config(folder: Path) -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    sites = "".join(
        f'[[site]]\nid = "{s}"\nname = "Site {s[4:]}"\nfeeds = ["https://{s}.example/feed.xml"]\n\n' for s in SITES
    )
    (folder / "sites.toml").write_text(sites, encoding="utf-8")
    rules = "".join(
        f'[[rule]]\nid = {json.dumps(rule_id)}\nquery = {json.dumps(query)}\nmode = "digest"\n\n'
        for rule_id, query, _, _, _ in RULES
    )
    (folder / "rules.toml").write_text(rules, encoding="utf-8")
    return load_config(folder)


def bench(engine: Engine, repeat: int, only: list[str] | None) -> list[Timing]:
    results = []
    for name, values, page in CASES:
        if only and name not in only:
            continue
        flt = story_filter(values)

        def whole(flt: StoryFilter = flt, page: int = page) -> int:
            with Session(engine) as session:
                return list_stories(session, flt, page, 25).total

        def facets(flt: StoryFilter = flt) -> None:
            with Session(engine) as session:
                rule_counts(session, flt)

        list_ms = measure(whole, repeat)
        results.append(Timing(name, whole(), list_ms, measure(facets, max(3, repeat // 4))))
        print(f"  {name}: {statistics.median(list_ms):.1f} ms", flush=True)
    from fastapi.testclient import TestClient

    from crawler.web.app import WebContext, create_app

    with tempfile.TemporaryDirectory() as folder:
        config = web_config(Path(folder) / "config")
        settings = Settings(
            config=Path(folder) / "config", data_dir=Path(folder), database_url=str(engine.url), web_secret="bench"
        )
        client = TestClient(create_app(WebContext(engine, settings, lambda: config)), base_url="http://127.0.0.1:8080")
        for name, path in HTTP_CASES:
            if only and name not in only:
                continue

            def get(path: str = path) -> None:
                response = client.get(path)
                assert response.status_code == 200, response.text[:300]

            ms = measure(get, repeat)
            results.append(Timing(name, -1, ms, []))
            print(f"  {name}: {statistics.median(ms):.1f} ms", flush=True)
    return results


def explain(engine: Engine, name: str) -> None:
    """Each statement of the case's list_stories, with its time and plan."""
    values, page = next((v, p) for n, v, p in CASES if n == name)
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as session:
            list_stories(session, story_filter(values), page, 25)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    print(f"\n--- {name} ({engine.dialect.name}) ---")
    raw = engine.raw_connection()
    try:
        for statement, parameters in statements:
            cursor = raw.cursor()
            began = time.perf_counter()
            cursor.execute(statement, parameters)
            cursor.fetchall()
            elapsed = (time.perf_counter() - began) * 1000
            print(f"\n[{elapsed:.1f} ms] {' '.join(statement.split())}\n  params: {parameters}")
            prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
            cursor.execute(prefix + statement, parameters)
            for row in cursor.fetchall():
                print("   ", " | ".join(str(v) for v in row) if engine.dialect.name == "sqlite" else row[0])
    finally:
        raw.close()


def table(label: str, results: list[Timing]) -> None:
    print(f"\n{label}")
    print(f"{'case':<20} {'stories':>9} {'median ms':>10} {'p95 ms':>8} {'rule counts ms':>15}")
    for r in results:
        found = "" if r.found < 0 else f"{r.found:,}"
        facets = f"{statistics.median(r.counts_ms):.1f}" if r.counts_ms else ""
        worst = max(statistics.median(r.list_ms), p95(r.list_ms))
        flag = "" if worst <= 200 else "  > 200 ms"
        print(
            f"{r.name:<20} {found:>9} {statistics.median(r.list_ms):>10.1f} {p95(r.list_ms):>8.1f} {facets:>15}{flag}"
        )


# --------------------------------------------------------------------------- main


def prepare(kind: str, args: argparse.Namespace) -> tuple[Engine, Callable[[], None]]:
    """The engine of a generated database (made now unless --keep found one), and how to remove it."""
    marker = f"{args.articles}/{args.alerts}/{SEED}"
    if kind == "sqlite":
        path = Path(args.sqlite)
        stamp = path.with_suffix(".generated")
        url = f"sqlite:///{path}"
        if not (args.keep and stamp.exists() and stamp.read_text() == marker):
            for old in path.parent.glob(path.name + "*"):
                old.unlink()
            stamp.unlink(missing_ok=True)
            began = time.perf_counter()
            print(f"generating {url} ...", flush=True)
            load_sqlite(path, args.articles, args.alerts)
            print(f"  generated in {time.perf_counter() - began:.0f} s", flush=True)
            stamp.write_text(marker)

        def remove() -> None:
            for old in path.parent.glob(path.name + "*"):
                old.unlink()
            stamp.unlink(missing_ok=True)

        return open_database(url), remove
    admin = create_db_engine(args.pg_url)
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    name = args.pg_name
    url = args.pg_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        comment = None
        if exists:
            comment = conn.execute(
                text("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"),
                {"n": name},
            ).scalar()
        if not (args.keep and comment == marker):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            began = time.perf_counter()
            print(f"generating {url} ...", flush=True)
            load_postgresql(url, args.articles, args.alerts)
            print(f"  generated in {time.perf_counter() - began:.0f} s", flush=True)
            conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{marker}'"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return open_database(url), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per case (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the generated database, reuse a kept one")
    parser.add_argument("--case", action="append", help="time only this case (repeatable)")
    parser.add_argument("--explain", action="append", default=[], help="print the plans of this case")
    parser.add_argument("--pg-url", default=PG_URL, help="a database on the server to use (default: %(default)s)")
    parser.add_argument("--pg-name", default=DB_NAME, help="the generated database's name (default: %(default)s)")
    parser.add_argument("--sqlite", default=str(SQLITE_PATH), help="the generated SQLite file (default: %(default)s)")
    args = parser.parse_args()
    global WARMUP
    WARMUP = args.warmup
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        engine, remove = prepare(kind, args)
        try:
            found = counts(engine)
            print(f"{kind}: " + ", ".join(f"{t} {n:,}" for t, n in found.items()) + f"; size {sizes(engine)}")
            for name in args.explain:
                explain(engine, name)
            if args.explain and not args.case:
                continue
            results = bench(engine, args.repeat, args.case)
            table(f"{kind}: {found['article']:,} articles, {found['alert']:,} alerts (ms, {args.repeat} runs)", results)
        finally:
            engine.dispose()
            if not args.keep:
                remove()


if __name__ == "__main__":
    main()
