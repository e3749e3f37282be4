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
