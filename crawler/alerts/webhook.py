"""Webhook alerts: the JSON body for Slack, Microsoft Teams or any JSON endpoint, and delivery over httpx.

Sites and rules are shown by their names; the generic JSON body also carries their ids (``rule``,
``site``) next to the names (``rule_name``, ``site_name``). The body is rendered once when the call is
planned (like an email) and POSTed with an ``Idempotency-Key`` header holding the stable Message-ID. 2xx
is delivered; 408, 429, 5xx, refused connections and timeouts are retried; other 4xx replies fail
permanently.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from crawler.alerts.compose import (
    TITLE_MAX,
    StoryItem,
    format_amount,
    plain_text,
    rule_label,
    safe_url,
    site_label,
    snippet_text,
    subject_for,
)
from crawler.alerts.mailconfig import MailConfig
from crawler.alerts.transport import DeliveryError
from crawler.models import OutboxRow


def flavour(url: str) -> str:
    """ "slack", "teams" or "json", from the webhook's host."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "hooks.slack.com":
        return "slack"
    if host.endswith(".webhook.office.com") or host.endswith(".logic.azure.com"):
        return "teams"
    return "json"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _story(item: StoryItem, config: MailConfig) -> dict[str, Any]:
    return {
        "review_url": config.story_url(item.article_id),
        "rule": item.rule_id,
        "rule_name": rule_label(config, item.rule_id),
        "title": plain_text(item.title, TITLE_MAX),
        "url": safe_url(item.url),
        "site": plain_text(item.site, 80),
        "site_name": site_label(config, item.site),
        "published": item.published.isoformat() if item.published else None,
        "snippet": snippet_text(item.snippet),
        "amounts": list(dict.fromkeys(format_amount(a) for a in item.amounts)),
        "also": [
            {"site": plain_text(s.site, 80), "site_name": site_label(config, s.site), "url": safe_url(s.url)}
            for s in item.also
        ],
    }


def payload(url: str, message_id: str, items: Sequence[StoryItem], config: MailConfig) -> tuple[str, bytes]:
    """The subject line and the JSON body of the call to ``url`` about ``items`` (one story)."""
    subject = subject_for("instant", items, len({item.story_id for item in items}), config)
    stories = [_story(item, config) for item in items]
    kind = flavour(url)
    body: dict[str, Any]
    if kind == "slack":
        lines = []
        for story in stories:
            title = _slack_escape(story["title"])
            head = f"<{story['url']}|{title}>" if story["url"] else title
            lines.append(f"*{head}*\n{_slack_escape(story['site_name'])} · rule {_slack_escape(story['rule_name'])}")
            if story["snippet"]:
                lines.append(_slack_escape(story["snippet"]))
            if story["amounts"]:
                lines.append("Amounts: " + _slack_escape("; ".join(story["amounts"])))
        body = {"text": _slack_escape(subject) + "\n" + "\n".join(lines)}
    elif kind == "teams":
        first = stories[0]
        body = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": subject,
            "title": first["title"],
            "text": " · ".join(filter(None, [first["site_name"], f"rule {first['rule_name']}", first["snippet"]])),
            "potentialAction": (
                [{"@type": "OpenUri", "name": "Read", "targets": [{"os": "default", "uri": first["url"]}]}]
                if first["url"]
                else []
            ),
        }
    else:
        body = {
            "message_id": message_id,
            "kind": "instant",
            "subject": subject,
            "stories": stories,
            "review_url": config.review_url(),
        }
    return subject, json.dumps(body, ensure_ascii=False).encode("utf-8")


class WebhookTransport:
    """POSTs stored webhook bodies with explicit timeouts."""

    def __init__(self, timeout: float = 30.0, client: httpx.Client | None = None) -> None:
        self.description = "webhooks"
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)

    def deliver(self, message: OutboxRow, sender: str) -> str:
        """POST the body to the message's URL; DeliveryError on any non-2xx outcome."""
        host = urlsplit(message.recipient).hostname or "?"
        try:
            response = self._client.post(
                message.recipient,
                content=message.body,
                headers={"Content-Type": "application/json", "Idempotency-Key": message.message_id},
            )
        except httpx.TimeoutException:
            raise DeliveryError(f"{host}: timed out", permanent=False) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{host}: {type(exc).__name__}: {exc}", permanent=False) from None
        reply = f"{host}: HTTP {response.status_code} {' '.join(response.text[:200].split())}".strip()
        if 200 <= response.status_code < 300:
            return reply
        transient = response.status_code in (408, 425, 429) or response.status_code >= 500
        raise DeliveryError(reply, permanent=not transient)

    def close(self) -> None:
        self._client.close()
