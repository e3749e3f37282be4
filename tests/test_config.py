"""Configuration loading: valid files load, every kind of mistake is named with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crawler.cli import app
from crawler.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]
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
        ('id = "example"', 'id = "Not A Slug"', "is not a slug"),
        ('every = "45m"', 'every = "soon"', "not a duration"),
        ("delay = 2.5", "delay = -1", "greater than or equal to 0"),
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


def test_toml_syntax_error_gives_line(tmp_path: Path) -> None:
    text = problems_for(tmp_path, GOOD_SITE + "\n[[site]\nid=\n")
    assert "sites.toml: TOML syntax error" in text
    assert "line" in text


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
    assert "key 'mode'" in text and "'instant' or 'digest'" in text
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
            "rules.toml:13: rule 'softbank', key 'threshold' [body]: Input should be greater",
        ),
        ("title = true, body = 3", "title = false", "key 'threshold': needs title = true or body >= 1"),
        ("title = true, body = 3", "titel = true", "key 'threshold' [titel]: unknown key"),
        ('threshold = { terms = "@softbank",', "threshold = { terms = 5,", "key 'threshold' [terms]"),
        (
            "'softbank OR \"vision",
            "'softbank OR (\"vision",
            "rules.toml:6: alias 'softbank', column 38: expected ')' to close '(' at column 13",
        ),
        ("deal = [", 'deal = ["(", ', "rules.toml:7: alias 'deal[1]', column 2: expected a term after '('"),
        ("deal = [", "deal = 5\nx = [", "rules.toml:7: alias 'deal': expected a query expression (a string)"),
        ("JPY = 0.007", "JPY = -1", "rules.toml:3: [money] key 'usd_rates': the rate of JPY must be a positive number"),
        ("JPY = 0.007", "XYZ = 1", "[money] key 'usd_rates': unknown currency 'XYZ'"),
        ("usd_rates", "rates", "rules.toml:3: [money] key 'rates': unknown key (allowed: usd_rates)"),
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
    assert "key 'webhooks'" in text and "not an absolute http(s) URL" in text


def test_rule_webhooks_reach_the_mail_configuration(tmp_path: Path) -> None:
    from crawler.alerts.mailconfig import MailConfig
    from crawler.settings import Settings

    rules = GOOD_RULES + 'webhooks = ["https://hooks.example.com/T000/B000"]\n'
    config = load_config(write_config(tmp_path, rules=rules))
    mail = MailConfig.from_settings(Settings(), config.rules)
    assert mail.webhooks_for("softbank") == ("https://hooks.example.com/T000/B000",)
