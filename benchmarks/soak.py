"""Reliability soak: hostile input by the hundred thousand, hostile sites and kills, with the figures printed.

Usage::

    .venv/bin/python benchmarks/soak.py            # the full soak (about 10 minutes on 2 cores)
    .venv/bin/python benchmarks/soak.py --quick    # a tenth of the examples, one round of everything

Steps (each prints one line: inputs tried, crashes, hangs and the step's own figure):

1. **rules**: 100,000 generated queries (raw text, token soup of the whole language, mutations of real
   rules) through the rule parser; every one either parses or raises the documented RuleError (anything
   else is a crash); a parse or an evaluation taking over a second is a hang. Parsed queries are
   compiled and matched against an article (p99 evaluation time).
2. **private addresses**: random addresses from every private, loopback, link-local, shared, multicast
   and reserved range, each written in a random spelling (dotted, one integer, hex, octal, short forms,
   IPv4-mapped, NAT64, 6to4, with a trailing dot or brackets), as request URLs through the guard; and
   random public addresses, which must pass.
3. **feeds and sitemaps**: generated and mutated feed and sitemap bodies through their parsers; only
   DiscoveryError may come out.
4. **emails**: generated hostile titles, snippets and site names composed into instant and digest
   emails; each message is parsed back: exactly one Subject, no other headers, no script or event
   handler in the HTML.
5. **hostile crawls**: the hostile-site test files (compression bombs, XML bombs, XXE, SSRF canaries,
   robots.txt outages, TLS, truncation, retries, redirect loops) as real crawls, ``--rounds`` times.
6. **kills**: the outbox kill test with 100 rounds (200 SIGKILLs of a sending process at each step of
   delivery): alerts lost and sent twice.

Nothing here is asserted: the script prints what it measured; a crash or a failed round is reported.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_network
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

HANG_SECONDS = 1.0
RAW_ALIASES = {"softbank": 'softbank OR "vision fund*" OR ソフトバンク', "deal": "invest* OR MONEY>=1B"}


class Tally:
    """Outcomes and timings of one step."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.outcomes: Counter[str] = Counter()
        self.times: list[float] = []
        self.crashes: list[str] = []

    def run(self, check: Callable[[Any], str], value: Any) -> None:
        began = time.perf_counter()
        try:
            outcome = check(value)
        except Exception as exc:  # the finding this script looks for
            outcome = "crash"
            if len(self.crashes) < 5:
                self.crashes.append(f"crash: {type(exc).__name__}: {exc} <- {value!r}"[:300])
        elapsed = time.perf_counter() - began
        self.times.append(elapsed)
        self.outcomes[outcome] += 1
        if elapsed > HANG_SECONDS:
            self.outcomes["hang"] += 1
            if len(self.crashes) < 5:
                self.crashes.append(f"hang: {elapsed:.2f} s <- {value!r}"[:300])

    def line(self, extra: str = "") -> str:
        tried = len(self.times)
        p99 = 1000 * statistics.quantiles(self.times, n=100)[98] if tried >= 100 else 0.0
        detail = ", ".join(f"{k} {v:,}" for k, v in sorted(self.outcomes.items()) if k not in ("crash", "hang"))
        text = (f"{self.name}: {tried:,} inputs, {self.outcomes['crash']} crashes, {self.outcomes['hang']} hangs "
                f"(p99 {p99:.2f} ms, max {1000 * max(self.times, default=0):.1f} ms); {detail}")
        return text + (f"; {extra}" if extra else "") + "".join(f"\n    {c}" for c in self.crashes)


def drive(strategy: st.SearchStrategy[Any], examples: int, tally: Tally, check: Callable[[Any], str]) -> None:
    """Feed ``examples`` generated values to ``check`` (generation only: nothing to shrink, nothing fails)."""

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def body(value: Any) -> None:
        tally.run(check, value)

    body()


# --------------------------------------------------------------------------- 1. rules


def soak_rules(examples: int) -> str:
    from crawler.rules import Rule, RuleError, RuleSet, parse_query
    from tests.test_rules_fuzz import ALIASES, NEW_PIECES, PIECES, SEEDS

    article_title = "SoftBank's Vision Fund invests $1.5 billion in robot maker"
    article_text = ("The ソフトバンク fund said on Monday it would invest in AI and IoT start-ups, " * 40)
    evaluations: list[float] = []
    tally = Tally("1. rules")

    def check(query: str) -> str:
        try:
            parse_query(query, "soak", ALIASES)
        except RuleError:
            return "rule error"
        try:
            rules = RuleSet.compile([Rule("soak", query)], aliases=RAW_ALIASES)
        except RuleError:
            return "rule error"
        began = time.perf_counter()
        rules.match(article_title, article_text, site=("news",), url="https://news.example/a")
        evaluations.append(time.perf_counter() - began)
        return "parsed"

    soup = st.lists(st.sampled_from(PIECES + NEW_PIECES), max_size=40).map("".join)
    mutated = st.tuples(st.sampled_from(SEEDS), st.integers(0, 200), st.text(max_size=8)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1]:]
    )
    for strategy, share in ((st.text(max_size=300), 0.3), (soup, 0.4), (mutated, 0.3)):
        drive(strategy, int(examples * share), tally, check)
    p99 = 1000 * statistics.quantiles(evaluations, n=100)[98] if len(evaluations) >= 100 else 0.0
    return tally.line(f"evaluation p99 {p99:.3f} ms over {len(evaluations):,} compiled rules")


# --------------------------------------------------------------------------- 2. private addresses

_PRIVATE_V4 = [ip_network(n) for n in ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                                         "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16",
                                         "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
                                         "240.0.0.0/4")]
_PRIVATE_V6 = [ip_network(n) for n in ("::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32")]


def _random_in(network: Any, rng: random.Random) -> Any:
    return network[rng.randrange(network.num_addresses)] if network.num_addresses > 1 else network[0]


def spellings(address: IPv4Address, rng: random.Random) -> str:
    """``address`` written the way a URL host may write it."""
    n, parts = int(address), address.packed
    forms = [
        str(address), str(n), hex(n), "0" + oct(n)[2:], ".".join(hex(p) for p in parts),
        ".".join("0" + oct(p)[2:] for p in parts), f"{parts[0]}.{int.from_bytes(parts[1:], 'big')}",
        f"{parts[0]}.{parts[1]}.{int.from_bytes(parts[2:], 'big')}", f"[::ffff:{address}]",
        f"[::ffff:{n >> 16:x}:{n & 0xFFFF:x}]", f"[64:ff9b::{address}]", f"[2002:{n >> 16:x}:{n & 0xFFFF:x}::1]",
        f"{address}.",
    ]
    return rng.choice(forms)


def soak_private(examples: int) -> str:
    from crawler.netguard import refusal

    rng = random.Random(20261205)
    tally = Tally("2. private addresses")
    for _ in range(examples):
        if rng.random() < 0.75:
            host = spellings(_random_in(rng.choice(_PRIVATE_V4), rng), rng)
        else:
            host = f"[{_random_in(rng.choice(_PRIVATE_V6), rng)}]"
        url = f"http://{host}:{rng.randrange(1, 65536)}/x"
        tally.run(lambda u: "refused" if refusal(u, frozenset()) else "LET THROUGH", url)
    public = Tally("   public addresses")
    for _ in range(examples // 4):
        while True:
            candidate = IPv4Address(rng.getrandbits(32))
            if candidate.is_global and not any(candidate in net for net in _PRIVATE_V4):
                break
        host = str(candidate) if rng.random() < 0.5 else f"[{IPv6Address(int(candidate) | (0xFFFF << 32))}]"
        public.run(lambda u: "allowed" if refusal(u, frozenset()) is None else "WRONGLY REFUSED", f"http://{host}/")
    return tally.line() + "\n" + public.line()


# --------------------------------------------------------------------------- 3. feeds and sitemaps


def soak_feeds(examples: int) -> str:
    from crawler.discovery import DiscoveryError, links_from_feed, parse_sitemap

    tally = Tally("3. feeds and sitemaps")
    seeds = [
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>A &amp; B</title>'
        b"<link>https://n.example/a</link><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>x</title><link href="/b"/>'
        b"<updated>2026-11-02T10:00:00Z</updated></entry></feed>",
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>'
        b"<loc>https://n.example/c</loc><lastmod>2026-11-02</lastmod></url></urlset>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<rss><channel><item><title>&b;</title><link>https://n.example/d</link></item></channel></rss>",
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"url": "https://n.example/e", "title": "x",'
        b' "date_published": "2026-11-02T10:00:00Z"}]}',
    ]
    pieces = [b"<", b">", b"&", b"&#0;", b"&#xD800;", b"]]>", b"<![CDATA[", b"<!ENTITY x SYSTEM 'file:///etc/passwd'>",
              b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"<item>", b"</item>", b"<link>javascript:alert(1)</link>",
              b"<link>", b"</link>", b"\xe9", b"\r\n"]

    def check(body: bytes) -> str:
        outcomes = []
        for parse in (lambda: links_from_feed(body, "https://n.example/feed"),
                      lambda: parse_sitemap(body, "https://n.example/sitemap.xml")):
            try:
                parse()
                outcomes.append("read")
            except DiscoveryError:
                outcomes.append("refused")
        return "/".join(outcomes)

    mutated = st.tuples(st.sampled_from(seeds), st.integers(0, 400), st.lists(st.sampled_from(pieces), max_size=6),
                        st.integers(0, 40)).map(lambda t: t[0][: t[1]] + b"".join(t[2]) + t[0][t[1] + t[3]:])
    drive(st.one_of(st.binary(max_size=2000), mutated), examples, tally, check)
    # A huge feed (50,000 items, 7 MB) and a 10 MB description: time and memory of one parse, each in a
    # fresh process (so that the peak is this parse's own).
    figures = [_measure_feed(name, size) for name, size in (("50k items", 50_000), ("10 MB description", 0))]
    return tally.line("; ".join(figures))


_FEED_MEASURE = """
import sys, time
from crawler.discovery import links_from_feed

def peak():  # this process's own high-water mark (ru_maxrss would start from the parent's)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) // 1024

items = int(sys.argv[1])
rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>%s</channel></rss>'
body = rss % (b"".join(b"<item><title>Story %d</title><link>https://n.example/%d</link></item>" % (n, n)
                      for n in range(items)) if items else
              b"<item><title>x</title><link>https://n.example/x</link><description>%s</description></item>"
              % (b"robot " * 1_700_000))
before = peak()
began = time.perf_counter()
count = len(links_from_feed(body, "https://n.example/feed"))
print(count, round(time.perf_counter() - began, 2), peak() - before)
"""


def _measure_feed(name: str, items: int) -> str:
    result = subprocess.run([sys.executable, "-c", _FEED_MEASURE, str(items)], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    if result.returncode != 0:
        return f"{name}: failed: {result.stderr.strip().splitlines()[-1:]}"
    count, took, grew = result.stdout.split()
    return f"{name}: {count} links in {took} s, peak +{grew} MB"


# --------------------------------------------------------------------------- 4. emails


def soak_emails(examples: int) -> str:
    from crawler.alerts.compose import Envelope, compose
    from tests.test_alerts_compose import CONFIG, DATE, _check_message, _item, title_text

    tally = Tally("4. emails")

    def check(value: tuple[list[str], str, str]) -> str:
        titles, snippet, site = value
        items = [_item(title, n, snippet=snippet, site=site) for n, title in enumerate(titles, start=1)]
        for kind in ("instant", "digest"):
            composed = compose(Envelope("alice@example.com", "<nw.soak@alerts.example>", DATE, kind), items, CONFIG)
            try:
                _check_message(composed.raw, "alice@example.com")
            except AssertionError as exc:
                raise RuntimeError(f"unsafe {kind} message: {exc}") from None
        return "safe"

    drive(st.tuples(st.lists(title_text, min_size=1, max_size=4), title_text, title_text), examples, tally, check)
    return tally.line()


# --------------------------------------------------------------------------- 5. and 6.: real processes


def pytest_rounds(name: str, files: list[str], rounds: int, env: dict[str, str] | None = None) -> str:
    failed = 0
    began = time.perf_counter()
    summary = ""
    for _ in range(rounds):
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-s", *files],
                                cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})})
        failed += result.returncode != 0
        lines = result.stdout.strip().splitlines()
        summary = lines[-1] if lines else result.stderr[-300:]
        kill_lines = [line.strip() for line in lines if "kill test:" in line]
        if kill_lines:  # one per database (SQLite, PostgreSQL)
            summary = " | ".join(kill_lines) + "; " + summary
    return f"{name}: {rounds} round(s), {failed} failed, {time.perf_counter() - began:.0f} s; last: {summary}"


HOSTILE_TESTS = ["tests/test_hostile_site.py", "tests/test_hostile_fetch.py", "tests/test_ssrf.py",
                 "tests/test_scope.py", "tests/test_robots.py", "tests/test_tls.py", "tests/test_analysis.py"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tenth of the examples, one round of everything")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the hostile crawl tests")
    parser.add_argument("--only", nargs="*", help="run only these steps (1-6)")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    rounds = 1 if args.quick else args.rounds
    steps: list[tuple[str, Callable[[], str]]] = [
        ("1", lambda: soak_rules(int(100_000 * scale))),
        ("2", lambda: soak_private(int(20_000 * scale))),
        ("3", lambda: soak_feeds(int(10_000 * scale))),
        ("4", lambda: soak_emails(int(3_000 * scale))),
        ("5", lambda: pytest_rounds("5. hostile crawls", HOSTILE_TESTS, rounds)),
        ("6", lambda: pytest_rounds("6. kills", ["tests/test_alerts_sender_kill.py"], 1,
                                    {"NEWSWATCH_KILL_ROUNDS": "12" if args.quick else "100"})),
    ]
    began = time.perf_counter()
    for number, step in steps:
        if args.only and number not in args.only:
            continue
        started = time.perf_counter()
        print(step(), f"[{time.perf_counter() - started:.0f} s]", flush=True)
    print(f"soak finished in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
