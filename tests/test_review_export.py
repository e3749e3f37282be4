"""CSV and JSON exports: plain values, review links, no formula a spreadsheet would run, no terminal controls."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.review.export import COLUMNS, csv_safe, record, review_url, to_csv, to_json
from crawler.review.stories import StoryFilter, StoryItem, iter_stories
from crawler.review.triage import mark
from tests.alerts_data import NOW
from tests.test_review_stories import CHIPS, ROBOTS, add


def item(article_id: int = 7, **changes: object) -> StoryItem:
    values: dict[str, object] = {
        "article_id": article_id,
        "title": "Kobo Robotics raises $5m",
        "url": "https://a.example/kobo",
        "site_id": "news-a",
        "found": NOW,
        "published": NOW - timedelta(hours=3),
        "rules": (ROBOTS, CHIPS),
        "status": "irrelevant",
        "note": "seen before",
        "snippet": "<mark>Kobo</mark>",
        "outlets": 0,
    }
    values.update(changes)
    return StoryItem(**values)  # type: ignore[arg-type]


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://evil.example","click")', '\'=HYPERLINK("http://evil.example","click")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\n=1+1", "'\n=1+1"),
        ("\r=1+1", "' =1+1"),  # a carriage return is a control character: blanked, then still quoted
        ("  =1+1", "'  =1+1"),
        ("Kobo = 5 + 5", "Kobo = 5 + 5"),
        ("5 - 3", "5 - 3"),
        ("", ""),
        ("red \x1b[31malert\x1b[0m", "red  [31malert [0m"),
        ("\u202egnp.exe", " gnp.exe"),
        ("line one\nline two", "line one\nline two"),
    ],
)
def test_csv_safe(value: str, safe: str) -> None:
    assert csv_safe(value) == safe


def test_csv_has_a_header_and_one_neutralised_row_per_article() -> None:
    hostile = item(
        8,
        title="=cmd|' /C calc'!A0",
        url="@https://evil.example",
        site_id="+site",
        note="-1\nsecond line",
        status="new",
        published=None,
        rules=("=rule",),
    )
    text = to_csv([item(), hostile], base_url="https://news.example/watch/")
    first, second = rows(text)
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert first == {
        "id": "7",
        "found": NOW.isoformat(),
        "published": (NOW - timedelta(hours=3)).isoformat(),
        "site": "news-a",
        "title": "Kobo Robotics raises $5m",
        "url": "https://a.example/kobo",
        "rules": f"{ROBOTS}; {CHIPS}",
        "status": "not relevant",
        "note": "seen before",
        "review_url": "https://news.example/watch/stories/7",
    }
    assert second["title"] == "'=cmd|' /C calc'!A0"
    assert (second["url"], second["site"], second["rules"]) == ("'@https://evil.example", "'+site", "'=rule")
    assert second["note"] == "'-1\nsecond line"
    assert (second["published"], second["status"]) == ("", "new")
    for row in (first, second):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.values())


def test_review_links_only_with_a_base_url() -> None:
    assert review_url(3, "https://n.example") == review_url(3, "https://n.example/") == "https://n.example/stories/3"
    assert review_url(3, None) is None and review_url(3, "") is None
    assert rows(to_csv([item()]))[0]["review_url"] == ""
    assert json.loads(to_json([item()]))[0]["review_url"] is None


def test_json_round_trips_every_value() -> None:
    items = [item(), item(9, title='Café 東京 "quoted" <b>', note=None, published=None, status="new", rules=())]
    text = to_json(items, base_url="https://n.example")
    loaded = json.loads(text)
    assert loaded == [record(i, "https://n.example") for i in items]
    assert "東京" in text  # readable, not \\u escapes
    back = loaded[1]
    assert back["title"] == 'Café 東京 "quoted" <b>' and back["note"] is None and back["rules"] == []
    assert datetime.fromisoformat(loaded[0]["found"]) == NOW
    assert datetime.fromisoformat(loaded[0]["published"]) == NOW - timedelta(hours=3)
    assert (loaded[0]["status"], back["status"]) == ("not relevant", "new")
    assert to_json([]) == "[]" and rows(to_csv([])) == []


def test_export_of_stored_articles(engine: Engine) -> None:
    kobo = add(engine, "kobo", "=Kobo Robotics raises $5m", "Kobo builds robots.", (ROBOTS, CHIPS))
    add(engine, "nano", "Nano chips", "A chip plant.", (CHIPS,), found=NOW - timedelta(days=1))
    with Session(engine) as session:
        mark(session, kobo, "relevant", note="@ceo")
        items = iter_stories(session, StoryFilter())
    (first, second) = rows(to_csv(items, "https://n.example"))
    assert (first["id"], first["title"], first["status"], first["note"]) == (
        str(kobo),
        "'=Kobo Robotics raises $5m",
        "relevant",
        "'@ceo",
    )
    assert first["rules"] == f"{ROBOTS}; {CHIPS}" and second["title"] == "Nano chips"
    assert [r["id"] for r in json.loads(to_json(items))] == [kobo, int(second["id"])]
