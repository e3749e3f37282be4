"""Deployment settings read from the environment (NEWSWATCH_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the configuration and the data live, and how mail goes out.

    Every field can be set as an environment variable with the ``NEWSWATCH_`` prefix,
    e.g. ``NEWSWATCH_DATABASE_URL=postgresql+psycopg://user@host/db``.
    """

    model_config = SettingsConfigDict(env_prefix="NEWSWATCH_", extra="ignore")

    config: Path = Field(default=Path("config"), description="folder holding sites.toml and rules.toml")
    data_dir: Path = Field(default=Path("data"), description="folder for the SQLite database and outbox")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/newswatch.db"
    )
    smtp_url: str | None = None
    mail_from: str | None = None
    mail_to: str | None = None
    log_level: str = "INFO"

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'newswatch.db'}"


def load_settings(config_dir: Path | None = None) -> Settings:
    """Settings from the environment; ``config_dir`` (the ``--config`` option) wins over NEWSWATCH_CONFIG."""
    settings = Settings()
    if config_dir is not None:
        settings = settings.model_copy(update={"config": config_dir})
    return settings
