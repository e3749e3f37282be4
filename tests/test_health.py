"""Source health: failing from the first failed crawl (shown, not emailed), broken after failed crawls in a row,
silent after a long quiet spell, each change and each recovery notified to the operator exactly once (on SQLite
and PostgreSQL)."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crawler.config import SiteConfig
from crawler.health import HealthPolicy, OpsMail, evaluate_site, site_health
from crawler.models import CrawlRunRow, OutboxRow, SiteHealthRow

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SITE = SiteConfig(id="wire", name="The Wire", feeds=("https://wire.example/feed",), every="30m")
POLICY = HealthPolicy(fail_after=3, silent_factor=4.0, silent_min=timedelta(hours=6))
OPS = OpsMail(("ops@example.com",), "newswatch@example.com", "example.com", "https://nw.example")


def add_run(engine: Engine, started: datetime, status: str = "finished", new: int = 0, **extra: Any) -> None:
    stats = {k: v for k, v in extra.items() if k not in ("errors", "skipped", "message", "pages")}
    with Session(engine) as session:
        session.add(
            CrawlRunRow(
                site_id=SITE.id,
                started_at=started,
                finished_at=started + timedelta(seconds=30),
                status=status,
                new_articles=new,
                pages=extra.get("pages", new),
                errors=extra.get("errors", 0),
                skipped=extra.get("skipped", 0),
                message=extra.get("message"),
                stats=stats,
            )
        )
        session.commit()


def ops_mail(engine: Engine) -> list[OutboxRow]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxRow).where(col(OutboxRow.kind) == "ops").order_by(col(OutboxRow.id))))


def test_a_site_is_broken_after_failed_crawls_in_a_row_and_told_once(engine: Engine) -> None:
    for hour in range(5):
        add_run(engine, NOW - timedelta(hours=10 - hour), new=2)
    add_run(engine, NOW - timedelta(hours=3), "failed", errors=1, message="https://wire.example/feed: feed: HTTP 503")
    add_run(engine, NOW - timedelta(hours=2), "failed", errors=1, message="https://wire.example/feed: feed: HTTP 503")
    failing = evaluate_site(engine, SITE, POLICY, OPS, NOW)  # two failures: shown, not emailed yet
    assert (failing.state, failing.alert_state) == ("failing", "ok")
    assert failing.reason == (
        "the last 2 crawls failed (broken after 3 in a row): https://wire.example/feed: feed: HTTP 503"
    )
    assert failing.since == NOW - timedelta(hours=3)
    assert ops_mail(engine) == []

    add_run(engine, NOW - timedelta(hours=1), "failed", errors=1, message="https://wire.example/feed: feed: HTTP 503")
    health = evaluate_site(engine, SITE, POLICY, OPS, NOW)
    assert health.state == "broken" and health.consecutive_failures == 3
    assert "HTTP 503" in (health.reason or "")
    for later in range(4):  # it stays broken: no more mail
        add_run(engine, NOW + timedelta(minutes=later), "failed", errors=1, message="feed: HTTP 503")
        assert evaluate_site(engine, SITE, POLICY, OPS, NOW + timedelta(minutes=later)).state == "broken"
    (broken,) = ops_mail(engine)
    message = email.message_from_bytes(broken.body, policy=policy.default)
    assert message["To"] == "ops@example.com"
    assert message["Subject"] == "[Newswatch] The Wire is broken"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "HTTP 503" in message.get_content()

    add_run(engine, NOW + timedelta(minutes=10), new=1)
    assert evaluate_site(engine, SITE, POLICY, OPS, NOW + timedelta(minutes=10)).state == "ok"
    assert evaluate_site(engine, SITE, POLICY, OPS, NOW + timedelta(minutes=11)).state == "ok"
    mails = ops_mail(engine)
    assert [m.subject for m in mails] == ["[Newswatch] The Wire is broken", "[Newswatch] The Wire has recovered"]


def test_errors_without_any_fetched_page_count_as_failures(engine: Engine) -> None:
    for minutes in (30, 20, 10):  # the feed answers, every article is refused
        add_run(engine, NOW - timedelta(minutes=minutes), errors=4, pages=4, http_403=4)
    health = evaluate_site(engine, SITE, POLICY, OPS, NOW)
    assert health.state == "broken"
    assert health.http_403 == 12


def test_a_site_goes_silent_when_nothing_new_comes_for_much_longer_than_usual(engine: Engine) -> None:
    start = NOW - timedelta(hours=40)
    for hour in range(12):  # something new every hour...
        add_run(engine, start + timedelta(hours=hour), new=1)
        add_run(engine, start + timedelta(hours=hour, minutes=30))
    quiet_from = start + timedelta(hours=12)
    for half_hours in range(2 * 5):  # ... then five quiet hours: not yet (threshold: max(4 x 1h, 6h))
        add_run(engine, quiet_from + timedelta(minutes=30 * half_hours))
    assert evaluate_site(engine, SITE, POLICY, OPS, quiet_from + timedelta(hours=5)).state == "ok"
    for half_hours in range(10, 2 * 20):
        add_run(engine, quiet_from + timedelta(minutes=30 * half_hours))
    later = quiet_from + timedelta(hours=20)
    health = evaluate_site(engine, SITE, POLICY, OPS, later)
    assert health.state == "silent"
    assert health.usual_gap == timedelta(hours=1)
    assert "nothing new for" in (health.reason or "")
    assert evaluate_site(engine, SITE, POLICY, OPS, later + timedelta(minutes=5)).state == "silent"
    add_run(engine, later + timedelta(minutes=10), new=3)
    assert evaluate_site(engine, SITE, POLICY, OPS, later + timedelta(minutes=11)).state == "ok"
    assert [m.subject for m in ops_mail(engine)] == [
        "[Newswatch] The Wire has gone silent",
        "[Newswatch] The Wire is publishing again",
    ]


def test_no_silence_without_a_usual_rhythm_to_compare_with(engine: Engine) -> None:
    add_run(engine, NOW - timedelta(days=9), new=10)  # one productive crawl, long ago
    for day in range(8, 0, -1):
        add_run(engine, NOW - timedelta(days=day))
    assert evaluate_site(engine, SITE, POLICY, OPS, NOW).state == "ok"
    assert ops_mail(engine) == []


def test_health_figures_for_the_status_page(engine: Engine) -> None:
    add_run(engine, NOW - timedelta(hours=2), new=4, skipped=1, undated=2, http_429=1, robots_denied=2)
    add_run(engine, NOW - timedelta(hours=1), new=0, skipped=1, http_5xx=2, errors=2)
    add_run(engine, NOW - timedelta(minutes=5), "timeout", message="stopped after 3600s")
    (health,) = site_health(engine, [SITE], POLICY, NOW)
    assert health.state == "failing" and health.consecutive_failures == 1
    assert health.reason == "the last crawl failed: stopped after 3600s"
    assert health.last_status == "timeout" and health.last_error == "stopped after 3600s"
    assert health.last_error_at == NOW - timedelta(minutes=5)
    assert health.last_success_at == NOW - timedelta(hours=1)
    assert (health.http_429, health.http_5xx, health.robots_denied) == (1, 2, 2)
    assert health.undated_share == 0.5  # 2 of the 4 new articles had no date
    assert health.extraction_failed_share == round(2 / 6, 3)
    assert health.last_new_at == NOW - timedelta(hours=2)


def test_a_site_never_crawled_is_new_and_stores_nothing(engine: Engine) -> None:
    assert evaluate_site(engine, SITE, POLICY, OPS, NOW).state == "new"
    with Session(engine) as session:
        assert session.exec(select(SiteHealthRow)).all() == []


def test_a_feed_failing_run_after_run_degrades_its_site_and_is_told_once(engine: Engine) -> None:
    """The site's other feed still brings articles: the site is not broken, but the operator hears of the feed."""
    bad = "https://wire.example/tech.xml"
    for hour in range(3):
        add_run(engine, NOW - timedelta(hours=10 - hour), new=2)
    add_run(engine, NOW - timedelta(hours=3), new=2, failed_sources={bad: "feed: not a valid feed: syntax error"})
    add_run(engine, NOW - timedelta(hours=2), new=1, failed_sources={bad: "feed: not a valid feed: syntax error"})
    assert evaluate_site(engine, SITE, POLICY, OPS, NOW).state == "ok"  # twice: not yet
    add_run(engine, NOW - timedelta(hours=1), new=1, failed_sources={bad: "feed: HTTP 500", "https://x.example/": "y"})
    health = evaluate_site(engine, SITE, POLICY, OPS, NOW)
    assert health.state == "degraded"
    assert health.failing_sources == {bad: (3, "feed: HTTP 500")}  # the other one failed only once
    assert health.reason == f"{bad} failed in 3 crawls in a row: feed: HTTP 500"
    assert evaluate_site(engine, SITE, POLICY, OPS, NOW + timedelta(minutes=1)).state == "degraded"
    (degraded,) = ops_mail(engine)
    assert degraded.subject == "[Newswatch] The Wire: a feed or sitemap keeps failing"
    content = email.message_from_bytes(degraded.body, policy=policy.default).get_content()
    assert f"Failing: {bad} (3 crawls in a row): feed: HTTP 500" in content

    add_run(engine, NOW + timedelta(minutes=10), new=1)  # the feed works again
    assert evaluate_site(engine, SITE, POLICY, OPS, NOW + timedelta(minutes=10)).state == "ok"
    assert [m.subject for m in ops_mail(engine)][1:] == ["[Newswatch] The Wire: every feed and sitemap works again"]


DNS = "cannot resolve wire.example (DNS lookup failed)"


def test_a_site_that_never_succeeded_is_failing_and_says_so_without_an_email(engine: Engine) -> None:
    detail = f"https://wire.example/feed: feed: {DNS}"
    add_run(engine, NOW - timedelta(minutes=30), "failed", errors=1, message=f"{DNS}\n{detail}")
    health = evaluate_site(engine, SITE, POLICY, OPS, NOW)
    assert (health.state, health.alert_state) == ("failing", "ok")
    assert health.never_succeeded and health.last_success_at is None
    assert health.reason == f"never succeeded: {DNS}" and health.last_error == DNS
    add_run(engine, NOW - timedelta(minutes=20), "failed", errors=1, message=DNS)
    (shown,) = site_health(engine, [SITE], POLICY, NOW)
    assert shown.state == "failing" and shown.reason == f"never succeeded: {DNS} (2 crawls failed)"
    add_run(engine, NOW - timedelta(minutes=10), "failed", errors=1, message=DNS)
    broken = evaluate_site(engine, SITE, POLICY, OPS, NOW)
    assert broken.state == "broken" and broken.reason == f"never succeeded: 3 failed crawls in a row: {DNS}"
    assert [m.subject for m in ops_mail(engine)] == ["[Newswatch] The Wire is broken"]


def test_a_success_before_the_window_means_it_did_succeed_once(engine: Engine) -> None:
    add_run(engine, NOW - timedelta(days=40), new=3)
    add_run(engine, NOW - timedelta(minutes=10), "failed", errors=1, message="feed: HTTP 404 (not found)")
    health = evaluate_site(engine, SITE, POLICY, OPS, NOW)
    assert health.state == "failing" and not health.never_succeeded
    assert health.reason == "the last crawl failed: feed: HTTP 404 (not found)"


def test_an_old_crawl_of_known_pages_only_was_a_success_too(engine: Engine) -> None:
    """Before the window the same measure applies as inside it: a run that met errors but fetched copies of
    known stories (duplicates) did not fail."""
    add_run(engine, NOW - timedelta(days=40), errors=2, duplicates=4)
    add_run(engine, NOW - timedelta(days=41), "failed", errors=1)
    add_run(engine, NOW - timedelta(minutes=10), "failed", errors=1, message=DNS)
    health = evaluate_site(engine, SITE, POLICY, OPS, NOW)
    assert health.state == "failing" and not health.never_succeeded


def test_failing_then_ok_sends_nothing(engine: Engine) -> None:
    add_run(engine, NOW - timedelta(hours=3), new=2)
    add_run(engine, NOW - timedelta(hours=2), "failed", errors=1, message=DNS)
    assert evaluate_site(engine, SITE, POLICY, OPS, NOW - timedelta(hours=2)).state == "failing"
    add_run(engine, NOW - timedelta(hours=1), new=1)
    health = evaluate_site(engine, SITE, POLICY, OPS, NOW)
    assert health.state == "ok" and health.last_error == DNS  # the last error stays on show, with its time
    assert health.last_error_at == NOW - timedelta(hours=2)
    assert ops_mail(engine) == []
    with Session(engine) as session:
        assert [row.state for row in session.exec(select(SiteHealthRow))] == ["ok"]


def test_a_broken_site_that_recovers_and_fails_once_more_is_failing_not_emailed(engine: Engine) -> None:
    for hours in (5, 4, 3):
        add_run(engine, NOW - timedelta(hours=hours), "failed", errors=1, message=DNS)
    assert evaluate_site(engine, SITE, POLICY, OPS, NOW - timedelta(hours=3)).state == "broken"
    add_run(engine, NOW - timedelta(hours=2), new=1)
    assert evaluate_site(engine, SITE, POLICY, OPS, NOW - timedelta(hours=2)).state == "ok"
    add_run(engine, NOW - timedelta(hours=1), "failed", errors=1, message=DNS)
    health = evaluate_site(engine, SITE, POLICY, OPS, NOW)
    assert (health.state, health.alert_state) == ("failing", "ok")
    assert [m.subject for m in ops_mail(engine)] == [
        "[Newswatch] The Wire is broken",
        "[Newswatch] The Wire has recovered",
    ]
    with Session(engine) as session:
        assert [row.state for row in session.exec(select(SiteHealthRow))] == ["ok"]
