"""Fetch one page over HTTP for the `extract` command (the project's only httpx use), with hard limits."""

from __future__ import annotations

import logging
import socket
from urllib.parse import urlsplit

import httpx

from crawler.netguard import is_public, literal_address, refusal
from crawler.scrapy_settings import USER_AGENT

logger = logging.getLogger(__name__)

MAX_BYTES = 16 * 1024 * 1024
TIMEOUT = httpx.Timeout(20.0, connect=10.0)


class FetchError(Exception):
    """A URL could not be fetched; the message names the URL and the reason."""


def private_reason(url: str) -> str | None:
    """Why ``url`` points at a private address (written as one, or a name resolving to one), or None.

    A name is checked on every address it resolves to now; httpx resolves it again to connect, so a name
    re-pointed in between is not caught here (the crawler's resolver closes that gap; this guards an
    operator's one-off command).
    """
    reason = refusal(url, frozenset())
    if reason:
        return reason
    host = (urlsplit(url).hostname or "").rstrip(".")
    if literal_address(host) is not None:
        return None
    try:
        answers = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None  # the fetch itself reports that the name does not resolve
    for *_, sockaddr in answers:
        if not is_public(str(sockaddr[0])):
            return f"{host} resolves to {sockaddr[0]}, not a public address"
    return None


def _refuse_private(request: httpx.Request) -> None:
    """httpx request hook (each redirect hop too): no request to a private address."""
    reason = private_reason(str(request.url))
    if reason:
        raise FetchError(f"{request.url}: refused: {reason} (--allow-private to fetch it anyway)")


def fetch_html(
    url: str, *, max_bytes: int = MAX_BYTES, client: httpx.Client | None = None, allow_private: bool = False
) -> tuple[str, bytes, str]:
    """GET ``url`` (http/https only, at most 5 redirects, ``max_bytes`` of body; no private address on any
    hop unless ``allow_private``).

    Returns (final URL, body, content type). Raises FetchError on any failure.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise FetchError(f"{url}: only http and https URLs can be fetched")
    own = client is None
    client = client or httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=True,
        max_redirects=5,
        headers={"User-Agent": USER_AGENT},
        event_hooks={"request": [] if allow_private else [_refuse_private]},
        trust_env=False,  # a proxy from the environment would resolve names out of the guard's sight
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
