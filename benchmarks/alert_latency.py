"""Alert latency: from an article appearing in a site's feed to its instant email at an SMTP server.

Usage::

    .venv/bin/python benchmarks/alert_latency.py [--articles 20] [--spread 600] [--every 1m]
        [--jitter DURATION] [--send-interval DURATION] [--delay SECONDS] [--seed N] [--keep]

    # a quick smoke run (about 3 minutes)
    .venv/bin/python benchmarks/alert_latency.py --articles 3 --spread 60

Everything is real and on 127.0.0.1: a local news site (an RSS feed and article pages), an aiosmtpd SMTP
server, and ``newswatch run`` as a subprocess with its SQLite database in a temporary folder. The site is
crawled ``every`` minute with the shipped default jitter (a tenth of the interval) and the shipped
``NEWSWATCH_SEND_INTERVAL`` and ``delay``, unless ``--jitter``, ``--send-interval`` or ``--delay`` say
otherwise. Once the first crawl is over (the articles already online are older than the backfill window
and send nothing), ``--articles`` new SoftBank investment stories (the shipped ``softbank-investment``
rule is instant) are put into the feed at random times over ``--spread`` seconds. For each story the
latency runs from the moment the feed served it to the moment its email reached the SMTP server (matched
by the made-up company name in the Subject). The service is then stopped with SIGTERM (exit 0 expected).

It prints, per story, the latency split into *wait* (publication to the start of the crawl that stored
it), *crawl* (that crawl's start to its end, as recorded in crawl_run) and *deliver* (the crawl's end to
the email), then min / median / p95 / max and the target: p95 <= interval + 60 s. Timings are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiosmtpd.smtp import SMTP, Envelope, Session  # noqa: E402
from sqlmodel import Session as DBSession  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from crawler.durations import parse_duration  # noqa: E402
from crawler.models import ArticleRow, CrawlRunRow  # noqa: E402
from crawler.store import open_database  # noqa: E402
from tests.local_site import LocalSite, Response  # noqa: E402
from tests.service_harness import ServiceProcess, local_site, service_env, wait_until, write_config  # noqa: E402
from tests.smtp_server import ScriptedHandler, SMTPServer  # noqa: E402

SEED = 20261205
FILLER = (
    *("factory", "harbour", "railway", "sensor", "camera", "drone", "warehouse", "battery", "cable", "grid"),
    *("satellite", "clinic", "airport", "turbine", "vessel", "forklift", "crane", "conveyor", "pump", "valve"),
    *("engine", "chip", "wafer", "server", "antenna", "router", "laser", "gearbox", "robot", "lidar"),
)
SYLLABLES = ("quill", "mar", "vento", "kes", "lor", "dain", "bram", "tol", "zephy", "orin", "cald", "wyn")
# Settings the test harness shortens that this benchmark leaves at their shipped defaults.
HARNESS_SHORTCUTS = (
    "NEWSWATCH_MIN_INTERVAL",
    "NEWSWATCH_SEND_INTERVAL",
    "NEWSWATCH_HEARTBEAT_INTERVAL",
    "NEWSWATCH_SHUTDOWN_TIMEOUT",
)


@dataclass
class TimedHandler(ScriptedHandler):
    """The scripted SMTP handler, also noting when (epoch seconds) each message was accepted."""

    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (time, Subject)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250"):
            with self.lock:
                self.arrivals.append((time.time(), str(self.received[-1].message["Subject"])))
        return reply


@dataclass
class Story:
    """One article the benchmark publishes."""

    name: str  # the made-up company, unique: what the email is matched by
    path: str
    title: str
    page: bytes
    published: float = 0.0  # epoch seconds when the feed first served it
    mailed: float | None = None
    wait: float | None = None
    crawl: float | None = None

    @property
    def latency(self) -> float | None:
        return None if self.mailed is None else self.mailed - self.published


def company(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
        if name not in taken:
            taken.add(name)
            return name


def story_page(title: str, lead: str, published: datetime, rng: random.Random) -> bytes:
    """An article page with a body of its own (distinct stories are not grouped into one)."""
    sentences = [" ".join(rng.choice(FILLER) for _ in range(15)).capitalize() + "." for _ in range(20)]
    paragraphs = "".join(f"<p>{' '.join(sentences[k : k + 4])}</p>" for k in range(0, 20, 4))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | Local News</title>
<meta property="article:published_time" content="{published.isoformat(timespec="seconds")}"></head><body><main>
<article><h1>{title}</h1><p>{lead}</p>{paragraphs}</article></main></body></html>""".encode()


def make_stories(count: int, rng: random.Random) -> list[Story]:
    taken: set[str] = set()
    stories = []
    for i in range(count):
        name = company(rng, taken)
        title = f"SoftBank to invest ${i + 2} billion in {name} Robotics"
        lead = (
            f"SoftBank Group said it will invest ${i + 2} billion in {name} Robotics, a maker of warehouse "
            f"robots, taking a {10 + i}% stake. The investment by SoftBank's Vision Fund values {name} highly."
        )
        page = story_page(title, lead, datetime.now(UTC), rng)
        stories.append(Story(name, f"/news/{name.lower()}-{i}/", title, page))
    return stories


def feed(base: str, items: list[tuple[str, str, datetime]]) -> bytes:
    """An RSS feed of (path, title, published), newest first."""
    entries = "".join(
        f"<item><title>{title}</title><link>{base}{path}</link><guid>{base}{path}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate></item>"
        for path, title, when in reversed(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local News</title><link>{base}/</link>'
        f"{entries}</channel></rss>"
    ).encode()


class Newsroom:
    """The local site's feed: a few old stories at first, then the benchmark's, one at a time."""

    def __init__(self, site: LocalSite, rng: random.Random) -> None:
        self.site = site
        self.items: list[tuple[str, str, datetime]] = []
        old = datetime.now(UTC) - timedelta(days=10)
        for i, title in enumerate(
            [
                "SoftBank to invest $9 billion in Oldnews Robotics",
                "City council approves new bus lanes",
                "Review: a phone with a decent camera",
            ]
        ):
            path = f"/news/old-{i}/"
            lead = f"{title}. SoftBank said it will invest in the company, the group said on Monday."
            site.routes[path] = Response(story_page(title, lead if i == 0 else title + ".", old, rng))
            self.items.append((path, title, old))
        self._serve()

    def _serve(self) -> None:
        self.site.routes["/feed.xml"] = Response(feed(self.site.base_url, self.items), "application/rss+xml")

    def publish(self, story: Story) -> None:
        self.site.routes[story.path] = Response(story.page)
        self.items.append((story.path, story.title, datetime.now(UTC)))
        self._serve()  # one dict assignment: the next request for the feed has the story
        story.published = time.time()


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def match_mail(stories: list[Story], handler: TimedHandler) -> None:
    with handler.lock:
        arrivals = list(handler.arrivals)
    for story in stories:
        if story.mailed is None:
            hits = [when for when, subject in arrivals if story.name in subject]
            story.mailed = min(hits) if hits else None


def explain(stories: list[Story], db_url: str) -> list[CrawlRunRow]:
    """Fill in each story's wait and crawl from the crawl that stored it; the site's runs."""
    engine = open_database(db_url)
    try:
        with DBSession(engine) as session:
            runs = list(session.exec(select(CrawlRunRow).order_by(col(CrawlRunRow.id))).all())
            fetched = {a.url: a.fetched_at for a in session.exec(select(ArticleRow)).all()}
    finally:
        engine.dispose()
    for story in stories:
        when = next((at for url, at in fetched.items() if story.path in url), None)
        run = next((r for r in runs if when and r.finished_at and r.started_at <= when <= r.finished_at), None)
        if run is not None and run.finished_at is not None:
            story.wait = run.started_at.timestamp() - story.published
            story.crawl = (run.finished_at - run.started_at).total_seconds()
    return runs


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:7.1f}"


def report(stories: list[Story], runs: list[CrawlRunRow], interval: float, began: float, zero: float) -> bool:
    print()
    print(f"{'#':>2}  {'published':>9}  {'latency':>7}  {'wait':>7}  {'crawl':>7}  {'deliver':>7}  company")
    for i, story in enumerate(sorted(stories, key=lambda s: s.published), 1):
        deliver = None
        if story.latency is not None and story.wait is not None and story.crawl is not None:
            deliver = story.latency - story.wait - story.crawl
        print(
            f"{i:>2}  {story.published - zero:8.1f}s  {fmt(story.latency)}  {fmt(story.wait)}  "
            f"{fmt(story.crawl)}  {fmt(deliver)}  {story.name}"
        )
    latencies = [s.latency for s in stories if s.latency is not None]
    missing = len(stories) - len(latencies)
    crawls = [r for r in runs if r.finished_at is not None]
    durations = [(r.finished_at - r.started_at).total_seconds() for r in crawls if r.finished_at]
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(crawls)]
    print()
    if durations:
        print(
            f"crawls: {len(crawls)}, duration median {statistics.median(durations):.1f}s max {max(durations):.1f}s; "
            + (
                f"gap between starts min {min(gaps):.1f}s median {statistics.median(gaps):.1f}s max {max(gaps):.1f}s"
                if gaps
                else ""
            )
        )
    target = interval + 60
    if not latencies:
        print(f"no email arrived for any of the {len(stories)} stories: target p95 <= {target:.0f}s NOT MET")
        return False
    p95 = percentile(latencies, 0.95)
    print(
        f"latency over {len(latencies)} stories: min {min(latencies):.1f}s  "
        f"median {statistics.median(latencies):.1f}s  p95 {p95:.1f}s  max {max(latencies):.1f}s  "
        f"(mean {statistics.fmean(latencies):.1f}s)"
    )
    met = p95 <= target and missing == 0
    print(
        f"target: p95 <= interval + 60s = {target:.0f}s: {'met' if met else 'NOT MET'}"
        + (f" ({missing} stories never emailed)" if missing else "")
    )
    print(f"run took {time.monotonic() - began:.0f}s")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=20, help="stories to publish (default 20)")
    parser.add_argument("--spread", type=float, default=600.0, help="seconds over which they appear (default 600)")
    parser.add_argument("--every", default="1m", help="the site's crawl interval (default 1m)")
    parser.add_argument("--jitter", help="the site's jitter (default: the shipped default, a tenth of the interval)")
    parser.add_argument("--send-interval", help="NEWSWATCH_SEND_INTERVAL (default: the shipped default)")
    parser.add_argument("--delay", type=float, help="the site's delay between requests (default: the shipped one)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    args = parser.parse_args()

    began = time.monotonic()
    rng = random.Random(args.seed)
    interval = parse_duration(args.every).total_seconds()
    stories = make_stories(args.articles, rng)
    offsets = sorted(rng.uniform(0, args.spread) for _ in stories)
    tmp = Path(tempfile.mkdtemp(prefix="newswatch-latency-"))
    smtp = SMTPServer()
    handler = TimedHandler()
    smtp.handler = handler
    smtp.start()
    service: ServiceProcess | None = None
    code = 1
    try:
        with LocalSite() as site:
            newsroom = Newsroom(site, rng)
            extra: dict[str, object] = {"every": args.every}
            if args.delay is not None:
                extra["delay"] = args.delay
            config_site = local_site("local", site.base_url, **extra)
            for shipped in ("jitter", "backfill", "delay"):  # the harness's shortcuts, unless asked for
                if shipped not in extra:
                    del config_site[shipped]
            if args.jitter is not None:
                config_site["jitter"] = args.jitter
            config = write_config(tmp / "config", [config_site])
            env = service_env(tmp, config, smtp_url=smtp.url)
            for name in HARNESS_SHORTCUTS:
                env.pop(name)
            if args.send_interval is not None:
                env["NEWSWATCH_SEND_INTERVAL"] = args.send_interval
            db_url = f"sqlite:///{tmp / 'data' / 'newswatch.db'}"
            delay = "default" if args.delay is None else f"{args.delay:g}s"
            print(
                f"site every {args.every}, jitter {args.jitter or 'default'}, delay {delay}; "
                f"send interval {args.send_interval or 'default'}; {args.articles} stories over {args.spread:.0f}s; "
                f"work folder {tmp}",
                flush=True,
            )
            service = ServiceProcess(env, tmp / "service.log").start()

            def first_crawl() -> bool:  # (the service's own log: opening the database would race its migration)
                return any(record.get("event") == "crawl_run" for record in service.logs())

            wait_until(first_crawl, interval + 180, "the first crawl", service)
            print(f"first crawl over after {time.monotonic() - began:.0f}s; publishing", flush=True)
            time.sleep(2)
            if handler.arrivals:
                print(f"warning: {len(handler.arrivals)} email(s) from the first crawl (backfill)", flush=True)
            zero = time.time()
            for story, offset in zip(stories, offsets, strict=True):
                time.sleep(max(0.0, zero + offset - time.time()))
                newsroom.publish(story)
                print(f"  {story.published - zero:6.1f}s published {story.name}", flush=True)

            def all_mailed() -> bool:
                match_mail(stories, handler)
                return all(s.mailed is not None for s in stories)

            patience = interval * 2 + 240
            try:
                wait_until(all_mailed, patience, "every email", service)
            except AssertionError as exc:
                print(f"warning: {str(exc).splitlines()[0]}", flush=True)
            match_mail(stories, handler)
            stopping = time.monotonic()
            exit_code = service.terminate(timeout=120)
            print(f"SIGTERM: exit code {exit_code} after {time.monotonic() - stopping:.1f}s", flush=True)
            runs = explain(stories, db_url)
            met = report(stories, runs, interval, began, zero)
            code = 0 if exit_code == 0 else 1
            if not met:
                print(f"service log: {tmp / 'service.log'}")
    finally:
        if service is not None:
            service.stop_quietly()
        smtp.stop()
        if args.keep or code:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
