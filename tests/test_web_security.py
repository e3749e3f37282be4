"""The signing and checking logic behind the web page's access control (crawler.web.security)."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from crawler.web.security import (
    SESSION_SECONDS,
    LoginLimiter,
    Signer,
    WebConfigError,
    check_bind,
    host_allowed,
    is_loopback,
    load_secret,
    new_browser_id,
    origin_ok,
    password_ok,
)

NOW = 1_800_000_000.0
SIGNER = Signer(b"k" * 32)


# --------------------------------------------------------------------------- sessions and CSRF tokens


def test_session_cookie_round_trip_and_expiry() -> None:
    cookie = SIGNER.session_cookie("reviewer", NOW)
    assert SIGNER.session_user(cookie, NOW) == "reviewer"
    assert SIGNER.session_user(cookie, NOW + SESSION_SECONDS - 1) == "reviewer"
    assert SIGNER.session_user(cookie, NOW + SESSION_SECONDS + 1) is None


def _payload(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_tampered_session_cookies_are_refused() -> None:
    cookie = SIGNER.session_cookie("reviewer", NOW)
    payload, signature = cookie.rsplit(".", 1)
    longer = _payload({"u": "reviewer", "exp": int(NOW + 10 * SESSION_SECONDS)})
    for bad in [
        f"{longer}.{signature}",  # a later expiry under the old signature
        f"{payload}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{payload}.",
        payload,
        "",
        None,
        ".",
        Signer(b"other key").session_cookie("reviewer", NOW),  # another deployment's secret
    ]:
        assert SIGNER.session_user(bad, NOW) is None, bad


@pytest.mark.parametrize(
    "data", [["reviewer"], {"u": "reviewer"}, {"u": "reviewer", "exp": "never"}, {"u": 5, "exp": 2_000_000_000}]
)
def test_signed_but_malformed_sessions_are_refused(data: object) -> None:
    payload = _payload(data)
    assert SIGNER.session_user(f"{payload}.{SIGNER.mac('session', payload)}", NOW) is None


def test_signed_garbage_is_refused_without_error() -> None:
    payload = "not-json!"
    assert SIGNER.session_user(f"{payload}.{SIGNER.mac('session', payload)}", NOW) is None


def test_csrf_token_belongs_to_its_browser() -> None:
    browser = new_browser_id()
    token = SIGNER.csrf_token(browser)
    assert SIGNER.csrf_ok(browser, token)
    assert not SIGNER.csrf_ok(new_browser_id(), token)
    assert not SIGNER.csrf_ok(browser, token[:-1])
    assert not SIGNER.csrf_ok(browser, Signer(b"other key").csrf_token(browser))
    assert not SIGNER.csrf_ok(None, token) and not SIGNER.csrf_ok(browser, None) and not SIGNER.csrf_ok(browser, "")
    # a CSRF token is no session cookie, and the other way round (the purposes differ)
    assert SIGNER.mac("csrf", browser) != SIGNER.mac("session", browser)
    assert len({new_browser_id() for _ in range(100)}) == 100


def test_password_comparison() -> None:
    assert password_ok("secret", "secret")
    for wrong in ("secret ", "", "Secret", "secre"):
        assert not password_ok(wrong, "secret")
    assert password_ok("pässwörd", "pässwörd")


# --------------------------------------------------------------------------- origins and hosts


@pytest.mark.parametrize(
    ("origin", "referer", "host", "allowed", "ok"),
    [
        (None, None, "127.0.0.1:8080", [], True),  # a script, not a browser: the token decides
        ("", "", "127.0.0.1:8080", [], True),
        ("http://127.0.0.1:8080", None, "127.0.0.1:8080", [], True),
        ("HTTP://LOCALHOST:8080", None, "localhost:8080", [], True),
        (None, "http://127.0.0.1:8080/stories/3", "127.0.0.1:8080", [], True),
        ("https://news.example.com", None, "10.0.0.5:8080", ["https://news.example.com/"], True),  # behind a proxy
        ("https://evil.example", None, "127.0.0.1:8080", [], False),
        ("http://127.0.0.1:9999", None, "127.0.0.1:8080", [], False),
        ("null", None, "127.0.0.1:8080", [], False),
        ("null", "http://127.0.0.1:8080/", "127.0.0.1:8080", [], False),
        (None, "https://evil.example/x", "127.0.0.1:8080", [], False),
        ("https://evil.example", "http://127.0.0.1:8080/", "127.0.0.1:8080", [], False),
        ("http://news.example.com", None, "x", ["https://news.example.com"], False),  # scheme matters
        ("file://", None, "127.0.0.1:8080", [], False),
        ("javascript:alert(1)", None, "127.0.0.1:8080", [], False),
        ("http://127.0.0.1:8080", None, None, [], False),
    ],
)
def test_origin_ok(origin: str | None, referer: str | None, host: str | None, allowed: list[str], ok: bool) -> None:
    assert origin_ok(origin, referer, host, allowed) is ok


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("127.0.0.1", True),
        ("127.0.0.1:8080", True),
        ("localhost:8080", True),
        ("LocalHost", True),
        ("[::1]:8080", True),
        ("[::1]", True),
        ("::1", True),
        ("news.example.com:443", True),
        ("evil.example", False),
        ("127.0.0.1.evil.example", False),
        ("localhost.evil.example:8080", False),
        ("[::2]:8080", False),
        ("", False),
        (None, False),
    ],
)
def test_host_allowed(header: str | None, ok: bool) -> None:
    assert host_allowed(header, ["localhost", "127.0.0.1", "::1", "[::1]", "news.example.com"]) is ok


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("127.255.255.254", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        (" LOCALHOST ", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.1", False),
        ("192.168.1.2", False),
        ("example.com", False),
        ("localhost.example.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_check_bind() -> None:
    check_bind("127.0.0.1", None)
    check_bind("localhost", "")
    check_bind("::1", None)
    check_bind("0.0.0.0", "a password")
    for host in ("0.0.0.0", "::", "10.0.0.1", "example.com"):
        for password in (None, ""):
            with pytest.raises(WebConfigError, match="NEWSWATCH_WEB_PASSWORD") as caught:
                check_bind(host, password)
            assert f"refusing to listen on {host}" in str(caught.value)


# --------------------------------------------------------------------------- the secret


def test_load_secret_prefers_the_setting(tmp_path: Path) -> None:
    assert load_secret("from the environment", tmp_path / "data") == b"from the environment"
    assert not (tmp_path / "data").exists()


def test_load_secret_creates_a_private_file_and_reuses_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = load_secret(None, data)
    path = data / "web-secret"
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert bytes.fromhex(path.read_text()) == first
    assert load_secret(None, data) == first  # sessions survive a restart
    assert load_secret("", data) == first
    assert load_secret(None, tmp_path / "elsewhere") != first


@pytest.mark.parametrize("content", ["not hex", "", "\n", "00ff"])
def test_a_damaged_secret_file_is_neither_used_nor_overwritten(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "web-secret"
    path.write_text(content)
    key = load_secret(None, tmp_path)
    assert len(key) == 32  # never an empty or short key anyone could sign with
    assert path.read_text() == content  # someone else's file is left alone
    assert "is not a usable web secret" in caplog.text


def test_load_secret_without_a_writable_folder_still_works(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert len(load_secret(None, blocker / "data")) == 32  # in memory only (a warning is logged)


# --------------------------------------------------------------------------- login rate limit


class Clock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_waits_after_too_many_failures_then_forgets() -> None:
    clock = Clock()
    limiter = LoginLimiter(per_client=3, window=60.0, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("a") == 0
        limiter.failed("a")
        clock.now += 1
    assert limiter.retry_after("a") == pytest.approx(57.0)  # the first failure leaves the window at 5060
    assert limiter.retry_after("b") == 0  # another client is not affected
    clock.now += 56.5
    assert limiter.retry_after("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.retry_after("a") == 0  # the oldest failure left the window
    limiter.failed("a")
    assert limiter.retry_after("a") > 0  # three within the window again


def test_limiter_success_clears_a_client() -> None:
    clock = Clock()
    limiter = LoginLimiter(per_client=2, window=60.0, clock=clock)
    limiter.failed("a")
    limiter.succeeded("a")
    limiter.failed("a")
    assert limiter.retry_after("a") == 0
    limiter.failed("a")
    assert limiter.retry_after("a") == pytest.approx(60.0)


def test_limiter_overall_cap_stops_guessing_from_many_addresses() -> None:
    clock = Clock()
    limiter = LoginLimiter(per_client=5, overall=4, window=100.0, clock=clock)
    for n in range(4):
        limiter.failed(f"10.0.0.{n}")
        clock.now += 10
    assert limiter.retry_after("10.0.0.99") == pytest.approx(60.0)
    clock.now += 60
    assert limiter.retry_after("10.0.0.99") == 0
