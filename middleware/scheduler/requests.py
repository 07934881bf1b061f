"""Variant-set requests and their priority queue (pure data structures, no processes).

Priorities: the state a session is in now, then states its transitions can reach next,
then the rest of the pack. A request for a set that is already queued is joined (one
entry, one future); asking again with a more urgent priority moves it up.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from middleware.cache.keys import StateLike


class Priority(IntEnum):
    """Lower runs first."""

    CURRENT = 0  # a session is in this state now
    REACHABLE = 1  # a transition from the current state leads here
    BACKGROUND = 2  # the rest of the pack


@dataclass(frozen=True)
class SetRequest:
    """One variant set to make: the state (or stinger) template, its key, its size."""

    key: str
    state: StateLike
    variants: int
    after: tuple[str, ...] = ()  # request keys that must be made first (a bridge's states)

    @property
    def name(self) -> str:
        return self.state.name


class RequestQueue:
    """A priority queue of `SetRequest`s keyed by set key: FIFO within a priority."""

    def __init__(self) -> None:
        self._heap: list[list[Any]] = []  # [priority, sequence, key, live]
        self._entries: dict[str, list[Any]] = {}
        self._requests: dict[str, SetRequest] = {}
        self._sequence = itertools.count()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def priority_of(self, key: str) -> Priority | None:
        entry = self._entries.get(key)
        return None if entry is None else Priority(entry[0])

    def push(self, request: SetRequest, priority: Priority) -> str:
        """Queue `request`; returns "queued", "raised" (more urgent now) or "joined"."""
        entry = self._entries.get(request.key)
        if entry is None:
            self._add(request, priority, next(self._sequence))
            return "queued"
        if priority < entry[0]:
            entry[3] = False  # the old heap entry is skipped when it surfaces
            self._add(request, priority, entry[1])
            return "raised"
        return "joined"

    def _add(self, request: SetRequest, priority: Priority, sequence: int) -> None:
        entry = [int(priority), sequence, request.key, True]
        self._entries[request.key] = entry
        self._requests[request.key] = request
        heapq.heappush(self._heap, entry)

    def pop(self) -> tuple[SetRequest, Priority] | None:
        while self._heap:
            priority, _, key, live = heapq.heappop(self._heap)
            if live:
                del self._entries[key]
                return self._requests.pop(key), Priority(priority)
        return None

    def pop_first(self, ready: Callable[[SetRequest], bool]) -> tuple[SetRequest, Priority] | None:
        """The first request in queue order that `ready` accepts; the requests it passes
        over keep their places (their priority and their turn within it)."""
        passed: list[list[Any]] = []
        found: tuple[SetRequest, Priority] | None = None
        while self._heap:
            entry = heapq.heappop(self._heap)
            if not entry[3]:
                continue
            if ready(self._requests[entry[2]]):
                del self._entries[entry[2]]
                found = self._requests.pop(entry[2]), Priority(entry[0])
                break
            passed.append(entry)
        for entry in passed:
            heapq.heappush(self._heap, entry)
        return found

    def remove(self, key: str) -> SetRequest | None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        entry[3] = False
        return self._requests.pop(key)

    def ordered_keys(self) -> list[str]:
        """Queued keys in the order they would run."""
        return [e[2] for e in sorted(self._entries.values())]
