"""Fetching one URL for `newswatch extract`: limits and clear errors."""

from __future__ import annotations

import httpx
import pytest

from crawler.fetch import FetchError, fetch_html
from tests.local_site import LocalSite, Response, free_port


def test_fetch_follows_redirects_and_returns_body() -> None:
    with LocalSite() as site:
        site.routes["/old"] = Response(b"", status=301, headers=(("Location", "/new"),))
        site.routes["/new"] = Response(b"<html>hello</html>")
        url, body, content_type = fetch_html(allow_private=True, url=site.url("/old"))
    assert url == site.url("/new")
    assert body == b"<html>hello</html>"
    assert content_type.startswith("text/html")


def test_fetch_errors_name_the_url() -> None:
    with LocalSite() as site:
        site.routes["/big"] = Response(b"x" * 2048)
        with pytest.raises(FetchError, match="404"):
            fetch_html(allow_private=True, url=site.url("/missing"))
        with pytest.raises(FetchError, match="larger than 1024 bytes"):
            fetch_html(allow_private=True, url=site.url("/big"), max_bytes=1024)
    dead = f"http://127.0.0.1:{free_port()}/x"
    with pytest.raises(FetchError, match=dead):
        fetch_html(dead, allow_private=True)
    with pytest.raises(FetchError, match="only http and https"):
        fetch_html("file:///etc/passwd")


def test_private_addresses_are_refused_on_every_hop() -> None:
    with LocalSite() as site:
        site.routes["/page"] = Response(b"<html>secret</html>")
        for url in (site.url("/page"), site.url("/page").replace("127.0.0.1", "localhost"),
                    site.url("/page").replace("127.0.0.1", "2130706433"), "http://[::1]:1/x", "http://10.0.0.1/x"):
            with pytest.raises(FetchError, match=r"refused: .*(not a public address|private host)"):
                fetch_html(url)
        assert site.hits["/page"] == 0
        # A hop that redirects to a private address is refused too (the first hop is let through here).
        site.routes["/jump"] = Response(b"", status=302, headers=(("Location", "http://169.254.169.254/latest"),))
        with pytest.raises(FetchError, match=r"169\.254\.169\.254.*not a public address"):
            fetch_html(site.url("/jump"), client=_client_allowing_first_hop(site))
        assert site.hits["/jump"] == 1


def _client_allowing_first_hop(site: LocalSite) -> httpx.Client:
    """A client whose guard lets the test site through (as if it were public) and checks every other hop."""
    from crawler.fetch import _refuse_private

    def guard(request: httpx.Request) -> None:
        if not str(request.url).startswith(site.base_url):
            _refuse_private(request)

    return httpx.Client(follow_redirects=True, max_redirects=5, event_hooks={"request": [guard]})
