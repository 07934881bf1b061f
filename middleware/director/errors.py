"""Errors of the director: bad events from a game, impossible timing requests."""

from __future__ import annotations

from engine_core.errors import OstinatoError


class DirectorError(OstinatoError):
    """The director was asked for something it cannot do (bad value, bad timing)."""

    code = "bad_director_request"
    exit_code = 2


class InvalidEventError(DirectorError):
    """An event with an out-of-range value or a sample time already played."""

    code = "invalid_event"
    exit_code = 2


class SessionScriptError(DirectorError):
    """A render-session script that cannot be read or names unknown things."""

    code = "bad_session_script"
    exit_code = 2


class AudioNotReadyError(DirectorError):
    """The audio asked for (a stinger) is not generated yet."""

    code = "not_ready"
    exit_code = 3
