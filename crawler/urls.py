"""Canonical URLs: one spelling per article, so a page is never stored or fetched twice."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as _w3lib_canonicalize

# Query parameters that only track the visitor and never select content.
_TRACKING = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|twclid|igshid|mc_cid|mc_eid|"
    r"_hsenc|_hsmi|__hs[a-z_]*|hsctatracking|mkt_tok|vero_[a-z_]+|oly_[a-z_]+|rb_clickid|s_cid|"
    r"cmpid|ncid|ocid|sr_share|spm|share|ref_src|ref_url|taid|at_medium|at_campaign|at_custom\d*|"
    r"wt\.mc_id|xtor|guccounter|guce_referrer[a-z_]*|amp_[a-z_]+)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonicalize_url(url: str) -> str:
    """Lower-case scheme and host; drop credentials, default ports, fragments and tracking parameters.

    The query is sorted and percent-encoding normalised (w3lib).

    >>> canonicalize_url("HTTPS://Example.com:443/a?utm_source=x&b=2&a=1#top")
    'https://example.com/a?a=1&b=2'
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{parts.port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    path = parts.path or "/"
    return _w3lib_canonicalize(urlunsplit((scheme, netloc, path, query, "")))


def host_of(url: str) -> str:
    """The lower-case host name of ``url`` ('' when there is none)."""
    return (urlsplit(url).hostname or "").rstrip(".").lower()


def host_allowed(host: str, allowed_domains: tuple[str, ...] | list[str]) -> bool:
    """Whether ``host`` is one of ``allowed_domains`` or a subdomain of one."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in allowed_domains)
