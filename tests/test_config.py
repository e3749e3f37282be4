"""Configuration loading: valid files load, every kind of mistake is named with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crawler.cli import app
from crawler.config import ConfigError, Listing, MoneyConfig, RuleConfig, SiteConfig, ThresholdConfig, load_config
from crawler.config_words import EXPECTED

REPO = Path(__file__).resolve().parents[1]
SITE_KEYS = (
    "(allowed: allow_private_network, allowed_domains, backfill, cron, delay, enabled, every, exclude, feeds, id, "
    "include, jitter, listings, name, sitemaps, timeout, timezone, verify_tls)"
)
GOOD_RULES = """
[[rule]]
id = "softbank"
query = 'softbank AND invest*'
mode = "instant"
recipients = ["alerts@example.com"]
"""
GOOD_SITE = """
[[site]]
id = "example"
name = "Example News"
feeds = ["https://news.example.com/feed"]
listings = [{ url = "https://news.example.com/tech/", links = "h2 a.story" }]
include = ['/\\d{4}/']
every = "45m"
delay = 2.5
"""


def write_config(folder: Path, sites: str = GOOD_SITE, rules: str = GOOD_RULES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sites.toml").write_text(sites, encoding="utf-8")
    (folder / "rules.toml").write_text(rules, encoding="utf-8")
    return folder


def problems_for(tmp_path: Path, sites: str = GOOD_SITE, rules: str = GOOD_RULES) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path / "cfg", sites, rules))
    return "\n".join(caught.value.problems)


def test_shipped_configuration_is_valid() -> None:
    config = load_config(REPO / "config")
    ids = {site.id for site in config.sites}
    assert len(config.sites) >= 8
    assert {"rcrwireless", "silicon-uk"} <= ids
    assert {rule.id for rule in config.rules} >= {"softbank-investment", "ai-iot-investment"}
    assert not any(site.allow_private_network for site in config.sites)


def test_good_config_and_defaults(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    site = config.site("example")
    assert site.allowed_domains == ("news.example.com",)
    assert site.listings[0].links == "h2 a.story"
    assert site.interval.total_seconds() == 45 * 60
    assert site.enabled and not site.allow_private_network
    assert site.url_wanted("https://news.example.com/2026/11/story") is True
    assert site.url_wanted("https://news.example.com/about") is False
    assert config.rules[0].mode == "instant"


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    text = problems_for(tmp_path, GOOD_SITE.replace('every = "45m"', 'every = "45m"\nfeed = "oops"'))
    assert "sites.toml:9" in text
    assert "site 'example', key 'feed'" in text
    assert "unknown key" in text


def test_duplicate_ids(tmp_path: Path) -> None:
    text = problems_for(tmp_path, GOOD_SITE + GOOD_SITE)
    assert "duplicate site id 'example'" in text
    assert "first defined at line 2" in text


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('"https://news.example.com/feed"', '"news.example.com/feed"', "not an absolute http(s) URL"),
        ('"https://news.example.com/feed"', '"ftp://news.example.com/feed"', "not an absolute http(s) URL"),
        ("'/\\d{4}/'", "'/(unclosed/'", "bad regular expression"),
        ('"h2 a.story"', '"h2 >> a["', "bad CSS selector"),
        ('id = "example"', 'id = "Not A Slug"', "expected a slug"),
        ('every = "45m"', 'every = "soon"', "not a duration"),
        ("delay = 2.5", "delay = -1", "the delay must be from 0 to 3600 seconds (1h); found -1"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, old: str, new: str, expected: str) -> None:
    sites = GOOD_SITE.replace(old, new)
    assert sites != GOOD_SITE
    text = problems_for(tmp_path, sites)
    assert expected in text
    assert "sites.toml:" in text and "site " in text


def test_site_without_entry_points(tmp_path: Path) -> None:
    text = problems_for(tmp_path, '[[site]]\nid = "empty"\n')
    assert "sites.toml:1: site 'empty'" in text
    assert "at least one of feeds, sitemaps or listings" in text


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    text = problems_for(tmp_path, GOOD_SITE + "\n[[site]\nid=\n")
    assert text.endswith("cfg/sites.toml:11:7: TOML syntax error: a [[table]] header must end with ']]'")


def test_bad_query_names_rule_line_and_column(tmp_path: Path) -> None:
    text = problems_for(
        tmp_path, rules=GOOD_RULES.replace("'softbank AND invest*'", "'softbank AND (invest*'")
    )
    assert "rules.toml:4:" in text
    assert "rule 'softbank'" in text
    assert "column" in text


def test_bad_rule_mode_and_recipient(tmp_path: Path) -> None:
    rules = GOOD_RULES.replace('"instant"', '"hourly"').replace("alerts@example.com", "not-an-address")
    text = problems_for(tmp_path, rules=rules)
    assert "key 'mode': expected \"instant\" or \"digest\"; found \"hourly\"" in text
    assert "not an email address" in text


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    sites = GOOD_SITE.replace('every = "45m"', 'every = "x"\ncolour = "red"')
    text = problems_for(tmp_path, sites, GOOD_RULES.replace('mode = "instant"', 'mode = "never"'))
    assert "key 'every'" in text and "key 'colour'" in text and "key 'mode'" in text


def test_missing_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration folder not found"):
        load_config(tmp_path / "nowhere")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "sites.toml").write_text(GOOD_SITE)
    with pytest.raises(ConfigError, match=r"rules\.toml: file not found"):
        load_config(tmp_path / "half")


def test_unknown_site_ids_are_rejected(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    with pytest.raises(ConfigError, match="unknown site id"):
        config.select_sites(["nope"])


def test_config_check_command(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["config", "check", "--config", str(write_config(tmp_path / "good"))])
    assert good.exit_code == 0, good.output
    assert "1 sites" in good.output and "1 rules" in good.output
    bad = runner.invoke(
        app, ["config", "check", "--config", str(write_config(tmp_path / "bad", GOOD_SITE + GOOD_SITE))]
    )
    assert bad.exit_code == 2
    assert "duplicate site id" in bad.output
    assert "Traceback" not in bad.output


# ---- rules.toml: aliases, thresholds, [money] ----

FULL_RULES = """
[money]
usd_rates = { JPY = 0.007 }

[aliases]
softbank = 'softbank OR "vision fund*" OR ソフトバンク'
deal = ["invest*", "stake", '"joint venture"']

[[rule]]
id = "softbank"
query = '@softbank NEAR/10 @deal AND title:(@deal OR MONEY>=100M)'
mode = "instant"
threshold = { terms = "@softbank", title = true, body = 3 }

[[rule]]
id = "plain"
query = 'robot*'
"""


def test_aliases_thresholds_and_money_load_and_compile(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, rules=FULL_RULES))
    rules = config.rules
    assert [rule.id for rule in rules] == ["softbank", "plain"] and len(rules) == 2
    assert rules[0].threshold is not None and rules[0].threshold.body == 3 and rules[0].threshold.title
    assert rules[1].threshold is None
    assert rules.aliases["deal"] == ("invest*", "stake", '"joint venture"')
    assert rules.usd_rates["JPY"] == 0.007 and rules.usd_rates["EUR"] == 1.08  # built-in rates underneath
    ruleset = config.ruleset()
    title, body = "SoftBank to invest ¥20bn", "SoftBank will invest. SoftBank said. The Vision Fund"
    [found] = ruleset.match(title, body)
    assert found.rule_id == "softbank"
    assert found.amounts[0].usd == pytest.approx(20e9 * 0.007)
    assert ruleset.match("Robots", "x")[0].rule_id == "plain"
    assert ruleset.match("A deal", "SoftBank will invest") == []  # threshold: not in the title, named once


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "'@softbank NEAR/10",
            "'@sofbank NEAR/10",
            "rules.toml:11: rule 'softbank', column 1: expected a defined alias, found '@sofbank'",
        ),
        ("NEAR/10", "NEAR/x", "rules.toml:11: rule 'softbank', column 16: expected '/' and a number of words"),
        (
            'terms = "@softbank"',
            'terms = "@softbank AND ("',
            "rules.toml:13: rule 'softbank', key 'threshold.terms', column 16: expected a term after '('",
        ),
        (
            "body = 3 }",
            "body = -1 }",
            "rules.toml:13: rule 'softbank', key 'threshold.body': expected a whole number of mentions in the body "
            "from 0 to 1000, e.g. body = 3; found -1",
        ),
        ("title = true, body = 3", "title = false", "key 'threshold': needs title = true or body >= 1"),
        (
            "title = true, body = 3",
            "titel = true",
            "rules.toml:13: rule 'softbank', key 'threshold.titel': unknown key, did you mean 'title'? "
            "(allowed: body, terms, title)",
        ),
        (
            'threshold = { terms = "@softbank",',
            "threshold = { terms = 5,",
            """key 'threshold.terms': expected a query expression in quotes, e.g. terms = "@softbank"; found 5""",
        ),
        (
            "'softbank OR \"vision",
            "'softbank OR (\"vision",
            "rules.toml:6: alias 'softbank', column 38: expected ')' to close '(' at column 13",
        ),
        ("deal = [", 'deal = ["(", ', "rules.toml:7: alias 'deal[1]', column 2: expected a term after '('"),
        ("deal = [", "deal = 5\nx = [", "rules.toml:7: alias 'deal': expected a query expression (a string)"),
        (
            "JPY = 0.007",
            "JPY = -1",
            "rules.toml:3: [money] key 'usd_rates': the rate of JPY must be a positive number of US dollars per "
            "unit, e.g. JPY = 1.08; found -1",
        ),
        ("JPY = 0.007", "XYZ = 1", "[money] key 'usd_rates': unknown currency XYZ (known: "),
        ("JPY = 0.007", "YEN = 1", "[money] key 'usd_rates': unknown currency YEN (known: "),
        ("JPY = 0.007", "jpy = 1", "[money] key 'usd_rates': unknown currency jpy, did you mean 'JPY'? (known: "),
        (
            "JPY = 0.007",
            'JPY = "cheap"',
            "rules.toml:3: [money] key 'usd_rates.JPY': expected a positive number of US dollars per unit, "
            'e.g. EUR = 1.08; found "cheap"',
        ),
        (
            "usd_rates",
            "rates",
            "rules.toml:3: [money] key 'rates': unknown key, did you mean 'usd_rates'? (allowed: usd_rates)",
        ),
        ("[money]", "money = 5\n[unused]", "rules.toml:2: 'money' must be a table"),
        ('mode = "instant"', 'mode = "instant"\ncolour = "red"', "key 'colour'"),
    ],
)
def test_rules_problems_name_file_line_rule_and_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    rules = FULL_RULES.replace(old, new, 1)
    assert rules != FULL_RULES
    text = problems_for(tmp_path, rules=rules)
    assert expected in text
    assert "Traceback" not in text


def test_a_rule_using_a_broken_alias_is_reported_too(tmp_path: Path) -> None:
    text = problems_for(tmp_path, rules=FULL_RULES.replace("ソフトバンク'", "ソフトバンク OR'"))
    assert "alias 'softbank', column" in text
    assert "rule 'softbank', column 1: expected a defined alias, found '@softbank'" in text


def test_rules_check_command_reports_rule_errors_without_traceback(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = write_config(tmp_path / "bad", rules=FULL_RULES.replace("NEAR/10", "NEAR/1001"))
    bad = runner.invoke(app, ["config", "check", "--config", str(folder)])
    assert bad.exit_code == 2
    assert "a distance of at most 1000 words" in bad.output
    assert "Traceback" not in bad.output


def test_rule_webhooks_are_validated_urls(tmp_path: Path) -> None:
    rules = GOOD_RULES + 'webhooks = ["https://hooks.example.com/T000/B000"]\n'
    config = load_config(write_config(tmp_path / "ok", rules=rules))
    assert config.rules[0].webhooks == ("https://hooks.example.com/T000/B000",)
    text = problems_for(tmp_path, rules=GOOD_RULES + 'webhooks = ["javascript:alert(1)"]\n')
    assert "key 'webhooks[1]': not an absolute http(s) URL: javascript:alert(1)" in text


def test_rule_webhooks_reach_the_mail_configuration(tmp_path: Path) -> None:
    from crawler.alerts.mailconfig import MailConfig
    from crawler.settings import Settings

    rules = GOOD_RULES + 'webhooks = ["https://hooks.example.com/T000/B000"]\n'
    config = load_config(write_config(tmp_path, rules=rules))
    mail = MailConfig.from_settings(Settings(), config.rules)
    assert mail.webhooks_for("softbank") == ("https://hooks.example.com/T000/B000",)


# ---- plain words: every mistake says what was expected, and where ----


def problem_lines(tmp_path: Path, sites: str = GOOD_SITE, rules: str = GOOD_RULES) -> list[str]:
    """The problems of the configuration, with the folder taken off the front of each line."""
    folder = write_config(tmp_path / "cfg", sites, rules)
    with pytest.raises(ConfigError) as caught:
        load_config(folder)
    return [line.removeprefix(f"{folder}/") for line in caught.value.problems]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'feeds = ["https://news.example.com/feed"]',
            'feeds = "https://news.example.com/feed"',
            "sites.toml:5: site 'example', key 'feeds': expected a list of URLs, "
            'e.g. feeds = ["https://news.example.com/feed"]; found "https://news.example.com/feed"',
        ),
        (
            'feeds = ["https://news.example.com/feed"]',
            'feeds = ["https://news.example.com/feed", 7]',
            "sites.toml:5: site 'example', key 'feeds[2]': expected a URL in quotes, "
            'e.g. "https://news.example.com/feed"; found 7',
        ),
        (
            'feeds = ["https://news.example.com/feed"]',
            'feeds = [\n  "https://news.example.com/feed",\n  "news.example.com/other",\n]',
            "sites.toml:7: site 'example', key 'feeds[2]': not an absolute http(s) URL: news.example.com/other "
            "(it starts with https:// or http://)",
        ),
        (
            'listings = [{ url = "https://news.example.com/tech/", links = "h2 a.story" }]',
            "listings = [5]",
            """sites.toml:6: site 'example', key 'listings[1]': expected a URL or a table """
            """{ url = "...", links = "css selector" }; found 5""",
        ),
        (
            'listings = [{ url = "https://news.example.com/tech/", links = "h2 a.story" }]',
            'listings = { url = "https://news.example.com/tech/" }',
            "sites.toml:6: site 'example', key 'listings': expected a list of listing pages, each a URL or a table "
            """{ url = "...", links = "css selector" }, e.g. listings = ["https://news.example.com/tech/"]; """
            """found { url = "https://news.example.com/tech/" }""",
        ),
        (
            'links = "h2 a.story"',
            'link = "h2 a.story"',
            "sites.toml:6: site 'example', key 'listings[1].link': unknown key, did you mean 'links'? "
            "(allowed: links, url)",
        ),
        (
            'url = "https://news.example.com/tech/", ',
            "",
            "sites.toml:6: site 'example', key 'listings[1].url': required key is missing; expected the URL of the "
            'listing page in quotes, e.g. url = "https://news.example.com/tech/"',
        ),
        (
            'every = "45m"',
            'every = "45m"\nenabled = "sometimes"',
            "sites.toml:9: site 'example', key 'enabled': expected true or false (without quotes); found \"sometimes\"",
        ),
        (
            'every = "45m"',
            "every = 45",
            "sites.toml:8: site 'example', key 'every': expected a duration in quotes, "
            'e.g. every = "30m"; found 45',
        ),
        (
            'every = "45m"',
            'every = "45 minutes"',
            "sites.toml:8: site 'example', key 'every': not a duration: 45 minutes "
            '(use e.g. "90s", "30m", "2h", "7d", "1h30m")',
        ),
        (
            'every = "45m"',
            'every = "45m"\nbackfill = "forever"',
            "sites.toml:9: site 'example', key 'backfill': not a duration: forever "
            '(use e.g. "90s", "30m", "2h", "7d", "1h30m", or "all" or "0")',
        ),
        (
            'every = "45m"',
            'every = "45m"\ntimezone = "Europe/Londn"',
            "sites.toml:9: site 'example', key 'timezone': unknown time zone Europe/Londn, "
            "did you mean 'Europe/London'? (e.g. UTC, Europe/London)",
        ),
        (
            'every = "45m"',
            'every = "45m"\nallowed_domains = ["https://news.example.com/"]',
            "sites.toml:9: site 'example', key 'allowed_domains[1]': not a domain name: https://news.example.com/: "
            'no scheme, port or path, did you mean "news.example.com"?',
        ),
        (
            'name = "Example News"',
            "name = 2026-01-01",
            """sites.toml:4: site 'example', key 'name': expected text in quotes, e.g. name = "Example News"; """
            "found 2026-01-01",
        ),
        (
            'links = "h2 a.story"',
            'links = "h2 >> a["',
            "sites.toml:6: site 'example', key 'listings[1].links': bad CSS selector h2 >> a[: "
            "expected selector at character 5, found '>'",
        ),
        (
            'links = "h2 a.story"',
            'links = "h2 a."',
            "sites.toml:6: site 'example', key 'listings[1].links': bad CSS selector h2 a.: "
            "expected a name at character 6, found the end",
        ),
        (
            'every = "45m"',
            'cron = "*/20 6-22 * *"',
            "sites.toml:8: site 'example', key 'cron': bad crontab line */20 6-22 * *: "
            "expected 5 fields (minute hour day month weekday), got 4",
        ),
        (
            'every = "45m"',
            "every = 2026-01-01T08:00:00Z",
            "sites.toml:8: site 'example', key 'every': expected a duration in quotes, e.g. every = \"30m\"; "
            "found 2026-01-01T08:00:00Z",
        ),
        (
            'id = "example"',
            "id = 5",
            """sites.toml:3: site #1, key 'id': expected a slug in quotes, e.g. id = "example-news"; found 5""",
        ),
    ],
)
def test_site_mistakes_in_plain_words(tmp_path: Path, old: str, new: str, expected: str) -> None:
    sites = GOOD_SITE.replace(old, new, 1)
    assert sites != GOOD_SITE
    assert expected in problem_lines(tmp_path, sites)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'mode = "instant"',
            'mode = "hourly"',
            """rules.toml:5: rule 'softbank', key 'mode': expected "instant" or "digest"; found "hourly\"""",
        ),
        (
            'recipients = ["alerts@example.com"]',
            'recipients = "alerts@example.com"',
            "rules.toml:6: rule 'softbank', key 'recipients': expected a list of email addresses, "
            'e.g. recipients = ["alerts@example.com"]; found "alerts@example.com"',
        ),
        (
            'recipients = ["alerts@example.com"]',
            'recipients = ["alerts@example.com", "nobody"]',
            "rules.toml:6: rule 'softbank', key 'recipients[2]': not an email address: nobody",
        ),
        (
            "query = 'softbank AND invest*'\n",
            "",
            "rules.toml:2: rule 'softbank', key 'query': required key is missing; "
            "expected a query in quotes, e.g. query = 'softbank AND invest*'",
        ),
        (
            'mode = "instant"',
            'mode = "instant"\nthreshold = "@softbank"',
            "rules.toml:6: rule 'softbank', key 'threshold': expected a table, "
            """e.g. threshold = { terms = "@softbank", title = true, body = 3 }; found "@softbank\"""",
        ),
        (
            'mode = "instant"',
            'mode = "instant"\nthreshold = { terms = "softbank", body = true }',
            "rules.toml:6: rule 'softbank', key 'threshold.body': expected a whole number of mentions in the body "
            "from 0 to 1000, e.g. body = 3; found true",
        ),
        (
            'mode = "instant"',
            'mod = "instant"',
            "rules.toml:5: rule 'softbank', key 'mod': unknown key, did you mean 'mode'? "
            "(allowed: id, mode, name, query, recipients, threshold, webhooks)",
        ),
    ],
)
def test_rule_mistakes_in_plain_words(tmp_path: Path, old: str, new: str, expected: str) -> None:
    rules = GOOD_RULES.replace(old, new, 1)
    assert rules != GOOD_RULES
    assert expected in problem_lines(tmp_path, rules=rules)


def test_a_listing_may_be_a_bare_url(tmp_path: Path) -> None:
    sites = GOOD_SITE.replace(
        'listings = [{ url = "https://news.example.com/tech/", links = "h2 a.story" }]',
        'listings = ["https://news.example.com/world/", { url = "https://news.example.com/tech/", links = "h2 a" }]',
    )
    site = load_config(write_config(tmp_path, sites)).site("example")
    assert [(listing.url, listing.links) for listing in site.listings] == [
        ("https://news.example.com/world/", None),
        ("https://news.example.com/tech/", "h2 a"),
    ]
    bad = GOOD_SITE.replace('url = "https://news.example.com/tech/", links = "h2 a.story" }', 'url = "x" }, "tech/"')
    assert problem_lines(tmp_path / "bad", bad) == [
        "sites.toml:6: site 'example', key 'listings[1].url': not an absolute http(s) URL: x "
        "(it starts with https:// or http://)",
        "sites.toml:6: site 'example', key 'listings[2].url': not an absolute http(s) URL: tech/ "
        "(it starts with https:// or http://)",
    ]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("2", 2.0), ("2.5", 2.5), ('"2s"', 2.0), ('"1.5s"', 1.5), ('"500ms"', 0.5), ('"1m"', 60.0), ('"0.75"', 0.75),
     ('"1h"', 3600.0), ("0", 0.0)],
)
def test_delay_is_a_number_or_a_duration(tmp_path: Path, value: str, seconds: float) -> None:
    site = load_config(write_config(tmp_path, GOOD_SITE.replace("delay = 2.5", f"delay = {value}"))).site("example")
    assert site.delay == seconds and isinstance(site.delay, float)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"5000s"', 'the delay must be from 0 to 3600 seconds (1h); found "5000s"'),
        ("3601", "the delay must be from 0 to 3600 seconds (1h); found 3601"),
        ("-0.5", "the delay must be from 0 to 3600 seconds (1h); found -0.5"),
        ("inf", "the delay must be from 0 to 3600 seconds (1h); found inf"),
        (
            '"soon"',
            'expected the seconds between two requests: a number or a duration, e.g. delay = 2 or delay = "500ms"; '
            'found "soon"',
        ),
        (
            "true",
            'expected the seconds between two requests: a number or a duration, e.g. delay = 2 or delay = "500ms"; '
            "found true",
        ),
        (
            "nan",
            'expected the seconds between two requests: a number or a duration, e.g. delay = 2 or delay = "500ms"; '
            "found nan",
        ),
    ],
)
def test_bad_delays_are_named(tmp_path: Path, value: str, message: str) -> None:
    sites = GOOD_SITE.replace("delay = 2.5", f"delay = {value}")
    assert problem_lines(tmp_path, sites) == [f"sites.toml:9: site 'example', key 'delay': {message}"]


def test_regular_expressions_are_echoed_as_written(tmp_path: Path) -> None:
    sites = GOOD_SITE.replace("include = ['/\\d{4}/']", "include = ['/20\\d(/']\nexclude = ['\\w+', '[tag']")
    assert problem_lines(tmp_path, sites) == [
        "sites.toml:7: site 'example', key 'include[1]': bad regular expression /20\\d(/: "
        "missing ), unterminated subpattern at position 5",
        "sites.toml:8: site 'example', key 'exclude[2]': bad regular expression [tag: "
        "unterminated character set at position 0",
    ]


@pytest.mark.parametrize(
    ("sites", "rules", "expected"),
    [
        (
            'id = "stray"\n' + GOOD_SITE,
            GOOD_RULES,
            "sites.toml:1: 'id' is outside any [[site]] table: move it below a [[site]] line",
        ),
        (
            GOOD_SITE.replace("[[site]]", "[[sites]]"),
            GOOD_RULES,
            "sites.toml:2: unknown top-level key 'sites', did you mean 'site'? (expected [[site]] tables)",
        ),
        (
            GOOD_SITE.replace("[[site]]", "[site]"),
            GOOD_RULES,
            "sites.toml:2: 'site' must be a list of tables: write [[site]] (two brackets) above each one",
        ),
        (
            GOOD_SITE,
            "[alias]\nx = 'y'\n" + GOOD_RULES,
            "rules.toml:1: unknown top-level key 'alias', did you mean 'aliases'? "
            "(expected [[rule]] tables, [aliases], [money])",
        ),
        (
            GOOD_SITE,
            GOOD_RULES.replace("[[rule]]", "[[Rules]]"),
            "rules.toml:2: unknown top-level key 'Rules', did you mean 'rule'? "
            "(expected [[rule]] tables, [aliases], [money])",
        ),
        (
            GOOD_SITE.replace("delay = 2.5", "Delay = 2.5"),
            GOOD_RULES,
            "sites.toml:9: site 'example', key 'Delay': unknown key, did you mean 'delay'? " + SITE_KEYS,
        ),
        (
            GOOD_SITE.replace("delay = 2.5", "verify-tls = false"),
            GOOD_RULES,
            "sites.toml:9: site 'example', key 'verify-tls': unknown key, did you mean 'verify_tls'? " + SITE_KEYS,
        ),
    ],
)
def test_unknown_keys_suggest_the_nearest_one(tmp_path: Path, sites: str, rules: str, expected: str) -> None:
    assert expected in problem_lines(tmp_path, sites, rules)


def test_an_unknown_key_far_from_any_suggests_nothing(tmp_path: Path) -> None:
    [line] = problem_lines(tmp_path, GOOD_SITE.replace("delay = 2.5", 'colour = "red"'))
    assert line.startswith("sites.toml:9: site 'example', key 'colour': unknown key (allowed: allow_private_network,")
    assert "did you mean" not in line


BROKEN_RULES = """[aliases]
deal = 'invest* OR'

[[rule]]
id = "first"
query = 'softbank AND ('
mode = "digest"

[[rule]]
id = "second"
query = '@deal'
mode = "hourly"
threshold = { terms = "softbank", titel = false }

[[rule]]
id = "first"
query = 'robot*'
"""
# Every problem of BROKEN_RULES, in the order of the lines (not of the checks: tables, aliases, queries).
BROKEN_RULES_PROBLEMS = [
    "rules.toml:2: alias 'deal', column 11: expected a term after 'OR' at column 9",
    "rules.toml:6: rule 'first', column 15: expected a term after '(' at column 14",
    "rules.toml:11: rule 'second', column 1: expected a defined alias, found '@deal' (defined: none)",
    """rules.toml:12: rule 'second', key 'mode': expected "instant" or "digest"; found "hourly\"""",
    "rules.toml:13: rule 'second', key 'threshold.titel': unknown key, did you mean 'title'? "
    "(allowed: body, terms, title)",
    "rules.toml:15: duplicate rule id 'first' (first defined at line 4)",
]


def test_every_problem_of_both_files_in_one_run_sorted_by_line(tmp_path: Path) -> None:
    sites = GOOD_SITE.replace('every = "45m"', "every = 45") + '\n[[site]]\nid = "Other"\nsitemaps = "x"\n'
    assert problem_lines(tmp_path, sites, BROKEN_RULES) == [
        """sites.toml:8: site 'example', key 'every': expected a duration in quotes, e.g. every = "30m"; found 45""",
        "sites.toml:12: site 'Other', key 'id': expected a slug (lower-case letters, digits, '-' or '_', "
        'at most 63 characters), e.g. "example-news"; found "Other"',
        "sites.toml:13: site 'Other', key 'sitemaps': expected a list of URLs, "
        'e.g. sitemaps = ["https://news.example.com/sitemap.xml"]; found "x"',
        *BROKEN_RULES_PROBLEMS,
    ]


def test_a_syntax_error_in_one_file_hides_nothing_of_the_other(tmp_path: Path) -> None:
    sites = GOOD_SITE.replace("include = ['/\\d{4}/']", 'include = ["/\\d{4}/"]')
    assert problem_lines(tmp_path, sites, BROKEN_RULES.replace("[[rule]]", "[[rule]", 1))[0:] == [
        "sites.toml:7:14: TOML syntax error: a backslash in \"double quotes\" starts an escape: write regular "
        "expressions in 'single quotes', e.g. include = ['/\\d{4}/']",
        "rules.toml:4:7: TOML syntax error: a [[table]] header must end with ']]'",
    ]
    lines = problem_lines(tmp_path / "other", GOOD_SITE + '\n[[site]]\nid = "b"\nevery = 30m\n', BROKEN_RULES)
    assert lines[0] == (
        'sites.toml:13:11: TOML syntax error: unexpected text after the value (one key = value per line; '
        'text goes in quotes: every = "30m")'
    )
    assert len(lines) == 7 and all(line.startswith("rules.toml:") for line in lines[1:])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every = soon\n", "sites.toml:1:9: TOML syntax error: a value is missing or not valid here"),
        ('name = "News\n', "sites.toml:1:13: TOML syntax error: the text is not closed before the end of the line"),
        ('feeds = ["a", "b"\n', "sites.toml:1: TOML syntax error: a list is not closed with ']' (or a comma is "
         "missing between two entries) (at the end of the file)"),
        ("x = { a = 1,\n b = 2 }\n", "sites.toml:1:13: TOML syntax error: expected a key here (a table { ... } must"),
        ("[money]\n[money]\n", "sites.toml:2:7: TOML syntax error: [money] is declared twice (merge the two, or "
         "write [[money]] for a table that repeats)"),
        ('id = "a"\nid = "b"\n', "sites.toml:2:9: TOML syntax error: this key is set twice in the same table"),
    ],
)
def test_toml_syntax_errors_in_plain_words(tmp_path: Path, text: str, expected: str) -> None:
    [line, *_rest] = problem_lines(tmp_path, text)
    assert line.startswith(expected)


def test_rules_have_an_optional_name(tmp_path: Path) -> None:
    rules = GOOD_RULES + '\n[[rule]]\nid = "robots"\nname = "Robots everywhere"\nquery = "robot*"\n'
    config = load_config(write_config(tmp_path, rules=rules))
    assert config.rule_names() == {"softbank": "softbank", "robots": "Robots everywhere"}
    bad = problem_lines(tmp_path / "bad", rules=GOOD_RULES + "name = 5\n")
    assert bad == [
        "rules.toml:7: rule 'softbank', key 'name': expected text in quotes, "
        'e.g. name = "SoftBank invests"; found 5'
    ]


# ---- no pydantic wording, whatever the value of whatever key ----

PYDANTIC_WORDS = ("Input should", "instance of", "valid tuple", "type=", "Value error", "validation error", "pydantic")
BAD_VALUES = [
    "5", "-1", "2.5", "2000", "true", '"text"', '""', '"https://x.example/"', "[]", '["a", 1]', "[[1]]",
    "{ a = 1 }", "1979-05-27T07:32:00Z", "1979-05-27", "07:32:00", "nan", "inf", "-inf",
]


def _with_key(model: str, key: str, value: str) -> tuple[str, str]:
    """sites.toml and rules.toml text with ``key`` of ``model`` set to ``value`` (the rest valid)."""
    site = {"id": '"x"', "feeds": '["https://x.example/feed"]'}
    rule = {"id": '"r"', "query": "'robot*'"}

    def inline(table: dict[str, str]) -> str:
        return "{ " + ", ".join(f"{k} = {v}" for k, v in table.items()) + " }"

    if model == "SiteConfig":
        site[key] = value
    elif model == "Listing":
        site["listings"] = "[" + inline({"url": '"https://x.example/"', key: value}) + "]"
    elif model == "RuleConfig":
        rule[key] = value
    elif model == "ThresholdConfig":
        rule["threshold"] = inline({"terms": '"robot"', key: value})
    sites = "[[site]]\n" + "".join(f"{k} = {v}\n" for k, v in site.items())
    rules = "[[rule]]\n" + "".join(f"{k} = {v}\n" for k, v in rule.items())
    if model == "MoneyConfig":
        rules = f"[money]\n{key} = {value}\n\n{rules}"
    return sites, rules


def test_every_key_of_every_model_says_what_it_expects() -> None:
    fields = {(model.__name__, name) for model in (SiteConfig, Listing, RuleConfig, ThresholdConfig, MoneyConfig)
              for name in model.model_fields}
    assert fields == set(EXPECTED)


@pytest.mark.parametrize(("model", "key"), sorted(EXPECTED))
def test_no_pydantic_wording_for_any_bad_value(tmp_path: Path, model: str, key: str) -> None:
    seen = 0
    for number, value in enumerate([*BAD_VALUES, "{ EUR = true }", '{ EUR = "1" }', "{ ZZZ = 1.0 }"]):
        sites, rules = _with_key(model, key, value)
        folder = write_config(tmp_path / str(number), sites, rules)
        try:
            load_config(folder)
            continue
        except ConfigError as exc:
            problems = exc.problems
        seen += 1
        for problem in problems:
            assert problem.startswith((f"{folder}/sites.toml:", f"{folder}/rules.toml:")), problem
            words = problem.removeprefix(f"{folder}/")
            assert not any(word in words for word in PYDANTIC_WORDS), (value, problem)
            assert "\\\\" not in words, problem
        # Each names the key, or is a query error at a column of the query.
        assert any(key in problem or (key == "query" and ", column " in problem) for problem in problems), problems
    assert seen >= len(BAD_VALUES) // 2


def test_config_check_process_names_every_problem_of_both_files(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    sites = GOOD_SITE.replace('feeds = ["https://news.example.com/feed"]', 'feeds = "https://news.example.com/feed"')
    sites = sites.replace("delay = 2.5", 'delay = "2s"\nfeed = "x"\nenabled = "maybe"')
    folder = write_config(tmp_path / "cfg", sites, BROKEN_RULES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env["NEWSWATCH_DATA_DIR"] = str(tmp_path / "data")
    newswatch = Path(sys.executable).parent / "newswatch"
    result = subprocess.run(
        [str(newswatch), "config", "check", "--config", str(folder)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = [line.strip().removeprefix(f"{folder}/") for line in result.stderr.splitlines()]
    assert lines == [
        "configuration error:",
        "sites.toml:5: site 'example', key 'feeds': expected a list of URLs, "
        'e.g. feeds = ["https://news.example.com/feed"]; found "https://news.example.com/feed"',
        "sites.toml:10: site 'example', key 'feed': unknown key, did you mean 'feeds'? " + SITE_KEYS,
        "sites.toml:11: site 'example', key 'enabled': expected true or false (without quotes); found \"maybe\"",
        *BROKEN_RULES_PROBLEMS,
    ]
