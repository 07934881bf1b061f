"""Replies a connection has not read yet: kept in order and sent when its socket has room.

ZeroMQ refuses a send (high-water mark) when a client does not read its replies. A reply
is never dropped for that: it waits in the connection's backlog, and everything after it
too (replies stay in order), and a retry loop sends the backlog as the client reads.

The backlog is bounded. Once a connection has `soft_limit` replies (or `soft_bytes`)
waiting, the service stops executing its requests and answers each with a small
`overloaded` error instead (it is queued like any reply: the client sees it when it
reads). A connection that keeps sending until `hard_limit` replies wait is cut off: its
backlog is discarded and counted (`stats["cut_off"]`, `stats["dropped_replies"]`), its
stream stops, and PUB `error/<session>` says `overloaded`. docs/protocol.md states the
rule ("Back-pressure").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

#: how long the retry loop waits before trying a blocked connection again
RETRY_S = 0.005

#: send(routing id, frames) -> "sent", "full" (the peer's queue is at its limit) or "gone"
SendFn = Callable[[bytes, list[bytes]], str]


@dataclass
class _Backlog:
    frames: deque[list[bytes]] = field(default_factory=deque)
    nbytes: int = 0


@dataclass(frozen=True)
class OutboxLimits:
    soft_limit: int = 1024  # replies waiting: further requests get `overloaded`
    soft_bytes: int = 8 * 1024 * 1024  # bytes waiting: the same
    hard_limit: int = 16384  # replies waiting: the connection is cut off


class Outbox:
    """Per-connection reply backlogs of one ROUTER socket."""

    def __init__(
        self,
        send: SendFn,
        limits: OutboxLimits | None = None,
        on_cut_off: Callable[[bytes], None] | None = None,
    ) -> None:
        self._send = send
        self.limits = limits or OutboxLimits()
        self._on_cut_off = on_cut_off
        self._backlogs: dict[bytes, _Backlog] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.stats = {"queued": 0, "dropped_replies": 0, "cut_off": 0, "peak": 0}

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_loop(), name="ostinato-outbox")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def waiting(self, routing_id: bytes) -> int:
        """Replies waiting for this connection."""
        backlog = self._backlogs.get(routing_id)
        return 0 if backlog is None else len(backlog.frames)

    def overloaded(self, routing_id: bytes) -> bool:
        backlog = self._backlogs.get(routing_id)
        if backlog is None:
            return False
        limits = self.limits
        return len(backlog.frames) >= limits.soft_limit or backlog.nbytes >= limits.soft_bytes

    def send(self, routing_id: bytes, frames: list[bytes]) -> bool:
        """Send now, or queue behind what already waits. False only if the connection is
        gone (ZeroMQ no longer knows it) or was just cut off."""
        backlog = self._backlogs.get(routing_id)
        if backlog is None:
            outcome = self._send(routing_id, frames)
            if outcome == "sent":
                return True
            if outcome == "gone":
                self.stats["dropped_replies"] += 1
                return False
            backlog = self._backlogs[routing_id] = _Backlog()
            self._wake.set()
        if len(backlog.frames) >= self.limits.hard_limit:
            self._cut_off(routing_id, backlog)
            return False
        backlog.frames.append(frames)
        backlog.nbytes += sum(len(frame) for frame in frames)
        self.stats["queued"] += 1
        self.stats["peak"] = max(self.stats["peak"], len(backlog.frames))
        return True

    def _cut_off(self, routing_id: bytes, backlog: _Backlog) -> None:
        self.stats["cut_off"] += 1
        self.stats["dropped_replies"] += len(backlog.frames) + 1
        del self._backlogs[routing_id]
        if self._on_cut_off is not None:
            self._on_cut_off(routing_id)

    def flush(self) -> None:
        """Send what each connection's socket takes now, oldest first."""
        for routing_id, backlog in list(self._backlogs.items()):
            frames = backlog.frames
            while frames:
                outcome = self._send(routing_id, frames[0])
                if outcome == "full":
                    break
                sent = frames.popleft()
                backlog.nbytes -= sum(len(frame) for frame in sent)
                if outcome == "gone":
                    self.stats["dropped_replies"] += 1 + len(frames)
                    frames.clear()
            if not frames:
                del self._backlogs[routing_id]

    async def _flush_loop(self) -> None:
        while True:
            if not self._backlogs:
                self._wake.clear()
                await self._wake.wait()
            await asyncio.sleep(RETRY_S)
            self.flush()
