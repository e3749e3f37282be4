"""Download failures in plain words: one short phrase per cause (DNS, refused connection, timeout, TLS, HTTP).

Scrapy wraps Twisted's exceptions in its own (``CannotResolveHostError`` from ``DNSLookupError``,
``DownloadFailedError`` from ``ResponseNeverReceived``...), and Twisted wraps the real reason of a failed
response in a list of Failures. :func:`explain` digs down to the first real reason and says it as a user
would: "cannot resolve news.example.com (DNS lookup failed)", "connection refused by 127.0.0.1:9", "TLS
certificate of news.example.com not trusted (certificate verify failed)", "HTTP 404 (not found)". Whether
the host could be reached at all is said too: a robots.txt that could not be fetched because the name
does not resolve is a site that cannot be reached, not a robots.txt problem.
"""

from __future__ import annotations

import re
import socket
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from scrapy import exceptions as scrapy_errors
from twisted.internet import error as tx
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived

MAX_PHRASE = 300

_HTTP = {
    400: "bad request",
    401: "login required",
    403: "forbidden: the site refuses the crawler",
    404: "not found",
    405: "method not allowed",
    406: "not acceptable",
    408: "the server timed out waiting for the request",
    410: "gone",
    429: "too many requests: the site limits the crawler",
    451: "unavailable for legal reasons",
}
_SCRAPY_WRAPPERS = (
    scrapy_errors.CannotResolveHostError,
    scrapy_errors.DownloadConnectionRefusedError,
    scrapy_errors.DownloadTimeoutError,
    scrapy_errors.DownloadFailedError,
    scrapy_errors.DownloadCancelledError,
)
_TOOK_LONGER = re.compile(r"took longer than ([0-9.]+) seconds")
_TLS_NAMES = ("VerificationError", "CertificateError", "SSLCertVerificationError", "VerifyError", "PeerVerifyError")


@dataclass(frozen=True)
class Cause:
    """Why a download failed, in plain words."""

    phrase: str
    # The host could not be reached at all (its name does not resolve, it refuses or drops connections, its
    # TLS certificate is refused): nothing on it can be fetched, whatever the URL.
    unreachable: bool = False


def http_phrase(status: int) -> str:
    """An HTTP error status in words: "HTTP 404 (not found)", "HTTP 503 (server error)"."""
    if status in _HTTP:
        return f"HTTP {status} ({_HTTP[status]})"
    if 500 <= status < 600:
        return f"HTTP {status} (server error)"
    if 400 <= status < 500:
        return f"HTTP {status} (refused by the site)"
    return f"HTTP {status}"


def chain(error: BaseException | Failure) -> list[BaseException]:
    """The exception and the ones under it, outermost first: Scrapy's wrappers' causes and the first reason
    of Twisted's ResponseFailed / ResponseNeverReceived."""
    found: list[BaseException] = []
    current: BaseException | None = error.value if isinstance(error, Failure) else error
    while current is not None and current not in found and len(found) < 10:
        found.append(current)
        reasons = getattr(current, "reasons", None)
        if isinstance(current, ResponseFailed) and reasons:
            first = reasons[0]
            current = first.value if isinstance(first, Failure) else first
        elif isinstance(current, _SCRAPY_WRAPPERS):
            current = current.__cause__
        else:
            current = None
    return found


def _where(url: str | None, port: bool = True) -> str:
    if not url:
        return "the site"
    parts = urlsplit(url)
    host = parts.hostname or parts.netloc or url
    return parts.netloc if port and parts.netloc else host


def _tls_reasons(exc: BaseException) -> list[str]:
    """The reason strings of an OpenSSL error ([('SSL routines', '', 'certificate verify failed')])."""
    found: list[str] = []
    for arg in exc.args:
        items = arg if isinstance(arg, list) else [arg]
        for item in items:
            text = str(item[-1]) if isinstance(item, tuple) and item else str(item)
            if text and text not in found:
                found.append(text)
    return found


def _is_tls(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("OpenSSL", "ssl")) or type(exc).__name__ in _TLS_NAMES or isinstance(exc, tx.SSLError)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def explain(error: BaseException | Failure, url: str | None = None) -> Cause:
    """Why fetching ``url`` failed with ``error`` (an exception or a Twisted Failure), in plain words."""
    from scrapy.exceptions import IgnoreRequest
    from scrapy.spidermiddlewares.httperror import HttpError

    found = chain(error)
    outer = found[0]
    inner = found[-1]
    never_answered = any(isinstance(e, ResponseNeverReceived) for e in found)
    host, origin = _where(url, port=False), _where(url)
    if isinstance(outer, HttpError):
        return Cause(http_phrase(outer.response.status))
    if isinstance(outer, IgnoreRequest):  # a refusal of ours or of a middleware: its message says why
        text = _first_line(outer) or "not fetched"
        if text == "Forbidden by robots.txt":
            return Cause("disallowed by robots.txt")
        return Cause(text[:MAX_PHRASE], unreachable=bool(getattr(outer, "unreachable", False)))
    if any(isinstance(e, tx.DNSLookupError | scrapy_errors.CannotResolveHostError | socket.gaierror) for e in found):
        text = _first_line(inner)
        if "not a public address" in text:
            return Cause(text[:MAX_PHRASE], unreachable=True)
        how = "timed out" if "timeout" in text.lower() else "failed"
        return Cause(f"cannot resolve {host} (DNS lookup {how})", unreachable=True)
    if any(
        isinstance(e, tx.ConnectionRefusedError | scrapy_errors.DownloadConnectionRefusedError | ConnectionRefusedError)
        for e in found
    ):
        return Cause(f"connection refused by {origin}", unreachable=True)
    if any(isinstance(e, tx.TCPTimedOutError | tx.TimeoutError) for e in found):
        return Cause(f"timed out connecting to {origin}", unreachable=True)
    if isinstance(inner, tx.NoRouteError):
        return Cause(f"no route to {origin} (network unreachable)", unreachable=True)
    if isinstance(inner, scrapy_errors.DownloadTimeoutError | TimeoutError):
        took = _TOOK_LONGER.search(str(inner))
        within = f" within {float(took.group(1)):g} s" if took else ""
        return Cause(f"timed out: {origin} sent no complete answer{within}")
    tls = next((e for e in found if _is_tls(e)), None)
    if tls is not None:
        reasons = _tls_reasons(tls) or [type(tls).__name__]
        if any("certificate verify failed" in r for r in reasons):
            return Cause(f"TLS certificate of {origin} not trusted (certificate verify failed)", unreachable=True)
        if type(tls).__name__ == "VerificationError":
            return Cause(f"TLS certificate of {origin} is not for {host}", unreachable=True)
        return Cause(f"TLS handshake with {origin} failed ({'; '.join(reasons)[:200]})", unreachable=True)
    if isinstance(inner, tx.ConnectionClosed | ConnectionResetError | scrapy_errors.ResponseDataLossError):
        if never_answered:
            return Cause(f"{origin} closed the connection without answering")
        return Cause(f"{origin} closed the connection before the answer was complete")
    if isinstance(inner, tx.ConnectError):
        return Cause(f"cannot connect to {origin} ({_first_line(inner) or type(inner).__name__})", unreachable=True)
    cancelled = next((e for e in found if isinstance(e, scrapy_errors.DownloadCancelledError)), None)
    if cancelled is not None:  # Scrapy gives no reason when a body outgrows the limit
        text = _first_line(cancelled)
        return Cause(text[:MAX_PHRASE] if text else
                     "the download was stopped (a body over DOWNLOAD_MAXSIZE, or the crawl closing)")
    text = _first_line(inner)
    return Cause(f"{type(inner).__name__}: {text}"[:MAX_PHRASE] if text else type(inner).__name__)


def plain_error(error: BaseException | Failure, url: str | None = None) -> str:
    """The phrase of :func:`explain`."""
    return explain(error, url).phrase


def summarize(causes: Sequence[tuple[str, Cause]]) -> str:
    """One line for the failures of a crawl's sources, given as (kind, cause): each distinct cause once, with
    the kinds of source it hit ("feed: HTTP 404 (not found)", "2 feeds and sitemap: ..."); a host that
    cannot be reached is named alone ("cannot resolve news.example.com (DNS lookup failed)")."""
    groups: dict[str, tuple[Cause, Counter[str]]] = {}
    for kind, cause in causes:
        groups.setdefault(cause.phrase, (cause, Counter()))[1][kind] += 1
    parts = []
    for phrase, (cause, kinds) in groups.items():
        if cause.unreachable:
            parts.append(phrase)
        else:
            named = " and ".join(f"{count} {kind}s" if count > 1 else kind for kind, count in kinds.items())
            parts.append(f"{named}: {phrase}")
    return "; ".join(parts)[:MAX_PHRASE]
