"""The WebSocket transport's bytes: the only studio code that builds or reads them.

Text messages carry JSON: a request envelope from the page (the msgpack envelope of
docs/protocol.md, spelled in JSON), a reply envelope back, or a notification
``{"note": topic, "body": {...}}``. Binary messages from the server carry PCM blocks:
a little-endian u32 header length N, N bytes of JSON header (the ZeroMQ PCM header,
space-padded so the samples start on a 4-byte boundary), then the interleaved samples.
Bytes inside a reply (fetch's `data`) travel as base64 strings.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

from engine_core.errors import OstinatoError
from middleware.protocol import codec
from middleware.protocol.errors import BadMessageError, TooLargeError

_LENGTH = struct.Struct("<I")


def request_from_text(text: str, *, max_bytes: int) -> bytes:
    """A page's JSON request -> the msgpack frame the service reads.

    Raises `codec.DecodeFailure` (with the id and type when known) for what the service
    would refuse before reading the envelope: oversized or undecodable messages.
    """
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise codec.DecodeFailure(
            BadMessageError("message is not valid JSON", {"reason": str(error)}), None, "error"
        ) from None
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        # the socket's own cap (a few times this one) bounds what was parsed; naming the
        # request lets the page match the error to it
        request_id, request_type = _named(raw)
        raise codec.DecodeFailure(
            TooLargeError(
                f"request of {size} bytes exceeds the {max_bytes}-byte cap",
                {"size": size, "limit": max_bytes},
            ),
            request_id,
            request_type,
        )
    return codec.pack(raw)


def _named(raw: Any) -> tuple[int | None, str]:
    if not isinstance(raw, dict):
        return None, "error"
    request_id = raw.get("id")
    request_type = raw.get("type")
    valid_id = isinstance(request_id, int) and not isinstance(request_id, bool)
    return (
        request_id if valid_id and 0 <= request_id <= codec.MAX_REQUEST_ID else None,
        request_type if isinstance(request_type, str) else "error",
    )


def error_text(failure: codec.DecodeFailure) -> str:
    return reply_text(codec.error_reply(failure.request_id, failure.request_type, failure.error))


def error_text_for(error: OstinatoError, request_id: int | None, request_type: str) -> str:
    return reply_text(codec.error_reply(request_id, request_type, error))


def reply_text(frame: bytes) -> str:
    """A service reply (msgpack) -> the JSON text sent to the page."""
    return json.dumps(_jsonable(codec.unpack(frame)), separators=(",", ":"))


def note_text(topic: str, body: dict[str, Any]) -> str:
    return json.dumps({"note": topic, "body": _jsonable(body)}, separators=(",", ":"))


def pcm_message(header_frame: bytes, data: bytes) -> bytes:
    """A ZeroMQ PCM block (msgpack header frame, sample frame) -> one binary message."""
    header = json.dumps(codec.unpack(header_frame), separators=(",", ":")).encode()
    padding = (-(_LENGTH.size + len(header))) % 4
    header += b" " * padding
    return _LENGTH.pack(len(header)) + header + data


def read_pcm_message(message: bytes) -> tuple[dict[str, Any], bytes]:
    """The inverse of `pcm_message` (tests and tools)."""
    (length,) = _LENGTH.unpack_from(message)
    start = _LENGTH.size
    header = json.loads(message[start : start + length])
    return header, message[start + length :]


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
