"""Errors raised by the pre-generation scheduler."""

from __future__ import annotations

from engine_core.errors import OstinatoError


class SchedulerError(OstinatoError):
    code = "scheduler_error"
    exit_code = 7


class SchedulerClosedError(SchedulerError):
    """A request reached a scheduler that is shutting down or closed."""

    code = "scheduler_closed"


class SchedulerConfigError(SchedulerError):
    """A scheduler setting is invalid (worker count, retries, engine factory)."""

    code = "scheduler_config"
    exit_code = 2


class SetFailedError(SchedulerError):
    """A variant set could not be generated after every allowed attempt.

    ``detail`` carries the state, the set key, the attempts and the last cause.
    """

    code = "pregen_failed"
