"""Mail settings resolved once: sender, recipients, modes and names of the rules, site names, review links,
digest schedule."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from crawler.settings import Settings

DEFAULT_FROM = "newswatch@localhost"
# Without SMTP the messages go to the outbox folder; they need an addressee all the same.
LOCAL_RECIPIENT = "newswatch@localhost"
_ADDRESS = re.compile(r"^[^@\s<>\"',;()\[\]\\]+@[^@\s<>\"',;()\[\]\\]+$")


def parse_webhooks(value: str | None) -> dict[str, tuple[str, ...]]:
    """``RULE=URL`` / ``*=URL`` entries (space or comma separated) as rule id -> URLs; ValueError on junk."""
    result: dict[str, dict[str, None]] = {}
    for entry in re.split(r"[\s,]+", value or ""):
        if not entry:
            continue
        rule, sep, url = entry.partition("=")
        parts = urlsplit(url)
        if not sep or not rule or parts.scheme not in ("http", "https") or not parts.hostname:
            raise MailConfigError(f"NEWSWATCH_WEBHOOKS: expected RULE=https://... or *=https://..., got {entry!r}")
        result.setdefault(rule, {})[url] = None
    return {rule: tuple(urls) for rule, urls in result.items()}


class MailConfigError(ValueError):
    """A mail setting is invalid (bad address, no recipients with SMTP configured...)."""


def parse_addresses(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Addresses from a comma-separated string or a list, lower-cased, without repeats; ValueError on junk."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    result: dict[str, None] = {}
    for item in items:
        address = item.strip()
        if not address:
            continue
        if not _ADDRESS.match(address):
            raise MailConfigError(f"not an email address: {address!r}")
        result[address.lower()] = None
    return tuple(result)


@dataclass(frozen=True)
class RuleDelivery:
    """How one rule's alerts go out: its mode, its own recipients (empty: the default ones) and the name people
    read (empty: its id)."""

    mode: str = "digest"
    recipients: tuple[str, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class MailConfig:
    """Everything the composer, planner and sender need to know about mail."""

    mail_from: str = DEFAULT_FROM
    default_recipients: tuple[str, ...] = (LOCAL_RECIPIENT,)
    rules: Mapping[str, RuleDelivery] = field(default_factory=dict)
    base_url: str | None = None
    smtp_url: str | None = None
    outbox_dir: Path = Path("data/outbox")
    smtp_timeout: float = 30.0
    send_lease: float = 600.0
    digest_cron: str = "0 8 * * *"
    digest_tz: str = "UTC"
    digest_max_stories: int = 30
    max_mails_per_hour: int = 60  # instant emails per recipient and rolling hour (0: no cap); see sendcap
    webhooks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # rule id or "*" -> URLs
    site_names: Mapping[str, str] = field(default_factory=dict)  # site id -> the name people read

    @classmethod
    def from_settings(
        cls, settings: Settings, rules: Iterable[Any] = (), site_names: Mapping[str, str] | None = None
    ) -> MailConfig:
        """From the NEWSWATCH_* settings, the rules (anything with ``id``, ``mode``, ``recipients`` and
        optionally ``name``) and the sites' names (``Config.site_names()``; without them sites show their id)."""
        mail_from = settings.mail_from or DEFAULT_FROM
        if not _ADDRESS.match(mail_from.strip()):
            raise MailConfigError(f"NEWSWATCH_MAIL_FROM is not an email address: {mail_from!r}")
        defaults = parse_addresses(settings.mail_to)
        if not defaults and not settings.smtp_url:
            defaults = (LOCAL_RECIPIENT,)
        base_url = (settings.base_url or "").strip().rstrip("/") or None
        if base_url and urlsplit(base_url).scheme not in ("http", "https"):
            raise MailConfigError(f"NEWSWATCH_BASE_URL is not an http(s) URL: {base_url!r}")
        rules = list(rules)
        deliveries = {
            str(rule.id): RuleDelivery(
                str(getattr(rule, "mode", "digest")), parse_addresses(rule.recipients), str(getattr(rule, "name", ""))
            )
            for rule in rules
        }
        webhooks = parse_webhooks(settings.webhooks)
        for rule in rules:  # a rule's own ``webhooks`` key, if the rules file has one
            own = tuple(getattr(rule, "webhooks", ()) or ())
            if own:
                webhooks[str(rule.id)] = tuple(dict.fromkeys([*webhooks.get(str(rule.id), ()), *own]))
        return cls(
            mail_from=mail_from.strip(),
            default_recipients=defaults,
            rules=deliveries,
            base_url=base_url,
            smtp_url=settings.smtp_url or None,
            outbox_dir=settings.data_dir / "outbox",
            smtp_timeout=settings.smtp_timeout,
            send_lease=settings.send_lease,
            digest_cron=settings.digest_cron,
            digest_tz=settings.digest_tz,
            digest_max_stories=settings.digest_max_stories,
            max_mails_per_hour=settings.max_mails_per_hour,
            webhooks=webhooks,
            site_names=dict(site_names or {}),
        )

    def mode_of(self, rule_id: str) -> str:
        """The rule's mode ("instant" or "digest"); unknown rules are digested."""
        return self.rules.get(rule_id, RuleDelivery()).mode

    def rule_name(self, rule_id: str) -> str:
        """The name people read for a rule: its configured name, else (no name, or a rule removed since) its id."""
        delivery = self.rules.get(rule_id)
        return (delivery.name if delivery else "") or rule_id

    def site_name(self, site_id: str) -> str:
        """The name people read for a site: its configured name, else (no name, or a site removed since) its id."""
        return self.site_names.get(site_id) or site_id

    def recipients_for(self, rule_id: str) -> tuple[str, ...]:
        """The rule's own recipients, else the default ones (NEWSWATCH_MAIL_TO)."""
        own = self.rules.get(rule_id, RuleDelivery()).recipients
        return own or self.default_recipients

    def all_recipients(self) -> tuple[str, ...]:
        """Every recipient of any rule."""
        found: dict[str, None] = {}
        for rule_id in self.rules:
            found.update(dict.fromkeys(self.recipients_for(rule_id)))
        return tuple(found) or self.default_recipients

    def webhooks_for(self, rule_id: str) -> tuple[str, ...]:
        """The webhook URLs of a rule: its own and those for every rule ("*")."""
        return tuple(dict.fromkeys([*self.webhooks.get(rule_id, ()), *self.webhooks.get("*", ())]))

    def all_webhooks(self) -> tuple[str, ...]:
        """Every webhook URL of any rule."""
        found: dict[str, None] = {}
        for rule_id in self.rules:
            found.update(dict.fromkeys(self.webhooks_for(rule_id)))
        return tuple(found)

    def targets_for(self, rule_id: str, channel: str) -> tuple[str, ...]:
        """Who gets a rule's alerts on ``channel``: email recipients or webhook URLs."""
        return self.webhooks_for(rule_id) if channel == "webhook" else self.recipients_for(rule_id)

    @property
    def domain(self) -> str:
        """The domain of the sender address, used in Message-IDs."""
        return self.mail_from.rsplit("@", 1)[-1].strip().lower() or "localhost"

    def review_url(self, rule_id: str | None = None) -> str | None:
        """The review page (for one rule), when NEWSWATCH_BASE_URL is set."""
        if not self.base_url:
            return None
        return f"{self.base_url}/stories" + (f"?rule={quote(rule_id)}" if rule_id else "")

    def story_url(self, article_id: int | None) -> str | None:
        """The review page of one article, when NEWSWATCH_BASE_URL is set."""
        if not self.base_url or article_id is None:
            return None
        return f"{self.base_url}/stories/{int(article_id)}"
