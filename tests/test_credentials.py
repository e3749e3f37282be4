"""Credentials in configured URLs: taken out of the URL, kept for their own origin (scheme, host, port) only.
The crawl through redirects is in test_hostile_fetch.py."""

from __future__ import annotations

from w3lib.http import basic_auth_header

from crawler.credentials import site_credentials, split_credentials, url_origin


def test_credentials_leave_the_url_percent_decoded() -> None:
    assert split_credentials("https://us%40er:p%3Ass@Example.com:8443/feed.xml?x=1") == (
        "https://Example.com:8443/feed.xml?x=1", ("us@er", "p:ss")
    )
    assert split_credentials("https://user@example.com/feed") == ("https://example.com/feed", ("user", ""))
    assert split_credentials("https://example.com/a@b") == ("https://example.com/a@b", None)  # "@" in the path


def test_credentials_belong_to_one_scheme_host_and_port() -> None:
    headers = site_credentials(["https://user:secret@news.example/feed.xml", "https://news.example/sitemap.xml"])
    assert headers == {("https", "news.example", 443): basic_auth_header("user", "secret")}
    for other in ("http://news.example/a", "https://news.example:8443/a", "https://www.news.example/a"):
        assert url_origin(other) not in headers, other
    assert url_origin("https://NEWS.example./a") in headers
    assert url_origin("ftp://news.example/a") is None
