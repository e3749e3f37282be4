"""Compose alert and digest emails: multipart text + HTML from jinja2 templates, safe headers, inlined CSS.

Sites and rules are shown by the names the configuration gives them (their ids when they have none, or
were removed since the alert); ids stay where programs read them (Message-IDs, review links).

Everything that comes from a page (titles, sites, URLs, snippets) or the configuration (names) is
untrusted: HTML is produced only by
autoescaping templates (the one exception, a match snippet, is rebuilt so that ``<mark>`` is the only
tag in it); header values lose every line-break and control character and are shortened; links are
http(s) only.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import css_inline
import jinja2
from markupsafe import Markup

from crawler.alerts.mailconfig import MailConfig

TEMPLATES = Path(__file__).resolve().parent / "templates"
TITLE_MAX = 200  # characters of a headline shown in a message
SUBJECT_TITLE_MAX = 90  # characters of a headline in a Subject
SNIPPET_MAX = 1000
NAME_MAX = 80  # characters of a site's or rule's name shown in a message
SUBJECT_NAME_MAX = 60  # characters of a rule's name in a Subject
# Line breaks of every kind and the other control / format characters a header must not carry.
_HEADER_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_TEXT_BAD = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")
_MARK = re.compile(r"(</?mark>)")


def header_text(value: str, limit: int | None = None) -> str:
    """``value`` made safe for a header: no CR, LF, U+2028, U+0085, VT or other controls, no encoded-word
    opener, spaces collapsed, shortened to ``limit`` characters with an ellipsis."""
    value = unicodedata.normalize("NFC", value or "")
    value = _SPACES.sub(" ", _HEADER_BAD.sub(" ", value)).strip()
    # The email package decodes RFC 2047 encoded words ("=?utf-8?q?...=0D=0A...?=") in values it is given
    # and would write the decoded line breaks out raw: break the "=?" opener so nothing is decoded.
    value = value.replace("=?", "= ?")
    return shorten(value, limit) if limit else value


def plain_text(value: str | None, limit: int | None = None) -> str:
    """Untrusted text for the plain-text part and the HTML templates: one line, no controls, shortened."""
    value = _SPACES.sub(" ", _TEXT_BAD.sub(" ", value or "")).strip()
    return shorten(value, limit) if limit else value


def shorten(value: str, limit: int) -> str:
    """``value`` cut at a word boundary to at most ``limit`` characters, with "…" when cut."""
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"


def safe_snippet(snippet: str | None) -> Markup:
    """The stored HTML snippet rebuilt so that only balanced ``<mark>`` tags remain: every other piece is
    unescaped and escaped again (so stray markup becomes text), controls removed."""
    if not snippet:
        return Markup("")
    parts: list[str] = []
    open_mark = False
    for piece in _MARK.split(snippet[: SNIPPET_MAX * 2]):
        if piece == "<mark>":
            if not open_mark:
                parts.append("<mark>")
                open_mark = True
        elif piece == "</mark>":
            if open_mark:
                parts.append("</mark>")
                open_mark = False
        else:
            piece = _SPACES.sub(" ", _TEXT_BAD.sub(" ", html.unescape(piece)))
            parts.append(html.escape(piece, quote=True))
    if open_mark:
        parts.append("</mark>")
    return Markup("".join(parts).strip())


def snippet_text(snippet: str | None) -> str:
    """The snippet as plain text, hits between asterisks."""
    if not snippet:
        return ""
    text = _MARK.sub(lambda m: "*", snippet)
    return plain_text(html.unescape(text), SNIPPET_MAX)


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL without controls or spaces, else None."""
    if not url or _HEADER_BAD.search(url) or " " in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def format_usd(value: float) -> str:
    """A US-dollar value in short form: $950, $12.5M, $1.2B, $3T."""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"${value / size:.3g}{suffix}"
    return f"${value:,.0f}"


def format_amount(amount: dict[str, Any]) -> str:
    """An amount as written, with its US-dollar value when it was in another currency."""
    text = plain_text(str(amount.get("text") or ""), 60)
    usd = amount.get("usd")
    currency = str(amount.get("currency") or "")
    if isinstance(usd, int | float) and currency and currency != "USD":
        return f"{text} (≈ {format_usd(float(usd))})"
    return text


def rule_label(config: MailConfig, rule_id: str, limit: int = NAME_MAX) -> str:
    """The rule's name as a message shows it: one line, no controls, shortened (its id when nothing is left)."""
    return plain_text(config.rule_name(rule_id), limit) or plain_text(rule_id, limit)


def site_label(config: MailConfig, site_id: str, limit: int = NAME_MAX) -> str:
    """The site's name as a message shows it: one line, no controls, shortened (its id when nothing is left)."""
    return plain_text(config.site_name(site_id), limit) or plain_text(site_id, limit)


@dataclass(frozen=True)
class Source:
    """Another outlet that reported the story."""

    site: str  # its site id
    url: str | None


@dataclass(frozen=True)
class StoryItem:
    """One story under one rule, as an email shows it."""

    alert_id: int
    rule_id: str
    story_id: int
    title: str
    url: str | None
    site: str  # the site id (shown by its name: :func:`site_label`)
    published: datetime | None
    snippet: str | None = None
    amounts: Sequence[dict[str, Any]] = ()
    terms: Sequence[str] = ()
    also: Sequence[Source] = ()
    article_id: int | None = None  # the article the alert names: its review page


@dataclass(frozen=True)
class Composed:
    """A rendered message: its bytes as sent and the parts kept for listings and previews."""

    subject: str
    message_id: str
    raw: bytes
    html: str
    text: str


@dataclass(frozen=True)
class Envelope:
    """Who a message is for and how it is identified."""

    recipient: str
    message_id: str
    date: datetime
    kind: str = "digest"  # or "instant"
    extra_headers: dict[str, str] = field(default_factory=dict)


@cache
def _environments() -> tuple[jinja2.Environment, jinja2.Environment]:
    loader = jinja2.FileSystemLoader(str(TEMPLATES))
    html_env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    text_env = jinja2.Environment(
        loader=loader, autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    return html_env, text_env


@cache
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_style_tags=False, keep_at_rules=True, load_remote_stylesheets=False)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except Exception:  # zoneinfo raises several kinds for bad names; settings are validated elsewhere
        return ZoneInfo("UTC")


def subject_for(kind: str, items: Sequence[StoryItem], total: int, config: MailConfig) -> str:
    """'[Newswatch] Digest: 3 new stories for Rule A, Rule B' (digest),
    '[Newswatch] 1 new story for Rule A: <headline>' (instant) or
    '[Newswatch] 4981 more new stories for Rule A (hourly email limit reached)' (summary), with the rules'
    names."""
    rules = ", ".join(dict.fromkeys(rule_label(config, item.rule_id, SUBJECT_NAME_MAX) for item in items))
    noun = "story" if total == 1 else "stories"
    if kind == "instant" and items:
        title = header_text(items[0].title, SUBJECT_TITLE_MAX)
        return header_text(f"[Newswatch] {total} new {noun} for {rules}: {title}", 200)
    if kind == "summary":
        return header_text(f"[Newswatch] {total} more new {noun} for {rules} (hourly email limit reached)", 200)
    return header_text(f"[Newswatch] Digest: {total} new {noun} for {rules}", 200)


def _story_view(item: StoryItem, zone: tzinfo, config: MailConfig) -> dict[str, Any]:
    return {
        "review_url": config.story_url(item.article_id),
        "title": plain_text(item.title, TITLE_MAX) or "(no title)",
        "url": safe_url(item.url),
        "site": site_label(config, item.site),
        "date": item.published.astimezone(zone).strftime("%Y-%m-%d %H:%M") if item.published else "",
        "snippet": safe_snippet(item.snippet),
        "snippet_text": snippet_text(item.snippet),
        "amounts": list(dict.fromkeys(format_amount(a) for a in item.amounts))[:8],
        "terms": [plain_text(t, 40) for t in item.terms[:10]],
        "also": [Source(site_label(config, s.site), safe_url(s.url)) for s in item.also[:10]],
    }


def compose(
    envelope: Envelope,
    items: Sequence[StoryItem],
    config: MailConfig,
    more: int = 0,
) -> Composed:
    """Render the message carrying ``items`` (grouped by rule) and ``more`` stories only counted."""
    zone = _zone(config.digest_tz)
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(item.rule_id, []).append(_story_view(item, zone, config))
    total = len({item.story_id for item in items}) + more
    subject = subject_for(envelope.kind, items, total, config)
    names = {rule: rule_label(config, rule) for rule in groups}
    named = ", ".join(dict.fromkeys(names.values()))
    recipient = envelope.recipient
    if envelope.kind == "instant":
        heading = "New story"
        intro = f"Newswatch flagged a new story for {named}."
    elif envelope.kind == "summary":
        heading = "More new stories"
        intro = (
            f"Newswatch flagged more new stories for {named} than the {config.max_mails_per_hour} alert "
            f"emails an hour it sends you, so these {total} come in one email, newest first."
        )
    else:
        heading = "Newswatch digest"
        local = envelope.date.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        intro = f"{total} new {'story' if total == 1 else 'stories'} since your last digest ({local})."
    context = {
        "subject": subject,
        "heading": heading,
        "intro": intro,
        "groups": [
            {"rule": names[rule], "review_url": config.review_url(rule), "stories": views}
            for rule, views in groups.items()
        ],
        "more": more,
        "more_url": config.review_url(),
        "review_url": config.review_url(),
        "recipient": recipient,
    }
    html_env, text_env = _environments()
    page = html_env.get_template("message.html").render(context)
    page = _inliner().inline(page)
    text = text_env.get_template("message.txt").render(context)

    message = EmailMessage(policy=SMTP)
    message["From"] = Address("Newswatch", addr_spec=config.mail_from)
    message["To"] = Address(addr_spec=recipient)
    message["Subject"] = subject
    message["Date"] = format_datetime(envelope.date)
    message["Message-ID"] = envelope.message_id
    # Recipients are set in rules.toml / NEWSWATCH_MAIL_TO by the operator, so unsubscribing is a mail to them
    # (no one-click URL: the review page has no subscription list to change).
    message["List-Unsubscribe"] = f"<mailto:{config.mail_from}?subject=unsubscribe>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Newswatch-Kind"] = envelope.kind
    for name, value in envelope.extra_headers.items():
        message[name] = header_text(value, 200)
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(page, subtype="html", cte="quoted-printable")
    raw = message.as_bytes()
    check_head(raw, [name.lower() for name in message])
    return Composed(subject, envelope.message_id, raw, page, text)


class HeaderInjectionError(ValueError):
    """A rendered message has header lines nobody set (a bug in the sanitising: never sent)."""


def check_head(raw: bytes, expected: Sequence[str]) -> None:
    """Raise HeaderInjectionError unless the head of ``raw`` holds exactly the ``expected`` header names."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    names = [line.split(":", 1)[0].strip().lower() for line in head.split("\r\n") if line and not line[0].isspace()]
    if sorted(names) != sorted(expected):
        raise HeaderInjectionError(f"unexpected header lines: {sorted(set(names) - set(expected))}")
