"""Errors of the service itself (configuration, start-up), as opposed to wire errors."""

from __future__ import annotations

from engine_core.errors import OstinatoError


class ServiceConfigError(OstinatoError):
    """The service was asked to start in a way it refuses (non-loopback bind without keys...)."""

    code = "service_config"
    exit_code = 2


class ServiceStartError(OstinatoError):
    """The service could not start: a port in use, unreadable keys, packs that do not load."""

    code = "service_start"
    exit_code = 3
