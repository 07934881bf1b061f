"""Who may open the studio's WebSocket: pages served from a loopback address, by default.

A browser sends the page's origin with every WebSocket handshake; a page from any other
site (which could otherwise drive a local studio from the designer's browser) is refused
unless its origin was allowed explicitly (`ostinato studio --allow-origin`). The Host
header must name a loopback host too, which defeats DNS rebinding.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from urllib.parse import urlsplit

from engine_core.errors import OstinatoError

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class ForbiddenOriginError(OstinatoError):
    code = "forbidden_origin"
    exit_code = 2


def is_loopback_host(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_origin(origin: str | None, host: str | None, allowed: Collection[str] = ()) -> None:
    """Raise `ForbiddenOriginError` unless the handshake comes from an allowed page.

    `origin` None (a non-browser client on this machine) is allowed: it is the browser's
    same-origin protection that this check completes, not a login.
    """
    if host is not None:
        host_name = urlsplit(f"//{host}").hostname or ""
        if not is_loopback_host(host_name) and origin not in allowed:
            raise ForbiddenOriginError(f"Host {host!r} is not a loopback address", {"host": host})
    if origin is None or origin in allowed:
        return
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not is_loopback_host(parts.hostname or ""):
        raise ForbiddenOriginError(
            f"origin {origin!r} may not use the studio (only loopback pages, or "
            "origins given with --allow-origin)",
            {"origin": origin, "allowed": sorted(allowed)},
        )
