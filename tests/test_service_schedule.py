"""When the service crawls a site after it starts: at once if never crawled or overdue (one catch-up,
however many runs were missed), else at its regular time; interrupted crawls do not count."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.config import SiteConfig
from crawler.models import CrawlRunRow
from crawler.service.schedule import first_run, last_starts, next_due, site_trigger

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # a Sunday


def site(**extra: object) -> SiteConfig:
    return SiteConfig.model_validate({"id": "wire", "feeds": ["https://wire.example/feed"], **extra})


def test_never_crawled_sites_start_now_within_their_jitter() -> None:
    when, catch_up = first_run(site(every="30m"), None, NOW, random.Random(1))
    assert NOW <= when <= NOW + timedelta(minutes=3) and not catch_up
    assert first_run(site(every="30m", jitter="0s"), None, NOW) == (NOW, False)


def test_a_site_overdue_by_many_intervals_gets_one_catch_up_now() -> None:
    last = NOW - timedelta(hours=5)  # ten runs missed
    assert first_run(site(every="30m", jitter="0s"), last, NOW) == (NOW, True)


def test_a_site_not_yet_due_keeps_its_time() -> None:
    last = NOW - timedelta(minutes=10)
    assert first_run(site(every="30m"), last, NOW) == (last + timedelta(minutes=30), False)


def test_cron_sites_follow_their_line_in_their_time_zone() -> None:
    weekday_mornings = site(cron="0 8 * * 1-5", timezone="Asia/Tokyo", jitter="0s")
    friday = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo, Friday
    assert next_due(weekday_mornings, friday) == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # Monday 08:00 JST
    assert first_run(weekday_mornings, friday, NOW) == (datetime(2026, 11, 22, 23, 0, tzinfo=UTC), False)
    long_ago = datetime(2026, 11, 10, 0, 0, tzinfo=UTC)
    assert first_run(weekday_mornings, long_ago, NOW) == (NOW, True)
    trigger = site_trigger(weekday_mornings)
    assert trigger.get_next_fire_time(None, NOW) == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def test_default_jitter_is_a_tenth_of_the_interval_at_most_five_minutes() -> None:
    assert site(every="20m").jitter_window == timedelta(minutes=2)
    assert site(every="6h").jitter_window == timedelta(minutes=5)
    assert site(every="6h", jitter="30s").jitter_window == timedelta(seconds=30)


def test_last_starts_ignore_interrupted_and_abandoned_runs(engine: Engine) -> None:
    with Session(engine) as session:
        for minutes, status in ((50, "finished"), (40, "failed"), (20, "interrupted"), (10, "abandoned")):
            session.add(CrawlRunRow(site_id="wire", started_at=NOW - timedelta(minutes=minutes), status=status))
        session.add(CrawlRunRow(site_id="other", started_at=NOW - timedelta(minutes=5), status="timeout"))
        session.commit()
        assert last_starts(session, ["wire", "other", "never"]) == {
            "wire": NOW - timedelta(minutes=40),
            "other": NOW - timedelta(minutes=5),
        }
