"""Fetching one URL for `newswatch extract`: limits and clear errors."""

from __future__ import annotations

import pytest

from crawler.fetch import FetchError, fetch_html
from tests.local_site import LocalSite, Response, free_port


def test_fetch_follows_redirects_and_returns_body() -> None:
    with LocalSite() as site:
        site.routes["/old"] = Response(b"", status=301, headers=(("Location", "/new"),))
        site.routes["/new"] = Response(b"<html>hello</html>")
        url, body, content_type = fetch_html(site.url("/old"))
    assert url == site.url("/new")
    assert body == b"<html>hello</html>"
    assert content_type.startswith("text/html")


def test_fetch_errors_name_the_url() -> None:
    with LocalSite() as site:
        site.routes["/big"] = Response(b"x" * 2048)
        with pytest.raises(FetchError, match="404"):
            fetch_html(site.url("/missing"))
        with pytest.raises(FetchError, match="larger than 1024 bytes"):
            fetch_html(site.url("/big"), max_bytes=1024)
    dead = f"http://127.0.0.1:{free_port()}/x"
    with pytest.raises(FetchError, match=dead):
        fetch_html(dead)
    with pytest.raises(FetchError, match="only http and https"):
        fetch_html("file:///etc/passwd")
