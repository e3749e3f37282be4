"""Emails name sites and rules as the configuration does (ids only where programs read them), safely."""

from __future__ import annotations

import email
import json
import re
from email import policy
from email.message import EmailMessage
from pathlib import Path

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy.engine import Engine

from crawler.alerts.cli import alert_setup, mail_config
from crawler.alerts.compose import NAME_MAX, Envelope, compose
from crawler.alerts.digest import send_digests
from crawler.alerts.mailconfig import MailConfig, RuleDelivery
from crawler.alerts.outbox import INSTANT, plan_instant
from crawler.alerts.sender import send_due
from crawler.alerts.transport import FileTransport
from crawler.alerts.webhook import payload
from crawler.settings import Settings
from tests.alerts_data import NOW, shipped_config, store
from tests.test_alerts_compose import DATE, _check_message, _item, title_text

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
HOSTILE_NAMES = [
    '<script>alert("x")</script><b onclick=evil()>Deals</b>',
    "Deals\r\nBcc: victim@evil.example",
    "Deals\nX-Injected: yes\r\n\r\n<html>",
    "\u202eslaeD\u202c \u2066Deals\u2069",
    "=?utf-8?q?Deals=0D=0ABcc:_x@evil.example?=",
    "deal " * 2048,  # 10 KB
]
SLACK_URL = "https://hooks.slack.com/services/T/B/X"
TEAMS_URL = "https://acme.webhook.office.com/webhookb2/x"


def _messages(folder: Path) -> dict[str, list[EmailMessage]]:
    """The .eml files of ``folder`` by their X-Newswatch-Kind."""
    found: dict[str, list[EmailMessage]] = {}
    for path in sorted(folder.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        found.setdefault(str(parsed["X-Newswatch-Kind"]), []).append(parsed)
    return found


def _parts(message: EmailMessage) -> tuple[str, str]:
    text, page = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and page is not None
    return str(text.get_content()), str(page.get_content())


def _without_review_links(body: str) -> str:
    return re.sub(r"/stories\?rule=[\w-]+", "", body)


def test_instant_email_and_digest_show_the_configured_names(engine: Engine, tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    mail = mail_config(
        Settings(data_dir=tmp_path / "data", mail_to="alice@example.com", base_url="https://newswatch.example"), config
    )
    rec = alert_setup(config).for_site(config.site("rcrwireless"), first_crawl=False, started=NOW)
    store(engine, rec, 1, ["softbank-investment"], site_id="rcrwireless", url="https://news.example/a/1")
    for outlet in ("techcrunch", "plain-site", "gone-site"):  # named, unnamed, removed from the configuration
        store(engine, rec, 1, [], site_id=outlet, url=f"https://news.example/{outlet[0]}/1")
    store(engine, rec, 2, ["ai-iot-investment"], site_id="plain-site", url="https://news.example/p/2")

    assert len(plan_instant(engine, mail, NOW)) == 1
    send_due(engine, mail, FileTransport(mail.outbox_dir), kind=INSTANT, clock=lambda: NOW)
    send_digests(engine, mail, FileTransport(mail.outbox_dir), clock=lambda: NOW)
    messages = _messages(mail.outbox_dir)
    (instant,), (digest,) = messages["instant"], messages["digest"]

    assert str(instant["Subject"]).startswith("[Newswatch] 1 new story for SoftBank investments: Story 1:")
    assert str(instant["Message-ID"]).startswith("<nw.instant.")
    text, page = _parts(instant)
    assert "Newswatch flagged a new story for SoftBank investments." in text
    assert "## Rule: SoftBank investments (1 story)" in text
    assert "RCR Wireless News | 2026-11-20 05:00 | rule SoftBank investments" in text
    assert (
        "Also reported by: TechCrunch <https://news.example/t/1>, plain-site <https://news.example/p/1>, "
        "gone-site <https://news.example/g/1>"
    ) in text
    tree = lxml.html.fromstring(page)
    heading = tree.xpath("//h2")[0]
    assert heading.text_content().split("·")[0].strip() == "Rule: SoftBank investments"
    assert heading.xpath(".//a/@href") == ["https://newswatch.example/stories?rule=softbank-investment"]
    meta = tree.xpath("//div[contains(@class, 'meta')]")[0].text_content()
    assert meta.startswith("RCR Wireless News") and "rule SoftBank investments" in meta
    assert [a.text_content() for a in tree.xpath("//div[contains(@class, 'also')]//a")] == [
        "TechCrunch",
        "plain-site",
        "gone-site",
    ]
    for body in (text, page, str(instant["Subject"])):
        assert "softbank-investment" not in _without_review_links(body)
        assert "rcrwireless" not in body and "techcrunch" not in body

    assert str(digest["Subject"]) == "[Newswatch] Digest: 1 new story for AI and IoT investments"
    text, page = _parts(digest)
    assert "## Rule: AI and IoT investments (1 story)" in text
    assert "plain-site | 2026-11-20 05:00 | rule AI and IoT investments" in text
    assert "Review: https://newswatch.example/stories?rule=ai-iot-investment" in text
    for body in (text, page):
        assert "rule ai-iot-investment" not in body
        assert "ai-iot-investment" not in _without_review_links(body)


def test_a_rule_or_site_without_a_name_shows_its_id() -> None:
    named = MailConfig(
        mail_from="newswatch@alerts.example",
        default_recipients=("alice@example.com",),
        rules={"rule-a": RuleDelivery("instant", name="Rule A")},  # rule-b: removed since its alert was recorded
        site_names={"news-a": "News A"},  # news-a-copy: not configured (any more)
    )
    items = [_item("First", 1), _item("Second", 2)]
    composed = compose(Envelope("alice@example.com", "<nw.d@alerts.example>", DATE, "digest"), items, named)
    assert composed.subject == "[Newswatch] Digest: 2 new stories for Rule A, rule-b"
    assert "## Rule: Rule A (1 story)" in composed.text and "## Rule: rule-b (1 story)" in composed.text
    assert "News A | 2026-11-20 08:00 | rule Rule A" in composed.text
    assert "News A | 2026-11-20 08:00 | rule rule-b" in composed.text
    assert "Also reported by: news-a-copy <https://other.example/x>" in composed.text
    summary = compose(Envelope("alice@example.com", "<nw.s@alerts.example>", DATE, "summary"), items, named)
    assert summary.subject.startswith("[Newswatch] 2 more new stories for Rule A, rule-b (")
    assert "Newswatch flagged more new stories for Rule A, rule-b than" in summary.text


def _hostile_config(name: str) -> MailConfig:
    return MailConfig(
        mail_from="newswatch@alerts.example",
        default_recipients=("alice@example.com",),
        rules={"rule-a": RuleDelivery("instant", name=name), "rule-b": RuleDelivery("digest", name=name)},
        site_names={"news-a": name, "news-a-copy": name},
        base_url="https://newswatch.example",
    )


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_hostile_names_are_escaped_kept_out_of_headers_and_shortened(name: str) -> None:
    config = _hostile_config(name)
    items = [_item("Hello", 1), _item("World", 2)]
    for kind in ("instant", "digest", "summary"):
        composed = compose(Envelope("alice@example.com", "<nw.h@alerts.example>", DATE, kind), items, config)
        parsed = _check_message(composed.raw, "alice@example.com")  # one Subject, no other header added
        assert "X-Injected" not in parsed
        for header, value in parsed.items():  # names go in the Subject (one line) and nowhere else in the head
            assert header == "Subject" or not re.search("deal|evil", str(value), re.IGNORECASE), (header, value)
        subject = str(parsed["Subject"])
        text, page = _parts(parsed)
        for shown in (subject, text, page):
            assert not any(ch in shown for ch in BIDI)
            assert "deal " * (NAME_MAX // 5 + 1) not in shown  # the 10 KB name is cut
        assert "<script>" not in page
        if "<script>" in name:
            assert "&lt;script&gt;" in page  # shown as text
        assert "/stories?rule=rule-a" in page  # the id still makes the review link
    for url in ("https://example.com/hook", SLACK_URL, TEAMS_URL):
        subject, body = payload(url, "<m@x>", items[:1], config)
        assert "\r" not in subject and "\n" not in subject and len(subject) <= 200
        data = json.loads(body)
        for value in _strings(data):
            assert not any(ch in value for ch in BIDI) and "\r" not in value
            assert "deal " * (NAME_MAX // 5 + 1) not in value
        if url == SLACK_URL:
            assert "<script>" not in data["text"] and "<b " not in data["text"]


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_name=title_text, site_name=title_text)
def test_any_name_cannot_inject_headers_or_markup(rule_name: str, site_name: str) -> None:
    config = MailConfig(
        mail_from="newswatch@alerts.example",
        default_recipients=("alice@example.com",),
        rules={"rule-a": RuleDelivery("instant", name=rule_name), "rule-b": RuleDelivery("digest", name=rule_name)},
        site_names={"news-a": site_name, "news-a-copy": site_name},
        base_url="https://newswatch.example",
    )
    items = [_item("Hello", 1), _item("World", 2)]
    for kind in ("instant", "digest", "summary"):
        composed = compose(Envelope("alice@example.com", "<nw.h@alerts.example>", DATE, kind), items, config)
        _check_message(composed.raw, "alice@example.com")
