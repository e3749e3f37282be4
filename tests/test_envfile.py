"""The `.env` file: the command line reads its NEWSWATCH_* lines as compose does, the environment winning."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.envfile import EnvFileError, load_env_file, origin_of
from tests.conftest import REPO


def _env(**extra: str) -> dict[str, str]:
    """The environment of a newswatch process that reads ./.env: no NEWSWATCH_* variable but ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update(extra)
    return env


def _newswatch(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args], cwd=cwd, env=env if env is not None else _env(),
        capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path


def test_the_cli_reads_dot_env_in_the_working_directory(workdir: Path) -> None:
    (workdir / ".env").write_text(
        "# as for docker compose\nexport NEWSWATCH_DATA_DIR=from-dotenv\nNEWSWATCH_WEB_PASSWORD='s3cret'\n"
        "PGHOST=somewhere-else\n",
        encoding="utf-8",
    )
    result = _newswatch(workdir, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "sqlite:///from-dotenv/newswatch.db" in result.stdout
    assert (workdir / "from-dotenv" / "newswatch.db").is_file()
    for command in (("config", "check"), ("status",)):  # which settings came from the file, not their values
        shown = _newswatch(workdir, *command)
        assert "settings from .env: NEWSWATCH_DATA_DIR, NEWSWATCH_WEB_PASSWORD" in shown.stdout, shown.stderr
        assert "s3cret" not in shown.stdout + shown.stderr


def test_the_environment_wins_over_dot_env(workdir: Path) -> None:
    (workdir / ".env").write_text("NEWSWATCH_DATA_DIR=from-dotenv\n", encoding="utf-8")
    result = _newswatch(workdir, "db", "upgrade", env=_env(NEWSWATCH_DATA_DIR="from-environment"))
    assert result.returncode == 0, result.stderr
    assert "sqlite:///from-environment/newswatch.db" in result.stdout
    assert not (workdir / "from-dotenv").exists()


def test_a_bad_value_in_dot_env_is_named_with_its_line(workdir: Path) -> None:
    (workdir / ".env").write_text("NEWSWATCH_DATA_DIR=data\n\nNEWSWATCH_WEB_PORT=eighty\n", encoding="utf-8")
    result = _newswatch(workdir, "status")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "NEWSWATCH_WEB_PORT='eighty' (set in .env:3)" in result.stderr


def test_settings_from_dot_env_reach_the_configuration_checks(workdir: Path) -> None:
    sites = workdir / "config" / "sites.toml"
    sites.write_text(sites.read_text(encoding="utf-8").replace('every = "30m"', 'every = "20s"', 1), encoding="utf-8")
    refused = _newswatch(workdir, "config", "check")
    assert refused.returncode == 2
    assert "shorter than 1m" in refused.stderr
    (workdir / ".env").write_text("NEWSWATCH_MIN_INTERVAL=10s\n", encoding="utf-8")
    accepted = _newswatch(workdir, "config", "check")
    assert accepted.returncode == 0, accepted.stderr


def test_another_file_or_none(workdir: Path) -> None:
    (workdir / ".env").write_text("NEWSWATCH_DATA_DIR=from-dotenv\n", encoding="utf-8")
    (workdir / "prod.env").write_text("NEWSWATCH_DATA_DIR=from-prod\n", encoding="utf-8")
    named = _newswatch(workdir, "db", "upgrade", env=_env(NEWSWATCH_ENV_FILE="prod.env"))
    assert "sqlite:///from-prod/newswatch.db" in named.stdout, named.stderr
    none = _newswatch(workdir, "db", "upgrade", env=_env(NEWSWATCH_ENV_FILE=""))
    assert "sqlite:///data/newswatch.db" in none.stdout, none.stderr
    missing = _newswatch(workdir, "db", "upgrade", env=_env(NEWSWATCH_ENV_FILE="nope.env"))
    assert missing.returncode == 2
    assert "nope.env: file not found (named by NEWSWATCH_ENV_FILE)" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_only_newswatch_variables_are_taken(tmp_path: Path) -> None:
    path = tmp_path / "app.env"
    path.write_text(
        "PGHOST=db.example.com\nHTTP_PROXY=http://proxy:3128\nNEWSWATCH_MAIL_TO=me@example.com\n"
        "NEWSWATCH_BASE_URL=https://${NEWSWATCH_MAIL_TO}\n",
        encoding="utf-8",
    )
    environ = {"NEWSWATCH_ENV_FILE": str(path), "NEWSWATCH_MAIL_TO": "already@example.com"}
    loaded = load_env_file(environ)
    assert set(loaded) == {"NEWSWATCH_BASE_URL"}
    assert environ["NEWSWATCH_MAIL_TO"] == "already@example.com"
    assert "PGHOST" not in environ and "HTTP_PROXY" not in environ
    assert str(origin_of("NEWSWATCH_BASE_URL")) == f"{path}:4"


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.env"
    path.write_bytes(b"NEWSWATCH_MAIL_TO=\xff\xfe\n")
    with pytest.raises(EnvFileError, match=r"bad\.env: cannot read"):
        load_env_file({"NEWSWATCH_ENV_FILE": str(path)})


def test_the_last_assignment_counts_and_lower_case_names_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "app.env"
    path.write_text("NEWSWATCH_MAIL_TO=first@example.com\nnewswatch_data_dir=lower\n"
                    "NEWSWATCH_MAIL_TO=second@example.com\n", encoding="utf-8")
    environ = {"NEWSWATCH_ENV_FILE": str(path), "newswatch_base_url": "https://set.example"}
    loaded = load_env_file(environ)
    assert environ["NEWSWATCH_MAIL_TO"] == "second@example.com"
    assert str(loaded["NEWSWATCH_MAIL_TO"]) == f"{path}:3"
    assert "newswatch_data_dir" not in environ and set(loaded) == {"NEWSWATCH_MAIL_TO"}
    path.write_text("NEWSWATCH_BASE_URL=https://from-file.example\n", encoding="utf-8")
    assert load_env_file(environ) == {}  # the environment has it, whatever its case
    with pytest.raises(EnvFileError, match="not a file"):
        load_env_file({"NEWSWATCH_ENV_FILE": str(tmp_path)})
