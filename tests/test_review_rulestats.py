"""Rule figures: matches per UTC day and ISO week up to an injected `now`, triage precision, and backtests."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.review.rulestats import RuleStats, backtest, rule_stats
from crawler.review.triage import mark
from crawler.rules import RuleError
from tests.alerts_data import NOW
from tests.test_review_stories import CHIPS, ROBOTS, add

RETIRED = "retired-rule"
IDLE = "idle-rule"
RULES = [(ROBOTS, "robot*", "instant"), (CHIPS, "chip*", "digest"), (IDLE, "zeppelin", "digest")]
TOKYO = timezone(timedelta(hours=9))

# NOW is Friday 2026-11-20 06:00 UTC: the last 14 days start on Saturday 11-07, the last 8 weeks on Monday 09-28.


@pytest.fixture
def stats(engine: Engine) -> dict[str, RuleStats]:
    def flagged(key: str, rules: tuple[str, ...], found: datetime) -> int:
        return add(engine, key, f"Story {key}", f"Robots and chips, story {key}.", rules, found=found)

    today = flagged("today", (ROBOTS,), NOW - timedelta(hours=1))
    late = flagged("late", (ROBOTS, CHIPS), datetime(2026, 11, 20, 8, 0, tzinfo=TOKYO))  # 11-19 23:00 UTC
    monday = flagged("monday", (ROBOTS,), datetime(2026, 11, 16, 0, 0, tzinfo=UTC))
    sunday = flagged("sunday", (ROBOTS,), datetime(2026, 11, 15, 23, 59, tzinfo=UTC))
    flagged("october", (ROBOTS,), datetime(2026, 10, 1, 12, 0, tzinfo=UTC))  # weeks only
    flagged("august", (CHIPS,), datetime(2026, 8, 1, 12, 0, tzinfo=UTC))  # the total only
    flagged("retired", (RETIRED,), NOW - timedelta(days=2))
    with Session(engine) as session:
        mark(session, today, "relevant")
        mark(session, late, "relevant")
        mark(session, monday, "irrelevant")
        mark(session, sunday, "reviewed")
        return {s.rule_id: s for s in rule_stats(session, RULES, NOW)}


def test_configured_rules_first_in_file_order_then_rules_only_found_in_matches(stats: dict[str, RuleStats]) -> None:
    assert list(stats) == [ROBOTS, CHIPS, IDLE, RETIRED]
    assert [(s.configured, s.query, s.mode) for s in stats.values()] == [
        (True, "robot*", "instant"),
        (True, "chip*", "digest"),
        (True, "zeppelin", "digest"),
        (False, None, None),
    ]
    assert {k: s.total for k, s in stats.items()} == {ROBOTS: 5, CHIPS: 2, IDLE: 0, RETIRED: 1}


def test_per_day_buckets_are_utc_days_up_to_now(stats: dict[str, RuleStats]) -> None:
    robots = stats[ROBOTS]
    assert len(robots.per_day) == 14
    assert robots.per_day[0] == ("2026-11-07", 0) and robots.per_day[-1] == ("2026-11-20", 1)
    assert {day: n for day, n in robots.per_day if n} == {
        "2026-11-15": 1,
        "2026-11-16": 1,
        "2026-11-19": 1,  # 08:00 in Tokyo on the 20th is still the 19th in UTC
        "2026-11-20": 1,
    }
    assert robots.last_7_days == 4
    assert {day: n for day, n in stats[CHIPS].per_day if n} == {"2026-11-19": 1}
    assert {day: n for day, n in stats[RETIRED].per_day if n} == {"2026-11-18": 1}
    assert stats[IDLE].per_day == [(day, 0) for day, _ in robots.per_day]


def test_per_week_buckets_start_on_monday(stats: dict[str, RuleStats]) -> None:
    robots = stats[ROBOTS]
    assert [week for week, _ in robots.per_week] == [
        "2026-09-28",
        "2026-10-05",
        "2026-10-12",
        "2026-10-19",
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
    ]
    assert {week: n for week, n in robots.per_week if n} == {"2026-09-28": 1, "2026-11-09": 1, "2026-11-16": 3}
    assert sum(n for _, n in stats[CHIPS].per_week) == 1  # August is older than eight weeks


def test_precision_is_relevant_over_relevant_plus_irrelevant(stats: dict[str, RuleStats]) -> None:
    robots, chips = stats[ROBOTS], stats[CHIPS]
    assert (robots.relevant, robots.irrelevant, robots.reviewed, robots.triaged) == (2, 1, 1, 3)
    assert robots.precision == pytest.approx(2 / 3)  # "reviewed" is no verdict
    assert (chips.relevant, chips.irrelevant, chips.precision) == (1, 0, 1.0)
    assert stats[IDLE].precision is None and stats[RETIRED].precision is None


def test_a_naive_now_means_utc_and_a_later_now_moves_the_buckets(
    engine: Engine, stats: dict[str, RuleStats], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # a machine clock far from UTC changes nothing
    time.tzset()
    try:
        with Session(engine) as session:
            naive = {s.rule_id: s for s in rule_stats(session, RULES, NOW.replace(tzinfo=None))}
    finally:
        monkeypatch.undo()
        time.tzset()
    with Session(engine) as session:
        tokyo = {s.rule_id: s for s in rule_stats(session, RULES, NOW.astimezone(TOKYO))}
        later = {s.rule_id: s for s in rule_stats(session, RULES, NOW + timedelta(days=7), days=3, weeks=2)}
    assert naive[ROBOTS].per_day == tokyo[ROBOTS].per_day == stats[ROBOTS].per_day
    assert later[ROBOTS].per_day == [("2026-11-25", 0), ("2026-11-26", 0), ("2026-11-27", 0)]
    assert later[ROBOTS].per_week == [("2026-11-16", 3), ("2026-11-23", 0)]
    assert later[ROBOTS].last_7_days == 0


def test_backtest_runs_a_query_over_stored_articles(engine: Engine) -> None:
    for n, (title, days) in enumerate([("Robot arms", 9), ("Chip plant", 5), ("Robot dogs", 3), ("Robot cats", 1)]):
        add(engine, f"bt{n}", title, f"{title} made the news.", (), found=NOW - timedelta(days=days))
    with Session(engine) as session:
        result = backtest(session, "robot*", since=NOW - timedelta(days=7))
        shown = backtest(session, "robot*", since=NOW - timedelta(days=30), show=2)
        capped = backtest(session, "robot* OR chip*", since=NOW - timedelta(days=30), cap=2)
        with pytest.raises(RuleError):
            backtest(session, "robot AND (", since=NOW)
    assert (result.scanned, result.flagged) == (3, 2)
    assert [h.title for h in result.hits] == ["Robot cats", "Robot dogs"]  # newest first
    assert result.hits[0].terms == ["robot*"] and "<mark>" in (result.hits[0].snippet or "")
    assert (shown.flagged, [h.title for h in shown.hits]) == (3, ["Robot cats", "Robot dogs"])
    assert (capped.scanned, capped.truncated) == (2, True)
