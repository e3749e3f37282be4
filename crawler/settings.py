"""Deployment settings read from the environment (NEWSWATCH_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
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
    smtp_url: str | None = Field(
        default=None, description="smtp://user:pass@host:port, smtps://... or smtp+starttls://...; none: .eml files"
    )
    mail_from: str | None = Field(default=None, description="From address (default newswatch@localhost)")
    mail_to: str | None = Field(default=None, description="recipients of rules without their own, comma-separated")
    base_url: str | None = Field(default=None, description="URL of the review pages, for links in emails")
    digest_cron: str = Field(default="0 8 * * *", description="when digests go out (crontab: min hour dom mon dow)")
    digest_tz: str = Field(default="UTC", description="time zone of digest_cron, e.g. Asia/Tokyo")
    digest_max_stories: int = Field(default=30, ge=1, le=1000, description="stories listed per digest")
    max_mails_per_hour: int = Field(
        default=60, ge=0, description="instant emails per recipient and hour (the last sums up the rest); 0: no cap"
    )
    smtp_timeout: float = Field(default=30.0, gt=0, le=600, description="seconds per SMTP operation")
    webhooks: str | None = Field(
        default=None, description="chat / JSON webhooks: 'RULE=URL' or '*=URL' entries, separated by spaces or commas"
    )
    send_lease: float = Field(
        default=600.0, ge=0, description="seconds after which a message left 'sending' by a dead sender is retried"
    )
    log_level: str = "INFO"
    log_format: str = Field(
        default="auto", pattern="^(auto|json|text)$", description="auto: JSON lines when stderr is not a terminal"
    )
    # The service (`newswatch run`)
    min_interval: str = Field(default="1m", description="shortest crawl interval sites.toml may ask for")
    crawl_timeout: str = Field(default="1h", description="a crawl running longer is stopped (per-site `timeout`)")
    max_concurrent_crawls: int = Field(default=4, ge=1, le=64, description="crawls running at the same time")
    shutdown_timeout: float = Field(default=30.0, ge=1, le=3600, description="seconds running work gets on SIGTERM")
    send_interval: str = Field(default="1m", description="how often the service delivers due messages")
    heartbeat_interval: float = Field(default=30.0, gt=0, le=3600, description="seconds between service heartbeats")
    # Source health and operator alerts
    ops_mail_to: str | None = Field(default=None, description="operator alerts to (default: NEWSWATCH_MAIL_TO)")
    ops_fail_after: int = Field(default=3, ge=1, le=1000, description="failed crawls in a row: site broken")
    silent_factor: float = Field(default=4.0, ge=1, description="silent: nothing new for this many usual gaps")
    silent_min: str = Field(default="12h", description="silent: and nothing new for at least this long")
    # Retention
    keep_article_text: str = Field(default="180d", description="article bodies older than this are removed ('forever')")
    keep_crawl_runs: str = Field(default="90d", description="crawl-run records older than this are removed ('forever')")
    # Crawling
    extract_workers: int | None = Field(
        default=None, ge=0, le=64, description="extraction worker processes (default: one per core; 0: none)"
    )
    # Scale-out (newswatch worker, newswatch run --distributed)
    redis_url: str | None = Field(
        default=None, description="Redis shared by the workers, e.g. redis://:password@127.0.0.1:6379/0"
    )
    redis_prefix: str = Field(default="newswatch", description="prefix of every Redis key Newswatch uses")
    distributed: bool = Field(default=False, description="`newswatch run` crawls through the workers (--distributed)")
    # The web page
    web_host: str = Field(default="127.0.0.1", description="address `newswatch web` / `run --web` listens on")
    web_port: int = Field(default=8080, ge=1, le=65535, description="port of the web page")
    web_password: str | None = Field(
        default=None, description="password of the web page; required to listen on a non-loopback address"
    )
    web_secret: str | None = Field(
        default=None, description="key signing web sessions and CSRF tokens (default: one kept in the data folder)"
    )

    @property
    def http_cache_dir(self) -> Path:
        """Where feeds, sitemaps and listing pages are kept for conditional re-fetching."""
        return self.data_dir / "httpcache"

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'newswatch.db'}"


class SettingsError(Exception):
    """A NEWSWATCH_* environment variable has a value that cannot be used; the message names it."""


def load_settings(config_dir: Path | None = None) -> Settings:
    """Settings from the environment; ``config_dir`` (the ``--config`` option) wins over NEWSWATCH_CONFIG.
    Raises SettingsError naming each bad variable."""
    try:
        settings = Settings()
    except ValidationError as exc:
        from crawler.envfile import origin_of

        problems = []
        for error in exc.errors():
            name = f"NEWSWATCH_{'_'.join(str(part) for part in error['loc']).upper()}"
            origin = origin_of(name)
            where = f" (set in {origin})" if origin else ""
            problems.append(f"{name}={error.get('input')!r}{where}: {error['msg']}")
        raise SettingsError("; ".join(problems)) from None
    if config_dir is not None:
        settings = settings.model_copy(update={"config": config_dir})
    return settings
