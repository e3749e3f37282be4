"""The crawl settings keep Scrapy polite and closed: robots.txt, limits, no cookies/telnet/remote control."""

from __future__ import annotations

from scrapy.settings import Settings

from crawler.config import SiteConfig
from crawler.crawl import site_settings
from crawler.scrapy_settings import scrapy_settings


def test_surfaces_are_off_and_limits_set() -> None:
    settings = scrapy_settings()
    assert settings["ROBOTSTXT_OBEY"] is True
    assert settings["COOKIES_ENABLED"] is False
    assert settings["TELNETCONSOLE_ENABLED"] is False
    assert settings["REMOTE_CONTROL_ENABLED"] is False
    assert settings["DOWNLOAD_MAXSIZE"] <= 32 * 1024 * 1024
    assert 0 < settings["DOWNLOAD_TIMEOUT"] <= 60
    assert settings["REDIRECT_MAX_TIMES"] <= 10
    handlers = settings["DOWNLOAD_HANDLERS"]
    assert all(handlers[scheme] is None for scheme in ("file", "data", "ftp", "s3"))


def test_overrides_and_site_delay() -> None:
    assert scrapy_settings({"DOWNLOAD_TIMEOUT": 5})["DOWNLOAD_TIMEOUT"] == 5
    site = SiteConfig.model_validate({"id": "s", "feeds": ["https://s.example/feed"], "delay": 7.5})
    per_site = site_settings(Settings(scrapy_settings()), site)
    assert per_site.getfloat("DOWNLOAD_DELAY") == 7.5


def test_credentials_leave_urls_before_any_other_middleware_sees_them() -> None:
    middlewares = {k: v for k, v in scrapy_settings()["DOWNLOADER_MIDDLEWARES"].items() if v is not None}
    first = min(middlewares, key=middlewares.__getitem__)
    assert first == "crawler.credentials.SiteCredentialsMiddleware"
    assert scrapy_settings()["HTTPPROXY_ENABLED"] is False  # nor a proxy's Proxy-Authorization
