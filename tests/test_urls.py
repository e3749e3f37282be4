"""URL canonicalisation and domain checks."""

from __future__ import annotations

import pytest

from crawler.urls import canonicalize_url, host_allowed, host_of


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("HTTPS://News.Example.com:443/a?utm_source=rss&utm_medium=feed", "https://news.example.com/a"),
        ("http://news.example.com:80/a#comments", "http://news.example.com/a"),
        ("http://127.0.0.1:8765/story/", "http://127.0.0.1:8765/story/"),
        ("https://example.com/a?b=2&a=1&fbclid=xyz&gclid=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?gallery=3&id=7", "https://example.com/a?gallery=3&id=7"),
        ("https://user:secret@example.com/a", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/caf%C3%A9", "https://example.com/caf%C3%A9"),
    ],
)
def test_canonicalize(raw: str, canonical: str) -> None:
    assert canonicalize_url(raw) == canonical


def test_same_article_spellings_collapse() -> None:
    spellings = [
        "https://example.com/2026/11/story?utm_campaign=x",
        "https://EXAMPLE.com/2026/11/story#top",
        "https://example.com:443/2026/11/story",
    ]
    assert len({canonicalize_url(u) for u in spellings}) == 1


def test_domains() -> None:
    assert host_of("https://WWW.Example.com./x") == "www.example.com"
    assert host_allowed("www.example.com", ("example.com",))
    assert host_allowed("example.com", ("example.com",))
    assert not host_allowed("badexample.com", ("example.com",))
    assert not host_allowed("example.com.evil.net", ("example.com",))
