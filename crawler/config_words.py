"""Plain words for mistakes in sites.toml and rules.toml: what each key expects, and TOML syntax errors."""

from __future__ import annotations

import difflib
import math
import re
import types
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

# What each key expects, with an example; keyed by (model class name, field name). A test checks that
# every field of every configuration model is here, so that no pydantic wording can reach the user.
EXPECTED: dict[tuple[str, str], str] = {
    ("SiteConfig", "id"): 'a slug in quotes, e.g. id = "example-news"',
    ("SiteConfig", "name"): 'text in quotes, e.g. name = "Example News"',
    ("SiteConfig", "feeds"): 'a list of URLs, e.g. feeds = ["https://news.example.com/feed"]',
    ("SiteConfig", "sitemaps"): 'a list of URLs, e.g. sitemaps = ["https://news.example.com/sitemap.xml"]',
    ("SiteConfig", "listings"): (
        'a list of listing pages, each a URL or a table { url = "...", links = "css selector" }, '
        'e.g. listings = ["https://news.example.com/tech/"]'
    ),
    ("SiteConfig", "allowed_domains"): 'a list of host names, e.g. allowed_domains = ["example.com"]',
    ("SiteConfig", "include"): "a list of regular expressions, e.g. include = ['/\\d{4}/']",
    ("SiteConfig", "exclude"): "a list of regular expressions, e.g. exclude = ['/(tag|author)/']",
    ("SiteConfig", "every"): 'a duration in quotes, e.g. every = "30m"',
    ("SiteConfig", "cron"): 'a crontab line in quotes, e.g. cron = "*/20 6-22 * * 1-5"',
    ("SiteConfig", "timezone"): 'a time zone name in quotes, e.g. timezone = "Europe/London"',
    ("SiteConfig", "jitter"): 'a duration in quotes, e.g. jitter = "2m"',
    ("SiteConfig", "timeout"): 'a duration in quotes, e.g. timeout = "1h"',
    ("SiteConfig", "delay"): (
        'the seconds between two requests: a number or a duration, e.g. delay = 2 or delay = "500ms"'
    ),
    ("SiteConfig", "enabled"): "true or false (without quotes)",
    ("SiteConfig", "allow_private_network"): "true or false (without quotes)",
    ("SiteConfig", "verify_tls"): "true or false (without quotes)",
    ("SiteConfig", "backfill"): 'a duration, "all" or "0" in quotes, e.g. backfill = "7d"',
    ("Listing", "url"): 'the URL of the listing page in quotes, e.g. url = "https://news.example.com/tech/"',
    ("Listing", "links"): 'a CSS selector for the article links in quotes, e.g. links = "h2 a"',
    ("RuleConfig", "id"): 'a slug in quotes, e.g. id = "softbank-investment"',
    ("RuleConfig", "name"): 'text in quotes, e.g. name = "SoftBank invests"',
    ("RuleConfig", "query"): "a query in quotes, e.g. query = 'softbank AND invest*'",
    ("RuleConfig", "mode"): '"instant" or "digest"',
    ("RuleConfig", "recipients"): 'a list of email addresses, e.g. recipients = ["alerts@example.com"]',
    ("RuleConfig", "webhooks"): 'a list of URLs, e.g. webhooks = ["https://hooks.example.com/T000/B000"]',
    ("RuleConfig", "threshold"): 'a table, e.g. threshold = { terms = "@softbank", title = true, body = 3 }',
    ("ThresholdConfig", "terms"): 'a query expression in quotes, e.g. terms = "@softbank"',
    ("ThresholdConfig", "title"): "true or false (without quotes)",
    ("ThresholdConfig", "body"): "a whole number of mentions in the body from 0 to 1000, e.g. body = 3",
    ("MoneyConfig", "usd_rates"): "a table of currency = US dollars per unit, e.g. usd_rates = { EUR = 1.08 }",
}

# What each entry of a list or table key expects.
EXPECTED_ITEM: dict[tuple[str, str], str] = {
    ("SiteConfig", "feeds"): 'a URL in quotes, e.g. "https://news.example.com/feed"',
    ("SiteConfig", "sitemaps"): 'a URL in quotes, e.g. "https://news.example.com/sitemap.xml"',
    ("SiteConfig", "listings"): 'a URL or a table { url = "...", links = "css selector" }',
    ("SiteConfig", "allowed_domains"): 'a host name in quotes, e.g. "example.com"',
    ("SiteConfig", "include"): "a regular expression in quotes, e.g. '/\\d{4}/'",
    ("SiteConfig", "exclude"): "a regular expression in quotes, e.g. '/tag/'",
    ("RuleConfig", "recipients"): 'an email address in quotes, e.g. "alerts@example.com"',
    ("RuleConfig", "webhooks"): 'a URL in quotes, e.g. "https://hooks.example.com/T000/B000"',
    ("MoneyConfig", "usd_rates"): "a positive number of US dollars per unit, e.g. EUR = 1.08",
}

# Error types of pydantic, in plain words: used only when a key has no entry above (it always should).
TYPE_WORDS: dict[str, str] = {
    "string_type": "text in quotes",
    "tuple_type": "a list [ ... ]",
    "list_type": "a list [ ... ]",
    "dict_type": "a table { ... }",
    "model_type": "a table { ... }",
    "model_attributes_type": "a table { ... }",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "literal_error": "one of the listed values",
    "greater_than_equal": "a larger number",
    "greater_than": "a larger number",
    "less_than_equal": "a smaller number",
    "less_than": "a smaller number",
}

_LONGEST_ECHO = 80


def shown(text: str) -> str:
    """A text value exactly as written in the file (no escaping), or "" when it is empty."""
    return text if text.strip() else f'"{text}"'


def echo(value: Any) -> str:
    """Any value in the form one writes it in TOML (strings quoted, never escaped), shortened if long."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = f"'{value}'" if ('"' in value or "\\" in value) and "'" not in value else f'"{value}"'
    elif isinstance(value, float):
        text = ("-inf" if value < 0 else "inf") if math.isinf(value) else "nan" if math.isnan(value) else repr(value)
    elif isinstance(value, datetime | date | time):
        text = value.isoformat().replace("+00:00", "Z")
    elif isinstance(value, Mapping):
        text = "{ " + ", ".join(f"{key} = {echo(item)}" for key, item in value.items()) + " }"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(echo(item) for item in value) + "]"
    else:
        text = str(value)
    return text if len(text) <= _LONGEST_ECHO else text[: _LONGEST_ECHO - 1] + "…"


def suggestion(word: str, choices: Iterable[str]) -> str | None:
    """The choice nearest to ``word`` (case, '-' and '_' ignored), if one is near enough."""
    by_form = {choice.casefold().replace("-", "_"): choice for choice in choices}
    found = difflib.get_close_matches(word.casefold().replace("-", "_"), list(by_form), n=1, cutoff=0.6)
    return by_form[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """", did you mean 'feeds'?" for the choice nearest to ``word``, or nothing."""
    near = suggestion(word, choices)
    return f", did you mean '{near}'?" if near else ""


def unknown_key(key: str, allowed: Iterable[str]) -> str:
    """The message for a key the table does not have."""
    names = sorted(allowed)
    return f"unknown key{did_you_mean(key, names)} (allowed: {', '.join(names)})"


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The configuration model inside a field's type (``tuple[Listing, ...]``, ``ThresholdConfig | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (tuple, list, Union, types.UnionType):
        for argument in get_args(annotation):
            found = _nested_model(argument)
            if found is not None:
                return found
    return None


def _walk(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[type[BaseModel], str, bool, str]:
    """The model owning the key at ``loc``, the key, whether ``loc`` is one entry of it, and its display path
    (``listings[2].url``, ``threshold.body``, ``usd_rates.EUR``; entries counted from 1)."""
    owner, key, entry, path = model, "", False, ""
    for part in loc:
        if isinstance(part, int):
            entry, path = True, f"{path}[{part + 1}]"
            continue
        if key:
            nested = _nested_model(owner.model_fields[key].annotation)
            if nested is None:  # a key of a table value, e.g. usd_rates = { EUR = ... }
                entry, path = True, f"{path}.{part}"
                continue
            owner = nested
        key, entry, path = part, False, f"{path}.{part}" if path else part
        if key not in owner.model_fields:
            break
    return owner, key, entry, path


def explain(model: type[BaseModel], error: ErrorDetails) -> tuple[str, str]:
    """The key path (empty for the table as a whole) and the plain message of one pydantic error."""
    owner, key, entry, path = _walk(model, tuple(error["loc"]))
    kind = error["type"]
    if kind == "extra_forbidden":
        return path, unknown_key(key, owner.model_fields)
    if kind in ("value_error", "assertion_error"):
        cause = (error.get("ctx") or {}).get("error")
        return path, str(cause) if cause is not None else str(error["msg"]).removeprefix("Value error, ")
    table = EXPECTED_ITEM if entry else EXPECTED
    expected = table.get((owner.__name__, key)) or TYPE_WORDS.get(kind) or "a different value"
    if kind == "missing":
        return path, f"required key is missing; expected {expected}"
    return path, f"expected {expected}; found {echo(error['input'])}"


_CSS_GOT = re.compile(r"^Expected (.+), got <(\w+)(?: '(.*)')? at (\d+)>$")


def css_words(message: str) -> str:
    """A cssselect syntax error ("Expected ident, got <DELIM '/' at 6>") in plain words."""
    found = _CSS_GOT.match(message)
    if not found:
        return message
    expected, kind, token, position = found.groups()
    expected = re.sub(r"\bident\b", "a name", expected)
    seen = "the end" if kind == "EOF" else f"'{token}'"
    return f"expected {expected} at character {int(position) + 1}, found {seen}"


# --------------------------------------------------------------------------- TOML syntax

_TWICE = re.compile(r"Cannot declare \((.*)\) twice")
_AT = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")
# tomllib's messages (by their beginning) in plain words, with the usual cause.
_SYNTAX_WORDS: tuple[tuple[str, str], ...] = (
    ("Invalid value", 'a value is missing or not valid here (text goes in quotes: every = "30m"; '
     "true, false and numbers without)"),
    ("Expected newline or end of document after a statement", "unexpected text after the value (one key = value "
     'per line; text goes in quotes: every = "30m")'),
    ("Unescaped '\\' in a string", "a backslash in \"double quotes\" starts an escape: write regular expressions "
     "in 'single quotes', e.g. include = ['/\\d{4}/']"),
    ("Illegal character '\\n'", "the text is not closed before the end of the line (a missing quote?)"),
    ("Illegal character", "a control character is not allowed in text"),
    ("Unterminated string", "the text is not closed (a missing quote?)"),
    ("Expected ']]' at the end of an array declaration", "a [[table]] header must end with ']]'"),
    ("Expected ']' at the end of a table declaration", "a [table] header must end with ']'"),
    ("Expected '=' after a key in a key/value pair", "expected '=' after the key (key = value; a key with "
     "spaces goes in quotes)"),
    ("Cannot overwrite a value", "this key is set twice in the same table"),
    ("Unclosed array", "a list is not closed with ']' (or a comma is missing between two entries)"),
    ("Unclosed inline table", "a table { ... } is not closed with '}' (it must fit on one line)"),
    ("Invalid initial character for a key part", "expected a key here (a table { ... } must fit on one line "
     "and has no comma after its last entry)"),
    ("Duplicate inline table key", "a key is set twice in this table { ... }"),
    ("Invalid statement", "expected key = value or a [table] header"),
    ("Found invalid character", "unexpected character"),
    ("Cannot mutate immutable namespace", "a table { ... } cannot be added to later"),
    ("Cannot redefine namespace", "this table was already defined as a value"),
    ("Invalid hex value", "a \\u escape needs hexadecimal digits"),
    ("Escaped character is not a Unicode scalar value", "a \\u escape names no character"),
    ("Invalid date or datetime", "not a valid date or time"),
)


def toml_syntax(message: str, lines: list[str]) -> tuple[int | None, int | None, str]:
    """The line, column and plain words of a ``tomllib.TOMLDecodeError`` message about the file of
    ``lines`` (no line: at the end of the file)."""
    at = _AT.search(message)
    text = message[: at.start()] if at else message
    line = int(at.group(1)) if at and at.group(1) else None
    column = int(at.group(2)) if at and at.group(2) else None
    if text.startswith("Unescaped") and line and column and line <= len(lines):  # point at the backslash
        column = lines[line - 1].rfind("\\", 0, column) + 1 or column
    twice = _TWICE.match(text)
    if twice:
        name = ".".join(re.findall(r"'([^']*)'", twice.group(1)))
        return line, column, f"[{name}] is declared twice (merge the two, or write [[{name}]] for a table that repeats)"
    for start, words in _SYNTAX_WORDS:
        if text.startswith(start):
            return line, column, words
    return line, column, text[:1].lower() + text[1:]
