"""Test data for the review web pages: a configuration of two named sites and two named rules, and a handful of flagged
articles stored through the real save transaction (real rule matches, stories and alerts).

``seed(engine, config)`` stores, newest last:

=============  =====  ========  ===============  ==================================================
key            site   days ago  rules            what it is
=============  =====  ========  ===============  ==================================================
kobo           alpha  5         robots           Kobo Robotics raises $5 million (author, language)
kobo-copy      beta   4         robots           the same story told by the other outlet
nanofab        alpha  3         chips            a chipmaker opens a semiconductor plant
arms           beta   2         robots, chips    robot arms on semiconductor lines
zeppelin       alpha  1         robots           an automation startup (unique word "zeppelin")
weather        beta   1         (none)           an unflagged article: never listed
=============  =====  ========  ===============  ==================================================

"Days ago" sets ``created_at`` (when it was found) to noon UTC that many days before today, so the list order
and the date filters are deterministic.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.alerts.recorder import AlertRecorder, AlertSetup
from crawler.article import Article
from crawler.config import Config, load_config
from crawler.models import ArticleRow, MatchRow
from crawler.settings import Settings
from crawler.store import finish_run, save_article, start_run
from crawler.web.app import WebContext, create_app
from crawler.web.security import LoginLimiter
from tests.service_harness import write_config

ROBOTS = "robots"
CHIPS = "chips"
ALPHA = "alpha"
BETA = "beta"
SITE_NAMES = {ALPHA: "Alpha Daily", BETA: "Beta Wire"}
RULE_NAMES = {ROBOTS: "Robots & automation", CHIPS: "Chip plants"}
RULES_TOML = f"""
[[rule]]
id = "{ROBOTS}"
name = "{RULE_NAMES[ROBOTS]}"
query = "robot* OR automation"
mode = "instant"

[[rule]]
id = "{CHIPS}"
name = "{RULE_NAMES[CHIPS]}"
query = "semiconductor* OR chipmaker*"
mode = "digest"
"""

KOBO_BODY = (
    "Kobo Robotics said on Monday it had raised $5 million from a group of regional banks to build more "
    "warehouse robots.\n"
    "The robots pick and sort parcels for online shops in Osaka and Nagoya, and the company plans to open a "
    "second assembly plant near Kobe next spring.\n"
    "Founder Mika Sato said the money would also pay for a team of twenty engineers."
)


@dataclass(frozen=True)
class Spec:
    """One seeded article."""

    key: str
    site: str
    days_ago: int
    title: str
    text: str
    author: str | None = None
    language: str | None = None
    published: datetime | None = None


def today() -> datetime:
    """Midnight UTC of the current day."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def found_at(days_ago: int) -> datetime:
    """Noon UTC ``days_ago`` days before today: the ``created_at`` of a seeded article."""
    return today() - timedelta(days=days_ago) + timedelta(hours=12)


SPECS = (
    Spec(
        "kobo",
        ALPHA,
        5,
        "Kobo Robotics raises $5 million for warehouse robots",
        KOBO_BODY,
        author="Mika Writer",
        language="en",
        published=datetime(2026, 3, 2, 7, 30, tzinfo=UTC),
    ),
    Spec(
        "kobo-copy",
        BETA,
        4,
        "UPDATE 1-Kobo Robotics gets $5 million for warehouse robots",
        "OSAKA (Beta Wire) - " + KOBO_BODY,
        published=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    ),
    Spec(
        "nanofab",
        ALPHA,
        3,
        "Chipmaker Nanofab opens a semiconductor plant in Dresden",
        "Nanofab, a young chipmaker from Grenoble, opened its first semiconductor plant in Dresden on Tuesday.\n"
        "The factory will employ four hundred people and make sensors for cars and phones.",
    ),
    Spec(
        "arms",
        BETA,
        2,
        "Robot arms arrive on semiconductor lines",
        "Factories that make semiconductor wafers are buying robot arms to move trays between machines.\n"
        "Suppliers say orders doubled this year as plants in Taiwan and Arizona expand.",
    ),
    Spec(
        "zeppelin",
        ALPHA,
        1,
        "Zeppelin Labs bets on automation for farms",
        "Zeppelin Labs, a startup from Utrecht, sells automation kits that let greenhouses water and harvest "
        "tomatoes at night.\nIts first customers are three growers in the Westland region.",
    ),
    Spec(
        "weather",
        BETA,
        1,
        "Weather for the weekend: rain in the north",
        "Expect rain in the north on Saturday and sunshine everywhere on Sunday afternoon.",
    ),
)


def write_web_config(folder: Path) -> Config:
    """A configuration folder with the two sites (alpha, beta) and the two rules (robots, chips), loaded."""
    sites = [
        {"id": site_id, "name": name, "feeds": [f"https://{site_id}.example/feed.xml"]}
        for site_id, name in SITE_NAMES.items()
    ]
    return load_config(write_config(folder, sites, RULES_TOML))


@dataclass
class Seeded:
    """What :func:`seed` stored: article ids and found times by key."""

    config: Config
    ids: dict[str, int] = field(default_factory=dict)
    found: dict[str, datetime] = field(default_factory=dict)
    recorder_setup: AlertSetup | None = None

    def day(self, key: str) -> str:
        """The day (YYYY-MM-DD) the article ``key`` was found."""
        return self.found[key].date().isoformat()

    @property
    def flagged(self) -> list[str]:
        """Keys of the flagged articles, newest first (the list's default order)."""
        keys = [spec.key for spec in SPECS if spec.key != "weather" and spec.key in self.ids]
        return sorted(keys, key=lambda k: (self.found[k], self.ids[k]), reverse=True)


def _recorder(setup: AlertSetup, config: Config, site_id: str) -> AlertRecorder:
    return setup.for_site(config.site(site_id), first_crawl=False)


def add_article(
    engine: Engine,
    seeded: Seeded,
    spec: Spec,
    *,
    url: str | None = None,
) -> int:
    """Store one article with the matches the configured rules find in it, created ``spec.days_ago`` days ago;
    returns its id (also kept in ``seeded``)."""
    config = seeded.config
    if seeded.recorder_setup is None:
        seeded.recorder_setup = AlertSetup(modes={rule.id: rule.mode for rule in config.rules})
    url = url or f"https://{spec.site}.example/news/{spec.key}"
    article = Article(
        url=url,
        canonical_url=url,
        title=spec.title,
        text=spec.text,
        author=spec.author,
        published=spec.published,
        language=spec.language,
    )
    site = config.site(spec.site)
    matches = config.ruleset().match(article.title, article.text, site=(site.id, site.name or site.id), url=url)
    with Session(engine) as session:
        article_id = save_article(
            session, spec.site, article, matches, on_new=_recorder(seeded.recorder_setup, config, spec.site).record
        )
        if article_id is None:
            raise AssertionError(f"{url} was already stored")
        when = found_at(spec.days_ago)
        session.execute(update(ArticleRow).where(ArticleRow.id == article_id).values(created_at=when))  # type: ignore[arg-type]
        session.execute(
            update(MatchRow).where(MatchRow.article_id == article_id).values(flagged_at=when)  # type: ignore[arg-type]
        )
        session.commit()
    seeded.ids[spec.key] = article_id
    seeded.found[spec.key] = when
    return article_id


def add_flagged(engine: Engine, seeded: Seeded, count: int, days_ago: int = 10) -> list[int]:
    """``count`` more articles flagged by the robots rule (older than the seeded ones by default)."""
    ids = []
    for n in range(count):
        spec = Spec(
            f"filler-{n}",
            ALPHA,
            days_ago,
            f"Robot story number {n}",
            f"Story {n} of a series about the robot shops of town number {n}, each one different from the last.",
        )
        ids.append(add_article(engine, seeded, spec))
    return ids


def _crawl_runs(engine: Engine, site_ids: Sequence[str]) -> None:
    with Session(engine) as session:
        for site_id in site_ids:
            run = start_run(session, site_id)
            finish_run(session, run, "finished", {"pages": 3, "new_articles": 3}, None)


def seed(engine: Engine, config: Config) -> Seeded:
    """Store the articles of :data:`SPECS` and one finished crawl run per site (see the module docstring)."""
    seeded = Seeded(config)
    for spec in SPECS:
        add_article(engine, seeded, spec)
    with Session(engine) as session:
        kobo = session.get(ArticleRow, seeded.ids["kobo"])
        copy = session.get(ArticleRow, seeded.ids["kobo-copy"])
        others = [session.get(ArticleRow, seeded.ids[key]) for key in ("nanofab", "arms", "zeppelin")]
        assert kobo is not None and copy is not None and kobo.story_id is not None
        if copy.story_id != kobo.story_id or any(o is None or o.story_id == kobo.story_id for o in others):
            raise AssertionError("the seeded copy of the Kobo story was not grouped with it (alone)")
    _crawl_runs(engine, list(SITE_NAMES))
    return seeded


# --------------------------------------------------------------------------- the web application under test

BASE = "http://127.0.0.1:8080"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_settings(tmp_path: Path, database_url: str, **changes: Any) -> Settings:
    """Settings of a web page under test: no password, no base URL, data under ``tmp_path`` (overridable)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "config": tmp_path / "config",
        "web_password": None,
        "web_secret": None,
        "base_url": None,
    }
    values.update(changes)
    return Settings(**values)


def web_client(engine: Engine, settings: Settings, config: Config, limiter: LoginLimiter | None = None) -> TestClient:
    """A test client of the whole application, talking to it as a browser on 127.0.0.1:8080 would."""
    context = WebContext(engine, settings, lambda: config)
    if limiter is not None:
        context.login_limiter = limiter
    return TestClient(create_app(context), base_url=BASE, follow_redirects=False)


def form_token(client: TestClient, path: str) -> str:
    """The CSRF token of the first form on the page at ``path`` (the visit also sets the CSRF cookie)."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    found = _TOKEN.search(response.text)
    assert found, f"no form token on {path}"
    return found.group(1)


LIST_ITEM = re.compile(r'<li class="story status-(\w+)" id="story-\d+" data-id="(\d+)">')


@dataclass
class Web:
    """A test client of the review pages over the :func:`seed` data."""

    client: TestClient
    seeded: Seeded
    engine: Engine

    def id(self, key: str) -> int:
        return self.seeded.ids[key]

    def ids(self, *keys: str) -> list[int]:
        return [self.seeded.ids[k] for k in keys]

    def listed(self, **params: str) -> list[int]:
        """The article ids the list shows (first page) for these query parameters."""
        response = self.client.get("/stories", params=params)
        assert response.status_code == 200, response.text
        return [int(article_id) for _, article_id in LIST_ITEM.findall(response.text)]

    def triage(self, key: str, state: str, note: str | None = None) -> None:
        """A verdict given on the story page (without JavaScript)."""
        path = f"/stories/{self.id(key)}"
        data = {"state": state, "csrf_token": form_token(self.client, path)}
        if note is not None:
            data["note"] = note
        response = self.client.post(f"{path}/triage", data=data)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == path


@contextlib.contextmanager
def open_web(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Web]:
    """The review pages over freshly seeded data (base URL :data:`BASE`)."""
    config = write_web_config(tmp_path / "config")
    seeded = seed(engine, config)
    with web_client(engine, web_settings(tmp_path, database_url, base_url=BASE), config) as client:
        yield Web(client, seeded, engine)
