"""`newswatch run` as a real process against local sites and a real SMTP server: it crawls on schedule,
emails what it flags, survives SIGKILL, hung and crashing crawls, catches up once, stops cleanly."""

from __future__ import annotations

import dataclasses
import itertools
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crawler.demo.server import SampleSite
from crawler.models import AlertRow, ArticleRow, CrawlRunRow, HeartbeatRow, OutboxRow
from crawler.store import open_database
from tests.local_site import LocalSite, Response
from tests.service_harness import (
    REPO,
    ServiceProcess,
    finished_runs,
    local_site,
    runs,
    service_env,
    wait_until,
    write_config,
)
from tests.smtp_server import Fault, SMTPServer
from tests.test_crawl import article_html, rss

NEWS = (
    "SoftBank Group said on Monday it will invest $3 billion in Quillfeather Robotics, a maker of warehouse robots, "
    "taking a 40% stake in the start-up. The investment, led by the Vision Fund, values Quillfeather at $7.5 billion."
)


def _engine(url: str) -> Engine:
    return open_database(url)


def stored_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(ArticleRow.id)).all())


def _subjects(smtp: SMTPServer) -> list[str]:
    return [str(r.message["Subject"]) for r in smtp.handler.received]


def _no_duplicates(smtp: SMTPServer) -> None:
    counts = smtp.handler.counts()
    assert counts, "no mail at all"
    assert max(counts.values()) == 1, f"a message arrived twice: {counts.most_common(3)}"


def test_service_crawls_on_schedule_emails_new_stories_and_stops_cleanly(
    tmp_path: Path, db_url: str, smtp: SMTPServer
) -> None:
    began = time.monotonic()
    with SampleSite(now=datetime.now(UTC)) as site:
        config = write_config(
            tmp_path / "config",
            [
                local_site(
                    "sample",
                    site.base_url,
                    name="Sample News",
                    feeds=[f"{site.base_url}/feed.xml"],
                    sitemaps=[f"{site.base_url}/sitemap.xml"],
                    every="3s",
                )
            ],
        )
        env = service_env(tmp_path, config, database_url=db_url, smtp_url=smtp.url)
        service = ServiceProcess(env, tmp_path / "service.log").start()
        engine = _engine(db_url)
        try:
            wait_until(lambda: finished_runs(engine, "sample"), 90, "the first crawl", service)
            first = finished_runs(engine, "sample")[0]
            assert first.status == "finished"
            assert first.new_articles == len(site.articles)
            # backfill = "0": the stories already online when the site was added send nothing
            time.sleep(2)
            assert smtp.handler.received == []

            template = site.articles[0]
            story = dataclasses.replace(
                template,
                slug="softbank-quillfeather-robotics-stake",
                title="SoftBank to invest $3 billion in Quillfeather Robotics",
                teaser=NEWS,
                body="\n\n".join([NEWS, *template.body.split("\n\n")[1:]]),
                published=datetime.now(UTC).replace(microsecond=0),
                softbank_investment=True,
                ai_iot_investment=True,
            )
            published_at = time.monotonic()
            site.publish(story)
            mail = wait_until(
                lambda: [r for r in smtp.handler.received if "Quillfeather" in str(r.message["Subject"])],
                90,
                "the instant alert of the new story",
                service,
            )
            latency = time.monotonic() - published_at
            assert mail[0].recipients == ["reader@example.com"]
            with Session(engine) as session:
                stored = session.exec(select(ArticleRow).where(col(ArticleRow.title).contains("Quillfeather"))).one()
                alerts = session.exec(select(AlertRow).where(col(AlertRow.article_id) == stored.id)).all()
            assert {a.rule_id for a in alerts} >= {"softbank-investment"}

            status = subprocess.run(
                [sys.executable, "-m", "crawler", "status", "--check"],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert status.returncode == 0, status.stdout + status.stderr
            assert "healthy" in status.stdout and "sample" in status.stdout

            # it keeps crawling on its schedule
            wait_until(lambda: len(finished_runs(engine, "sample")) >= 4, 60, "more scheduled crawls", service)
            crawls_before_stop = len(finished_runs(engine, "sample"))
            stopping = time.monotonic()
            assert service.terminate(timeout=40) == 0
            stop_took = time.monotonic() - stopping
        finally:
            service.stop_quietly()
        with Session(engine) as session:
            beats = session.exec(select(HeartbeatRow)).all()
        assert [b.state for b in beats] == ["stopped"]
        assert all(run.status != "running" for run in runs(engine))
        _no_duplicates(smtp)
        summaries = [r for r in service.logs() if r.get("event") == "crawl_run"]
        assert summaries and {"site", "pages", "new", "skipped", "flagged", "errors", "duration"} <= summaries[0].keys()
        engine.dispose()
    print(
        f"\nservice test: {time.monotonic() - began:.1f}s, {crawls_before_stop} crawls, alert {latency:.1f}s after "
        f"publication, stopped in {stop_took:.1f}s"
    )


def test_run_once_crawls_what_is_due_and_exits(tmp_path: Path, smtp: SMTPServer) -> None:
    with LocalSite() as site:
        site.routes["/feed.xml"] = Response(rss(site.base_url, ["/a/"]), "application/rss+xml")
        site.routes["/a/"] = Response(article_html("SoftBank invests in robots", NEWS))
        config = write_config(tmp_path / "config", [local_site("one", site.base_url, every="1h")])
        env = service_env(tmp_path, config, smtp_url=smtp.url)
        command = [sys.executable, "-m", "crawler", "run", "--once"]
        first = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr[-3000:]
        assert first.stdout.splitlines() == [
            "run --once: 1 due site crawled (1 finished), 1 new article, 1 flagged; 0 alerts sent"  # backfill = "0"
        ]
        second = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr[-3000:]  # nothing due is not a failure
        assert second.stdout.splitlines() == ["run --once: no site was due; 0 alerts sent; 1 site not due"]
        assert site.hits["/feed.xml"] == 1  # the second run found nothing due: the interval is one hour
        engine = _engine(f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}")
        assert [r.status for r in runs(engine)] == ["finished"]
        engine.dispose()


WORDS = (
    *("factory", "port", "harbour", "railway", "bridge", "sensor", "camera", "drone", "warehouse", "battery"),
    *("cable", "satellite", "tower", "grid", "farm", "clinic", "school", "museum", "airport", "tunnel"),
    *("reactor", "turbine", "vessel", "truck", "tractor", "forklift", "crane", "conveyor", "pump", "valve"),
    *("engine", "chip", "wafer", "server", "rack", "antenna", "modem", "router", "switch", "laser"),
)


def distinct_story(i: int) -> bytes:
    """A story about SoftBank investing, with a body of its own (distinct stories, distinct alerts)."""
    rng = random.Random(i)
    sentences = [
        " ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "." for _ in range(24)
    ]
    lead = f"SoftBank will invest ${i + 1} billion in robot maker number {i}, the group said on Monday."
    paragraphs = "".join(f"<p>{' '.join(sentences[k:k + 4])}</p>" for k in range(0, 24, 4))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Robot deal {i}</title>
<meta property="article:published_time" content="2026-11-20T09:00:00+00:00"></head><body><main><article>
<h1>SoftBank invests in robot maker {i}</h1><p>{lead}</p>{paragraphs}</article></main></body></html>""".encode()


def slow_site(site: LocalSite, count: int, delay: float) -> list[str]:
    paths = [f"/news/story-{i}/" for i in range(count)]
    site.routes["/feed.xml"] = Response(rss(site.base_url, paths), "application/rss+xml")
    for i, path in enumerate(paths):
        site.routes[path] = Response(distinct_story(i), delay=delay)
    return paths


def test_kill_during_crawl_then_restart_loses_nothing_and_sends_once(
    tmp_path: Path, db_url: str, smtp: SMTPServer
) -> None:
    with LocalSite() as site:
        paths = slow_site(site, 12, 0.6)
        config = write_config(
            tmp_path / "config", [local_site("slow", site.base_url, every="1h", backfill="all")]
        )
        env = service_env(tmp_path, config, database_url=db_url, smtp_url=smtp.url)
        # The first service does not send: a kill inside an SMTP conversation leaves its alert claimed
        # until the send lease is over (the sending test covers that); this test is about the crawl.
        quiet = {**env, "NEWSWATCH_SEND_INTERVAL": "1h"}
        engine = _engine(db_url)
        service = ServiceProcess(quiet, tmp_path / "service.log").start()
        started = [service]
        try:
            def some_stored() -> int:
                with Session(engine) as session:
                    return len(session.exec(select(ArticleRow.id)).all())

            wait_until(lambda: some_stored() >= 2, 90, "the first articles", service)
            service.kill()
            killed_with = some_stored()
            assert killed_with < len(paths)
            restarted = ServiceProcess(env, tmp_path / "service2.log").start()
            started.append(restarted)
            wait_until(lambda: some_stored() == len(paths), 120, "every article after the restart", restarted)
            wait_until(lambda: len(smtp.handler.received) >= len(paths), 60, "every alert", restarted)
            wait_until(lambda: runs(engine, "slow")[-1].status == "finished", 60, "the restarted crawl", restarted)
            time.sleep(3)  # anything sent twice would arrive now
            assert restarted.terminate(timeout=40) == 0
        finally:
            for process in started:
                process.stop_quietly()
        statuses = [r.status for r in runs(engine, "slow")]
        assert statuses[-1] == "finished"
        assert statuses[0] in ("interrupted", "abandoned")  # the orphaned crawl stopped, or was reaped
        with Session(engine) as session:
            assert len(session.exec(select(ArticleRow)).all()) == len(paths)
        assert len(smtp.handler.received) == len(paths)
        _no_duplicates(smtp)
        engine.dispose()


def test_kill_during_sending_then_restart_sends_each_alert_once(tmp_path: Path, smtp: SMTPServer) -> None:
    with LocalSite() as site:
        paths = slow_site(site, 3, 0)
        config = write_config(tmp_path / "config", [local_site("quick", site.base_url, every="1h", backfill="all")])
        env = service_env(tmp_path, config, smtp_url=smtp.url, send_lease="2")
        url = f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"
        smtp.fail("MAIL", Fault(stall=60))  # the first delivery hangs inside the SMTP conversation
        service = ServiceProcess(env, tmp_path / "service.log").start()
        started = [service]
        try:
            engine = _engine(url)

            def sending() -> bool:
                with Session(engine) as session:
                    return bool(session.exec(select(OutboxRow).where(col(OutboxRow.status) == "sending")).all())

            wait_until(sending, 90, "a message being sent", service)
            service.kill()
            smtp.clear()
            restarted = ServiceProcess(env, tmp_path / "service2.log").start()
            started.append(restarted)
            wait_until(lambda: len(smtp.handler.received) >= len(paths), 60, "every alert", restarted)
            time.sleep(3)
            assert restarted.terminate(timeout=40) == 0
        finally:
            for process in started:
                process.stop_quietly()
        assert len(smtp.handler.received) == len(paths)
        _no_duplicates(smtp)
        with Session(engine) as session:
            assert {row.status for row in session.exec(select(OutboxRow)).all()} == {"sent"}
        engine.dispose()


def test_one_catch_up_crawl_per_site_after_a_long_downtime(tmp_path: Path) -> None:
    with LocalSite() as site:
        slow_site(site, 1, 0)
        sites = [local_site(name, site.base_url, every="1m") for name in ("north", "south")]
        config = write_config(tmp_path / "config", sites)
        env = service_env(tmp_path, config)
        url = f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"
        once = subprocess.run(
            [sys.executable, "-m", "crawler", "run", "--once"], env=env, cwd=REPO, capture_output=True, timeout=120
        )
        assert once.returncode == 0, once.stderr[-3000:]
        engine = _engine(url)
        # The service was then down for five intervals.
        with Session(engine) as session:
            session.execute(update(CrawlRunRow).values(started_at=datetime.now(UTC) - timedelta(minutes=5)))
            session.commit()
        service = ServiceProcess(env, tmp_path / "service.log").start()
        try:
            wait_until(lambda: all(len(finished_runs(engine, s)) == 2 for s in ("north", "south")), 60,
                       "the catch-up crawls", service)
            time.sleep(8)  # a burst of missed runs would show up now
            assert service.terminate(timeout=40) == 0
        finally:
            service.stop_quietly()
        for name in ("north", "south"):
            assert len(runs(engine, name)) == 2, [(r.status, r.started_at) for r in runs(engine, name)]
        catch_up = [r for r in service.logs() if r.get("catch_up") is True]
        assert {r["site"] for r in catch_up} == {"north", "south"}
        engine.dispose()


def test_hung_and_crashing_crawls_are_stopped_and_the_rest_goes_on(tmp_path: Path) -> None:
    with LocalSite() as site:
        slow_site(site, 2, 0)
        site.routes["/hang/feed.xml"] = Response(rss(site.base_url, ["/hang/a/"]), "application/rss+xml")
        site.routes["/hang/a/"] = Response(article_html("Stuck", NEWS), delay=120)
        sites = [
            local_site("healthy", site.base_url, every="3s"),
            local_site("hangs", site.base_url, feeds=[f"{site.base_url}/hang/feed.xml"], every="1h", timeout="2s"),
            local_site("crashes", site.base_url, every="1h"),
        ]
        config = write_config(tmp_path / "config", sites)
        env = service_env(tmp_path, config, crash_at="crawl-crashes")
        url = f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"
        service = ServiceProcess(env, tmp_path / "service.log").start()
        try:
            engine = _engine(url)
            wait_until(lambda: finished_runs(engine, "crashes"), 60, "the crash to be recorded", service)
            wait_until(lambda: finished_runs(engine, "hangs"), 90, "the hung crawl to be stopped", service)
            wait_until(lambda: len(finished_runs(engine, "healthy")) >= 3, 60, "more healthy crawls", service)
            assert service.process is not None and service.process.poll() is None
            assert service.terminate(timeout=40) == 0
        finally:
            service.stop_quietly()
        crashed = finished_runs(engine, "crashes")[0]
        assert crashed.status == "crashed" and "signal 9" in (crashed.message or "")
        hung = finished_runs(engine, "hangs")[0]
        assert hung.status == "timeout"
        assert {r.status for r in finished_runs(engine, "healthy")} == {"finished"}
        engine.dispose()


def test_sigint_stops_a_running_crawl_gracefully(tmp_path: Path) -> None:
    with LocalSite() as site:
        slow_site(site, 30, 0.5)
        config = write_config(tmp_path / "config", [local_site("slow", site.base_url, every="1h")])
        env = service_env(tmp_path, config, shutdown_timeout="15")
        url = f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"
        service = ServiceProcess(env, tmp_path / "service.log").start()
        try:
            engine = _engine(url)
            wait_until(lambda: any(r.status == "running" for r in runs(engine)), 60, "a running crawl", service)
            wait_until(lambda: stored_count(engine) >= 2, 60, "the first stored pages", service)
            assert service.process is not None
            began = time.monotonic()
            service.process.send_signal(signal.SIGINT)
            assert service.process.wait(timeout=40) == 0
            took = time.monotonic() - began
        finally:
            service.stop_quietly()
        assert took < 15 + 5
        (run,) = runs(engine, "slow")
        assert run.status == "interrupted"
        assert run.pages > 0  # what it fetched before the signal is stored and counted
        engine.dispose()


def test_broken_and_silent_sources_raise_one_ops_alert_each_and_one_recovery(
    tmp_path: Path, smtp: SMTPServer
) -> None:
    with LocalSite() as site:
        def feed(prefix: str, count: int) -> None:
            paths = [f"/{prefix}/story-{i}/" for i in range(count)]
            site.routes[f"/{prefix}/feed.xml"] = Response(rss(site.base_url, paths), "application/rss+xml")
            for i, path in enumerate(paths):
                site.routes[path] = Response(distinct_story(hash((prefix, i)) % 10_000))

        for prefix in ("blocked", "down"):
            feed(prefix, 1)
        quiet_count = 1
        feed("quiet", quiet_count)
        sites = [
            local_site(name, site.base_url, feeds=[f"{site.base_url}/{name}/feed.xml"], every="2s")
            for name in ("blocked", "down", "quiet")
        ]
        config = write_config(tmp_path / "config", sites)
        env = service_env(
            tmp_path, config, smtp_url=smtp.url, ops_mail_to="ops@example.com", ops_fail_after=2,
            silent_factor=2, silent_min="1s",
        )
        engine = _engine(f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}")
        service = ServiceProcess(env, tmp_path / "service.log").start()

        def ops(name: str, what: str) -> list[str]:
            return [s for s in _subjects(smtp) if s == f"[Newswatch] {name} {what}"]

        def runs_of(name: str) -> int:
            return len(finished_runs(engine, name))

        try:
            # "quiet" publishes something new for its first crawls, so it has a usual rhythm...
            for _ in range(4):
                before = runs_of("quiet")

                def crawled_again(before: int = before) -> bool:
                    return runs_of("quiet") > before

                wait_until(crawled_again, 60, "a crawl of quiet", service)
                quiet_count += 1
                feed("quiet", quiet_count)
            # ... while the other two start refusing.
            site.routes["/blocked/feed.xml"] = Response(b"forbidden", "text/plain", 403)
            site.routes["/down/feed.xml"] = Response(b"unavailable", "text/plain", 503)
            wait_until(lambda: ops("blocked", "is broken") and ops("down", "is broken"), 90, "broken alerts", service)
            wait_until(lambda: ops("quiet", "has gone silent"), 90, "the silence alert", service)
            marks = {name: runs_of(name) for name in ("blocked", "down", "quiet")}
            wait_until(lambda: all(runs_of(n) >= marks[n] + 2 for n in marks), 90, "more crawls", service)

            feed("blocked", 1)
            feed("down", 1)
            feed("quiet", quiet_count + 1)
            wait_until(
                lambda: ops("blocked", "has recovered") and ops("down", "has recovered")
                and ops("quiet", "is publishing again"),
                90,
                "the recovery notices",
                service,
            )
            marks = {name: runs_of(name) for name in ("blocked", "down", "quiet")}
            wait_until(lambda: all(runs_of(n) >= marks[n] + 2 for n in marks), 90, "more crawls", service)
            assert service.terminate(timeout=40) == 0
        finally:
            service.stop_quietly()
        ops_mail = [r for r in smtp.handler.received if r.recipients == ["ops@example.com"]]
        subjects = [str(r.message["Subject"]) for r in ops_mail]
        assert sorted(s for s in subjects if "quiet" not in s) == [
            "[Newswatch] blocked has recovered",
            "[Newswatch] blocked is broken",
            "[Newswatch] down has recovered",
            "[Newswatch] down is broken",
        ]
        # With thresholds of seconds, "quiet" may go silent again after its recovery: one notice per change.
        quiet = [s for s in subjects if "quiet" in s]
        assert quiet[:2] == ["[Newswatch] quiet has gone silent", "[Newswatch] quiet is publishing again"]
        assert all(a != b for a, b in itertools.pairwise(quiet))
        broken = next(r for r in ops_mail if str(r.message["Subject"]) == "[Newswatch] blocked is broken")
        assert "HTTP 403" in broken.message.get_content()
        (down,) = [r for r in runs(engine, "down") if r.status == "failed"][:1]
        assert down.stats["http_5xx"] >= 1
        engine.dispose()


def test_sighup_reloads_the_configuration_and_emails_use_its_names(tmp_path: Path, smtp: SMTPServer) -> None:
    with SampleSite(now=datetime.now(UTC)) as site:
        sites = [local_site("sample", site.base_url, name="Sample News", feeds=[f"{site.base_url}/feed.xml"],
                            every="3s")]
        config = write_config(tmp_path / "config", sites)
        db_url = f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"
        env = service_env(tmp_path, config, database_url=db_url, smtp_url=smtp.url)
        service = ServiceProcess(env, tmp_path / "service.log").start()
        engine = _engine(db_url)
        try:
            wait_until(lambda: finished_runs(engine, "sample"), 90, "the first crawl", service)
            sites[0]["name"] = "Renamed Daily"
            write_config(tmp_path / "config", sites)
            os.kill(service.pid, signal.SIGHUP)
            wait_until(lambda: "configuration reloaded" in service.log_text() or None, 30, "the reload", service)
            story = dataclasses.replace(
                site.articles[0],
                slug="softbank-quillfeather-after-reload",
                title="SoftBank to invest $3 billion in Quillfeather Robotics",
                teaser=NEWS,
                body="\n\n".join([NEWS, *site.articles[0].body.split("\n\n")[1:]]),
                published=datetime.now(UTC).replace(microsecond=0),
            )
            site.publish(story)
            (mail,) = wait_until(
                lambda: [r for r in smtp.handler.received if "Quillfeather" in str(r.message["Subject"])],
                90, "the instant alert after the reload", service,
            )
            body = mail.message.get_body(("plain",))
            assert body is not None
            text = body.get_content()
            assert "Renamed Daily" in text and "Sample News" not in text
            assert service.terminate(timeout=40) == 0
        finally:
            service.stop_quietly()
        engine.dispose()
