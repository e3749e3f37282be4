"""Web security: signed session cookies, CSRF tokens with Origin checks, login rate limits, security headers.

- Sessions and CSRF tokens are HMAC-SHA256 signatures with the web secret (NEWSWATCH_WEB_SECRET, else a random
  key kept in the data folder), so no server-side session store is needed.
- Every POST must carry the CSRF token of the browser's ``nw_csrf`` cookie (form field ``csrf_token`` or header
  ``X-CSRF-Token``) and, when the browser says where it comes from (Origin, else Referer), come from this site.
- Without a password the page answers only to loopback host names (no DNS rebinding from a web page).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

SESSION_COOKIE = "nw_session"
CSRF_COOKIE = "nw_csrf"
SESSION_SECONDS = 14 * 24 * 3600
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # following an article link never tells the news site our review URL
    "Cross-Origin-Opener-Policy": "same-origin",
}


class WebConfigError(Exception):
    """The web page cannot start as configured (e.g. a public address without a password)."""


def is_loopback(host: str) -> bool:
    """True for loopback addresses and ``localhost``."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, password: str | None) -> None:
    """Refuse to serve on a non-loopback address without a password (WebConfigError says what to do)."""
    if not is_loopback(host) and not password:
        raise WebConfigError(
            f"refusing to listen on {host}: the review page would be open to the network. "
            "Set NEWSWATCH_WEB_PASSWORD (and NEWSWATCH_BASE_URL), or listen on 127.0.0.1"
        )


def _stored_key(path: Path) -> bytes:
    """The key kept in ``path``; ValueError when it is not hex or too short (an empty file is no key)."""
    key = bytes.fromhex(path.read_text().strip())
    if len(key) < 16:
        raise ValueError(f"{path}: too short for a signing key")
    return key


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The signing key: NEWSWATCH_WEB_SECRET, else one kept in ``data_dir/web-secret`` (created 0600)."""
    if configured:
        return configured.encode()
    path = data_dir / "web-secret"
    try:
        return _stored_key(path)
    except (OSError, ValueError):
        pass
    key = secrets.token_bytes(32)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key.hex())
    except FileExistsError:  # another process wrote it first: use theirs
        try:
            return _stored_key(path)
        except (OSError, ValueError):  # damaged (empty, edited): never sign with it, never overwrite it
            logger.warning("%s is not a usable web secret (delete it): sessions end when the process does", path)
    except OSError as exc:
        logger.warning("cannot keep the web secret in %s (%s): sessions end when the process does", path, exc)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Signer:
    """HMAC signatures of small values with the web secret."""

    key: bytes

    def mac(self, purpose: str, value: str) -> str:
        return _b64(hmac.new(self.key, f"{purpose}:{value}".encode(), hashlib.sha256).digest())

    def session_cookie(self, user: str, now: float) -> str:
        """A signed session value for ``user`` valid for :data:`SESSION_SECONDS`."""
        payload = _b64(json.dumps({"u": user, "exp": int(now + SESSION_SECONDS)}).encode())
        return f"{payload}.{self.mac('session', payload)}"

    def session_user(self, cookie: str | None, now: float) -> str | None:
        """The user of a valid, unexpired session cookie; None otherwise."""
        if not cookie or "." not in cookie:
            return None
        payload, signature = cookie.rsplit(".", 1)
        if not hmac.compare_digest(signature, self.mac("session", payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), int) or data["exp"] < now:
            return None
        user = data.get("u")
        return user if isinstance(user, str) else None

    def csrf_token(self, browser_id: str) -> str:
        """The CSRF token that goes with a browser's ``nw_csrf`` cookie."""
        return self.mac("csrf", browser_id)

    def csrf_ok(self, browser_id: str | None, token: str | None) -> bool:
        if not browser_id or not token:
            return False
        return hmac.compare_digest(token, self.csrf_token(browser_id))


def new_browser_id() -> str:
    """A random id for the ``nw_csrf`` cookie."""
    return secrets.token_urlsafe(24)


def origin_ok(origin: str | None, referer: str | None, host: str | None, allowed: Iterable[str]) -> bool:
    """Whether a POST comes from this site: its Origin (else Referer) names the Host it was sent to, or one of
    ``allowed`` origins. A request naming neither (a script, not a browser) passes on its CSRF token alone."""
    source = origin if origin not in (None, "") else referer
    if source in (None, ""):
        return True
    if source == "null":
        return False
    parts = urlsplit(source)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if host and parts.netloc.lower() == host.lower():
        return True
    return f"{parts.scheme}://{parts.netloc}".lower() in {a.rstrip("/").lower() for a in allowed}


def host_allowed(host_header: str | None, allowed_hosts: Iterable[str]) -> bool:
    """Whether the Host header names one of ``allowed_hosts`` (port ignored)."""
    if not host_header:
        return False
    name = host_header.strip().lower()
    if name.startswith("["):
        name = name[: name.find("]") + 1] if "]" in name else name
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    return name in {h.lower() for h in allowed_hosts}


@dataclass
class LoginLimiter:
    """Failed logins allowed per client address (``per_client`` within ``window`` seconds) and in all
    (``overall``, against guessing from many addresses); beyond that, logins wait."""

    per_client: int = 5
    overall: int = 50
    window: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _prune(self, queue: deque[float], now: float) -> None:
        while queue and queue[0] <= now - self.window:
            queue.popleft()

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            queue = self._failures.get(client, deque())
            self._prune(queue, now)
            self._prune(self._all, now)
            waits = []
            if len(queue) >= self.per_client:
                waits.append(queue[0] + self.window - now)
            if len(self._all) >= self.overall:
                waits.append(self._all[0] + self.window - now)
            return max(waits, default=0.0)

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            self._failures.setdefault(client, deque()).append(now)
            self._all.append(now)
            if len(self._failures) > 10_000:  # forget the quietest clients rather than grow without bound
                for key in [k for k, q in self._failures.items() if not q or q[-1] <= now - self.window]:
                    del self._failures[key]

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


def password_ok(given: str, expected: str) -> bool:
    """Constant-time comparison of passwords."""
    return hmac.compare_digest(given.encode(), expected.encode())
