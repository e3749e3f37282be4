"""`newswatch demo`: the sample site's configuration and the report printed after its crawl."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from sqlmodel import Session

from crawler.config import SiteConfig
from crawler.store import flagged_articles

DEMO_SITE_ID = "sample-news"
# The sample site dates its stories relative to a reference time; a fixed one keeps its URLs (which
# contain the date) the same on every run, so a second demo run finds nothing new.
DEMO_NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def demo_site_config(base_url: str) -> SiteConfig:
    """The bundled sample site, crawled through its feed, sitemap and home page like any configured site."""
    return SiteConfig.model_validate(
        {
            "id": DEMO_SITE_ID,
            "name": "Sample News (local demo site)",
            "feeds": [f"{base_url}/feed.xml"],
            "sitemaps": [f"{base_url}/sitemap.xml"],
            "listings": [{"url": f"{base_url}/", "links": "a.story-link"}],
            "delay": 0,
            "allow_private_network": True,
            "backfill": "all",  # the sample stories are days old: alert them all on the first crawl
        }
    )


def first_line(text: str, width: int = 160) -> str:
    """The first non-empty line of ``text``, shortened to ``width`` characters."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= width else line[: width - 1].rstrip() + "…"
    return ""


def print_flagged(console: Console, session: Session, site_id: str, run: Any) -> None:
    """Print the totals of the demo crawl and every flagged story of the sample site with its first line."""
    rows = flagged_articles(session, site_id=site_id)
    stories: dict[int, list[Any]] = {}
    for row in rows:
        stories.setdefault(row.article_id, []).append(row)
    console.print(
        f"\nThis run: {run.pages} pages handled, {run.new_articles} new articles, {run.skipped} skipped, "
        f"{run.flagged} flagged, {run.errors} errors ({run.already_seen} links already known).",
        markup=False,
    )
    console.print(f"Flagged stories of the sample site ({len(stories)}):\n", markup=False)
    for matches in sorted(stories.values(), key=lambda m: m[0].published or m[0].flagged_at, reverse=True):
        head = matches[0]
        rules = ", ".join(f"{m.rule} [{', '.join(m.terms)}]" for m in matches)
        console.print(f"* {head.title}", markup=False, style="bold")
        console.print(f"  {head.url}", markup=False)
        console.print(f"  rules: {rules}", markup=False)
        console.print(f"  {first_line(head.text)}\n", markup=False)
