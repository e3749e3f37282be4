"""Download failures in plain words: each exception Scrapy and Twisted raise (wrapped as they wrap them) gives
its short phrase, and a real crawl's run says the root cause first (DNS through an injected failing resolver,
a closed port, a stalled answer, an untrusted certificate, HTTP errors, a page that is no feed, robots.txt)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from OpenSSL import SSL
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response as ScrapyResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from crawler.errors import Cause, explain, http_phrase, plain_error, summarize
from crawler.robots import RobotsUnavailable
from tests.local_site import LocalSite, Response, free_port
from tests.test_crawl import REPO, RULES, rss
from tests.test_tls import tls_site as tls_site  # the fixture: an HTTPS site whose certificate nothing trusts

FAILING_DNS = Path(__file__).parent / "failing_dns"
URL = "https://news.example.com/feed.xml"


def wrapped(outer: type[Exception], inner: BaseException, message: str = "") -> BaseException:
    """``outer`` raised from ``inner``, as Scrapy's download handler wraps Twisted's exceptions."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer(message or str(exc)) from exc
    except BaseException as exc:
        return exc


def never_received(reason: BaseException) -> BaseException:
    return wrapped(DownloadFailedError, ResponseNeverReceived([Failure(reason)]))


@pytest.mark.parametrize(
    ("error", "phrase", "unreachable"),
    [
        (
            wrapped(CannotResolveHostError, tx.DNSLookupError("no results for hostname lookup: news.example.com")),
            "cannot resolve news.example.com (DNS lookup failed)",
            True,
        ),
        (
            wrapped(DownloadConnectionRefusedError, tx.ConnectionRefusedError("111: Connection refused")),
            "connection refused by news.example.com",
            True,
        ),
        (
            wrapped(DownloadTimeoutError, tx.TimeoutError("User timeout caused connection failure")),
            "timed out connecting to news.example.com",
            True,
        ),
        (tx.TCPTimedOutError(), "timed out connecting to news.example.com", True),
        (
            DownloadTimeoutError(f"Getting {URL} took longer than 180.0 seconds."),
            "timed out: news.example.com sent no complete answer within 180 s",
            False,
        ),
        (
            never_received(SSL.Error([("SSL routines", "", "certificate verify failed")])),
            "TLS certificate of news.example.com not trusted (certificate verify failed)",
            True,
        ),
        (
            never_received(SSL.Error([("SSL routines", "", "wrong version number")])),
            "TLS handshake with news.example.com failed (wrong version number)",
            True,
        ),
        (
            never_received(tx.ConnectionDone()),
            "news.example.com closed the connection without answering",
            False,
        ),
        (
            wrapped(DownloadFailedError, ResponseFailed([Failure(tx.ConnectionLost())])),
            "news.example.com closed the connection before the answer was complete",
            False,
        ),
        (ResponseDataLossError(), "news.example.com closed the connection before the answer was complete", False),
        (tx.NoRouteError(), "no route to news.example.com (network unreachable)", True),
        (
            DownloadCancelledError(),
            "the download was stopped (a body over DOWNLOAD_MAXSIZE, or the crawl closing)",
            False,
        ),
        (IgnoreRequest("Forbidden by robots.txt"), "disallowed by robots.txt", False),
        (
            RobotsUnavailable("cannot resolve news.example.com (DNS lookup failed)", unreachable=True),
            "cannot resolve news.example.com (DNS lookup failed)",
            True,
        ),
        (ValueError("something odd"), "ValueError: something odd", False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else None,
)
def test_each_failure_in_plain_words(error: BaseException, phrase: str, unreachable: bool) -> None:
    assert explain(error, URL) == Cause(phrase, unreachable)
    assert plain_error(Failure(error), URL) == phrase  # as an errback gets it


def test_a_private_answer_the_guard_refused_says_so() -> None:
    refused = tx.DNSLookupError("intranet.example resolves to 10.0.0.5, not a public address: refused")
    assert plain_error(refused, "https://intranet.example/") == str(refused)


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        (403, "HTTP 403 (forbidden: the site refuses the crawler)"),
        (404, "HTTP 404 (not found)"),
        (410, "HTTP 410 (gone)"),
        (429, "HTTP 429 (too many requests: the site limits the crawler)"),
        (500, "HTTP 500 (server error)"),
        (503, "HTTP 503 (server error)"),
        (418, "HTTP 418 (refused by the site)"),
    ],
)
def test_http_errors_in_words(status: int, phrase: str) -> None:
    assert http_phrase(status) == phrase
    error = HttpError(ScrapyResponse(URL, status=status), "Ignoring non-200 response")
    assert plain_error(Failure(error), URL) == phrase


def test_a_crawls_causes_in_one_line() -> None:
    dns = Cause("cannot resolve news.example.com (DNS lookup failed)", unreachable=True)
    missing = Cause("HTTP 404 (not found)")
    assert summarize([("feed", dns), ("sitemap", dns)]) == dns.phrase
    assert summarize([("feed", missing), ("feed", missing), ("sitemap", missing)]) == (
        "2 feeds and sitemap: HTTP 404 (not found)"
    )
    assert summarize([("feed", missing), ("listing", Cause("not a valid feed"))]) == (
        "feed: HTTP 404 (not found); listing: not a valid feed"
    )


# --------------------------------------------------------------------------- real crawls

CRAWL = """
import json
import sys
from pathlib import Path
from crawler.config import load_config
from crawler.crawl import crawl_sites, run_on_reactor
from crawler.logs import setup_logging
from crawler.store import open_database

setup_logging("INFO", "WARNING")
cfg = load_config(Path(sys.argv[1]))
engine = open_database(sys.argv[2])
settings = {"DOWNLOAD_TIMEOUT": 2, "RETRY_TIMES": 0}
runs = run_on_reactor(lambda: crawl_sites(engine, cfg.sites, cfg.ruleset(), settings=settings, workers=0))
print(json.dumps({r.site_id: {"status": r.status, "problems": r.problems} for r in runs}))
"""


def with_failing_dns(env: dict[str, str], *names: str) -> dict[str, str]:
    """``env`` with the failing resolver of tests/failing_dns for ``names``, checked to be in place before
    anything resolves (a made-up name must never reach a real DNS server)."""
    env = dict(env)
    env["PYTHONPATH"] = os.pathsep.join([str(FAILING_DNS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["NEWSWATCH_TEST_NXDOMAIN"] = ",".join(names)
    probe = "import sitecustomize; print(sitecustomize.__file__, sorted(sitecustomize.FAILING))"
    found = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert found.stdout.split(" ", 1) == [str(FAILING_DNS / "sitecustomize.py"), f"{sorted(names)}\n"], found
    return env


@pytest.mark.timeout(120)
def test_a_crawl_names_the_root_cause_first(tmp_path: Path, tls_site: LocalSite) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with LocalSite() as missing, LocalSite() as notfeed, LocalSite() as denied, LocalSite() as slow, \
            LocalSite() as down, LocalSite() as refusing:
        notfeed.routes["/feed.xml"] = Response(b"<html><body>Welcome</body></html>")
        denied.routes["/robots.txt"] = Response(b"User-agent: *\nDisallow: /\n", "text/plain")
        denied.routes["/feed.xml"] = Response(rss(denied.base_url, ["/a/"]), "application/rss+xml")
        slow.routes["/feed.xml"] = Response(b"late", delay=4)
        down.routes["/robots.txt"] = Response(b"busy", "text/plain", 503)
        refusing.routes["/feed.xml"] = Response(rss(refusing.base_url, ["/a/", "/b/"]), "application/rss+xml")
        refusing.routes["/a/"] = refusing.routes["/b/"] = Response(b"no", "text/plain", 403)
        bases = {"dns": "https://news.example.com", "closed": closed, "tls": tls_site.base_url,
                 "missing": missing.base_url, "notfeed": notfeed.base_url, "denied": denied.base_url,
                 "slow": slow.base_url, "down": down.base_url, "refusing": refusing.base_url}
        config = tmp_path / "config"
        config.mkdir()
        (config / "rules.toml").write_text(RULES)
        (config / "sites.toml").write_text("".join(
            f'[[site]]\nid = "{name}"\nfeeds = ["{base}/feed.xml"]\ndelay = 0\n'
            + ("allow_private_network = true\n" if "127.0.0.1" in base else "")
            for name, base in bases.items()
        ))
        database = f"sqlite:///{tmp_path / 'newswatch.db'}"
        result = subprocess.run(
            [sys.executable, "-c", CRAWL, str(config), database],
            env=with_failing_dns(dict(os.environ), "news.example.com"),
            cwd=REPO, capture_output=True, text=True, timeout=100,
        )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    first = {name: run["problems"][0] for name, run in runs.items()}
    port = {name: base.rsplit("/", 1)[1] for name, base in bases.items()}
    assert first == {
        "dns": "cannot resolve news.example.com (DNS lookup failed)",
        "closed": f"connection refused by {port['closed']}",
        "tls": f"TLS certificate of {port['tls']} not trusted (certificate verify failed)",
        "missing": "feed: HTTP 404 (not found)",
        "notfeed": "feed: not a valid feed: text/html; charset=utf-8 is not an XML media type",
        "denied": "feed: disallowed by robots.txt",
        "slow": f"feed: timed out: {port['slow']} sent no complete answer within 2 s",
        "down": f"feed: robots.txt unavailable (HTTP 503): nothing on {port['down']} is crawled this run",
        "refusing": "every article page failed (2): HTTP 403 (forbidden: the site refuses the crawler)",
    }
    assert {name for name, run in runs.items() if run["status"] == "failed"} == set(bases) - {"refusing"}
    assert f"{bases['dns']}/feed.xml: feed: cannot resolve news.example.com" in runs["dns"]["problems"][1]
    assert "robots.txt" not in " ".join(runs["dns"]["problems"] + runs["closed"]["problems"])
