"""Test data for the alert tests: mail settings, the shipped configuration, and stories stored through the real
save transaction."""

from __future__ import annotations

import random
import shutil
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.alerts.mailconfig import MailConfig, RuleDelivery
from crawler.alerts.recorder import AlertRecorder, AlertSetup
from crawler.article import Amount, Article, Match
from crawler.config import Config, SiteConfig, load_config
from crawler.store import save_article

REPO = Path(__file__).resolve().parents[1]

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
INSTANT_RULE = "fast-rule"
DIGEST_RULE = "slow-rule"


class Clock:
    """A settable clock for the sender and planners, starting at NOW."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def mail_config(tmp_path: Path, smtp_url: str | None = None, **changes: object) -> MailConfig:
    """Two rules (one instant, one digest) for alice and bob; outbox folder under ``tmp_path``."""
    config = MailConfig(
        mail_from="newswatch@alerts.example",
        default_recipients=("alice@example.com", "bob@example.com"),
        rules={INSTANT_RULE: RuleDelivery("instant"), DIGEST_RULE: RuleDelivery("digest")},
        smtp_url=smtp_url,
        outbox_dir=tmp_path / "outbox",
        smtp_timeout=2.0,
        send_lease=0.0,
    )
    return replace(config, **changes)  # type: ignore[arg-type]


def shipped_config(tmp_path: Path) -> Config:
    """The shipped configuration (named sites, named rules) with one more site that has no name, "plain-site"."""
    folder = tmp_path / "config"
    shutil.copytree(REPO / "config", folder)
    with (folder / "sites.toml").open("a", encoding="utf-8") as sites:
        sites.write('\n[[site]]\nid = "plain-site"\nfeeds = ["https://plain.example/feed"]\n')
    return load_config(folder)


def site(backfill: str = "24h") -> SiteConfig:
    return SiteConfig.model_validate({"id": "news-a", "feeds": ["https://a.example/feed"], "backfill": backfill})


def recorder(first_crawl: bool = False, backfill: str = "24h", setup: AlertSetup | None = None) -> AlertRecorder:
    setup = setup or AlertSetup(modes={INSTANT_RULE: "instant", DIGEST_RULE: "digest"})
    return setup.for_site(site(backfill), first_crawl=first_crawl, started=NOW)


_VOCABULARY = " ".join(
    (
        "robot fund seed round chip sensor factory plant city market board deal stake share price growth plan",
        "model cloud data centre team founder rival buyer seller bank loan bond yen dollar euro won Tokyo Seoul",
        "London Berlin quarter year month week launch product device network carrier tower fibre lab test pilot",
    )
).split()


def body(n: int, words: int = 120) -> str:
    """A distinct article body for story ``n`` (random words seeded by ``n``), in sentences."""
    rng = random.Random(n)
    tokens = [rng.choice(_VOCABULARY) for _ in range(words)]
    return " ".join(" ".join(tokens[i : i + 12]) + "." for i in range(0, words, 12))


def store(
    engine: Engine,
    rec: AlertRecorder | None,
    n: int,
    rules: Sequence[str] = (INSTANT_RULE,),
    *,
    title: str | None = None,
    text: str | None = None,
    site_id: str = "news-a",
    published: datetime | None = None,
    url: str | None = None,
) -> int | None:
    """Store article ``n`` with matches for ``rules`` in one transaction, alerts recorded by ``rec``."""
    url = url or f"https://{site_id}.example/story/{n}"
    article = Article(
        url=url,
        canonical_url=url,
        title=title if title is not None else f"Story {n}: {' '.join(body(n, 12).split()[:6])}",
        text=text if text is not None else body(n),
        published=published or NOW - timedelta(hours=1),
    )
    matches = [
        Match(
            rule,
            ["robots"],
            snippet=f"story{n} about <mark>robots</mark> &amp; funding",
            amounts=[Amount("$5m", 5e6, "USD", 5e6)],
        )
        for rule in rules
    ]
    with Session(engine) as session:
        return save_article(session, site_id, article, matches, on_new=rec.record if rec else None)
