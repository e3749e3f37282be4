"""Fetch one page over HTTP for the `extract` command (the project's only httpx use), with hard limits."""

from __future__ import annotations

import logging

import httpx

from crawler.scrapy_settings import USER_AGENT

logger = logging.getLogger(__name__)

MAX_BYTES = 16 * 1024 * 1024
TIMEOUT = httpx.Timeout(20.0, connect=10.0)


class FetchError(Exception):
    """A URL could not be fetched; the message names the URL and the reason."""


def fetch_html(url: str, *, max_bytes: int = MAX_BYTES, client: httpx.Client | None = None) -> tuple[str, bytes, str]:
    """GET ``url`` (http/https only, at most 5 redirects, ``max_bytes`` of body).

    Returns (final URL, body, content type). Raises FetchError on any failure.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise FetchError(f"{url}: only http and https URLs can be fetched")
    own = client is None
    client = client or httpx.Client(
        timeout=TIMEOUT, follow_redirects=True, max_redirects=5, headers={"User-Agent": USER_AGENT}
    )
    try:
        with client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise FetchError(f"{url}: HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise FetchError(f"{url}: response larger than {max_bytes} bytes")
            return str(response.url), bytes(body), response.headers.get("content-type", "")
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None
    finally:
        if own:
            client.close()
