"""What the scheduler reports: progress and completion events, per variant and per set.

Events are plain frozen values the service can publish as they are (`to_json`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    QUEUED = "queued"  # a new request entered the queue
    JOINED = "joined"  # a request for a set already queued or running
    RAISED = "raised"  # a queued request moved to a more urgent priority
    STARTED = "started"  # a worker began the set (attempt number in `attempt`)
    PROGRESS = "progress"  # engine progress: `stage`, `done` of `total`
    VARIANT_READY = "variant_ready"  # variant `variant_index` is in the cache
    SET_READY = "set_ready"  # the whole set is in the cache (`generated` False: it was)
    WAITING = "waiting"  # another process is generating the set; looked at again soon
    RETRYING = "retrying"  # an attempt failed (`error`); the set is queued again
    FAILED = "failed"  # every attempt failed; `error` holds the last cause
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class SchedulerEvent:
    kind: EventKind
    state: str
    key: str  # the set's cache key
    priority: int | None = None
    attempt: int = 0
    variant_index: int | None = None
    stage: str | None = None
    done: int = 0
    total: int = 0
    generated: bool | None = None
    error: str | None = None
    worker: int | None = None
    elapsed_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = str(self.kind)
        return {k: v for k, v in data.items() if v is not None}
