"""The review list and story page queries: filters, full-text search, sorting, pages, rule counts, one story.

Every test runs on SQLite (FTS5) and PostgreSQL (tsvector) through the ``engine`` fixture, on articles stored
through the real save transaction (stories and alerts recorded as in a crawl).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.alerts.recorder import AlertRecorder
from crawler.article import Amount, Article, Hit, Match
from crawler.models import ArticleRow, MatchRow
from crawler.review.search import MAX_TERMS, parse_search
from crawler.review.stories import (
    MAX_PER_PAGE,
    SORTS,
    ReviewError,
    StoryFilter,
    iter_stories,
    list_stories,
    rule_counts,
    story_detail,
)
from crawler.review.triage import mark
from crawler.store import save_article
from tests.alerts_data import DIGEST_RULE, INSTANT_RULE, NOW, recorder

ROBOTS = INSTANT_RULE  # "fast-rule"
CHIPS = DIGEST_RULE  # "slow-rule"


def add(
    engine: Engine,
    key: str,
    title: str,
    text: str,
    rules: Sequence[str] = (ROBOTS,),
    *,
    site: str = "news-a",
    found: datetime = NOW,
    published: datetime | None = None,
    rec: AlertRecorder | None = None,
) -> int:
    """Store one article (URL from ``key``) flagged by ``rules``, found at ``found``; its id."""
    url = f"https://{site}.example/{key}"
    article = Article(
        url=url, canonical_url=url, title=title, text=text, published=published, author="Ann Lee", language="en"
    )
    matches = [
        Match(
            rule,
            ["robot*"],
            hits=[Hit("robot*", "title", 0, 5)],
            snippet=f"{key}: the <mark>robot</mark> &amp; co",
            amounts=[Amount("$5m", 5e6, "USD", 5e6)],
        )
        for rule in rules
    ]
    with Session(engine) as session:
        article_id = save_article(session, site, article, matches, on_new=(rec or recorder()).record)
        assert article_id is not None
        set_found(session, article_id, found)
    return article_id


def set_found(session: Session, article_id: int, found: datetime) -> None:
    """Move when the article (and its matches) was found, so date filters and order are deterministic."""
    session.execute(update(ArticleRow).where(ArticleRow.id == article_id).values(created_at=found))  # type: ignore[arg-type]
    session.execute(update(MatchRow).where(MatchRow.article_id == article_id).values(flagged_at=found))  # type: ignore[arg-type]
    session.commit()


@dataclass
class Corpus:
    softbank: int  # robots; news-a; found 10 days ago
    tokyo: int  # chips; news-b; 3 days ago
    maker: int  # robots + chips; news-a; 1 day ago
    percent: int  # robots; news-b; 2 days ago
    unflagged: int  # no rule: never listed

    @property
    def flagged(self) -> set[int]:
        return {self.softbank, self.tokyo, self.maker, self.percent}


# key, title, body, rules, site, found and published (days before NOW)
CORPUS: list[tuple[str, str, str, tuple[str, ...], str, int, int | None]] = [
    (
        "softbank",
        "SoftBank invests in robotics venture",
        "The Vision Fund put $1.5 billion into Robo_Maker, a café-chain robot supplier.",
        (ROBOTS,),
        "news-a",
        10,
        11,
    ),
    (
        "tokyo",
        "Chip plant opens in Tokyo",
        "A semiconductor plant for memory chips opened near Tokyo on Monday.",
        (CHIPS,),
        "news-b",
        3,
        None,
    ),
    (
        "maker",
        "AI fund backs robot maker",
        "An AI fund backs a robot maker that builds arms for chip plants.",
        (ROBOTS, CHIPS),
        "news-a",
        1,
        2,
    ),
    (
        "percent",
        "Zeppelin start-up grows 100% in a year",
        "Sales of the airship_drone rose 100% while margins were 50_50 at best.",
        (ROBOTS,),
        "news-b",
        2,
        30,
    ),
    ("unflagged", "SoftBank weather robot", "Rain in Tokyo, robot chip café 100%.", (), "news-b", 0, None),
]


def build(engine: Engine) -> Corpus:
    stored = {}
    for key, title, text, rules, site, found, published in CORPUS:
        when = NOW - timedelta(days=published) if published is not None else None
        stored[key] = add(engine, key, title, text, rules, site=site, found=NOW - timedelta(days=found), published=when)
    return Corpus(**stored)


@pytest.fixture
def corpus(engine: Engine) -> Corpus:
    return build(engine)


def ids(engine: Engine, **filters: object) -> set[int]:
    with Session(engine) as session:
        found = list_stories(session, StoryFilter(**filters), per_page=MAX_PER_PAGE)  # type: ignore[arg-type]
    assert found.total == len(found.items)
    return {item.article_id for item in found.items}


# --------------------------------------------------------------------------- filters


def test_only_flagged_articles_are_listed(engine: Engine, corpus: Corpus) -> None:
    assert ids(engine) == corpus.flagged


def test_filter_by_rule_and_site(engine: Engine, corpus: Corpus) -> None:
    assert ids(engine, rule=ROBOTS) == {corpus.softbank, corpus.maker, corpus.percent}
    assert ids(engine, rule=CHIPS) == {corpus.tokyo, corpus.maker}
    assert ids(engine, site="news-b") == {corpus.tokyo, corpus.percent}
    assert ids(engine, rule=CHIPS, site="news-a") == {corpus.maker}
    assert ids(engine, rule="no-such-rule") == set()
    assert ids(engine, site="%") == set()  # a value, never a pattern


def test_filter_by_status(engine: Engine, corpus: Corpus) -> None:
    assert ids(engine, status="new") == corpus.flagged
    with Session(engine) as session:
        mark(session, corpus.softbank, "relevant")
        mark(session, corpus.tokyo, "not-relevant")
        mark(session, corpus.maker, "reviewed")
    assert ids(engine, status="relevant") == {corpus.softbank}
    assert ids(engine, status="irrelevant") == {corpus.tokyo}
    assert ids(engine, status="reviewed") == {corpus.maker}
    assert ids(engine, status="new") == {corpus.percent}
    with Session(engine) as session:
        item = next(i for i in list_stories(session, StoryFilter(status="irrelevant")).items)
    assert item.status == "irrelevant"


def test_filter_by_date_range_on_when_found(engine: Engine, corpus: Corpus) -> None:
    assert ids(engine, since=NOW - timedelta(days=2)) == {corpus.maker, corpus.percent}
    assert ids(engine, until=NOW - timedelta(days=2)) == {corpus.softbank, corpus.tokyo}  # until is exclusive
    assert ids(engine, since=NOW - timedelta(days=5), until=NOW - timedelta(days=2)) == {corpus.tokyo}
    assert ids(engine, since=NOW + timedelta(days=1)) == set()
    naive = (NOW - timedelta(days=2)).replace(tzinfo=None)  # naive means UTC, as everywhere in the database
    assert ids(engine, since=naive) == {corpus.maker, corpus.percent}


def test_bad_filter_values_are_review_errors() -> None:
    with pytest.raises(ReviewError, match="unknown status"):
        StoryFilter(status="maybe")
    with pytest.raises(ReviewError, match="unknown sort"):
        StoryFilter(sort="id; DROP TABLE article")
    with pytest.raises(ReviewError, match="site"):
        StoryFilter(site="news\x00a")  # PostgreSQL refuses NUL in text
    with pytest.raises(ReviewError, match="rule"):
        StoryFilter(rule="\udcff")  # a stray byte from the command line: not UTF-8


# --------------------------------------------------------------------------- search


SEARCHES = [
    ("softbank", {"softbank"}),
    ("SOFTBANK", {"softbank"}),
    ("robot", {"softbank", "maker"}),  # title or body; "robotics" is another word
    ("robot*", {"softbank", "maker"}),
    ("robo*", {"softbank", "maker"}),  # robotics, robot, robo_maker
    ("robo", {"softbank"}),  # robo_maker splits into robo + maker
    ("fund robot", {"softbank", "maker"}),  # every word required, anywhere
    ("softbank tokyo", set()),
    ('"robot maker"', {"maker"}),  # "a robot maker"; Robo_Maker is "robo maker"
    ('"maker robot"', set()),
    ('"chip plants"', {"maker"}),
    ("1.5", {"softbank"}),  # a number as the database splits it
    ("1.5 billion", {"softbank"}),
    ("100%", {"percent"}),
    ("airship_drone", {"percent"}),
    ("50_50", {"percent"}),
    ("café", {"softbank"}),
    ("zeppelin", {"percent"}),
    ("zep*", {"percent"}),
    ("tokyo", {"tokyo"}),  # the unflagged article mentions Tokyo too: still not listed
]


def test_search_words_prefixes_and_phrases(engine: Engine, corpus: Corpus) -> None:
    names = {v: k for k, v in vars(corpus).items()}
    found = {query: {names[i] for i in ids(engine, q=query)} for query, _ in SEARCHES}
    assert found == dict(SEARCHES)


HOSTILE = [
    "\" OR * NEAR( ' ; --",
    "%",
    "_",
    "%%",
    "_%_",
    "%_%",
    "*",
    '"',
    "'",
    '""',
    "\\",
    ":*",
    "a:* | b",
    "!softbank",
    "') OR 1=1 --",
    "softbank OR tokyo",  # OR is a word like any other: nothing has softbank, or and tokyo
    "NOT softbank",
    "NEAR(softbank tokyo)",
    "-softbank",
    "^softbank",
    "title:softbank",
    "{title}: softbank",
    "softbank\x00robot",
    "\udcff",
    "x" * 5000,
    "robot " * 100,
]


def test_hostile_search_input_never_breaks_or_matches_everything(engine: Engine, corpus: Corpus) -> None:
    for query in HOSTILE:
        with Session(engine) as session:
            page = list_stories(session, StoryFilter(q=query))
            counts = rule_counts(session, StoryFilter(q=query))
            exported = iter_stories(session, StoryFilter(q=query))
        assert page.total < len(corpus.flagged), query
        assert sum(counts.values()) <= 2 * page.total and len(exported) == page.total, query
        if not parse_search(query):  # no word in it: nothing, rather than everything
            assert page.total == 0 and counts == {}, query


def test_hostile_input_is_read_as_plain_words() -> None:
    assert [t.words for t in parse_search("\" OR * NEAR( ' ; --")] == [("or",), ("near",)]
    assert parse_search("% _ %% * ' \\ --") == []
    assert [(t.words, t.prefix) for t in parse_search('soft* "Vision  Fund" a-b')] == [
        (("soft",), True),
        (("vision", "fund"), False),
        (("a", "b"), False),
    ]
    assert len(parse_search("w " * 100)) == MAX_TERMS


def test_search_combines_with_filters_and_follows_edits(engine: Engine, corpus: Corpus) -> None:
    assert ids(engine, q="robot", site="news-a", rule=CHIPS) == {corpus.maker}
    with Session(engine) as session:  # the index follows updates (SQLite triggers, PostgreSQL expression)
        session.execute(update(ArticleRow).where(ArticleRow.id == corpus.tokyo).values(title="Zeppelin hangar"))  # type: ignore[arg-type]
        session.commit()
    assert ids(engine, q="zeppelin") == {corpus.tokyo, corpus.percent}
    assert ids(engine, q="chip plant opens") == set()


def test_search_index_follows_matches_added_and_removed(engine: Engine, corpus: Corpus) -> None:
    """Only flagged articles are indexed: a new match puts one in, removing its last match takes it out."""
    from sqlalchemy import delete, func, select

    from crawler.models import SEARCH_TABLE

    def indexed(session: Session) -> int:
        return int(session.scalar(select(func.count()).select_from(text_table(SEARCH_TABLE))) or 0)

    with Session(engine) as session:
        assert indexed(session) == 4  # the unflagged article is not in the index
        session.add(MatchRow(article_id=corpus.unflagged, rule_id=CHIPS, terms=["weather"]))
        session.commit()
        assert indexed(session) == 5
    assert ids(engine, q="weather") == {corpus.unflagged}
    with Session(engine) as session:  # a second rule's match does not index it twice
        session.execute(delete(MatchRow).where(MatchRow.article_id == corpus.maker, MatchRow.rule_id == CHIPS))  # type: ignore[arg-type]
        session.commit()
        assert indexed(session) == 5
    assert ids(engine, q='"robot maker"') == {corpus.maker}
    with Session(engine) as session:  # its last match gone: out of the index
        session.execute(delete(MatchRow).where(MatchRow.article_id == corpus.maker))  # type: ignore[arg-type]
        session.execute(delete(ArticleRow).where(ArticleRow.id == corpus.percent))  # type: ignore[arg-type]
        session.commit()
        assert indexed(session) == 3
    assert ids(engine, q='"robot maker"') == set()
    assert ids(engine, q="zeppelin") == set()


def text_table(name: str) -> Any:
    from sqlalchemy import table

    return table(name)


# --------------------------------------------------------------------------- sort and pages


def test_each_sort_orders_the_list(engine: Engine, corpus: Corpus) -> None:
    def order(sort: str) -> list[int]:
        with Session(engine) as session:
            return [i.article_id for i in list_stories(session, StoryFilter(sort=sort)).items]

    c = corpus
    assert order("newest") == [c.maker, c.percent, c.tokyo, c.softbank]
    assert order("oldest") == [c.softbank, c.tokyo, c.percent, c.maker]
    assert order("published") == [c.maker, c.softbank, c.percent, c.tokyo]  # no date last
    assert order("site") == [c.maker, c.softbank, c.percent, c.tokyo]  # then newest first
    assert order("title") == [c.maker, c.tokyo, c.softbank, c.percent]
    assert order("published-newest") == order("published")
    assert order("published-oldest") == [c.percent, c.softbank, c.maker, c.tokyo]  # no date last either way
    assert order("found-newest") == order("newest") and order("found-oldest") == order("oldest")
    assert set(SORTS) == {"found-newest", "found-oldest", "published-newest", "published-oldest", "site", "title"}


def test_pages(engine: Engine, corpus: Corpus) -> None:
    with Session(engine) as session:
        first = list_stories(session, StoryFilter(), page=1, per_page=3)
        second = list_stories(session, StoryFilter(), page=2, per_page=3)
        beyond = list_stories(session, StoryFilter(), page=9, per_page=3)
        clamped = list_stories(session, StoryFilter(), page=0, per_page=10_000)
        assert [i.article_id for i in iter_stories(session, StoryFilter(), batch=1)] == [
            corpus.maker,
            corpus.percent,
            corpus.tokyo,
            corpus.softbank,
        ]
        assert len(iter_stories(session, StoryFilter(), limit=3, batch=2)) == 3
        assert iter_stories(session, StoryFilter(q="%")) == []
    assert (first.total, first.pages, len(first.items)) == (4, 2, 3)
    assert [i.article_id for i in second.items] == [corpus.softbank]
    assert beyond.items == [] and beyond.total == 4
    assert (clamped.page, clamped.per_page, len(clamped.items)) == (1, MAX_PER_PAGE, 4)


def test_rule_counts_follow_every_filter_but_the_rule(engine: Engine, corpus: Corpus) -> None:
    with Session(engine) as session:
        assert rule_counts(session, StoryFilter()) == {ROBOTS: 3, CHIPS: 2}
        assert rule_counts(session, StoryFilter(site="news-a")) == {ROBOTS: 2, CHIPS: 1}
        page = list_stories(session, StoryFilter(rule=CHIPS))
        assert page.total == 2 and page.rule_counts == {ROBOTS: 3, CHIPS: 2}  # to switch rules
        assert rule_counts(session, StoryFilter(q="robot")) == {ROBOTS: 2, CHIPS: 1}
        assert rule_counts(session, StoryFilter(since=NOW - timedelta(days=2))) == {ROBOTS: 2, CHIPS: 1}
        mark(session, corpus.maker, "relevant")
        assert rule_counts(session, StoryFilter(status="relevant")) == {ROBOTS: 1, CHIPS: 1}


def test_list_items_carry_rules_snippet_verdict_and_outlets(engine: Engine, corpus: Corpus) -> None:
    with Session(engine) as session:
        mark(session, corpus.maker, "irrelevant", note="an old story")
        (item,) = list_stories(session, StoryFilter(q="arms")).items
        (chips,) = list_stories(session, StoryFilter(q="arms", rule=CHIPS)).items
    assert item.rules == (ROBOTS, CHIPS)
    assert (item.status, item.note) == ("irrelevant", "an old story")
    assert item.snippet == "maker: the <mark>robot</mark> &amp; co"
    assert chips.snippet == item.snippet
    assert item.outlets == 0 and item.site_id == "news-a" and item.found == NOW - timedelta(days=1)


# --------------------------------------------------------------------------- one story


def test_story_detail_with_other_outlets_and_alerts(engine: Engine) -> None:
    rec = recorder()  # one story index for both copies, as in one crawl
    body = "Kobo Robotics raised five million dollars from a fund to build warehouse robots in Osaka. " * 4
    first = add(engine, "kobo", "Kobo Robotics raises $5m", body, [ROBOTS, CHIPS], rec=rec)
    copy = add(
        engine, "kobo-copy", "UPDATE 1-Kobo gets $5m", "OSAKA (Wire) - " + body, [ROBOTS], site="news-b", rec=rec
    )
    other = add(engine, "other", "Something else", "A different story about robots and ships.", rec=rec)
    with Session(engine) as session:
        mark(session, first, "relevant", note="check the amount", by="cli", clock=lambda: NOW)
        detail = story_detail(session, first)
        copy_detail = story_detail(session, copy)
        other_detail = story_detail(session, other)
        (listed,) = list_stories(session, StoryFilter(q="kobo", site="news-a")).items
    assert detail.article.title == "Kobo Robotics raises $5m" and detail.article.author == "Ann Lee"
    assert [(m.rule_id, m.terms, m.amounts[0]["currency"]) for m in detail.matches] == [
        (ROBOTS, ["robot*"], "USD"),
        (CHIPS, ["robot*"], "USD"),
    ]
    assert detail.matches[0].hits == [{"term": "robot*", "field": "title", "start": 0, "end": 5}]
    assert (detail.status, detail.note, detail.triaged_by, detail.triaged_at) == (
        "relevant",
        "check the amount",
        "cli",
        NOW,
    )
    assert [(o.article_id, o.site_id, o.flagged) for o in detail.outlets] == [(copy, "news-b", True)]
    assert [o.article_id for o in copy_detail.outlets] == [first]
    assert other_detail.outlets == [] and other_detail.status == "new" and other_detail.note is None
    assert sorted((a.rule_id, a.mode, a.suppressed) for a in detail.alerts) == [
        (ROBOTS, "instant", False),  # "fast-rule"
        (CHIPS, "digest", False),  # "slow-rule"
    ]
    assert all(a.deliveries == [] for a in detail.alerts)
    assert listed.outlets == 1


@pytest.mark.parametrize("article_id", [0, -1, 999_999, 2**31, 10**30])
def test_story_detail_of_an_unknown_article(engine: Engine, article_id: int) -> None:
    with Session(engine) as session, pytest.raises(ReviewError, match=f"no article with id {article_id}"):
        story_detail(session, article_id)
