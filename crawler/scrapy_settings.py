"""Scrapy settings for Newswatch crawls: polite, bounded and with every remote-control surface off."""

from __future__ import annotations

from typing import Any

from crawler import __version__

USER_AGENT = f"Newswatch/{__version__} (+https://github.com/newswatch/newswatch; news monitor)"

SCRAPY_SETTINGS: dict[str, Any] = {
    "BOT_NAME": "newswatch",
    "USER_AGENT": USER_AGENT,
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    # Politeness.
    "ROBOTSTXT_OBEY": True,
    "CONCURRENT_REQUESTS": 32,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
    "DOWNLOAD_DELAY": 1.0,  # overridden per site (the site's `delay`)
    "DOWNLOAD_DELAY_JITTER": 0.5,
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 1.0,
    "AUTOTHROTTLE_MAX_DELAY": 60.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0,
    "RETRY_ENABLED": True,
    "RETRY_TIMES": 2,
    "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
    # Bounds: a hostile or broken site cannot hold the crawl or fill memory.
    "DOWNLOAD_TIMEOUT": 30,
    "DOWNLOAD_MAXSIZE": 16 * 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 4 * 1024 * 1024,
    "REDIRECT_MAX_TIMES": 5,
    "METAREFRESH_ENABLED": False,
    "DEPTH_LIMIT": 3,
    "CLOSESPIDER_TIMEOUT": 3600,
    "MEMUSAGE_ENABLED": True,
    "MEMUSAGE_LIMIT_MB": 2048,
    # Surfaces we do not want: cookies, telnet, remote control, non-http schemes.
    "COOKIES_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    "DOWNLOAD_HANDLERS": {"data": None, "file": None, "s3": None, "ftp": None},
    # TLS certificates are verified (Scrapy does not by default); a site may opt out (`verify_tls = false`).
    "DOWNLOAD_VERIFY_CERTIFICATES": True,
    # Our own pipeline stores everything; no feed exports.
    "ITEM_PIPELINES": {"crawler.pipelines.StorePipeline": 300},
    # No request to a private address (crawler.netguard), checked before robots.txt (100) or anything else;
    # bytes as they arrive, before the HTTP cache (900) or decompression (590) stand in for them.
    # robots.txt that cannot be read (5xx, unreachable) means "crawl nothing" this run (RFC 9309).
    # Every request stays on the site's domains, redirect hops included (Scrapy's offsite filter skips
    # dont_filter requests, and all of ours are).
    # First of all, credentials leave the URLs (https://user:pass@host/feed.xml), sent as Authorization to
    # that origin only (crawler.credentials).
    "DOWNLOADER_MIDDLEWARES": {
        "crawler.credentials.SiteCredentialsMiddleware": 30,
        "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
        "crawler.scope.SiteScopeMiddleware": 40,
        "crawler.ssrf.PrivateNetworkMiddleware": 50,
        "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
        "crawler.robots.StrictRobotsTxtMiddleware": 100,
        "crawler.httpcache.WireBytesMiddleware": 950,
    },
    # A proxy would resolve host names itself, out of the private-network guard's sight.
    "HTTPPROXY_ENABLED": False,
    "CONCURRENT_ITEMS": 8,
    "LOG_LEVEL": "INFO",
    "LOG_INSTALL_ROOT_HANDLER": False,
}


def scrapy_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Newswatch Scrapy settings, with ``overrides`` applied on top."""
    settings = dict(SCRAPY_SETTINGS)
    settings.update(overrides or {})
    return settings
