"""Who may use the web page: host check, login with rate limits, CSRF on every POST, security headers.

Thin FastAPI glue over :mod:`crawler.web.security` (the signing and checking logic).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from crawler.web.security import (
    CSRF_COOKIE,
    LOOPBACK_NAMES,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    LoginLimiter,
    Signer,
    host_allowed,
    new_browser_id,
    origin_ok,
    password_ok,
)

logger = logging.getLogger(__name__)

OPEN_PATHS = ("/healthz", "/readyz", "/login", "/static/")
USER = "reviewer"


@dataclass
class Access:
    """The access policy of one web application."""

    signer: Signer
    password: str | None = None
    base_url: str | None = None  # NEWSWATCH_BASE_URL: its host and origin are allowed too
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    clock: Callable[[], float] = time.time

    @property
    def secure_cookies(self) -> bool:
        return bool(self.base_url and self.base_url.lower().startswith("https://"))

    def allowed_hosts(self) -> set[str]:
        hosts = set(LOOPBACK_NAMES)
        if self.base_url:
            hosts.add((urlsplit(self.base_url).hostname or "").lower())
        return hosts

    def allowed_origins(self) -> list[str]:
        if not self.base_url:
            return []
        parts = urlsplit(self.base_url)
        return [f"{parts.scheme}://{parts.netloc}"]

    def user(self, request: Request) -> str | None:
        """The logged-in user; "local" when no password is configured."""
        if not self.password:
            return "local"
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer ") and password_ok(authorization[7:].strip(), self.password):
            return "token"
        return self.signer.session_user(request.cookies.get(SESSION_COOKIE), self.clock())


def _plain(status: int, text: str) -> Response:
    return Response(text + "\n", status_code=status, media_type="text/plain; charset=utf-8")


def install(app: FastAPI, access: Access) -> None:
    """Add the access middleware and the login / logout routes to ``app``."""

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await _guarded(request, call_next)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        if getattr(request.state, "new_browser_id", None):
            response.set_cookie(
                CSRF_COOKIE, request.state.browser_id, httponly=True, samesite="strict", secure=access.secure_cookies
            )
        return response

    async def _guarded(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not access.password and not host_allowed(request.headers.get("host"), access.allowed_hosts()):
            logger.warning("refused request for host %r to %s", request.headers.get("host"), request.url.path)
            return _plain(400, "unknown host: this page answers only to its own address")
        browser_id = request.cookies.get(CSRF_COOKIE)
        if not browser_id or len(browser_id) > 64:
            browser_id = new_browser_id()
            request.state.new_browser_id = True
        request.state.browser_id = browser_id
        request.state.csrf_token = access.signer.csrf_token(browser_id)
        request.state.user = access.user(request)
        path = request.url.path
        if request.state.user is None and not any(path == p or path.startswith(p) for p in OPEN_PATHS):
            if request.method in ("GET", "HEAD"):
                target = path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            return _plain(401, "log in first")
        return await call_next(request)

    router = APIRouter(dependencies=[Depends(csrf_protect)])

    @router.post("/login")
    async def login(request: Request, password: str = Form(""), next: str = Form("/stories")) -> Response:
        client = request.client.host if request.client else "?"
        wait = access.limiter.retry_after(client)
        if wait > 0:
            logger.warning("login from %s refused: too many failed attempts", client)
            response = _plain(429, f"too many failed logins: try again in {int(wait) + 1} s")
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        if not access.password:
            return RedirectResponse(_local(next), status_code=303)
        if not password_ok(password, access.password):
            access.limiter.failed(client)
            logger.warning("failed login from %s", client)
            render = request.app.state.render
            return render(request, "login.html", {"next": _local(next), "message": "Wrong password.",
                                                  "message_kind": "error", "nav": ""}, status=401)
        access.limiter.succeeded(client)
        response = RedirectResponse(_local(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            access.signer.session_cookie(USER, access.clock()),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="lax",
            secure=access.secure_cookies,
        )
        return response

    @router.post("/logout")
    async def logout() -> Response:
        response = RedirectResponse("/login" if access.password else "/stories", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    app.include_router(router)

    @app.get("/login")
    async def login_page(request: Request, next: str = "/stories") -> Response:
        if not access.password:
            return RedirectResponse(_local(next), status_code=303)
        render = request.app.state.render
        return render(request, "login.html", {"next": _local(next), "nav": ""})


def _local(target: str) -> str:
    """A redirect target inside this site (an absolute or scheme-relative URL becomes the list)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/stories"
    return target


async def csrf_protect(request: Request) -> None:
    """Dependency of every POST route: a valid CSRF token and, when the browser names one, our own origin."""
    access: Access = request.app.state.access
    host = request.headers.get("host")
    if not origin_ok(request.headers.get("origin"), request.headers.get("referer"), host, access.allowed_origins()):
        logger.warning("refused POST to %s from origin %r", request.url.path, request.headers.get("origin"))
        raise HTTPException(403, "cross-site request refused")
    token: Any = request.headers.get("x-csrf-token")
    if not token:
        form = await request.form()
        token = form.get("csrf_token")
    if not isinstance(token, str) or not access.signer.csrf_ok(request.cookies.get(CSRF_COOKIE), token):
        logger.warning("refused POST to %s: missing or wrong CSRF token", request.url.path)
        raise HTTPException(403, "missing or expired form token: reload the page and try again")
