"""robots.txt as RFC 9309 reads it: an unreachable robots.txt means "crawl nothing" for this run.

Scrapy's RobotsTxtMiddleware parses whatever body comes back (a 503 error page: no rules, so everything is
allowed) and allows everything when the download fails. RFC 9309 §2.3.1.3-4 says the opposite: on a server
error (5xx) or when robots.txt cannot be reached, assume complete disallow; a client error (4xx) means
there are no rules. The verdict is kept for one crawl only (each crawl fetches robots.txt afresh).

The body is read as RFC 9309 §2.5 allows and Google does: its first 500 KiB only, so a huge robots.txt costs
neither time nor memory. RFC 9309 wants UTF-8, but a rule must not be lost to the encoding: a file with a
byte-order mark, or in UTF-16 without one, is decoded as such, and a line that is not UTF-8 is read as
Windows-1252 (Scrapy ignores undecodable bytes, and UTF-16 text would lose every rule).

The requests robots.txt holds back raise :class:`RobotsUnavailable`, whose message says the root cause in plain
words: when robots.txt could not be fetched because the host cannot be reached at all (its name does not
resolve, it refuses connections, its TLS certificate is refused), that is the site's problem and the message
says so ("cannot resolve news.example.com (DNS lookup failed)"), not "robots.txt unavailable".
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from crawler.errors import Cause, chain, explain

logger = logging.getLogger(__name__)

UNAVAILABLE = "robots.txt unavailable"
MAX_ROBOTS_BYTES = 500 * 1024  # what is read of a robots.txt (RFC 9309 §2.5: at least 500 KiB)

_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


class RobotsUnavailable(IgnoreRequest):
    """A request not sent because its host's robots.txt could not be read (nothing is crawled there this run);
    the message says why in plain words, ``unreachable`` whether the host itself could not be reached."""

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class _Unavailable:
    """Stands in for a parser when robots.txt could not be read: nothing is allowed."""

    def __init__(self, netloc: str, cause: Cause) -> None:
        self.cause = cause
        if cause.unreachable:  # the host itself cannot be reached: that is the news, not robots.txt
            self.message = cause.phrase
        else:
            self.message = f"{UNAVAILABLE} ({cause.phrase}): nothing on {netloc} is crawled this run"

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return False


class StrictRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, disallowing everything while a host's robots.txt is unavailable."""

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            self._unavailable(netloc, f"HTTP {response.status}")
            return
        if response.status >= 400:  # no robots.txt: no rules (the error page's body is not rules)
            response = response.replace(body=b"")
        elif len(response.body) > MAX_ROBOTS_BYTES:
            logger.warning("robots.txt of %s is %d bytes: its first %d are read", netloc, len(response.body),
                           MAX_ROBOTS_BYTES)
        response = response.replace(body=robots_text(response.body).encode("utf-8"))
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        super()._robots_error(exc, netloc)  # counts it and wakes the requests waiting for the verdict
        parser = _Unavailable(netloc, explain(exc, f"//{netloc}/robots.txt"))
        self._parsers[netloc] = parser  # type: ignore[assignment]
        if parser.cause.unreachable:
            logger.warning("cannot fetch robots.txt of %s: %s (%s)", netloc, parser.message, describe_exception(exc))
        else:
            logger.warning("%s (%s) for %s: nothing on it is crawled this run", UNAVAILABLE, describe_exception(exc),
                           netloc)

    def _unavailable(self, netloc: str, reason: str) -> None:
        waiting = self._parsers[netloc]
        parser = _Unavailable(netloc, Cause(reason))
        self._parsers[netloc] = parser  # type: ignore[assignment]
        self._stats.inc_value("robotstxt/unavailable")
        logger.warning("robots.txt of %s unavailable (%s): nothing on it is crawled this run", netloc, reason)
        waiting.callback(None)  # type: ignore[union-attr]  # the waiting requests look the verdict up

    def process_request_2(self, rp: Any, request: Request) -> None:
        if rp is None:  # the download failed: Scrapy's own error path handed the waiting requests None
            rp = self._parsers.get(_netloc(request))
        if isinstance(rp, _Unavailable):
            raise RobotsUnavailable(rp.message, rp.cause.unreachable)
        super().process_request_2(rp, request)


def robots_text(body: bytes, limit: int = MAX_ROBOTS_BYTES) -> str:
    """The rules of a robots.txt body as text: at most its first ``limit`` bytes (whole lines), decoded by
    its byte-order mark, as UTF-16 when it looks like it, else line by line as UTF-8 or Windows-1252.
    Never raises."""
    codec = None
    for bom, name in _BOMS:
        if body.startswith(bom):
            body, codec = body[len(bom) :], name
            break
    else:
        head = body[:256]
        if head.count(0) > len(head) // 4:  # UTF-16 without a byte-order mark: every other byte of ASCII is NUL
            codec = "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
    cut = len(body) > limit
    if codec is not None:
        text = body[: limit - limit % 4].decode(codec, errors="ignore")
        return text.rpartition("\n")[0] if cut else text
    lines = body[:limit].split(b"\n")
    if cut:
        lines.pop()  # the line the limit cut through
    return "\n".join(_decode_line(line) for line in lines)


def _decode_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="replace")


def describe_exception(exc: BaseException) -> str:
    """A short technical description of a download failure (for the logs), with the first underlying reason
    Scrapy and Twisted wrap (a refused connection, a certificate that failed verification)."""
    found = chain(exc)
    inner = found[-1]
    text = type(exc).__name__
    if inner is not exc:
        text += f": {type(inner).__name__}"
    if str(inner):
        text += f": {inner}"
    return text[:300]


def _netloc(request: Request) -> str:
    from scrapy.utils.httpobj import urlparse_cached

    return urlparse_cached(request).netloc
