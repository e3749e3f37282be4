"""Stubs through real crawls: a teaser or consent wall is partial (no alert, fetched again later), the full
article it later serves is stored and alerted once, and a stub never replaces a stored article."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import col, select

from crawler.models import AlertRow, ArticleRow, CrawlRunRow, PageRow
from crawler.store import MAX_FETCH_ATTEMPTS
from tests.alerts_data import body
from tests.local_site import LocalSite, Response
from tests.test_crawl import rss, run_cli, site_toml, stored, workdir

__all__ = ["workdir"]  # the fixture


def stub_html(title: str) -> bytes:
    """A consent wall / teaser: the headline, one sentence, and a prompt (below the minimum body size)."""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | Test News</title></head>'
        f"<body><main><article><h1>{title}</h1><p>SoftBank will invest $2 billion in a robot maker, the group "
        "said.</p><p>Subscribe or accept our cookies to read the full story.</p></article></main></body></html>"
    ).encode()


def full_html(title: str, lead: str, story: int) -> bytes:
    """A whole article about ``title``; ``story`` makes its body text distinct (another story)."""
    paragraphs = "".join(f"<p>{body(story * 10 + n, 40)}</p>" for n in range(5))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | Test News</title>'
        f'<meta property="article:published_time" content="{datetime.now(UTC).isoformat()}"></head><body><main>'
        f"<article><h1>{title}</h1><p>{lead}</p>{paragraphs}</article></main></body></html>"
    ).encode()


GOOD = "SoftBank will invest $2 billion in a robot maker that builds warehouse machines, the group said."
WALLED = "SoftBank agreed to invest in a start-up whose robots pick parcels in warehouses across Europe."


def test_stubs_alert_nothing_are_fetched_again_and_never_replace_an_article(workdir: Path) -> None:
    with LocalSite() as site:
        listed = ["/news/good/", "/news/walled/", "/news/teaser/"]

        def feed(*extra: str) -> None:
            site.routes["/feed.xml"] = Response(rss(site.base_url, [*listed, *extra]), "application/rss+xml")

        site.routes["/news/good/"] = Response(full_html("SoftBank backs a robot maker", GOOD, 1))
        site.routes["/news/walled/"] = Response(stub_html("SoftBank invests in warehouse robots"))
        site.routes["/news/teaser/"] = Response(stub_html("SoftBank stake in a chip designer"))  # never more
        feed()
        sites = site_toml("news", site.base_url, 'feeds = ["BASE/feed.xml"]')

        first = run_cli(workdir, "crawl", sites=sites)
        assert first.returncode == 0, first.stderr
        for session in stored(workdir):
            assert [a.title for a in session.exec(select(ArticleRow))] == ["SoftBank backs a robot maker"]
            walled = session.get(PageRow, f"{site.base_url}/news/walled/")
            assert walled is not None and walled.status == "partial" and "too short" in (walled.reason or "")
            alerts_first = {a.rule_id for a in session.exec(select(AlertRow))}
            run = session.exec(select(CrawlRunRow)).one()
            assert (run.new_articles, run.stats["partial"]) == (1, 2)
        assert alerts_first == {"softbank-investment", "robots"}  # the good article's, none from the stubs

        # The wall is gone: the full article is stored and alerted once. Another feed item redirects to the
        # stored good article, which now shows a stub: the article stays as it was.
        site.routes["/news/walled/"] = Response(full_html("SoftBank invests in warehouse robots", WALLED, 2))
        site.routes["/news/good/"] = Response(stub_html("SoftBank backs a robot maker"))
        site.routes["/news/moved/"] = Response(status=301, headers=(("Location", f"{site.base_url}/news/good/"),))
        feed("/news/moved/")
        second = run_cli(workdir, "crawl")
        assert second.returncode == 0, second.stderr
        assert site.hits["/news/walled/"] == 2 and site.hits["/news/good/"] == 2  # the second: by the redirect

        third = run_cli(workdir, "crawl")
        assert third.returncode == 0, third.stderr
        fourth = run_cli(workdir, "crawl")
        assert fourth.returncode == 0, fourth.stderr
        assert site.hits["/news/walled/"] == 2  # stored: not fetched again
        assert site.hits["/news/teaser/"] == MAX_FETCH_ATTEMPTS  # a stub for good: given up on
    for session in stored(workdir):
        articles = {a.title: a for a in session.exec(select(ArticleRow))}
        assert set(articles) == {"SoftBank backs a robot maker", "SoftBank invests in warehouse robots"}
        assert "warehouse machines" in articles["SoftBank backs a robot maker"].text  # not replaced by the stub
        good = session.get(PageRow, f"{site.base_url}/news/good/")
        assert good is not None and good.status == "article"
        alerts = session.exec(select(AlertRow.article_id, AlertRow.rule_id, AlertRow.suppressed)).all()
        walled_id = articles["SoftBank invests in warehouse robots"].id
        assert sorted((rule, suppressed) for article, rule, suppressed in alerts if article == walled_id) == [
            ("robots", False),
            ("softbank-investment", False),
        ]
        assert len(alerts) == 4  # two articles, two rules each: nothing from a stub
        runs = session.exec(select(CrawlRunRow).order_by(col(CrawlRunRow.id))).all()
        assert [r.new_articles for r in runs] == [1, 1, 0, 0]
