"""Load and validate config/sites.toml and config/rules.toml, naming file, line and key on every problem."""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, overload
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    ValidationError,
    field_validator,
    model_validator,
)

from crawler.config_words import EXPECTED, css_words, did_you_mean, echo, explain, shown, toml_syntax
from crawler.durations import parse_duration

if TYPE_CHECKING:
    from crawler.rules import Rule, RuleSet, Threshold

SITES_FILE = "sites.toml"
RULES_FILE = "rules.toml"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
_LONGEST_DELAY = 3600.0  # seconds


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


def _as_duration(value: str, also: str = "") -> timedelta:
    """``value`` parsed as a duration; ValueError in plain words (``also``: other accepted forms)."""
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError(f'not a duration: {shown(value)} (use e.g. "90s", "30m", "2h", "7d", "1h30m"{also})') from None


def _seconds(value: Any) -> float | None:
    """A number of seconds given as a number, a number in quotes or a duration ("2s", "500ms"); None if not."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            try:
                return parse_duration(value).total_seconds()
            except ValueError:
                return None
    number = float(value)
    return None if math.isnan(number) else number


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` holds one human-readable line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def check_url(value: str) -> str:
    """Accept only absolute http(s) URLs with a host."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {shown(value)} (it starts with https:// or http://)")
    return value.strip()


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"bad regular expression {shown(value)}: {exc}") from None
    return value


def _check_domain(value: str) -> str:
    cleaned = value.strip().lower().rstrip(".")
    if not cleaned or "/" in cleaned or ":" in cleaned or " " in cleaned:
        host = urlsplit(cleaned).hostname if "://" in cleaned else None
        hint = f', did you mean "{host}"?' if host else ' (e.g. "example.com")'
        raise ValueError(f"not a domain name: {shown(value)}: no scheme, port or path{hint}")
    return cleaned


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"not an email address: {shown(value)}")
    return value


# Entries of list keys, each checked on its own (so that a problem names the entry and its line).
Url = Annotated[str, AfterValidator(check_url)]
Regex = Annotated[str, AfterValidator(_check_regex)]
Domain = Annotated[str, AfterValidator(_check_domain)]
Email = Annotated[str, AfterValidator(_check_email)]


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

        if not value.strip():
            raise ValueError('the CSS selector is empty (leave out links to follow every link), e.g. links = "h2 a"')
        try:
            GenericTranslator().css_to_xpath(value)
        except SelectorError as exc:
            raise ValueError(f"bad CSS selector {shown(value)}: {css_words(str(exc))}") from None
        return value


class SiteConfig(BaseModel):
    """One news site to watch, as declared in sites.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = ""
    feeds: tuple[Url, ...] = ()
    sitemaps: tuple[Url, ...] = ()
    listings: tuple[Listing, ...] = ()
    allowed_domains: tuple[Domain, ...] = ()
    include: tuple[Regex, ...] = ()
    exclude: tuple[Regex, ...] = ()
    every: str = "30m"
    # A crontab line ("*/20 6-22 * * 1-5") instead of ``every``, in ``timezone``.
    cron: str | None = None
    timezone: str = "UTC"
    # Random delay added to each scheduled crawl (default: a tenth of the interval, at most 5 minutes).
    jitter: str | None = None
    # A crawl running longer is stopped and recorded as "timeout" (default: NEWSWATCH_CRAWL_TIMEOUT).
    timeout: str | None = None
    # Seconds between two requests: a number or a duration ("2s", "500ms"), from 0 to an hour.
    delay: float = 1.0
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
            raise ValueError(
                "expected a slug (lower-case letters, digits, '-' or '_', at most 63 characters), "
                f'e.g. "example-news"; found {echo(value)}'
            )
        return value

    @field_validator("listings", mode="before")
    @classmethod
    def _bare_listings(cls, value: Any) -> Any:
        """A listing may be a bare URL: "https://x/" stands for { url = "https://x/" }."""
        if isinstance(value, list):
            return [{"url": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("delay", mode="before")
    @classmethod
    def _delay(cls, value: Any) -> float:
        seconds = _seconds(value)
        if seconds is None:
            raise ValueError(f"expected {EXPECTED[('SiteConfig', 'delay')]}; found {echo(value)}")
        if not 0 <= seconds <= _LONGEST_DELAY:
            raise ValueError(f"the delay must be from 0 to 3600 seconds (1h); found {echo(value)}")
        return seconds

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        shortest = min_interval()
        if _as_duration(value) < shortest:
            raise ValueError(f"the interval {shown(value)} is shorter than {_human(shortest)} (NEWSWATCH_MIN_INTERVAL)")
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
            fields = "" if "minute hour day month weekday" in str(exc) else " (minute hour day month weekday)"
            raise ValueError(f"bad crontab line {shown(value)}: {exc}{fields}") from None
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            hint = did_you_mean(value, available_timezones())
            raise ValueError(f"unknown time zone {shown(value)}{hint} (e.g. UTC, Europe/London)") from None
        return value

    @field_validator("jitter", "timeout")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            _as_duration(value)
        return value

    @field_validator("backfill")
    @classmethod
    def _backfill(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("all", "0"):
            _as_duration(value, ', or "all" or "0"')
        return value

    @property
    def backfill_window(self) -> timedelta | None:
        """How far back a first crawl alerts: None for "all", zero for "0"."""
        if self.backfill == "all":
            return None
        return timedelta(0) if self.backfill == "0" else parse_duration(self.backfill)

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
    body: int = Field(default=0, ge=0, le=1000, strict=True)

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
    recipients: tuple[Email, ...] = ()
    webhooks: tuple[Url, ...] = ()  # Slack, Teams or generic JSON webhook URLs for this rule's alerts
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

    def to_rule(self) -> Rule:
        """The :class:`crawler.rules.Rule` it declares."""
        from crawler.rules import Rule

        threshold = None if self.threshold is None else self.threshold.to_threshold()
        return Rule(id=self.id, query=self.query, mode=self.mode, recipients=self.recipients, threshold=threshold)


class MoneyConfig(BaseModel):
    """The ``[money]`` table of rules.toml: ``usd_rates``, US dollars per unit of a currency (ISO code),
    merged over the built-in reference rates; used by ``MONEY>=...`` and for the ``usd`` of amounts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    usd_rates: dict[str, StrictFloat] = Field(default_factory=dict)

    @field_validator("usd_rates")
    @classmethod
    def _rates(cls, values: dict[str, float]) -> dict[str, float]:
        from crawler.rules.money import CURRENCIES

        for code, rate in values.items():
            if code not in CURRENCIES:
                hint = did_you_mean(code, CURRENCIES)
                raise ValueError(f"unknown currency {shown(code)}{hint} (known: {', '.join(sorted(CURRENCIES))})")
            if not (0 < rate < float("inf")):
                raise ValueError(
                    f"the rate of {code} must be a positive number of US dollars per unit, e.g. {code} = 1.08; "
                    f"found {rate:g}"
                )
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


@dataclass
class _Problems:
    """The problems of one file, each at its line (0: the file as a whole), reported sorted by line."""

    path: Path
    found: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line: int | None, message: str, column: int | None = None) -> None:
        """Note a problem at ``line`` (and ``column``) of the file."""
        where = f"{self.path}:{line}" + (f":{column}" if column else "") if line else str(self.path)
        self.found.append((line or 0, f"{where}: {message}"))

    def report(self, problems: list[str]) -> None:
        """Append every problem to ``problems``, by line (problems of one line in the order found)."""
        problems.extend(text for _line, text in sorted(self.found, key=lambda item: item[0]))


@dataclass(frozen=True)
class _Toml:
    data: dict[str, Any]
    lines: list[str]


def _read_toml(path: Path, problems: _Problems) -> _Toml | None:
    """The parsed file, or None after noting why it cannot be read (a syntax error with its line and column)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.add(None, "file not found")
        return None
    except UnicodeDecodeError as exc:
        problems.add(None, f"not UTF-8 text (byte {exc.start + 1} is not UTF-8); save it as UTF-8")
        return None
    except OSError as exc:
        problems.add(None, f"cannot read: {exc.strerror or exc}")
        return None
    lines = text.splitlines()
    try:
        return _Toml(tomllib.loads(text), lines)
    except tomllib.TOMLDecodeError as exc:
        line, column, words = toml_syntax(str(exc), lines)
        if line is None:
            line, words = max(len(lines), 1), f"{words} (at the end of the file)"
        problems.add(line, f"TOML syntax error: {words}", column)
        return None


_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_-][A-Za-z0-9_. -]*?)\s*\]\]?\s*(?:#.*)?$")


def _header(line: str) -> str | None:
    """The table name of a ``[name]`` or ``[[name]]`` header line (dotted parts joined by '.'), else None."""
    found = _HEADER.match(line)
    return re.sub(r"\s*\.\s*", ".", found.group(1)) if found else None


def _table_lines(lines: list[str], name: str) -> list[int]:
    """1-based line numbers of each ``[[name]]`` header, in order."""
    header = re.compile(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]")
    return [i + 1 for i, line in enumerate(lines) if header.match(line)]


def _key_line(lines: list[str], start: int, key: str, table: str = "") -> int | None:
    """The line of ``key = ...`` in the table whose header is at line ``start`` (0: the top of the file), or
    of the ``[table.key]`` header of a sub-table of it."""
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*[=.]")
    in_sub_table = False
    for number in range(start + 1, len(lines) + 1):
        line = lines[number - 1]
        name = _header(line)
        if name is not None:
            if not table or not name.startswith(f"{table}."):
                break
            if name == f"{table}.{key}" or name.startswith(f"{table}.{key}."):
                return number
            in_sub_table = True
        elif not in_sub_table and pattern.match(line):
            return number
    return None


def _top_line(lines: list[str], name: str) -> int | None:
    """The line of the top-level key ``name``: ``name = ...`` before any table, or its first header."""
    for number, line in enumerate(lines, start=1):
        header = _header(line)
        if header == name or (header or "").startswith(f"{name}."):
            return number
    return _key_line(lines, 0, name)


def _entry_line(lines: list[str], key_line: int, entry: Any) -> int:
    """The line of one entry of a list that may span several lines (found by its text), else ``key_line``."""
    if isinstance(entry, dict):
        entry = next((value for value in entry.values() if isinstance(value, str)), None)
    if isinstance(entry, str) and entry:
        for number in range(key_line, len(lines) + 1):
            if number > key_line and _header(lines[number - 1]) is not None:
                break
            if entry in lines[number - 1]:
                return number
    return key_line


def _error_line(lines: list[str], start: int, table: str, loc: tuple[int | str, ...], raw: dict[str, Any]) -> int:
    """The line of the key (or list entry) an error of the table at line ``start`` is about."""
    key = loc[0] if loc and isinstance(loc[0], str) else ""
    line = _key_line(lines, start, key, table) if key and start else None
    if line is None:
        return start
    entries = raw.get(key)
    if len(loc) > 1 and isinstance(loc[1], int) and isinstance(entries, list) and loc[1] < len(entries):
        return _entry_line(lines, line, entries[loc[1]])
    return line


def _unknown_top(key: str, name: str, model: type[BaseModel], other_keys: tuple[str, ...]) -> str:
    if key in model.model_fields:
        return f"'{key}' is outside any [[{name}]] table: move it below a [[{name}]] line"
    expected = ", ".join([f"[[{name}]] tables", *(f"[{other}]" for other in other_keys)])
    return f"unknown top-level key '{key}'{did_you_mean(key, [name, *other_keys])} (expected {expected})"


@dataclass(frozen=True)
class _Table:
    """One ``[[site]]`` or ``[[rule]]`` table: its header line, its keys and, when they are valid, its model."""

    line: int
    raw: dict[str, Any]
    model: BaseModel | None

    @property
    def ident(self) -> str | None:
        """The table's ``id``, when it is text."""
        ident = self.raw.get("id")
        return ident if isinstance(ident, str) else None


def _validate_tables(
    toml: _Toml, name: str, model: type[BaseModel], problems: _Problems, other_keys: tuple[str, ...] = ()
) -> list[_Table]:
    """Every ``[[name]]`` table of the file, validated (``model`` None when invalid: its problems are noted)."""
    lines = toml.lines
    for key in toml.data:
        if key != name and key not in other_keys:
            problems.add(_top_line(lines, key), _unknown_top(key, name, model, other_keys))
    tables = toml.data.get(name, [])
    if not isinstance(tables, list):
        problems.add(
            _top_line(lines, name), f"'{name}' must be a list of tables: write [[{name}]] (two brackets) above each one"
        )
        return []
    starts = _table_lines(lines, name)
    found: list[_Table] = []
    for index, raw in enumerate(tables):
        start = starts[index] if index < len(starts) else 0
        if not isinstance(raw, dict):
            problems.add(start or _top_line(lines, name), f"[[{name}]] #{index + 1} is not a table")
            continue
        try:
            found.append(_Table(start, raw, model.model_validate(raw)))
        except ValidationError as exc:
            table = _Table(start, raw, None)
            what = f"{name} '{table.ident}'" if table.ident is not None else f"{name} #{index + 1}"
            for error in exc.errors():
                path, message = explain(model, error)
                key = f", key '{path}'" if path else ""
                problems.add(_error_line(lines, start, name, tuple(error["loc"]), raw), f"{what}{key}: {message}")
            found.append(table)
    return found


def _duplicates(kind: str, tables: list[_Table], problems: _Problems) -> None:
    seen: dict[str, int] = {}
    for table in tables:
        ident = table.ident
        if ident is None:
            continue
        if ident in seen:
            problems.add(table.line, f"duplicate {kind} id '{ident}' (first defined at line {seen[ident]})")
        else:
            seen[ident] = table.line


def load_sites(path: Path, problems: list[str]) -> tuple[SiteConfig, ...]:
    """Validated sites from ``path``; its problems are appended to ``problems``, sorted by line."""
    found = _Problems(path)
    sites: tuple[SiteConfig, ...] = ()
    toml = _read_toml(path, found)
    if toml is not None:
        tables = _validate_tables(toml, "site", SiteConfig, found)
        _duplicates("site", tables, found)
        sites = tuple(table.model for table in tables if isinstance(table.model, SiteConfig))
    found.report(problems)
    return sites


def compile_rules(rules: RulesConfig) -> RuleSet:
    """The :class:`crawler.rules.RuleSet` of validated rules (with their aliases and US-dollar rates)."""
    from crawler.rules import RuleSet

    return RuleSet.compile([r.to_rule() for r in rules], aliases=rules.aliases, usd_rates=rules.usd_rates)


def _rules_aliases(toml: _Toml, problems: _Problems) -> dict[str, Any]:
    """The alias definitions of rules.toml that are strings or lists of strings (others are problems)."""
    raw = toml.data.get("aliases", {})
    table_line = _top_line(toml.lines, "aliases")
    if not isinstance(raw, dict):
        problems.add(table_line or 1, "'aliases' must be a table of name = 'query expression'")
        return {}
    aliases: dict[str, Any] = {}
    for name, value in raw.items():
        ok = isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value))
        if ok:
            aliases[name] = value if isinstance(value, str) else tuple(value)
        else:
            line = (_key_line(toml.lines, table_line, name) if table_line else None) or table_line
            problems.add(
                line, f"alias '{name}': expected a query expression (a string) or a list of them, "
                f"e.g. {name} = ['invest*', 'stake']; found {echo(value)}"
            )
    return aliases


def _rules_money(toml: _Toml, problems: _Problems) -> dict[str, float]:
    """The ``[money] usd_rates`` of rules.toml (validated)."""
    raw = toml.data.get("money")
    if raw is None:
        return {}
    table_line = _top_line(toml.lines, "money") or 1
    if not isinstance(raw, dict):
        problems.add(table_line, "'money' must be a table, e.g. [money] usd_rates = { EUR = 1.08 }")
        return {}
    try:
        return MoneyConfig.model_validate(raw).usd_rates
    except ValidationError as exc:
        for error in exc.errors():
            path, message = explain(MoneyConfig, error)
            key = str(error["loc"][0]) if error["loc"] else ""
            line = _key_line(toml.lines, table_line, key, "money") if key else None
            problems.add(line or table_line, f"[money] key '{path}': {message}" if path else f"[money]: {message}")
        return {}


def _check_queries(toml: _Toml, tables: list[_Table], aliases: dict[str, Any], problems: _Problems) -> list[RuleConfig]:
    """The valid rules whose query and threshold parse (with the file's aliases); the queries of invalid
    rules are checked too, so that one run names every problem."""
    from crawler.rules import RuleError, parse_aliases, parse_query, parse_threshold

    lines = toml.lines
    alias_errors: list[RuleError] = []
    parsed = parse_aliases(aliases, alias_errors)
    aliases_line = _top_line(lines, "aliases")
    for error in alias_errors:
        name = (error.alias or "").split("[")[0]
        original = next((key for key in aliases if key.lower() == name), name)
        line = (_key_line(lines, aliases_line, original) if aliases_line else None) or aliases_line or 1
        problems.add(line, str(error))
    rules: list[RuleConfig] = []
    for table in tables:
        model = table.model if isinstance(table.model, RuleConfig) else None
        query = model.query if model else table.raw.get("query")
        threshold = table.raw.get("threshold")
        terms = threshold.get("terms") if isinstance(threshold, dict) else None
        try:
            if isinstance(query, str):
                parse_query(query, table.ident, parsed)
            if model and model.threshold is not None:
                parse_threshold(model.threshold.to_threshold(), model.id, parsed)
            elif not model and isinstance(terms, str):
                parse_query(terms, table.ident, parsed, key="threshold.terms")
        except RuleError as exc:
            key = "threshold" if exc.key and exc.key.startswith("threshold") else "query"
            problems.add(_key_line(lines, table.line, key, "rule") or table.line, str(exc))
            continue
        if model:
            rules.append(model)
    return rules


def load_rules(path: Path, problems: list[str]) -> RulesConfig:
    """Validated rules from ``path`` (each query and threshold parsed, with the file's aliases); problems
    are appended to ``problems``, one line each and sorted by line, naming the file and line, the rule or
    alias, the key and, for queries, the column and what was expected there."""
    found = _Problems(path)
    rules = RulesConfig()
    toml = _read_toml(path, found)
    if toml is not None:
        tables = _validate_tables(toml, "rule", RuleConfig, found, other_keys=("aliases", "money"))
        _duplicates("rule", tables, found)
        aliases = _rules_aliases(toml, found)
        usd_rates = _rules_money(toml, found)
        rules = RulesConfig(_check_queries(toml, tables, aliases, found), aliases, usd_rates)
    found.report(problems)
    return rules


def load_config(folder: Path) -> Config:
    """Load both files from ``folder``; raise ConfigError listing every problem of both (each file's by line)."""
    problems: list[str] = []
    if not folder.is_dir():
        raise ConfigError([f"{folder}: configuration folder not found (set NEWSWATCH_CONFIG or --config)"])
    sites = load_sites(folder / SITES_FILE, problems)
    rules = load_rules(folder / RULES_FILE, problems)
    if problems:
        raise ConfigError(problems)
    return Config(folder=folder, sites=sites, rules=rules)
