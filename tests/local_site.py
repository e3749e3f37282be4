"""A tiny scriptable HTTP server on 127.0.0.1 for crawl tests: fixed responses per path, hit counts."""

from __future__ import annotations

import select
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
    # Slowloris: "headers" sends the status line and then header bytes one a second, never ending the headers;
    # "body" sends whole headers and then the body one byte a second. Either way until the client hangs up.
    trickle: str | None = None


TRICKLE_LIMIT = 120.0  # seconds a trickling answer goes on if the client never hangs up


class LocalSite:
    """Serve ``routes`` (path -> Response) on 127.0.0.1; unknown paths get 404. Use as a context manager."""

    def __init__(self, routes: dict[str, Response] | None = None) -> None:
        self.routes: dict[str, Response] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()  # 304 answers per path
        self.streamed: Counter[str] = Counter()  # bytes written per path for `endless` responses
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, headers) of every request, in order
        self.held: dict[str, list[float]] = {}  # per path: seconds each trickled answer ran until the client hung up
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits[self.path] += 1
                site.requests.append((self.path, dict(self.headers.items())))
                response = site.routes.get(self.path) or Response(b"not found", "text/plain", 404)
                time.sleep(response.delay)
                if response.trickle:
                    self._trickle(response)
                    return
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

            def _trickle(self, response: Response) -> None:
                began = time.monotonic()
                if response.trickle == "headers":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    drip = b"a"
                else:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
                    drip = b"x"
                self.wfile.flush()
                while time.monotonic() - began < TRICKLE_LIMIT:
                    readable, _, _ = select.select([self.connection], [], [], 1.0)  # one byte a second
                    try:
                        if readable and not self.connection.recv(1):  # end of stream: the client hung up
                            break
                        self.wfile.write(drip)
                        self.wfile.flush()
                    except OSError:
                        break
                site.held.setdefault(self.path, []).append(time.monotonic() - began)
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
