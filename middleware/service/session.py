"""Sessions: one per connected game, each with its own player (director), stream and clock.

A session is bound to the ZeroMQ routing id of the connection that said `hello`; a client
that reconnects re-binds it with `hello(resume=...)`. `SessionRecords` writes a small
record per session under the service's state directory, so a restarted service can resume
the sessions it had (same id, state and intensity).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack

from middleware.service.player import Mark, SessionPlayer


@dataclass
class StreamState:
    """The PCM stream of one session (mutable: `middleware.service.streams` owns it)."""

    stream_id: int
    pcm_format: str
    block_frames: int
    credits: int
    sent: int = 0
    seq: int = 0
    blocked_sends: int = 0  # sends refused by the socket's high-water mark (client not reading)
    unsent: tuple[list[bytes], tuple[Mark, ...]] | None = None  # a rendered block refused
    retry_at: float = 0.0  # monotonic time to offer `unsent` again
    encoder: Any = None  # the stream's PcmEncoder, made with its first block
    #: the client takes `rewind` notices (stream_start `rewind: true`, a player that can)
    rewind: bool = False
    #: (seq, first sample, player snapshot) of the last blocks rendered, oldest first
    history: deque[tuple[int, int, Any]] = field(default_factory=deque)
    history_limit: int = 0
    rewind_floor: int = 0  # where the last event applied: a rewind never goes before it
    rewinds: int = 0


@dataclass
class Session:
    session_id: str
    routing_id: bytes
    pack: str
    client: str
    player: SessionPlayer
    last_seen_s: float = field(default_factory=time.monotonic)
    stream: StreamState | None = None
    params: dict[str, Any] = field(default_factory=dict)
    next_stream_id: int = 1
    resume_token: str = ""  # secret, told only to the owner in the hello reply
    peer: str = ""  # who opened it (CurveZMQ user id or network address): per-peer caps

    @property
    def token_hash(self) -> str:
        return token_hash(self.resume_token)

    def touch(self) -> None:
        self.last_seen_s = time.monotonic()

    def record(self) -> dict[str, Any]:
        return {
            "session": self.session_id,
            "pack": self.pack,
            "client": self.client,
            "state": self.player.state,
            "intensity": self.player.intensity,
            "params": self.params,
            "token_sha256": self.token_hash,  # the token itself is never written
        }


def new_session_id() -> str:
    return secrets.token_hex(16)


def new_resume_token() -> str:
    return secrets.token_hex(16)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, expected_hash: object) -> bool:
    """Constant-time check of a resume token against a recorded hash."""
    if not isinstance(expected_hash, str) or not token:
        return False
    return hmac.compare_digest(token_hash(token), expected_hash)


class SessionRecords:
    """One msgpack file per live session under `root`; written atomically (temp + rename)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)

    def _path(self, session_id: str) -> Path | None:
        if self.root is None or not _is_session_id(session_id):
            return None
        return self.root / f"{session_id}.session"

    def save(self, session: Session) -> None:
        path = self._path(session.session_id)
        if path is None:
            return
        temp = path.with_suffix(".tmp")
        temp.write_bytes(msgpack.packb(session.record(), use_bin_type=True))
        os.replace(temp, path)

    def load(self, session_id: str) -> dict[str, Any] | None:
        path = self._path(session_id)
        if path is None or not path.exists():
            return None
        try:
            record = msgpack.unpackb(path.read_bytes(), raw=False)
        except (ValueError, msgpack.UnpackException, OSError):
            return None
        return record if isinstance(record, dict) else None

    def forget(self, session_id: str) -> None:
        path = self._path(session_id)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _is_session_id(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


class SessionTable:
    """Live sessions by id and by routing id."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}
        self._by_route: dict[bytes, str] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._by_id.values()))

    def get(self, session_id: str) -> Session | None:
        return self._by_id.get(session_id)

    def count_peer(self, peer: str) -> int:
        return sum(1 for session in self._by_id.values() if session.peer == peer)

    def for_route(self, routing_id: bytes) -> Session | None:
        session_id = self._by_route.get(routing_id)
        return None if session_id is None else self._by_id.get(session_id)

    def add(self, session: Session) -> None:
        old = self._by_route.get(session.routing_id)
        if old is not None and old != session.session_id:
            self._by_id.pop(old, None)
        self._by_id[session.session_id] = session
        self._by_route[session.routing_id] = session.session_id

    def rebind(self, session: Session, routing_id: bytes) -> None:
        if self._by_route.get(session.routing_id) == session.session_id:
            del self._by_route[session.routing_id]
        other = self._by_route.get(routing_id)
        if other is not None and other != session.session_id:
            self._by_id.pop(other, None)
        session.routing_id = routing_id
        self._by_route[routing_id] = session.session_id

    def remove(self, session: Session) -> None:
        self._by_id.pop(session.session_id, None)
        if self._by_route.get(session.routing_id) == session.session_id:
            del self._by_route[session.routing_id]

    def expired(self, timeout_s: float) -> list[Session]:
        now = time.monotonic()
        return [s for s in self._by_id.values() if now - s.last_seen_s > timeout_s]
