"""Load and validate config/sites.toml and config/rules.toml, naming file, line and key on every problem."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawler.durations import parse_duration

if TYPE_CHECKING:
    from crawler.rules import Rule, RuleSet, Threshold

SITES_FILE = "sites.toml"
RULES_FILE = "rules.toml"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def min_interval() -> timedelta:
    """The shortest crawl interval allowed (NEWSWATCH_MIN_INTERVAL, default one minute)."""
    try:
        return parse_duration(os.environ.get("NEWSWATCH_MIN_INTERVAL") or "1m")
    except ValueError:
        return timedelta(minutes=1)


def _human(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` holds one human-readable line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def check_url(value: str) -> str:
    """Accept only absolute http(s) URLs with a host."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {value!r}")
    return value.strip()


class Listing(BaseModel):
    """A listing page whose links lead to articles; ``links`` is an optional CSS selector for them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    links: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("links")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from cssselect import GenericTranslator, SelectorError

        try:
            GenericTranslator().css_to_xpath(value)
        except SelectorError as exc:
            raise ValueError(f"bad CSS selector {value!r}: {exc}") from None
        return value


class SiteConfig(BaseModel):
    """One news site to watch, as declared in sites.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = ""
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    listings: tuple[Listing, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    every: str = "30m"
    # A crontab line ("*/20 6-22 * * 1-5") instead of ``every``, in ``timezone``.
    cron: str | None = None
    timezone: str = "UTC"
    # Random delay added to each scheduled crawl (default: a tenth of the interval, at most 5 minutes).
    jitter: str | None = None
    # A crawl running longer is stopped and recorded as "timeout" (default: NEWSWATCH_CRAWL_TIMEOUT).
    timeout: str | None = None
    delay: float = Field(default=1.0, ge=0, le=3600)
    enabled: bool = True
    allow_private_network: bool = False
    # Verify the site's TLS certificates (false: accept any, e.g. a self-signed certificate on an intranet).
    verify_tls: bool = True
    # On the site's first crawl only matches published within this window alert: "24h", "7d"..., "all"
    # (every match alerts) or "0" (none); older matches are stored and flagged but send nothing.
    backfill: str = "24h"

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"{value!r} is not a slug (lower-case letters, digits, '-' or '_', at most 63 characters)")
        return value

    @field_validator("feeds", "sitemaps")
    @classmethod
    def _urls(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_url(v) for v in values)

    @field_validator("include", "exclude")
    @classmethod
    def _regexes(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"bad regular expression {value!r}: {exc}") from None
        return values

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        shortest = min_interval()
        if parse_duration(value) < shortest:
            raise ValueError(f"interval {value!r} is shorter than {_human(shortest)} (NEWSWATCH_MIN_INTERVAL)")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from crawler.crontab import crontab_trigger

        try:
            crontab_trigger(value.strip(), "UTC")
        except ValueError as exc:
            raise ValueError(f"bad crontab line {value!r}: {exc} (minute hour day month weekday)") from None
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. UTC, Europe/London)") from None
        return value

    @field_validator("jitter", "timeout")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("backfill")
    @classmethod
    def _backfill(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("all", "0"):
            parse_duration(value)  # ValueError names the accepted forms
        return value

    @property
    def backfill_window(self) -> timedelta | None:
        """How far back a first crawl alerts: None for "all", zero for "0"."""
        if self.backfill == "all":
            return None
        return timedelta(0) if self.backfill == "0" else parse_duration(self.backfill)

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(v.strip().lower().rstrip(".") for v in values)
        for value in cleaned:
            if not value or "/" in value or ":" in value or " " in value:
                raise ValueError(f"not a domain name: {value!r} (no scheme, port or path)")
        return cleaned

    @model_validator(mode="after")
    def _defaults(self) -> SiteConfig:
        if not (self.feeds or self.sitemaps or self.listings):
            raise ValueError("a site needs at least one of feeds, sitemaps or listings")
        if not self.name:
            object.__setattr__(self, "name", self.id)
        if not self.allowed_domains:
            object.__setattr__(self, "allowed_domains", self.start_domains())
        return self

    def start_urls(self) -> list[str]:
        """Every configured entry point: feeds, sitemaps and listing pages."""
        return [*self.feeds, *self.sitemaps, *(listing.url for listing in self.listings)]

    def start_domains(self) -> tuple[str, ...]:
        """The host names of the configured entry points, in order, without repeats."""
        hosts: dict[str, None] = {}
        for url in self.start_urls():
            host = urlsplit(url).hostname
            if host:
                hosts[host.lower()] = None
        return tuple(hosts)

    @property
    def interval(self) -> timedelta:
        """How often the service crawls this site (for a cron site: the usual gap, taken as ``every``)."""
        return parse_duration(self.every)

    @property
    def jitter_window(self) -> timedelta:
        """The random delay added to each scheduled crawl."""
        if self.jitter is not None:
            return parse_duration(self.jitter)
        return min(self.interval / 10, timedelta(minutes=5))

    def crawl_timeout(self, default: timedelta) -> timedelta:
        """How long one crawl may run: the site's ``timeout``, else ``default``."""
        return parse_duration(self.timeout) if self.timeout else default

    def url_wanted(self, url: str) -> bool:
        """Whether ``url`` passes the site's include / exclude patterns."""
        if self.include and not any(re.search(p, url) for p in self.include):
            return False
        return not any(re.search(p, url) for p in self.exclude)


class ThresholdConfig(BaseModel):
    """A rule's threshold against passing mentions: ``terms`` (a query expression, usually an @alias) must
    appear in the title (``title = true``, the default) or at least ``body`` times in the body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    terms: str
    title: bool = True
    body: int = Field(default=0, ge=0, le=1000)

    @model_validator(mode="after")
    def _can_hold(self) -> ThresholdConfig:
        if not self.title and self.body < 1:
            raise ValueError("needs title = true or body >= 1 (otherwise it never holds)")
        return self

    def to_threshold(self) -> Threshold:
        """The :class:`crawler.rules.Threshold` it declares."""
        from crawler.rules import Threshold

        return Threshold(self.terms, self.title, self.body)


class RuleConfig(BaseModel):
    """One alert rule, as declared in rules.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    # What emails, the web page and `rules list` call the rule (default: its id).
    name: str = ""
    query: str
    mode: Literal["instant", "digest"] = "digest"
    recipients: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()  # Slack, Teams or generic JSON webhook URLs for this rule's alerts
    threshold: ThresholdConfig | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        return SiteConfig._slug(value)

    @model_validator(mode="after")
    def _default_name(self) -> RuleConfig:
        if not self.name.strip():
            object.__setattr__(self, "name", self.id)
        return self

    @field_validator("webhooks")
    @classmethod
    def _webhooks(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_url(v) for v in values)

    @field_validator("recipients")
    @classmethod
    def _emails(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not _EMAIL.match(value):
                raise ValueError(f"not an email address: {value!r}")
        return values

    def to_rule(self) -> Rule:
        """The :class:`crawler.rules.Rule` it declares."""
        from crawler.rules import Rule

        threshold = None if self.threshold is None else self.threshold.to_threshold()
        return Rule(id=self.id, query=self.query, mode=self.mode, recipients=self.recipients, threshold=threshold)


class MoneyConfig(BaseModel):
    """The ``[money]`` table of rules.toml: ``usd_rates``, US dollars per unit of a currency (ISO code),
    merged over the built-in reference rates; used by ``MONEY>=...`` and for the ``usd`` of amounts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    usd_rates: dict[str, float] = Field(default_factory=dict)

    @field_validator("usd_rates")
    @classmethod
    def _rates(cls, values: dict[str, float]) -> dict[str, float]:
        from crawler.rules.money import CURRENCIES

        for code, rate in values.items():
            if code not in CURRENCIES:
                raise ValueError(f"unknown currency {code!r} (known: {', '.join(sorted(CURRENCIES))})")
            if not (0 < rate < float("inf")):
                raise ValueError(f"the rate of {code} must be a positive number, not {rate!r}")
        return values


class RulesConfig(Sequence[RuleConfig]):
    """The validated rules of rules.toml (a sequence of :class:`RuleConfig`) with the file's ``aliases``
    (name -> query expression or list of expressions) and US-dollar rates (built-in rates with the
    ``[money] usd_rates`` of the file over them)."""

    def __init__(
        self,
        rules: Sequence[RuleConfig] = (),
        aliases: dict[str, str | tuple[str, ...]] | None = None,
        usd_rates: dict[str, float] | None = None,
    ) -> None:
        from crawler.rules.money import DEFAULT_USD_RATES

        self.rules: tuple[RuleConfig, ...] = tuple(rules)
        self.aliases: dict[str, str | tuple[str, ...]] = dict(aliases or {})
        self.usd_rates: dict[str, float] = {**DEFAULT_USD_RATES, **(usd_rates or {})}

    @overload
    def __getitem__(self, index: int) -> RuleConfig: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[RuleConfig, ...]: ...

    def __getitem__(self, index: int | slice) -> RuleConfig | tuple[RuleConfig, ...]:
        return self.rules[index]

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        return f"RulesConfig({len(self.rules)} rules, {len(self.aliases)} aliases)"


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    folder: Path
    sites: tuple[SiteConfig, ...]
    rules: RulesConfig

    def site(self, site_id: str) -> SiteConfig:
        """The site with this id; KeyError if there is none."""
        for site in self.sites:
            if site.id == site_id:
                return site
        raise KeyError(site_id)

    def select_sites(self, ids: Sequence[str]) -> list[SiteConfig]:
        """The named sites (any state), or every enabled site when no id is given; ConfigError on unknown ids."""
        if not ids:
            return [s for s in self.sites if s.enabled]
        known = {s.id for s in self.sites}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ConfigError([f"unknown site id(s): {', '.join(unknown)} (configured: {', '.join(sorted(known))})"])
        return [self.site(i) for i in ids]

    def site_names(self) -> dict[str, str]:
        """Site id -> the name people read (the id when the site has no ``name``)."""
        return {site.id: site.name for site in self.sites}

    def rule_names(self) -> dict[str, str]:
        """Rule id -> the name people read (the id when the rule has no ``name``)."""
        return {rule.id: rule.name for rule in self.rules}

    def ruleset(self) -> RuleSet:
        """The compiled rules, with the file's aliases and US-dollar rates (all validated when loading)."""
        return compile_rules(self.rules)


# --------------------------------------------------------------------------- loading


def _read_toml(path: Path) -> tuple[dict[str, Any], list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    try:
        return tomllib.loads(text), text.splitlines()
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: TOML syntax error: {exc}"]) from None


def _table_lines(lines: list[str], name: str) -> list[int]:
    """1-based line numbers of each ``[[name]]`` header, in order."""
    header = re.compile(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]")
    return [i + 1 for i, line in enumerate(lines) if header.match(line)]


def _key_line(lines: list[str], start: int, key: str) -> int | None:
    """The line of ``key = ...`` within the table that starts at line ``start``."""
    pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    for number in range(start + 1, len(lines) + 1):
        line = lines[number - 1]
        if re.match(r"^\s*\[", line):
            break
        if pattern.match(line):
            return number
    return None


def _place(path: Path, lines: list[str], starts: list[int], kind: str, index: int, raw: Any, key: str) -> str:
    table_line = starts[index] if index < len(starts) else None
    line = _key_line(lines, table_line, key) if (table_line and key) else None
    line = line or table_line
    ident = raw.get("id") if isinstance(raw, dict) else None
    what = f"{kind} {ident!r}" if isinstance(ident, str) else f"{kind} #{index + 1}"
    where = f"{path}:{line}" if line else str(path)
    return f"{where}: {what}" + (f", key '{key}'" if key else "")


def _validate_tables(
    path: Path, name: str, model: type[BaseModel], problems: list[str], other_keys: tuple[str, ...] = ()
) -> list[tuple[BaseModel, int, dict[str, Any]]]:
    data, lines = _read_toml(path)
    unknown_top = [k for k in data if k != name and k not in other_keys]
    for key in unknown_top:
        problems.append(f"{path}: unknown top-level key '{key}' (expected [[{name}]] tables)")
    tables = data.get(name, [])
    if not isinstance(tables, list):
        problems.append(f"{path}: '{name}' must be a list of [[{name}]] tables")
        return []
    starts = _table_lines(lines, name)
    valid: list[tuple[BaseModel, int, dict[str, Any]]] = []
    for index, raw in enumerate(tables):
        if not isinstance(raw, dict):
            problems.append(f"{path}: [[{name}]] #{index + 1} is not a table")
            continue
        try:
            valid.append((model.model_validate(raw), starts[index] if index < len(starts) else 0, raw))
        except ValidationError as exc:
            for error in exc.errors():
                loc = [str(p) for p in error["loc"]]
                key = loc[0] if loc else ""
                detail = ".".join(loc[1:])
                message = str(error["msg"]).removeprefix("Value error, ")
                if error["type"] == "extra_forbidden":
                    message = f"unknown key (allowed: {', '.join(sorted(model.model_fields))})"
                elif error["type"] == "missing":
                    message = "required key is missing"
                place = _place(path, lines, starts, name, index, raw, key)
                problems.append(f"{place}{f' [{detail}]' if detail else ''}: {message}")
    return valid


def _duplicates(path: Path, kind: str, items: list[tuple[BaseModel, int, dict[str, Any]]]) -> list[str]:
    seen: dict[str, int] = {}
    problems = []
    for model, line, _raw in items:
        ident = str(getattr(model, "id", ""))
        if ident in seen:
            problems.append(f"{path}:{line}: duplicate {kind} id {ident!r} (first defined at line {seen[ident]})")
        else:
            seen[ident] = line
    return problems


def load_sites(path: Path, problems: list[str]) -> tuple[SiteConfig, ...]:
    """Validated sites from ``path``; problems are appended to ``problems``."""
    items = _validate_tables(path, "site", SiteConfig, problems)
    problems.extend(_duplicates(path, "site", items))
    return tuple(m for m, _l, _r in items if isinstance(m, SiteConfig))


def compile_rules(rules: RulesConfig) -> RuleSet:
    """The :class:`crawler.rules.RuleSet` of validated rules (with their aliases and US-dollar rates)."""
    from crawler.rules import RuleSet

    return RuleSet.compile([r.to_rule() for r in rules], aliases=rules.aliases, usd_rates=rules.usd_rates)


def _top_table_line(lines: list[str], name: str) -> int | None:
    """The 1-based line of the ``[name]`` header (or of ``name = ...`` at the top level)."""
    header = re.compile(rf"^\s*\[\s*{re.escape(name)}\s*\]")
    inline = re.compile(rf"^\s*{re.escape(name)}\s*=")
    in_table = False
    for number, line in enumerate(lines, start=1):
        if header.match(line):
            return number
        if re.match(r"^\s*\[", line):
            in_table = True
        if not in_table and inline.match(line):
            return number
    return None


def _rules_aliases(path: Path, data: dict[str, Any], lines: list[str], problems: list[str]) -> dict[str, Any]:
    """The alias definitions of rules.toml that are strings or lists of strings (others are problems)."""
    raw = data.get("aliases", {})
    table_line = _top_table_line(lines, "aliases")
    if not isinstance(raw, dict):
        problems.append(f"{path}:{table_line or 1}: 'aliases' must be a table of name = 'query expression'")
        return {}
    aliases: dict[str, Any] = {}
    for name, value in raw.items():
        ok = isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value))
        if ok:
            aliases[name] = value if isinstance(value, str) else tuple(value)
        else:
            line = (_key_line(lines, table_line, name) if table_line else None) or table_line or 1
            problems.append(f"{path}:{line}: alias {name!r}: expected a query expression (a string) or a list of them")
    return aliases


def _rules_money(path: Path, data: dict[str, Any], lines: list[str], problems: list[str]) -> dict[str, float]:
    """The ``[money] usd_rates`` of rules.toml (validated)."""
    raw = data.get("money")
    if raw is None:
        return {}
    table_line = _top_table_line(lines, "money") or 1
    if not isinstance(raw, dict):
        problems.append(f"{path}:{table_line}: 'money' must be a table, e.g. [money] usd_rates = {{ EUR = 1.08 }}")
        return {}
    try:
        return MoneyConfig.model_validate(raw).usd_rates
    except ValidationError as exc:
        for error in exc.errors():
            loc = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key (allowed: usd_rates)"
            line = _key_line(lines, table_line, str(error["loc"][0])) if error["loc"] else None
            problems.append(f"{path}:{line or table_line}: [money] key '{loc}': {message}")
        return {}


def load_rules(path: Path, problems: list[str]) -> RulesConfig:
    """Validated rules from ``path`` (each query and threshold parsed, with the file's aliases); problems
    are appended to ``problems``, one line each, naming the file and line, the rule or alias, the key and,
    for queries, the column and what was expected there."""
    from crawler.rules import RuleError, parse_aliases, parse_query, parse_threshold

    items = _validate_tables(path, "rule", RuleConfig, problems, other_keys=("aliases", "money"))
    problems.extend(_duplicates(path, "rule", items))
    data, lines = _read_toml(path)
    aliases = _rules_aliases(path, data, lines, problems)
    usd_rates = _rules_money(path, data, lines, problems)
    alias_errors: list[RuleError] = []
    parsed = parse_aliases(aliases, alias_errors)
    aliases_line = _top_table_line(lines, "aliases")
    for error in alias_errors:
        name = (error.alias or "").split("[")[0]
        original = next((key for key in aliases if key.lower() == name), name)
        line = (_key_line(lines, aliases_line, original) if aliases_line else None) or aliases_line or 1
        problems.append(f"{path}:{line}: {error}")
    rules: list[RuleConfig] = []
    for model, line, _raw in items:
        assert isinstance(model, RuleConfig)
        try:
            parse_query(model.query, model.id, parsed)
        except RuleError as exc:
            where = _key_line(lines, line, "query") or line
            problems.append(f"{path}:{where}: {exc}")
            continue
        if model.threshold is not None:
            threshold = model.threshold
            try:
                parse_threshold(threshold.to_threshold(), model.id, parsed)
            except RuleError as exc:
                where = _key_line(lines, line, "threshold") or line
                problems.append(f"{path}:{where}: {exc}")
                continue
        rules.append(model)
    return RulesConfig(rules, aliases, usd_rates)


def load_config(folder: Path) -> Config:
    """Load both files from ``folder``; raise ConfigError listing every problem found."""
    problems: list[str] = []
    if not folder.is_dir():
        raise ConfigError([f"{folder}: configuration folder not found (set NEWSWATCH_CONFIG or --config)"])
    sites = load_sites(folder / SITES_FILE, problems)
    rules = load_rules(folder / RULES_FILE, problems)
    if problems:
        raise ConfigError(problems)
    return Config(folder=folder, sites=sites, rules=rules)
