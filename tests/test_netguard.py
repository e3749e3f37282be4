"""Which addresses a crawl may contact: every private spelling refused, public addresses allowed."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address

import pytest

from crawler.netguard import is_public, literal_address, origin, origins, refusal

# Host spellings (as they appear in URLs) that all stand for a private, loopback, link-local, shared,
# multicast, reserved or unspecified address.
PRIVATE_HOSTS = [
    "127.0.0.1", "127.255.255.254", "2130706433", "0x7f.1", "0x7f000001", "0177.0.0.1", "017700000001", "127.1",
    "127.0.0.1.", "0", "0.0.0.0", "0x0", "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255",
    "192.168.0.1", "192.168.1.254", "169.254.169.254", "169.254.0.1", "100.64.0.1", "100.127.255.254",
    "192.0.0.8", "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250",
    "240.0.0.1", "255.255.255.255", "::1", "[::1]", "::", "[::]", "fc00::1", "fd12:3456:789a::1", "fe80::1",
    "fe80::1%25eth0", "ff02::1", "fec0::1", "::ffff:127.0.0.1", "[::ffff:7f00:1]", "::ffff:10.0.0.1",
    "::ffff:169.254.169.254", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:7f00:1::",
    "2002:a9fe:a9fe::1", "2002:c0a8:101::", "::127.0.0.1", "::10.0.0.1", "2001:db8::1", "100::1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
]

PUBLIC_HOSTS = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "151.101.1.69", "2606:4700:4700::1111",
                "[2001:4860:4860::8888]", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]


def test_at_least_forty_private_spellings() -> None:
    assert len(PRIVATE_HOSTS) >= 40


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
def test_private_spellings_are_refused(host: str) -> None:
    literal = literal_address(host)
    assert literal is not None, host
    assert not is_public(literal)
    assert refusal(f"http://{host if ':' not in host or host.startswith('[') else f'[{host}]'}:8080/x", frozenset())


@pytest.mark.parametrize("host", PUBLIC_HOSTS)
def test_public_addresses_are_allowed(host: str) -> None:
    literal = literal_address(host)
    assert literal is not None and is_public(literal)
    assert refusal(f"http://{host if ':' not in host or host.startswith('[') else f'[{host}]'}/x", frozenset()) is None


def test_odd_ipv4_spellings_mean_what_the_resolver_makes_of_them() -> None:
    assert {literal_address(h) for h in ("2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0x7f000001")} == {
        IPv4Address("127.0.0.1")
    }
    for name in ("example.com", "deadbeef", "1.2.3.4.example", "news", "0xz.1", "localhost"):
        assert literal_address(name) is None, name


def test_host_names_wait_for_the_resolver_except_localhost_and_other_sites_private_hosts() -> None:
    assert refusal("https://news.example.com/a", frozenset()) is None  # checked again once resolved
    for url in ("http://localhost:8000/", "http://LOCALHOST./", "http://admin.localhost/"):
        assert refusal(url, frozenset()) is not None, url
    assert refusal("http://intranet.corp/feed", frozenset(), frozenset({"intranet.corp"})) == (
        "intranet.corp is a private host"
    )


def test_a_site_may_reach_only_the_private_host_and_port_it_names() -> None:
    allowed = origins(["http://127.0.0.1:8765/feed.xml", "http://intranet.corp/sitemap.xml"])
    assert allowed == {("127.0.0.1", 8765), ("intranet.corp", 80)}
    assert refusal("http://127.0.0.1:8765/news/1.html", allowed) is None
    assert refusal("http://intranet.corp/news/1.html", allowed, frozenset({"intranet.corp"})) is None
    assert refusal("http://127.0.0.1:6379/", allowed) == "127.0.0.1 is not a public address"
    assert refusal("http://2130706433:8765/", allowed) == "127.0.0.1 is not a public address"  # not its spelling
    assert refusal("https://intranet.corp/", allowed, frozenset({"intranet.corp"})) is not None  # port 443


def test_only_http_and_https() -> None:
    for url in ("file:///etc/passwd", "ftp://example.com/x", "data:text/html,hi", "gopher://x/", "http:///nohost"):
        assert refusal(url, frozenset()) == "not an http(s) URL", url
    assert origin("https://Example.COM./a") == ("example.com", 443)
    assert origin("http://[::1]:99999/") is None  # a port out of range


def test_scoped_and_malformed_addresses() -> None:
    assert not is_public("fe80::1%eth0")
    assert not is_public("not an address")
    assert is_public(ip_address("9.9.9.9"))
