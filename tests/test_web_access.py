"""Who may use the review page: CSRF on every POST, Origin checks, no state change on GET, the Host allow-list,
the password login with its rate limit, the bind check of `newswatch web`, and the security headers."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import fastapi.routing
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from crawler.config import Config
from crawler.models import TriageRow
from crawler.store import open_database
from crawler.web.security import CSRF_COOKIE, SESSION_COOKIE, LoginLimiter
from tests.service_harness import REPO, service_env
from tests.web_data import BASE, Seeded, form_token, seed, web_client, web_settings, write_web_config

PASSWORD = "correct horse battery"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass
class Site:
    engine: Engine
    db_url: str
    tmp_path: Path
    config: Config
    seeded: Seeded

    def client(self, limiter: LoginLimiter | None = None, **settings: object) -> TestClient:
        return web_client(self.engine, web_settings(self.tmp_path, self.db_url, **settings), self.config, limiter)

    def story(self, key: str = "kobo") -> str:
        return f"/stories/{self.seeded.ids[key]}"

    def verdicts(self) -> list[tuple[int, str]]:
        with Session(self.engine) as session:
            return [(row.article_id, row.state) for row in session.exec(select(TriageRow)).all()]


def _site(engine: Engine, db_url: str, tmp_path: Path) -> Site:
    config = write_web_config(tmp_path / "config")
    return Site(engine, db_url, tmp_path, config, seed(engine, config))


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    """The seeded site on SQLite (access control does not depend on the database)."""
    engine = open_database(sqlite_url)
    yield _site(engine, sqlite_url, tmp_path)
    engine.dispose()


@pytest.fixture
def any_site(engine: Engine, db_url: str, tmp_path: Path) -> Site:
    """The seeded site on SQLite and on PostgreSQL."""
    return _site(engine, db_url, tmp_path)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------- CSRF and origins


def test_triage_without_token_is_refused(any_site: Site) -> None:
    client = any_site.client()
    path = any_site.story()
    client.get(path)  # the browser has its CSRF cookie, but the form carries no token
    response = client.post(f"{path}/triage", data={"state": "relevant"}, headers={"accept": "text/html"})
    assert response.status_code == 403
    assert "reload the page and try again" in response.text
    fresh = any_site.client()  # no cookie either
    assert fresh.post(f"{path}/triage", data={"state": "relevant"}).status_code == 403
    assert any_site.verdicts() == []


def test_token_of_another_browser_is_refused(site: Site) -> None:
    path = site.story()
    token = form_token(site.client(), path)
    other = site.client()
    other.get(path)
    response = other.post(f"{path}/triage", data={"state": "relevant", "csrf_token": token})
    assert response.status_code == 403
    assert other.post(f"{path}/triage", data={"state": "relevant"}, headers={"X-CSRF-Token": token}).status_code == 403
    assert site.verdicts() == []


@pytest.mark.parametrize(
    ("headers", "accepted"),
    [
        ({"origin": "https://evil.example"}, False),
        ({"origin": "http://127.0.0.1:9999"}, False),  # another port is another origin
        ({"origin": "null"}, False),  # sandboxed frames, data: URLs
        ({"referer": "https://evil.example/page"}, False),
        ({"origin": "https://evil.example", "referer": f"{BASE}/stories"}, False),  # Origin wins
        ({"origin": BASE}, True),
        ({"referer": f"{BASE}/stories/1"}, True),
        ({}, True),  # no Origin, no Referer: a script, and the token decides
    ],
)
def test_a_valid_token_counts_only_from_our_own_origin(site: Site, headers: dict[str, str], accepted: bool) -> None:
    client = site.client()
    path = site.story()
    token = form_token(client, path)
    response = client.post(f"{path}/triage", data={"state": "relevant", "csrf_token": token}, headers=headers)
    if accepted:
        assert response.status_code == 303
        assert site.verdicts() == [(site.seeded.ids["kobo"], "relevant")]
    else:
        assert response.status_code == 403
        assert "cross-site request refused" in response.text
        assert site.verdicts() == []


def test_get_never_changes_state(any_site: Site) -> None:
    client = any_site.client()
    path = any_site.story()
    token = form_token(client, path)
    for method in ("GET", "HEAD"):
        response = client.request(
            method, f"{path}/triage", params={"state": "relevant", "note": "x", "csrf_token": token}
        )
        assert response.status_code == 405
    assert client.get("/logout").status_code == 405
    assert any_site.verdicts() == []


def _post_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) of the application that is not a safe method, path parameters filled in (routes
    of included routers too: newer FastAPI versions keep them behind the router, iter_route_contexts opens it)."""
    app = cast(FastAPI, client.app)
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    routes: list[Any] = list(walk(app.routes)) if walk else list(app.routes)
    found = []
    for route in routes:
        methods: set[str] = getattr(route, "methods", None) or set()
        path: str | None = getattr(route, "path", None)
        if path is None:
            continue
        for method in sorted(methods - SAFE_METHODS):
            found.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return found


@pytest.mark.parametrize("password", [None, PASSWORD])
def test_every_state_changing_route_requires_the_token(site: Site, password: str | None) -> None:
    client = site.client(web_password=password)
    if password:  # logged in, so that the CSRF check (not the login check) is what refuses
        client.headers["Authorization"] = f"Bearer {password}"
    routes = _post_routes(client)
    assert {("POST", "/login"), ("POST", "/logout"), ("POST", "/stories/1/triage")} <= set(routes)
    client.get("/stories")  # the CSRF cookie
    assert client.cookies.get(CSRF_COOKIE)
    form = {"state": "relevant", "note": "x", "password": password or "", "next": "/stories"}
    for method, path in routes:
        for data in (None, form):
            response = client.request(method, path, data=data)
            assert response.status_code == 403, f"{method} {path} without a CSRF token: {response.status_code}"
    assert site.verdicts() == []


# --------------------------------------------------------------------------- hosts


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "evil.example:8080", ""])
def test_unknown_host_is_refused_without_password(site: Site, host: str) -> None:
    client = site.client()
    response = client.get("/stories", headers={"host": host})
    assert response.status_code == 400
    assert "unknown host" in response.text
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("host", ["localhost:8080", "127.0.0.1", "[::1]:8080", "LOCALHOST"])
def test_loopback_hosts_are_served(site: Site, host: str) -> None:
    assert site.client().get("/stories", headers={"host": host}).status_code == 200


def test_base_url_host_is_served(site: Site) -> None:
    client = site.client(base_url="http://news.internal:8080")
    assert client.get("/stories", headers={"host": "news.internal:8080"}).status_code == 200
    assert client.get("/stories", headers={"host": "evil.example"}).status_code == 400


# --------------------------------------------------------------------------- password and login


def test_password_protects_every_page(site: Site) -> None:
    client = site.client(web_password=PASSWORD)
    for path, target in [
        ("/stories", "/login?next=%2Fstories"),
        ("/stories?rule=chips", "/login?next=%2Fstories%3Frule%3Dchips"),
        (site.story(), f"/login?next=%2Fstories%2F{site.seeded.ids['kobo']}"),
        ("/rules", "/login?next=%2Frules"),
        ("/sources", "/login?next=%2Fsources"),
        ("/export.csv", "/login?next=%2Fexport.csv"),
        ("/export.json", "/login?next=%2Fexport.json"),
    ]:
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == target
    assert "Kobo" not in client.get("/export.csv").text
    post = client.post(f"{site.story()}/triage", data={"state": "relevant"})
    assert post.status_code == 401 and "log in first" in post.text
    login = client.get("/login")
    assert login.status_code == 200 and 'type="password"' in login.text
    assert client.get("/healthz").status_code == 200  # probes need no password
    assert client.get("/static/style.css").status_code == 200
    # any host is fine once a password guards the page (it sits behind a proxy with its own name)
    assert client.get("/login", headers={"host": "news.example.com"}).status_code == 200


def test_login_with_rate_limit_session_and_logout(site: Site) -> None:
    clock = FakeClock()
    client = site.client(LoginLimiter(clock=clock), web_password=PASSWORD)
    token = form_token(client, "/login")

    def login(password: str, next_page: str = "/rules") -> httpx.Response:
        return client.post("/login", data={"password": password, "next": next_page, "csrf_token": token})

    for _ in range(5):
        wrong = login("guess")
        assert wrong.status_code == 401
        assert "Wrong password." in wrong.text
    blocked = login("guess")
    assert blocked.status_code == 429
    retry_after = int(blocked.headers["retry-after"])
    assert 0 < retry_after <= 301
    assert login(PASSWORD).status_code == 429  # even the right one waits
    assert SESSION_COOKIE not in client.cookies

    clock.now += retry_after
    response = login(PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/rules"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/stories")
    assert page.status_code == 200 and "Kobo Robotics" in page.text
    assert 'action="/logout"' in page.text

    # a successful login clears the failures: five more tries before the next wait
    for _ in range(5):
        assert login("guess").status_code == 401
    assert login("guess").status_code == 429

    logout = client.post("/logout", data={"csrf_token": form_token(client, "/stories")})
    assert logout.status_code == 303 and logout.headers["location"] == "/login"
    assert client.get("/stories").status_code == 303


def test_login_redirects_stay_on_this_site(site: Site) -> None:
    client = site.client(web_password=PASSWORD)
    token = form_token(client, "/login")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = client.post("/login", data={"password": PASSWORD, "next": target, "csrf_token": token})
        assert response.status_code == 303
        assert response.headers["location"] == "/stories"


def test_forged_or_foreign_session_cookie_is_refused(site: Site, tmp_path: Path) -> None:
    client = site.client(web_password=PASSWORD)
    token = form_token(client, "/login")
    client.post("/login", data={"password": PASSWORD, "csrf_token": token})
    good = client.cookies[SESSION_COOKIE]
    payload, signature = good.rsplit(".", 1)
    forged = site.client(web_password=PASSWORD)
    forged.cookies.set(SESSION_COOKIE, f"{payload}.{signature[:-2]}xx")
    assert forged.get("/stories").status_code == 303
    # a session signed with another deployment's secret
    foreign = site.client(web_password=PASSWORD, web_secret="another secret")
    foreign.cookies.set(SESSION_COOKIE, good)
    assert foreign.get("/stories").status_code == 303


def test_bearer_token_opens_the_pages(site: Site) -> None:
    client = site.client(web_password=PASSWORD)
    response = client.get("/stories", headers={"Authorization": f"Bearer {PASSWORD}"})
    assert response.status_code == 200 and "Kobo Robotics" in response.text
    export = client.get("/export.json", headers={"Authorization": f"Bearer {PASSWORD}"})
    assert export.status_code == 200 and export.json()
    assert client.get("/stories", headers={"Authorization": "Bearer wrong"}).status_code == 303
    assert client.get("/stories", headers={"Authorization": f"Basic {PASSWORD}"}).status_code == 303


# --------------------------------------------------------------------------- the bind check


@pytest.mark.parametrize(
    ("args", "settings"),
    [
        (["web", "--host", "0.0.0.0"], {}),
        (["web"], {"web_host": "192.0.2.10"}),
        (["run", "--web"], {"web_host": "0.0.0.0"}),
    ],
)
def test_public_address_without_password_does_not_start(
    tmp_path: Path, args: list[str], settings: dict[str, str]
) -> None:
    config = write_web_config(tmp_path / "config").folder
    env = service_env(tmp_path, config, web_port=1, **settings)
    result = subprocess.run(
        [sys.executable, "-m", "crawler", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert "refusing to listen on" in message and "NEWSWATCH_WEB_PASSWORD" in message
    assert "Serving on" not in result.stdout
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- headers


def _responses(site: Site) -> dict[str, httpx.Response]:
    client = site.client()
    token = form_token(client, site.story())
    return {
        "list": client.get("/stories"),
        "story": client.get(site.story()),
        "rules": client.get("/rules", params={"test": "robots"}),
        "sources": client.get("/sources"),
        "not found": client.get("/stories/999999", headers={"accept": "text/html"}),
        "bad filter": client.get("/stories", params={"sort": "x"}),
        "redirect": client.get("/"),
        "csrf refusal": client.post(f"{site.story()}/triage", data={"state": "new"}),
        "triage": client.post(f"{site.story()}/triage", data={"state": "new", "csrf_token": token}),
        "host refusal": client.get("/stories", headers={"host": "evil.example"}),
        "export": client.get("/export.csv"),
        "healthz": client.get("/healthz"),
        "static": client.get("/static/style.css"),
    }


def test_security_headers_on_every_response(site: Site) -> None:
    for name, response in _responses(site).items():
        headers = response.headers
        policy = headers.get("content-security-policy", "")
        assert "default-src 'none'" in policy and "script-src 'self'" in policy, name
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, name
        assert "frame-ancestors 'none'" in policy and headers["x-frame-options"] == "DENY", name
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["referrer-policy"] == "no-referrer", name
        if name != "static":
            assert headers["cache-control"] == "no-store", name


def test_pages_need_no_inline_script_or_style(site: Site) -> None:
    """The policy forbids inline code: a page relying on it would silently break."""
    for name, response in _responses(site).items():
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        page = response.text
        assert not re.search(r"<script(?![^>]*\ssrc=)", page), name
        assert "<style" not in page and not re.search(r"\sstyle=", page), name
        assert not re.search(r"\son[a-z]+\s*=", page), name
        assert "javascript:" not in page, name


def test_csrf_cookie_is_http_only_and_strict(site: Site) -> None:
    response = site.client().get("/stories")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http on loopback: a Secure cookie would never come back
    https = site.client(base_url="https://news.example.com", web_password=PASSWORD)
    assert "Secure" in https.get("/login").headers["set-cookie"]
