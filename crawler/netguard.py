"""Keep crawls off private networks (SSRF): which addresses and hosts a crawl may contact.

A crawl follows links chosen by the sites it reads, so a hostile page could point it at the machine's own
services (a database's HTTP port, a cloud metadata endpoint, an admin page on the LAN). Only public unicast
addresses may be contacted; the exception is a site configured with ``allow_private_network = true``,
and then only the hosts and ports named in that site's own configuration (its feeds, sitemaps and listing
pages). The check runs twice (see :mod:`crawler.netguard_scrapy`): on every request's URL before it is
sent (redirect hops, robots.txt and sitemap children included), for addresses written as literals in any
spelling; and on the address a host name resolves to, which is the address then connected to (no gap for
DNS rebinding).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import urlsplit

Address = IPv4Address | IPv6Address

# Besides what the ipaddress module calls private, loopback, link-local, multicast, reserved or unspecified:
# shared address space (CGNAT), benchmarking, documentation and other special-purpose ranges (IANA registries).
_BLOCKED = tuple(
    ip_network(network)
    for network in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "100::/64",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NAT64 = (ip_network("64:ff9b::/96"), ip_network("64:ff9b:1::/48"))
# What inet_aton accepts besides dotted decimal: "2130706433", "0x7f.1", "0177.0.0.1", "127.1".
_NUMERIC_HOST = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)(?:\.(?:0[xX][0-9a-fA-F]*|[0-9]+)){0,3}")


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in network for network in _NAT64):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d, the deprecated IPv4-compatible form
        return IPv4Address(int(address))
    return None


def is_public(address: str | Address) -> bool:
    """Whether ``address`` is a public unicast address (also through any IPv4 address it embeds)."""
    try:
        ip = ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    except ValueError:
        return False
    if isinstance(ip, IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:  # the packets end up at the IPv4 address it carries: that one decides
            return is_public(inner)
    if not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local:
        return False
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return False
    return not any(ip.version == network.version and ip in network for network in _BLOCKED)


def literal_address(host: str) -> Address | None:
    """The address a host written as an IP literal stands for, in any spelling a resolver accepts
    ("127.0.0.1", "[::1]", "2130706433", "0x7f.1", "0177.1", "127.0.0.1."); None for a host name."""
    host = host.strip().strip("[]").rstrip(".")
    try:
        return ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def origin(url: str) -> tuple[str, int] | None:
    """(host, port) of an http(s) URL, the host lowercased without brackets or a trailing dot."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.rstrip("."), port or (443 if parts.scheme == "https" else 80)


def origins(urls: Iterable[str]) -> frozenset[tuple[str, int]]:
    """The (host, port) pairs of ``urls`` (those that are http(s) URLs)."""
    return frozenset(o for o in map(origin, urls) if o is not None)


def refusal(url: str, allowed: frozenset[tuple[str, int]], reserved_hosts: frozenset[str] = frozenset()) -> str | None:
    """Why a request to ``url`` must not be sent, or None when it may (its host name, if it has one, is
    checked again once resolved: see :func:`is_public`).

    ``allowed``: the (host, port) pairs this site may reach on private addresses (its configuration's own);
    ``reserved_hosts``: host names other sites may reach on private addresses, refused for this one.
    """
    where = origin(url)
    if where is None:
        return "not an http(s) URL"
    if where in allowed:
        return None
    host = where[0]
    literal = literal_address(host)
    if literal is not None:
        return None if is_public(literal) else f"{literal} is not a public address"
    if host in reserved_hosts or host == "localhost" or host.endswith(".localhost"):
        return f"{host} is a private host"
    return None
