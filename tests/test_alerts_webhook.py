"""Webhook alerts (Slack, Teams, generic JSON) with the outbox's once-only delivery, against 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crawler.alerts.cli import alert_setup
from crawler.alerts.cli import mail_config as configured_mail
from crawler.alerts.compose import Source, StoryItem
from crawler.alerts.mailconfig import MailConfigError, RuleDelivery, parse_webhooks
from crawler.alerts.outbox import WEBHOOK, alert_statuses, plan_webhooks
from crawler.alerts.sender import send_due
from crawler.alerts.webhook import WebhookTransport, flavour, payload
from crawler.settings import Settings
from tests.alerts_data import DIGEST_RULE, INSTANT_RULE, NOW, mail_config, recorder, shipped_config, store


class Hook:
    """A local webhook endpoint answering with scripted status codes (then 200)."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.calls: list[tuple[dict[str, str], bytes]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = hook.statuses.pop(0) if hook.statuses else 200
                if status == 200:
                    hook.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"nope")

            def log_message(self, *_args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    endpoint = Hook()
    yield endpoint
    endpoint.close()


def _item() -> StoryItem:
    return StoryItem(
        1,
        INSTANT_RULE,
        1,
        "Robots <raise> & more",
        "https://news.example/1",
        "news-a",
        NOW,
        "<mark>Robots</mark> raise $5m",
        [{"text": "$5m", "currency": "USD", "usd": 5e6}],
        ["robots"],
        [Source("news-b", "https://b.example/1")],
    )


def test_payload_flavours(tmp_path: Path) -> None:
    config = mail_config(tmp_path)
    assert flavour("https://hooks.slack.com/services/T/B/X") == "slack"
    assert flavour("https://acme.webhook.office.com/webhookb2/x") == "teams"
    assert flavour("https://example.com/hook") == "json"
    _subject, slack = payload("https://hooks.slack.com/services/T/B/X", "<m@x>", [_item()], config)
    text = json.loads(slack)["text"]
    assert "<https://news.example/1|Robots &lt;raise&gt; &amp; more>" in text and "*Robots* raise $5m" in text
    _subject, teams = payload("https://acme.webhook.office.com/webhookb2/x", "<m@x>", [_item()], config)
    card = json.loads(teams)
    assert card["@type"] == "MessageCard" and card["title"] == "Robots <raise> & more"
    subject, generic = payload("https://example.com/hook", "<m@x>", [_item()], config)
    data = json.loads(generic)
    assert data["message_id"] == "<m@x>" and data["subject"] == subject
    assert data["stories"][0]["amounts"] == ["$5m"] and data["stories"][0]["also"][0]["site"] == "news-b"


def test_slack_and_teams_name_the_site_and_rule(tmp_path: Path) -> None:
    config = mail_config(
        tmp_path, rules={INSTANT_RULE: RuleDelivery("instant", name="Robot <deals>")}, site_names={"news-a": "News A"}
    )
    subject, slack = payload("https://hooks.slack.com/services/T/B/X", "<m@x>", [_item()], config)
    assert subject.startswith("[Newswatch] 1 new story for Robot <deals>: Robots")
    text = json.loads(slack)["text"]
    assert "News A · rule Robot &lt;deals&gt;" in text and INSTANT_RULE not in text and "news-a" not in text
    _subject, teams = payload("https://acme.webhook.office.com/webhookb2/x", "<m@x>", [_item()], config)
    card = json.loads(teams)
    assert card["text"].startswith("News A · rule Robot <deals> · ") and card["summary"] == subject


def test_json_webhook_carries_ids_and_the_configured_names(engine: Engine, tmp_path: Path, hook: Hook) -> None:
    config = shipped_config(tmp_path)
    settings = Settings(data_dir=tmp_path / "data", mail_to="alice@example.com", webhooks=f"*={hook.url}")
    mail = configured_mail(settings, config)
    rec = alert_setup(config).for_site(config.site("rcrwireless"), first_crawl=False, started=NOW)
    store(engine, rec, 1, ["softbank-investment"], site_id="rcrwireless")
    store(engine, rec, 1, [], site_id="techcrunch")
    store(engine, rec, 1, [], site_id="gone-site")  # a site removed from the configuration since
    store(engine, rec, 2, ["ai-iot-investment"], site_id="plain-site")  # a site without a name
    assert len(plan_webhooks(engine, mail, NOW)) == 2
    assert len(send_due(engine, mail, WebhookTransport(2.0), channel=WEBHOOK, clock=lambda: NOW).sent) == 2
    bodies = {body["stories"][0]["rule"]: body for body in (json.loads(b) for _headers, b in hook.calls)}
    softbank, ai_iot = bodies["softbank-investment"], bodies["ai-iot-investment"]
    assert softbank["subject"].startswith("[Newswatch] 1 new story for SoftBank investments: Story 1:")
    story = softbank["stories"][0]
    assert (story["rule_name"], story["site"], story["site_name"]) == (
        "SoftBank investments",
        "rcrwireless",
        "RCR Wireless News",
    )
    assert [(s["site"], s["site_name"]) for s in story["also"]] == [
        ("techcrunch", "TechCrunch"),
        ("gone-site", "gone-site"),
    ]
    assert ai_iot["subject"].startswith("[Newswatch] 1 new story for AI and IoT investments: Story 2:")
    story = ai_iot["stories"][0]
    assert (story["rule_name"], story["site_name"]) == ("AI and IoT investments", "plain-site")


def test_webhook_urls_are_validated() -> None:
    assert parse_webhooks("fast-rule=https://a.example/x *=https://b.example/y") == {
        "fast-rule": ("https://a.example/x",),
        "*": ("https://b.example/y",),
    }
    with pytest.raises(MailConfigError, match="NEWSWATCH_WEBHOOKS"):
        parse_webhooks("fast-rule=ftp://a.example/x")


def test_webhooks_are_called_once_per_story_and_retried(engine: Engine, tmp_path: Path, hook: Hook) -> None:
    config = mail_config(tmp_path, webhooks={"*": (hook.url,)})
    rec = recorder()
    store(engine, rec, 1, [INSTANT_RULE, DIGEST_RULE])
    store(engine, rec, 2, [DIGEST_RULE])
    planned = plan_webhooks(engine, config, NOW)
    assert len(planned) == 2 and plan_webhooks(engine, config, NOW) == []
    hook.statuses = [503]
    now = NOW
    first = send_due(engine, config, WebhookTransport(2.0), channel=WEBHOOK, clock=lambda: now)
    assert len(first.retrying) == 1 and "HTTP 503" in first.retrying[0] and len(first.sent) == 1
    now = NOW + timedelta(minutes=5)
    second = send_due(engine, config, WebhookTransport(2.0), channel=WEBHOOK, clock=lambda: now)
    assert len(second.sent) == 1
    keys = [headers["idempotency-key"] for headers, _body in hook.calls]
    assert len(keys) == 2 and len(set(keys)) == 2 and all(k.startswith("<nw.webhook.") for k in keys)
    with Session(engine) as session:
        statuses = alert_statuses(session, config)
    hooks = [s for s in statuses if s.recipient == "webhook 127.0.0.1"]
    assert len(hooks) == 3 and {s.status for s in hooks} == {"sent"}
    assert not any(hook.url in (s.recipient or "") for s in statuses)


def test_webhook_4xx_fails_permanently(engine: Engine, tmp_path: Path, hook: Hook) -> None:
    config = mail_config(tmp_path, webhooks={INSTANT_RULE: (hook.url,)})
    store(engine, recorder(), 3, [INSTANT_RULE])
    plan_webhooks(engine, config, NOW)
    hook.statuses = [404]
    report = send_due(engine, config, WebhookTransport(2.0), channel=WEBHOOK, clock=lambda: NOW)
    assert len(report.failed) == 1 and "HTTP 404" in report.failed[0]
    later = NOW + timedelta(hours=2)
    assert send_due(engine, config, WebhookTransport(2.0), channel=WEBHOOK, clock=lambda: later).attempted == 0
    assert hook.calls == []
