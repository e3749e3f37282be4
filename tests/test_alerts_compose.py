"""Composing emails from untrusted titles and text: one Subject, no injected headers, no script in HTML."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.alerts.compose import (
    Envelope,
    HeaderInjectionError,
    Source,
    StoryItem,
    check_head,
    compose,
    format_amount,
    header_text,
    safe_snippet,
    safe_url,
    shorten,
)
from crawler.alerts.mailconfig import MailConfig, RuleDelivery

CONFIG = MailConfig(
    mail_from="newswatch@alerts.example",
    default_recipients=("alice@example.com",),
    rules={"rule-a": RuleDelivery("instant"), "rule-b": RuleDelivery("digest")},
    base_url="https://newswatch.example",
)
DATE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HOSTILE = [
    "Breaking\r\nBcc: victim@evil.example",
    "Title\nSubject: second subject",
    "Line\u2028Separator\u2029Para\x85Next\x0bVertical\x0cFeed",
    '<script>alert("x")</script><img src=x onerror=alert(1)>',
    "\"><a href='javascript:alert(1)' onclick=evil()>click</a>",
    "=?utf-8?q?encoded=0D=0ABcc:_x@evil.example?=",
    "=?utf-8?b?ZW5jb2RlZA0KQmNjOiB4QGV2aWwuZXhhbXBsZQ==?=",
    "x =?iso-8859-1?q?=0ABcc:_y@evil.example?= y",
    "x" * 5000,
    "",
    "\r\n\r\n<html><body onload=evil()>",
]
title_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.lists(st.sampled_from(["\r", "\n", "\u2028", "\x85", "\x0b", "Bcc: a@b.c", "<script>", " onload=", "x"])).map(
        "".join
    ),
)


def _item(
    title: str, n: int = 1, snippet: str | None = None, site: str = "news-a", url: str | None = None
) -> StoryItem:
    return StoryItem(
        alert_id=n,
        rule_id="rule-a" if n % 2 else "rule-b",
        story_id=n,
        title=title,
        url=url or f"https://news.example/{n}",
        site=site,
        published=DATE,
        snippet=snippet,
        amounts=[{"text": "¥48bn", "value": 4.8e10, "currency": "JPY", "usd": 3.2e8}],
        terms=["softbank"],
        also=[Source(site + "-copy", "https://other.example/x")],
        article_id=100 + n,
    )


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _check_html(page: str) -> None:
    tree = lxml.html.fromstring(page)
    assert not tree.xpath("//script | //iframe | //object | //embed")
    for element in tree.iter():
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (name, value)
            if name.lower() in ("href", "src"):
                assert value.startswith(("https://", "http://", "mailto:")), value


def _check_message(raw: bytes, recipient: str) -> EmailMessage:
    parsed = _parse(raw)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    names = [line.split(":", 1)[0].lower() for line in head.split("\r\n") if line and not line[0].isspace()]
    assert names.count("subject") == 1
    assert set(names) <= {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "auto-submitted",
        "x-newswatch-kind",
        "mime-version",
        "content-type",
    }
    assert parsed.get_all("To") == [recipient]
    assert "Bcc" not in parsed and "Cc" not in parsed
    subject = str(parsed["Subject"])
    assert not any(ch in subject for ch in "\r\n\u2028\u2029\x85\x0b\x0c")
    assert len(subject) <= 200
    html_part = parsed.get_body(("html",))
    text_part = parsed.get_body(("plain",))
    assert html_part is not None and text_part is not None
    _check_html(html_part.get_content())
    return parsed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(titles=st.lists(title_text, min_size=1, max_size=4), snippet=title_text, site=title_text)
def test_hostile_titles_cannot_inject_headers_or_markup(titles: list[str], snippet: str, site: str) -> None:
    items = [_item(title, n, snippet=snippet, site=site) for n, title in enumerate(titles, start=1)]
    for kind in ("instant", "digest"):
        composed = compose(Envelope("alice@example.com", "<nw.test.1@alerts.example>", DATE, kind), items, CONFIG)
        _check_message(composed.raw, "alice@example.com")


def test_one_hostile_title_does_not_break_a_digest() -> None:
    items = [_item(title, n) for n, title in enumerate(HOSTILE, start=1)]
    items.append(_item("SoftBank invests ¥48bn in MediBox", 99))
    composed = compose(Envelope("alice@example.com", "<nw.d@alerts.example>", DATE, "digest"), items, CONFIG)
    parsed = _check_message(composed.raw, "alice@example.com")
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "SoftBank invests ¥48bn in MediBox" in text
    assert str(parsed["Subject"]) == f"[Newswatch] Digest: {len(HOSTILE) + 1} new stories for rule-a, rule-b"
    assert "¥48bn (≈ $320M)" in composed.html


def test_snippet_keeps_only_marks() -> None:
    stored = "SoftBank &lt;b&gt; <mark>invests</mark> <script>x</script> <mark onclick=x>y</mark> <mark>z"
    safe = str(safe_snippet(stored))
    assert safe == (
        "SoftBank &lt;b&gt; <mark>invests</mark> &lt;script&gt;x&lt;/script&gt; &lt;mark onclick=x&gt;y <mark>z</mark>"
    )
    assert str(safe_snippet(None)) == ""


def test_headers_and_links_are_cleaned() -> None:
    assert header_text("a\r\nb\u2028c\x85d\x0be\tf") == "a b c d e f"
    # Encoded words would be decoded by the email package, line breaks and all: their opener is broken.
    assert header_text("=?utf-8?q?x=0D=0ABcc:_a@b.c?=") == "= ?utf-8?q?x=0D=0ABcc:_a@b.c?="
    with pytest.raises(HeaderInjectionError):
        check_head(b"Subject: x\r\nBcc: a@b.c\r\n\r\nbody", ["subject"])
    assert shorten("word " * 100, 20).endswith("…") and len(shorten("word " * 100, 20)) <= 20
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://x.example/a b") is None
    assert safe_url("https://x.example/a\r\nb") is None
    assert safe_url("https://x.example/a?b=1") == "https://x.example/a?b=1"
    assert format_amount({"text": "$5m", "currency": "USD", "usd": 5e6}) == "$5m"
    assert format_amount({"text": "5 trillion won", "currency": "KRW", "usd": 3.6e9}) == "5 trillion won (≈ $3.6B)"


def test_message_headers_and_links(tmp_path: Path) -> None:
    composed = compose(
        Envelope("alice@example.com", "<nw.instant.7.abc@alerts.example>", DATE, "instant"), [_item("Hello", 1)], CONFIG
    )
    parsed = _parse(composed.raw)
    assert parsed["Message-ID"] == "<nw.instant.7.abc@alerts.example>"
    assert parsed["Date"] == "Fri, 20 Nov 2026 08:00:00 +0000"
    assert str(parsed["List-Unsubscribe"]).strip() == "<mailto:newswatch@alerts.example?subject=unsubscribe>"
    assert parsed["Subject"] == "[Newswatch] 1 new story for rule-a: Hello"
    assert "https://newswatch.example/stories?rule=rule-a" in composed.html
    assert 'style="' in composed.html  # CSS inlined for mail clients
    no_base = MailConfig(mail_from="n@alerts.example", default_recipients=("a@b.example",))
    plain = _parse(compose(Envelope("a@b.example", "<x@y>", DATE, "digest"), [_item("Hi", 2)], no_base).raw)
    assert str(plain["List-Unsubscribe"]).strip() == "<mailto:n@alerts.example?subject=unsubscribe>"
    assert "List-Unsubscribe-Post" not in plain


def test_each_story_links_to_its_review_page() -> None:
    composed = compose(
        Envelope("alice@example.com", "<nw.digest.1@alerts.example>", DATE, "digest"),
        [_item("First", 1), _item("Second", 2)],
        CONFIG,
    )
    assert 'href="https://newswatch.example/stories/101"' in composed.html
    assert 'href="https://newswatch.example/stories/102"' in composed.html
    assert "Review: https://newswatch.example/stories/101" in composed.text
    no_base = MailConfig(mail_from="n@alerts.example", default_recipients=("a@b.example",))
    plain = compose(Envelope("a@b.example", "<x@y>", DATE, "digest"), [_item("Hi", 2)], no_base)
    assert "/stories/" not in plain.html and "/stories/" not in plain.text
