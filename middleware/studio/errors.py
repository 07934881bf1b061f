"""The studio's own errors (everything else it reports is the service's or the loader's)."""

from __future__ import annotations

from engine_core.errors import OstinatoError


class StudioError(OstinatoError):
    code = "studio_error"
    exit_code = 1


class RegenerationUnavailableError(StudioError):
    code = "not_available"


class UnknownVariantPathError(StudioError):
    code = "unknown_variant"
    exit_code = 2
