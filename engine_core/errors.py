"""The error hierarchy shared by the engine, the middleware, the CLI and the wire protocol.

Every error has a stable ``code`` (the wire protocol's error code, see docs/protocol.md)
and an ``exit_code`` for the CLI. Raise these for caller mistakes; never ``assert``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OstinatoError(Exception):
    """Root of every error Ostinato raises on purpose."""

    code: ClassVar[str] = "internal"
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail: dict[str, Any] = dict(detail or {})

    def to_wire(self) -> dict[str, Any]:
        """The structured error carried in a protocol reply."""
        return {"code": self.code, "message": self.message, "detail": self.detail}


class InvalidSpecError(OstinatoError):
    """A generation request the engine cannot honour (bad bpm, meter, key, stem...)."""

    code = "invalid_spec"
    exit_code = 2


class SoundFontError(OstinatoError):
    """A SoundFont is missing, unreadable or not a SoundFont."""

    code = "soundfont_error"
    exit_code = 3


class CheckpointError(OstinatoError):
    """Model weights are missing, corrupt, or do not match the code or data they claim."""

    code = "checkpoint_error"
    exit_code = 4


class RenderConfigError(OstinatoError):
    """A renderer setting (say `OSTINATO_NOTE_CACHE_MB`) has a value it cannot use."""

    code = "render_config"
    exit_code = 2


class GenerationError(OstinatoError):
    """Generation failed for a reason other than the request itself."""

    code = "generation_failed"
    exit_code = 5
