"""The service's settings and the rule that keeps it off the network unless secured."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from middleware.protocol.codec import DEFAULT_MAX_MESSAGE_BYTES
from middleware.protocol.messages import DEFAULT_MAX_CREDITS
from middleware.service.errors import ServiceConfigError

DEFAULT_BIND = "tcp://127.0.0.1:5570"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


@dataclass(frozen=True)
class CurveKeys:
    """CurveZMQ material: the server's certificate (with secret key) and authorised clients."""

    server_secret_file: Path  # a zmq certificate file holding public + secret key
    clients_dir: Path  # a directory of authorised client public-key certificates


@dataclass(frozen=True)
class ServiceConfig:
    bind: str = DEFAULT_BIND
    pub_bind: str | None = None  # None: the request port + 1 (or "*" for an ephemeral port)
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_credits: int = DEFAULT_MAX_CREDITS
    max_sessions: int = 256
    max_sessions_per_peer: int = 64  # 0: no per-peer cap
    heartbeat_s: float = 2.0
    session_timeout_s: float = 10.0
    state_dir: Path | None = None  # where sessions are recorded so a restart can resume them
    curve: CurveKeys | None = None
    fetch_chunk_bytes: int = 262144
    server_name: str = "ostinato/0.1.0"

    def __post_init__(self) -> None:
        if self.max_message_bytes < 1024:
            raise ServiceConfigError(
                "max_message_bytes must be at least 1024", {"value": self.max_message_bytes}
            )
        if self.max_sessions < 1:
            raise ServiceConfigError(
                "max_sessions must be at least 1", {"value": self.max_sessions}
            )
        if self.max_sessions_per_peer < 0:
            raise ServiceConfigError(
                "max_sessions_per_peer must be 0 (no cap) or more",
                {"value": self.max_sessions_per_peer},
            )
        if not 1 <= self.max_credits <= 4096:
            raise ServiceConfigError("max_credits must be 1..4096", {"value": self.max_credits})
        if self.session_timeout_s <= self.heartbeat_s:
            raise ServiceConfigError(
                "session_timeout_s must exceed heartbeat_s",
                {"heartbeat_s": self.heartbeat_s, "session_timeout_s": self.session_timeout_s},
            )
        for endpoint in (self.bind, self.pub_bind):
            if endpoint is not None and self.curve is None and not is_loopback(endpoint):
                raise ServiceConfigError(
                    f"refusing to bind {endpoint} without CurveZMQ keys: only loopback "
                    "addresses may be bound unencrypted (give --curve-secret and --curve-clients)",
                    {"endpoint": endpoint},
                )

    def resolved_pub_bind(self) -> str:
        """The PUB endpoint to bind: explicit, else the request port + 1, else ephemeral."""
        if self.pub_bind is not None:
            return self.pub_bind
        parts = urlsplit(self.bind)
        if parts.scheme != "tcp":
            return self.bind + ".pub"
        host, _, port = parts.netloc.rpartition(":")
        if port.isdigit():
            return f"tcp://{host}:{int(port) + 1}"
        return f"tcp://{host}:*"


def is_loopback(endpoint: str) -> bool:
    """True for ipc://, inproc:// and tcp:// endpoints on a loopback address."""
    parts = urlsplit(endpoint)
    if parts.scheme in ("ipc", "inproc"):
        return True
    if parts.scheme != "tcp":
        return False
    host = parts.netloc.rpartition(":")[0]
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
