"""Helpers for the browser tests: an application served by uvicorn on 127.0.0.1, and the Debian chromium driven
by Playwright (sync API; `playwright install` is never needed)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI

from crawler.web.app import embedded_server
from tests.conftest import REPO, _require_services

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # no name resolves but the test server's: chromium never calls home
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]
# Reports every Content-Security-Policy violation as a console error (init scripts run outside the CSP).
CSP_REPORTER = (
    "document.addEventListener('securitypolicyviolation', e => "
    "console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`));"
)


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port in a daemon thread; yields its base URL, stops it afterwards."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = embedded_server(app, "127.0.0.1", port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="web-test-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test web server did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def chromium_or_skip() -> Path:
    """The Debian chromium; skips the test when it is not installed (fails under NEWSWATCH_REQUIRE_SERVICES=1)."""
    if not CHROMIUM.exists():
        absent = pytest.fail if _require_services() else pytest.skip
        absent(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium) to run browser tests")
    return CHROMIUM


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """A headless chromium; Playwright stops completely afterwards (no event loop left behind)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    _no_running_loop()


def _no_running_loop() -> None:
    """Later tests call asyncio.run in this thread: Playwright must not leave its loop marked running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise AssertionError("Playwright left an asyncio event loop running: asyncio.run would fail in later tests")


@dataclass
class Tab:
    """A browser page that records console errors, uncaught exceptions, CSP violations and failed requests."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console on {self.page.url}: {message.text}")

    def watch(self) -> Tab:
        self.page.add_init_script(CSP_REPORTER)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", lambda request: self.problems.append(f"request failed: {request.url}"))
        return self


@contextlib.contextmanager
def tab(browser: Browser, **options: Any) -> Iterator[Tab]:
    """A fresh browser context (own cookies) with one watched page."""
    context = browser.new_context(**options)
    try:
        yield Tab(context.new_page()).watch()
    finally:
        context.close()


def artifacts_dir() -> Path:
    """Where tests leave files for people to look at: $NEWSWATCH_TEST_ARTIFACTS, else test-artifacts/."""
    folder = Path(os.environ.get("NEWSWATCH_TEST_ARTIFACTS") or REPO / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
