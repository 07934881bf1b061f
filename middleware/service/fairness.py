"""Requests waiting to be handled, one line per connection, served fairly.

The serving loop takes every request waiting on the socket into its connection's line,
then serves the lines in turn, one request per turn (round robin), so a connection with
a thousand requests queued holds the others up by one request, not a thousand.

Turns by count are not enough: one connection sending costly requests back to back (a
game whose clock is frozen, sending 10,000 state changes) keeps the loop busy, and every
other client's request then waits behind the one in progress. So each connection also
has a budget of the serving loop's time (a token bucket, in seconds): the time its
requests take is charged to it, and it earns a share of wall time, the larger of `1 / N`
while N connections are active (sent a request in the last `window_s`) and `min_share`
(10%), up to `burst_s`. The floor keeps ordinary clients (a fraction of a percent of the
loop each) from ever being held, even with hundreds connected or on a machine so busy
that their requests seem to take long; a flooding client gets at most its share of
the time others want. A connection that has spent its budget waits, its requests kept
in order, until it has earned some again; a connection alone is never held (nobody else
would gain). Nor is loop time wasted on holding: when no other request waits and no
stream has a block to send, the loop serves a held connection's request anyway
(`pop_spare`, not charged to its budget), so the hold only ever gives way to others
(until 2026-12-03 a held flooder waited even while the loop slept: its round trip
was 4x its unheld one with 10 quiet clients connected). Spare time is itself metered: a
held connection earns it at `spare_share` (20%) of wall time, up to `burst_s`, so a
flooder cannot fill every idle moment of the loop. The loop's idle time is not the
machine's: each request served in it also takes a core for the service's I/O thread and
for the flooding client's own process, which other clients' replies may wait for on a
small machine. A smaller share was measured and not kept (2026-12-03, shared 2-core
machine, 15 soak runs each way alternating: at 5% the others' p99 beside a frozen-clock
client was median 1.08x, at 20% 1.13x, within that machine's noise, while the held
flooder's own round trip, last vs first 100 events, went over 2x in 3 of 22 runs at
5%, 0 of 15 at 20%: its loop time is charged by the wall clock, so on a loaded machine
a slower held pace leaves it at the mercy of preemption; docs/service.md). A line holds
at most `line_limit` requests: beyond, `push` refuses (the service answers `overloaded`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: the CPU time a connection may spend at once, beyond its share (seconds)
BURST_S = 0.02
#: a connection that sent a request this recently counts as active (seconds)
ACTIVE_WINDOW_S = 1.0
#: requests one connection may have waiting in the service (beyond: `overloaded`)
LINE_LIMIT = 1024
#: the least share of the loop's time a connection earns, however many are active
MIN_SHARE = 0.1
#: the share of wall time a held connection may also take from the loop's spare time
SPARE_SHARE = 0.2


@dataclass
class _Line:
    requests: deque[Any] = field(default_factory=deque)
    tokens: float = BURST_S
    updated: float = 0.0
    last_seen: float = 0.0
    held: bool = False  # out of budget: waits for tokens, not in the turn order
    spent_s: float = 0.0  # total time charged (stats)
    spare_s: float = 0.0  # time of requests served in spare loop time, not charged
    spare_tokens: float = BURST_S  # spare loop time it may still take (seconds)
    spare_updated: float = 0.0
    handled: int = 0  # requests handled, charged or spare (stats)
    largest_s: float = 0.0  # the largest single request, charged or spare (stats)


class FairQueue:
    """Per-connection request lines, round robin, with a CPU budget per connection."""

    def __init__(
        self,
        *,
        burst_s: float = BURST_S,
        window_s: float = ACTIVE_WINDOW_S,
        line_limit: int = LINE_LIMIT,
        min_share: float = MIN_SHARE,
        spare_share: float = SPARE_SHARE,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.burst_s = burst_s
        self.min_share = min_share
        self.spare_share = spare_share
        self.window_s = window_s
        self.line_limit = line_limit
        self._clock = clock
        self._lines: dict[bytes, _Line] = {}
        self._turns: deque[bytes] = deque()  # connections with requests and budget
        self._held: set[bytes] = set()  # connections with requests, out of budget
        self._queued = 0
        self._active = 1
        self._active_checked = -1.0
        self.stats = {"held": 0, "refused": 0, "spare": 0}

    def __len__(self) -> int:
        """Requests waiting (held ones included)."""
        return self._queued

    def waiting(self, routing_id: bytes) -> int:
        line = self._lines.get(routing_id)
        return 0 if line is None else len(line.requests)

    def spent_s(self, routing_id: bytes) -> tuple[float, float]:
        """(time charged to a connection so far, its largest single request, charged or
        spare), while its line is kept."""
        line = self._lines.get(routing_id)
        return (0.0, 0.0) if line is None else (line.spent_s, line.largest_s)

    def spare_s(self, routing_id: bytes) -> float:
        """Time of a connection's requests served in spare loop time so far (not charged
        to its budget), while its line is kept."""
        line = self._lines.get(routing_id)
        return 0.0 if line is None else line.spare_s

    def costs(self) -> dict[bytes, tuple[int, float]]:
        """Per connection whose line is kept: (requests handled, their time in s, charged
        and spare)."""
        return {
            key: (line.handled, line.spent_s + line.spare_s) for key, line in self._lines.items()
        }

    def push(self, routing_id: bytes, request: Any) -> bool:
        """Queue a request behind its connection's others; False if its line is full."""
        now = self._clock()
        line = self._lines.get(routing_id)
        if line is None:
            line = self._lines[routing_id] = _Line(
                tokens=self.burst_s,
                updated=now,
                spare_tokens=self.burst_s,
                spare_updated=now,
            )
            self._active_checked = -1.0  # a newcomer: count again
        if len(line.requests) >= self.line_limit:
            self.stats["refused"] += 1
            return False
        line.last_seen = now
        if not line.requests and not line.held:
            self._turns.append(routing_id)
        line.requests.append(request)
        self._queued += 1
        return True

    def pop(self) -> tuple[bytes, Any] | None:
        """The next request in turn (routing id, request), or None if every connection
        with requests waiting is out of budget (or none has any)."""
        now = self._clock()
        if self._held:
            self._release(now)
        turns = self._turns
        while turns:
            routing_id = turns.popleft()
            line = self._lines[routing_id]
            self._refill(line, now)
            if line.tokens <= 0.0 and self.active(now) > 1:
                line.held = True
                self._held.add(routing_id)
                self.stats["held"] += 1
                continue
            request = line.requests.popleft()
            self._queued -= 1
            if line.requests:
                turns.append(routing_id)
            return routing_id, request
        return None

    def pop_spare(self) -> tuple[bytes, Any] | None:
        """A request of a connection held for its budget, for loop time nobody else wants
        (call it only when no other request waits and no stream has a block to send):
        the held connection least in debt that has spare time left, or None. Its budget
        does not change (`charge(..., spare=True)` takes from its spare time), so it
        stays held while others are busy."""
        if not self._held:
            return None
        now = self._clock()
        lines = self._lines
        ready = []
        for key in self._held:
            self._refill_spare(lines[key], now)
            if lines[key].spare_tokens > 0.0:
                ready.append(key)
        if not ready:
            return None
        routing_id = max(ready, key=lambda key: lines[key].tokens)
        line = lines[routing_id]
        request = line.requests.popleft()
        self._queued -= 1
        if not line.requests:  # nothing left to hold: back to the turns with its next one
            line.held = False
            self._held.discard(routing_id)
        self.stats["spare"] += 1
        return routing_id, request

    def charge(self, routing_id: bytes, cost_s: float, *, spare: bool = False) -> None:
        """Charge a handled request's time to its connection (`spare`: served in loop
        time nobody else wanted, counted but not taken from its budget)."""
        line = self._lines.get(routing_id)
        if line is not None:
            line.handled += 1
            line.largest_s = max(line.largest_s, cost_s)
            if spare:
                line.spare_s += cost_s
                line.spare_tokens -= cost_s
                return
            line.tokens -= cost_s
            line.spent_s += cost_s

    def has_turns(self) -> bool:
        """Whether a request could be served now (without waiting for a budget)."""
        if self._held:
            self._release(self._clock())
        return bool(self._turns)

    def next_ready_s(self) -> float | None:
        """Seconds until a held connection has budget or spare time again, or None if
        none is held."""
        if not self._held:
            return None
        now = self._clock()
        rate, spare = self.share(now), self.spare_share
        waits = []
        for routing_id in self._held:
            line = self._lines[routing_id]
            budget_s = max(0.0, -line.tokens - rate * (now - line.updated)) / rate
            spare_s = max(0.0, -line.spare_tokens - spare * (now - line.spare_updated)) / spare
            waits.append(min(budget_s, spare_s))
        return min(waits) + 0.0002  # (a hair past the refill: no spinning on a rounding)

    def forget(self, routing_id: bytes) -> int:
        """Drop a connection's line (it is gone); returns how many requests it held."""
        line = self._lines.pop(routing_id, None)
        if line is None:
            return 0
        self._held.discard(routing_id)
        if routing_id in self._turns:
            self._turns.remove(routing_id)
        self._queued -= len(line.requests)
        return len(line.requests)

    def active(self, now: float) -> int:
        """Connections that sent a request in the last `window_s` (counted every 0.1 s;
        idle lines with nothing waiting are dropped then)."""
        if now - self._active_checked >= 0.1:
            since = now - self.window_s
            idle = [
                key
                for key, line in self._lines.items()
                if line.last_seen < since and not line.requests and not line.held
            ]
            for key in idle:
                del self._lines[key]
            self._active = max(
                1, sum(1 for line in self._lines.values() if line.last_seen >= since)
            )
            self._active_checked = now
        return self._active

    def share(self, now: float) -> float:
        """The share of wall time each connection earns now."""
        return max(1.0 / self.active(now), self.min_share)

    def _refill(self, line: _Line, now: float) -> None:
        if line.tokens < self.burst_s:
            earned = (now - line.updated) * self.share(now)
            line.tokens = min(self.burst_s, line.tokens + earned)
        line.updated = now

    def _refill_spare(self, line: _Line, now: float) -> None:
        if line.spare_tokens < self.burst_s:
            earned = (now - line.spare_updated) * self.spare_share
            line.spare_tokens = min(self.burst_s, line.spare_tokens + earned)
        line.spare_updated = now

    def _release(self, now: float) -> None:
        """Held connections with budget again (or now alone) go back into the turns."""
        alone = self.active(now) <= 1
        for routing_id in list(self._held):
            line = self._lines[routing_id]
            self._refill(line, now)
            if line.tokens > 0.0 or alone:
                line.held = False
                self._held.discard(routing_id)
                self._turns.append(routing_id)
