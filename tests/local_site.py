"""A tiny scriptable HTTP server on 127.0.0.1 for crawl tests: fixed responses per path, hit counts."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass
class Response:
    """What the server answers for one path."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds to wait before answering
    etag: str | None = None  # sent as ETag; a request with a matching If-None-Match gets 304 Not Modified
    truncate: bool = False  # declare the whole body's length, send half of it, then drop the connection
    endless: int = 0  # instead of the body: this many bytes of HTML, without a Content-Length (ends at close)


class LocalSite:
    """Serve ``routes`` (path -> Response) on 127.0.0.1; unknown paths get 404. Use as a context manager."""

    def __init__(self, routes: dict[str, Response] | None = None) -> None:
        self.routes: dict[str, Response] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()  # 304 answers per path
        self.streamed: Counter[str] = Counter()  # bytes written per path for `endless` responses
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits[self.path] += 1
                response = site.routes.get(self.path) or Response(b"not found", "text/plain", 404)
                time.sleep(response.delay)
                if response.etag and self.headers.get("If-None-Match") == f'"{response.etag}"':
                    site.not_modified[self.path] += 1
                    self.send_response(304)
                    self.send_header("ETag", f'"{response.etag}"')
                    self.end_headers()
                    return
                if response.endless:
                    self._stream(response)
                    return
                self.send_response(response.status)
                if response.etag:
                    self.send_header("ETag", f'"{response.etag}"')
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in response.headers:
                    self.send_header(name, value)
                self.end_headers()
                if response.truncate:
                    self.wfile.write(response.body[: len(response.body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(response.body)

            def _stream(self, response: Response) -> None:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.end_headers()
                chunk = b"<p>" + b"x" * 65_530 + b"</p>"
                try:
                    while site.streamed[self.path] < response.endless:
                        self.wfile.write(chunk)
                        site.streamed[self.path] += len(chunk)
                except OSError:  # the client hung up
                    pass
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalSite:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return self.base_url + path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
