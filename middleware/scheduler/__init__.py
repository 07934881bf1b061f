"""Pre-generation: variant sets made ahead of time in worker processes (see docs/cache.md).

Importing this package does not import the engine; workers do, in their own processes.
"""

from middleware.scheduler.errors import (
    SchedulerClosedError,
    SchedulerConfigError,
    SchedulerError,
    SetFailedError,
)
from middleware.scheduler.events import EventKind, SchedulerEvent
from middleware.scheduler.requests import Priority, RequestQueue, SetRequest
from middleware.scheduler.scheduler import (
    DEFAULT_ENGINE_FACTORY,
    Scheduler,
    SetResult,
    likely_next,
    pack_requests,
    request_key,
)

__all__ = [
    "DEFAULT_ENGINE_FACTORY",
    "EventKind",
    "Priority",
    "RequestQueue",
    "Scheduler",
    "SchedulerClosedError",
    "SchedulerConfigError",
    "SchedulerError",
    "SchedulerEvent",
    "SetFailedError",
    "SetRequest",
    "SetResult",
    "likely_next",
    "pack_requests",
    "request_key",
]
