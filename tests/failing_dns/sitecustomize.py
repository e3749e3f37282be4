"""A system resolver that fails for made-up names, the way glibc does for a name that does not exist.

Put this folder on PYTHONPATH and list the names in NEWSWATCH_TEST_NXDOMAIN (comma-separated): every Python
process started with that environment (a crawl's child processes too) gets ``socket.gaierror(EAI_NONAME)`` for
them, without any query leaving the machine; other names resolve as usual.
"""

from __future__ import annotations

import os
import socket
from typing import Any

FAILING = frozenset(
    name.strip().lower().rstrip(".") for name in os.environ.get("NEWSWATCH_TEST_NXDOMAIN", "").split(",") if name
)
_getaddrinfo = socket.getaddrinfo
_gethostbyname = socket.gethostbyname
_gethostbyname_ex = socket.gethostbyname_ex


def _check(host: Any) -> None:
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    if name.lower().rstrip(".") in FAILING:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    _check(host)
    return _getaddrinfo(host, *args, **kwargs)


def gethostbyname(host: str) -> str:
    _check(host)
    return _gethostbyname(host)


def gethostbyname_ex(host: str) -> Any:
    _check(host)
    return _gethostbyname_ex(host)


socket.getaddrinfo = getaddrinfo
socket.gethostbyname = gethostbyname
socket.gethostbyname_ex = gethostbyname_ex
