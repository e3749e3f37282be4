"""The demo site's content as typed records: articles with ground-truth labels, authors, sections.

The stories live in ``articles.toml`` beside this module (plain data, readable and editable by people).

Dates are relative: every story in the file carries an ``age`` such as ``"2d 5h 30m"`` and is published
that long before a *reference time*. The reference time is "now" when the content is loaded (rounded
down to the minute) unless the caller passes ``now=...``; pass a fixed ``now`` for reproducible dates.
Relative dates keep the sample site fresh (the newest story is hours old, the oldest about three weeks),
which matters to crawlers that ignore old stories and to Google News sitemaps.

Dates are shown in the site's own time zone, :data:`SITE_TZ` (UTC+09:00), so a story published late in
the evening UTC carries the next day's date in its URL: a deliberate test of time-zone handling.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from importlib import resources
from typing import Any, Literal

SITE_TZ = timezone(timedelta(hours=9), "JST")
"""Time zone in which the site shows dates and builds its dated article URLs."""

BlockKind = Literal["p", "h2", "blockquote"]

_AGE = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Author:
    """A (fictional) reporter of the site, shown in bylines and in the "ABOUT AUTHOR" box."""

    id: str
    name: str
    role: str
    bio: str


@dataclass(frozen=True)
class Section:
    """A section of the site (``/section/<id>/``), rendered with page theme ``"a"`` or ``"b"``."""

    id: str
    title: str
    description: str
    theme: Literal["a", "b"]


@dataclass(frozen=True)
class Block:
    """One block of an article body: a paragraph, a subheading or a quotation."""

    kind: BlockKind
    text: str


@dataclass(frozen=True, kw_only=True)
class SampleArticle:
    """One story of the demo site, with the ground-truth labels the tests compare against.

    ``body`` uses a tiny markup: blocks are separated by blank lines; a block starting with ``## `` is a
    subheading, one whose lines start with ``> `` is a quotation, anything else is a paragraph.

    Labels:

    * ``softbank_investment``: SoftBank (SoftBank Group, Vision Fund, SoftBank Corp, Masayoshi Son) makes
      or plans an investment, stake purchase, acquisition, joint venture, funding round or large spending
      commitment. SoftBank as mere background, stake sales and earnings are false.
    * ``ai_iot_investment``: money invested, raised or committed in AI, IoT, robotics or their
      infrastructure (AI chips, AI data centres, IoT platforms, autonomous driving), by anyone.
      Product launches, regulation, lawsuits and earnings are false.
    """

    slug: str
    title: str
    author: Author
    section: str
    published: datetime
    teaser: str
    body: str
    softbank_investment: bool
    ai_iot_investment: bool
    tags: tuple[str, ...] = ()
    updated: datetime | None = None
    image_alt: str = ""
    image_credit: str = "The Circuit Ledger"
    label_note: str = ""
    blocks: tuple[Block, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _SLUG.match(self.slug):
            raise ValueError(f"bad slug {self.slug!r}: use lower-case words joined by '-'")
        if self.published.tzinfo is None:
            raise ValueError(f"{self.slug}: published must be timezone-aware")
        if self.updated is not None and self.updated.tzinfo is None:
            raise ValueError(f"{self.slug}: updated must be timezone-aware")
        object.__setattr__(self, "blocks", parse_body(self.body))

    @property
    def local_published(self) -> datetime:
        """The publication time in the site's time zone."""
        return self.published.astimezone(SITE_TZ)

    @property
    def last_modified(self) -> datetime:
        """The later of publication and update times."""
        return max(self.published, self.updated) if self.updated else self.published

    @property
    def path(self) -> str:
        """The article's URL path: ``/YYYY/MM/DD/<slug>/``, dated in the site's time zone."""
        return f"/{self.local_published:%Y/%m/%d}/{self.slug}/"

    @property
    def text(self) -> str:
        """The body as plain text, blocks separated by blank lines: what an ideal extractor returns."""
        return "\n\n".join(block.text for block in self.blocks)

    @property
    def paragraphs(self) -> list[str]:
        """The body's paragraphs (no subheadings, no quotations)."""
        return [block.text for block in self.blocks if block.kind == "p"]

    @property
    def word_count(self) -> int:
        """Number of words in the body."""
        return len(self.text.split())


def parse_body(body: str) -> tuple[Block, ...]:
    """Split the body markup into blocks (see :class:`SampleArticle`); whitespace inside blocks collapses."""
    blocks: list[Block] = []
    for raw in re.split(r"\n\s*\n", body.strip()):
        lines = [line.strip() for line in raw.strip().splitlines() if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("## "):
            blocks.append(Block("h2", " ".join([lines[0][3:], *lines[1:]]).strip()))
        elif all(line.startswith(">") for line in lines):
            blocks.append(Block("blockquote", " ".join(line.lstrip("> ").strip() for line in lines)))
        else:
            blocks.append(Block("p", " ".join(lines)))
    return tuple(blocks)


def parse_age(age: str) -> timedelta:
    """``"2d 5h 30m"`` (any part optional) as a timedelta."""
    match = _AGE.match(age)
    if not match or not any(match.groups()):
        raise ValueError(f"bad age {age!r}: use e.g. '2d 5h 30m'")
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def reference_time(now: datetime | None = None) -> datetime:
    """The reference time articles are dated from: ``now`` (default: the clock) rounded down to the minute."""
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC).replace(second=0, microsecond=0)


@cache
def _raw() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("articles.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def site_info() -> dict[str, str]:
    """The ``[site]`` table of the content file: name, tagline, publisher."""
    return {str(key): str(value) for key, value in _raw()["site"].items()}


def load_authors() -> dict[str, Author]:
    """The site's reporters by id."""
    return {
        key: Author(id=key, name=value["name"], role=value["role"], bio=" ".join(value["bio"].split()))
        for key, value in _raw()["authors"].items()
    }


def load_sections() -> dict[str, Section]:
    """The site's sections by id, in menu order."""
    return {
        key: Section(id=key, title=value["title"], description=value["description"], theme=value["theme"])
        for key, value in _raw()["sections"].items()
    }


def _build(entry: dict[str, Any], ref: datetime, authors: dict[str, Author]) -> SampleArticle:
    published = (ref - parse_age(entry.get("age", "0m"))).astimezone(SITE_TZ)
    updated = None
    if "updated_age" in entry:
        updated = (ref - parse_age(entry["updated_age"])).astimezone(SITE_TZ)
    return SampleArticle(
        slug=entry["slug"],
        title=entry["title"],
        author=authors[entry["author"]],
        section=entry["section"],
        published=published,
        updated=updated,
        teaser=" ".join(entry["teaser"].split()),
        body=entry["body"],
        tags=tuple(entry.get("tags", ())),
        image_alt=entry.get("image_alt", ""),
        image_credit=entry.get("image_credit", "The Circuit Ledger"),
        softbank_investment=bool(entry["softbank_investment"]),
        ai_iot_investment=bool(entry["ai_iot_investment"]),
        label_note=" ".join(entry.get("label_note", "").split()),
    )


def _load(table: str, now: datetime | None) -> list[SampleArticle]:
    ref = reference_time(now)
    authors = load_authors()
    articles = [_build(entry, ref, authors) for entry in _raw().get(table, [])]
    return sorted(articles, key=lambda a: (a.published, a.slug), reverse=True)


def load_articles(now: datetime | None = None) -> list[SampleArticle]:
    """The bundled stories the site publishes from the start, newest first, dated relative to ``now``."""
    return _load("article", now)


def load_reserve_articles(now: datetime | None = None) -> list[SampleArticle]:
    """Extra labelled stories held back for :meth:`SampleSite.publish` tests, all dated ``now``.

    Re-date one with ``dataclasses.replace(article, published=...)`` before publishing if needed.
    """
    return _load("reserve", now)


def load_stub_articles(now: datetime | None = None) -> list[SampleArticle]:
    """Published pages that look like articles but whose body is far too short to be one."""
    return _load("stub", now)


def slugify(text: str) -> str:
    """A URL slug for a tag or name: ``"Vision Fund"`` -> ``"vision-fund"``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
