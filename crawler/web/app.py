"""The FastAPI application: assembles the review pages, access control, static files, /healthz and /readyz."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException

from crawler.config import Config
from crawler.health import HealthPolicy
from crawler.service.status import service_status
from crawler.settings import Settings
from crawler.web import access, pages
from crawler.web.render import environment
from crawler.web.security import LoginLimiter, Signer, load_secret

STATIC = Path(__file__).parent / "static"


@dataclass
class WebContext:
    """What the routes read: the database, the settings and the current configuration."""

    engine: Engine
    settings: Settings
    config: Callable[[], Config]  # the service may reload its configuration
    login_limiter: LoginLimiter = field(default_factory=LoginLimiter)

    def policy(self) -> HealthPolicy:
        from crawler.service.service import health_policy

        return health_policy(self.settings)


def create_app(context: WebContext) -> FastAPI:
    """The web application (no docs pages: it faces the operator, not API clients)."""
    app = FastAPI(title="Newswatch", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.context = context
    settings = context.settings
    app.state.access = policy = access.Access(
        signer=Signer(load_secret(settings.web_secret, settings.data_dir)),
        password=settings.web_password or None,
        base_url=settings.base_url,
        limiter=context.login_limiter,
    )
    templates = environment()

    def render(request: Request, name: str, values: dict[str, Any], status: int = 200) -> Response:
        page = templates.get_template(name).render(
            csrf_token=getattr(request.state, "csrf_token", ""),
            user=getattr(request.state, "user", None) if policy.password else None,
            nav=values.pop("nav", ""),
            message=values.pop("message", None),
            **values,
        )
        return HTMLResponse(page, status_code=status)

    app.state.render = render

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            heading = {403: "Refused", 404: "Not found", 405: "Not allowed"}.get(exc.status_code, "Error")
            return render(request, "error.html", {"heading": heading, "detail": str(exc.detail)}, exc.status_code)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        """A malformed path or form value (e.g. /stories/abc): a plain 400, without echoing the input."""
        fields = ", ".join(str(error.get("loc", ["?"])[-1]) for error in exc.errors()[:5])
        detail = f"malformed request ({fields})"
        if "text/html" in request.headers.get("accept", ""):
            return render(request, "error.html", {"heading": "Bad request", "detail": detail}, 400)
        return JSONResponse({"detail": detail}, status_code=400)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    access.install(app, policy)
    pages.install(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """Ready as `newswatch status --check` says: the database answers and the service's heartbeat is fresh,
        or (cron) the last `run --once` is recent enough (503 otherwise)."""
        status = await asyncio.to_thread(
            service_status,
            context.engine,
            context.config().sites,
            context.policy(),
            context.settings.heartbeat_interval,
            with_sites=False,
        )
        body: dict[str, Any] = {
            "status": "ok" if status.healthy else "unavailable",
            "mode": status.mode,
            "summary": status.summary,
            "database": status.database_ok,
            "heartbeat_age": round(status.heartbeat.age, 1) if status.heartbeat else None,
            "problems": status.problems,
        }
        return JSONResponse(body, status_code=200 if status.healthy else 503)

    return app


@contextlib.contextmanager
def _no_signal_capture() -> Iterator[None]:
    yield


def embedded_server(app: FastAPI, host: str, port: int) -> Any:
    """A uvicorn server to run inside the service's event loop, leaving signals to the service."""
    import uvicorn

    class Embedded(uvicorn.Server):
        def capture_signals(self) -> Any:  # the service handles SIGTERM / SIGINT itself
            return _no_signal_capture()

    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    return Embedded(config)


def standalone_server(app: FastAPI, host: str, port: int) -> Any:
    """A uvicorn server for `newswatch web`: SIGTERM / SIGINT shut it down gracefully and it exits 0
    (uvicorn would re-raise the signal after shutting down, ending the process "killed by SIGTERM")."""
    import signal

    import uvicorn

    class Standalone(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    return Standalone(config)
