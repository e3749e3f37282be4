"""The README's "five minutes" section, followed as printed against a local site: from nothing to an alert."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.demo.server import SampleSite
from tests.conftest import REPO

README = REPO / "README.md"
SECTION = "## Watch your own topic in five minutes"
LONG_RUNNING = ("run --web",)  # a service until Ctrl-C: tests/test_service.py runs it


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", section(), flags=re.S)


def commands() -> list[list[str]]:
    """Every `.venv/bin/newswatch ...` line of the section's shell blocks, comments dropped, as argv."""
    found = []
    for block in blocks("sh"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(".venv/bin/newswatch "):
                found.append(shlex.split(line)[1:])
    return found


def test_the_section_has_a_site_a_rule_and_the_commands() -> None:
    tables = [tomllib.loads(block) for block in blocks("toml")]
    assert [next(iter(t)) for t in tables] == ["site", "rule"]
    verbs = [" ".join(argv[:2]) for argv in commands()]
    for wanted in ("config check", "rules test", "crawl my-news", "review list", "run --web", "status"):
        assert any(v.startswith(wanted) for v in verbs), (wanted, verbs)


def test_a_newcomer_follows_the_section_to_an_alert(tmp_path: Path) -> None:
    site_table, rule_table = (tomllib.loads(block) for block in blocks("toml"))
    shutil.copytree(REPO / "config", tmp_path / "config")
    # The shipped sites are real ones: off here, as the section tells a reader who does not want them.
    sites = (tmp_path / "config" / "sites.toml").read_text(encoding="utf-8")
    sites = re.sub(r'^(id = "[^"]+")$', r"\1\nenabled = false", sites, flags=re.M)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env["COLUMNS"] = "200"

    def newswatch(*argv: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "crawler", *argv], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=300)
        assert "Traceback" not in result.stderr, (argv, result.stderr)
        return result

    with SampleSite(now=datetime.now(UTC)) as site:
        # Step 1 as written, with the section's advice for a site on one's own machine.
        site_block, rule_block = blocks("toml")
        local = site_block.replace("https://news.example.com/feed", f"{site.base_url}/feed.xml")
        local += "allow_private_network = true\ndelay = 0\n"
        (tmp_path / "config" / "sites.toml").write_text(f"{sites}\n{local}", encoding="utf-8")
        rules = (tmp_path / "config" / "rules.toml").read_text(encoding="utf-8")
        (tmp_path / "config" / "rules.toml").write_text(f"{rules}\n{rule_block}", encoding="utf-8")
        assert newswatch("demo").returncode == 0  # the quick start came first

        for argv in commands():
            if any(" ".join(argv).startswith(skip) for skip in LONG_RUNNING):
                continue
            result = newswatch(*argv)
            assert result.returncode == 0, (argv, result.stdout, result.stderr)
            if argv[:2] == ["config", "check"]:
                assert "OK" in result.stdout
            if argv[:2] == ["rules", "test"]:
                assert "MATCH" in result.stdout  # the demo's robot stories
            if argv[:2] == ["review", "list"]:
                assert "robot-funding" in result.stdout
        assert site_table["site"][0]["id"] == "my-news" and rule_table["rule"][0]["id"] == "robot-funding"

        # A new story on the site: the next crawl alerts it, as an .eml file in data/outbox.
        body = "\n\n".join(
            f"Automata Kitchens, whose robots cook in {n + 3} restaurant chains, has raised $90m in a funding round "
            f"to open a second factory in Lyon and hire {40 + n} engineers for its fryer and grill robots."
            for n in range(6)
        )
        site.publish(dataclasses.replace(
            site.articles[0], slug="automata-raises-90m-for-kitchen-robots", body=body,
            title="Automata raises $90m for kitchen robots", teaser=body.split("\n\n")[0],
            published=datetime.now(UTC).replace(microsecond=0), softbank_investment=False,
        ))
        again = newswatch("crawl", "my-news")
        assert again.returncode == 0, again.stderr
    subjects = [
        line for path in (tmp_path / "data" / "outbox").glob("*-instant-*.eml")
        for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("Subject:")
    ]
    assert any("Robot funding" in s and "Automata" in s for s in subjects), subjects


@pytest.mark.parametrize("argv", commands(), ids=lambda argv: " ".join(argv))
def test_every_option_the_section_prints_exists(argv: list[str]) -> None:
    words = [a for a in argv if not a.startswith("-")]
    for depth in (2, 1):
        help_ = subprocess.run([sys.executable, "-m", "crawler", *words[:depth], "--help"], capture_output=True,
                               text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
        if help_.returncode == 0:
            break
    assert help_.returncode == 0, help_.stderr
    for option in (a.split("=")[0] for a in argv if a.startswith("--")):
        assert option in help_.stdout, (argv, option)


def test_the_example_site_of_the_configuration_guide_is_valid(tmp_path: Path) -> None:
    from crawler.config import load_config

    guide = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = next(b for b in re.findall(r"```toml\n(.*?)```", guide, flags=re.S) if "[[site]]" in b)
    shutil.copy(REPO / "config" / "rules.toml", tmp_path / "rules.toml")
    (tmp_path / "sites.toml").write_text(example, encoding="utf-8")
    (site,) = load_config(tmp_path).sites
    assert site.delay == 2.0 and [listing.url for listing in site.listings] == [
        "https://news.example.com/biz/", "https://news.example.com/tech/"
    ]
