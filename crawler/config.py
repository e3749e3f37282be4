"""Load and validate config/sites.toml and config/rules.toml, naming file, line and key on every problem."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawler.durations import parse_duration

if TYPE_CHECKING:
    from crawler.rules import RuleSet

SITES_FILE = "sites.toml"
RULES_FILE = "rules.toml"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


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
    delay: float = Field(default=1.0, ge=0, le=3600)
    enabled: bool = True
    allow_private_network: bool = False

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
        if parse_duration(value) < timedelta(minutes=1):
            raise ValueError(f"interval {value!r} is shorter than one minute")
        return value

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
        """How often the service crawls this site."""
        return parse_duration(self.every)

    def url_wanted(self, url: str) -> bool:
        """Whether ``url`` passes the site's include / exclude patterns."""
        if self.include and not any(re.search(p, url) for p in self.include):
            return False
        return not any(re.search(p, url) for p in self.exclude)


class RuleConfig(BaseModel):
    """One alert rule, as declared in rules.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    query: str
    mode: Literal["instant", "digest"] = "digest"
    recipients: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        return SiteConfig._slug(value)

    @field_validator("recipients")
    @classmethod
    def _emails(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not _EMAIL.match(value):
                raise ValueError(f"not an email address: {value!r}")
        return values


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    folder: Path
    sites: tuple[SiteConfig, ...]
    rules: tuple[RuleConfig, ...]

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

    def ruleset(self) -> RuleSet:
        """The compiled rules (the queries were already validated when loading)."""
        from crawler.rules import Rule, RuleSet

        return RuleSet.compile([Rule(id=r.id, query=r.query, mode=r.mode, recipients=r.recipients) for r in self.rules])


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


def load_rules(path: Path, problems: list[str]) -> tuple[RuleConfig, ...]:
    """Validated rules from ``path`` (each query parsed); problems are appended to ``problems``."""
    from crawler.rules import RuleError, parse_query

    items = _validate_tables(path, "rule", RuleConfig, problems, other_keys=("aliases",))
    problems.extend(_duplicates(path, "rule", items))
    rules: list[RuleConfig] = []
    _data, lines = _read_toml(path)
    for model, line, _raw in items:
        assert isinstance(model, RuleConfig)
        try:
            parse_query(model.query, model.id)
        except RuleError as exc:
            where = _key_line(lines, line, "query") or line
            problems.append(f"{path}:{where}: {exc}")
            continue
        rules.append(model)
    return tuple(rules)


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
