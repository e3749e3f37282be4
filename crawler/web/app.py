"""The FastAPI application: /healthz (the process answers) and /readyz (database and service heartbeat)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from crawler.config import Config
from crawler.health import HealthPolicy
from crawler.service.status import service_status
from crawler.settings import Settings


@dataclass
class WebContext:
    """What the routes read: the database, the settings and the current configuration."""

    engine: Engine
    settings: Settings
    config: Callable[[], Config]  # the service may reload its configuration

    def policy(self) -> HealthPolicy:
        from crawler.service.service import health_policy

        return health_policy(self.settings)


def create_app(context: WebContext) -> FastAPI:
    """The web application (no docs pages: it faces the operator, not API clients)."""
    app = FastAPI(title="Newswatch", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.context = context

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """Ready: the database answers and the service's heartbeat is fresh (503 otherwise)."""
        status = await asyncio.to_thread(
            service_status,
            context.engine,
            (),
            context.policy(),
            context.settings.heartbeat_interval,
            with_sites=False,
        )
        body: dict[str, Any] = {
            "status": "ok" if status.healthy else "unavailable",
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
