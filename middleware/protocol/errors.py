"""Wire error codes: one `OstinatoError` subclass per code of docs/protocol.md ("Errors").

`unknown_state` and `unknown_stinger` come from `middleware.errors` (the template pack
raises them); the rest are protocol- or service-level. `WIRE_ERROR_CODES` is the complete
documented list (a test checks it against docs/protocol.md).
"""

from __future__ import annotations

from engine_core.errors import GenerationError, OstinatoError
from middleware.errors import UnknownStateError, UnknownStingerError


class ProtocolError(OstinatoError):
    """Base of the errors a request can earn on the wire."""

    code = "bad_message"
    exit_code = 2


class BadMessageError(ProtocolError):
    """Not a msgpack map, or the envelope is malformed."""

    code = "bad_message"


class TooLargeError(ProtocolError):
    code = "too_large"


class UnsupportedVersionError(ProtocolError):
    code = "unsupported_version"


class UnknownTypeError(ProtocolError):
    code = "unknown_type"


class MissingFieldError(ProtocolError):
    code = "missing_field"


class BadFieldError(ProtocolError):
    code = "bad_field"


class NoSessionError(ProtocolError):
    code = "no_session"


class UnknownPackError(ProtocolError):
    code = "unknown_pack"


class UnknownVariantError(ProtocolError):
    code = "unknown_variant"


class NotReadyError(ProtocolError):
    code = "not_ready"


class NoStreamError(ProtocolError):
    code = "no_stream"


class TooManySessionsError(ProtocolError):
    code = "too_many_sessions"


class OverloadedError(ProtocolError):
    """The connection has too many replies it has not read: the request was not executed."""

    code = "overloaded"


class DamagedError(ProtocolError):
    """Cached audio failed its checksum; it is quarantined and being generated again."""

    code = "damaged"


class InternalError(ProtocolError):
    """An unexpected exception caught by the service (a bug); the service keeps running."""

    code = "internal"
    exit_code = 1


class RemoteError(OstinatoError):
    """An error reply received by a client, re-raised with the service's code and detail."""

    def __init__(self, code: str, message: str, detail: dict | None = None) -> None:
        super().__init__(message, detail)
        self.remote_code = code

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.remote_code

    def __str__(self) -> str:
        return f"[{self.remote_code}] {self.message}"


#: Every error class that can reach the wire, by code.
WIRE_ERRORS: dict[str, type[OstinatoError]] = {
    cls.code: cls
    for cls in (
        BadMessageError,
        TooLargeError,
        UnsupportedVersionError,
        UnknownTypeError,
        MissingFieldError,
        BadFieldError,
        NoSessionError,
        UnknownPackError,
        UnknownStateError,
        UnknownStingerError,
        UnknownVariantError,
        NotReadyError,
        NoStreamError,
        TooManySessionsError,
        OverloadedError,
        DamagedError,
        GenerationError,
        InternalError,
    )
}

WIRE_ERROR_CODES: tuple[str, ...] = tuple(WIRE_ERRORS)
