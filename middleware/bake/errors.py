"""Errors the bake raises, rooted at `OstinatoError` (stable codes, CLI exit codes)."""

from __future__ import annotations

from engine_core.errors import OstinatoError


class BakeError(OstinatoError):
    """A pack cannot be baked as asked (too many clips, a missing stinger file, a bad format...).

    Raised while planning, before any generation starts.
    """

    code = "bake_invalid"
    exit_code = 2


class BakeOutputError(OstinatoError):
    """The output folder cannot be written, or a written manifest fails its schema."""

    code = "bake_output"
    exit_code = 6
