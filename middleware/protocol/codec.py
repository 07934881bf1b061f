"""The wire format: the only code that builds or reads Ostinato's bytes (docs/protocol.md).

Requests and replies are one msgpack frame each; PCM stream blocks are two frames (a
msgpack header, then raw interleaved little-endian samples); PUB notifications are two
frames (topic, msgpack body). Socket code calls these functions and never touches bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

from engine_core.errors import OstinatoError
from middleware.protocol.errors import BadMessageError, TooLargeError, UnsupportedVersionError

PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS: tuple[int, ...] = (1,)
MAX_REQUEST_ID = 2**32 - 1
DEFAULT_MAX_MESSAGE_BYTES = 65536

#: PCM sample formats: wire name -> numpy dtype (little-endian)
PCM_FORMATS: dict[str, str] = {"s16": "<i2", "f32": "<f4"}
CHANNELS = 2


def pack(value: Any) -> bytes:
    """msgpack with the protocol's rules: str as str, bytes as bin, floats as float64."""
    return msgpack.packb(value, use_bin_type=True)


_TIMESTAMP_MARKERS = (b"\xd6\xff", b"\xd7\xff", b"\xc7\x0c\xff")


def _has_timestamp(value: Any) -> bool:
    if isinstance(value, msgpack.Timestamp):
        return True
    if isinstance(value, dict):
        return any(_has_timestamp(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_timestamp(v) for v in value)
    return False


def _refuse_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"msgpack extension type {code} is not used by this protocol")


def unpack(data: bytes) -> Any:
    """Decode one msgpack value; any malformation (an extension type too) raises
    `BadMessageError`. A map with a repeated key keeps its last value."""
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=True, ext_hook=_refuse_ext)
        # the timestamp extension (-1) is decoded by msgpack itself: refuse it too (the
        # byte search is a cheap pre-check; the walk confirms)
        if (
            b"\xff" in data  # (every marker has it: one scan for most requests)
            and any(marker in data for marker in _TIMESTAMP_MARKERS)
            and _has_timestamp(value)
        ):
            raise ValueError("msgpack extension type -1 (timestamp) is not used by this protocol")
        return value
    except (ValueError, TypeError, msgpack.UnpackException) as error:
        raise BadMessageError(
            "frame is not valid msgpack", {"reason": f"{type(error).__name__}: {error}"}
        ) from None


# ---------------------------------------------------------------------------------------
# Requests and replies
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    id: int
    type: str
    body: dict[str, Any] = field(default_factory=dict)
    version: int = PROTOCOL_VERSION

    def to_wire(self) -> dict[str, Any]:
        return {"v": self.version, "id": self.id, "type": self.type, "body": self.body}


@dataclass(frozen=True)
class Reply:
    id: int | None
    type: str
    ok: bool
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    version: int = PROTOCOL_VERSION

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"v": self.version, "id": self.id, "type": self.type}
        wire["ok"] = self.ok
        if self.ok:
            wire["result"] = self.result if self.result is not None else {}
        else:
            wire["error"] = self.error
        return wire

    @property
    def error_code(self) -> str | None:
        return None if self.error is None else self.error.get("code")


class DecodeFailure(Exception):
    """A request that could not be accepted; carries what is known of it for the reply."""

    def __init__(self, error: OstinatoError, request_id: int | None, request_type: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.request_id = request_id
        self.request_type = request_type


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def encode_request(request: Request) -> bytes:
    return pack(request.to_wire())


def decode_request(frame: bytes, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Request:
    """Read a request envelope. Raises `DecodeFailure` with the id/type when they are known."""
    if len(frame) > max_bytes:
        raise DecodeFailure(
            TooLargeError(
                f"request of {len(frame)} bytes exceeds the {max_bytes}-byte cap",
                {"size": len(frame), "limit": max_bytes},
            ),
            None,
            "error",
        )
    try:
        raw = unpack(frame)
    except BadMessageError as error:
        raise DecodeFailure(error, None, "error") from None
    if not isinstance(raw, dict):
        raise DecodeFailure(
            BadMessageError(
                "a request must be a msgpack map", {"reason": f"got {type(raw).__name__}"}
            ),
            None,
            "error",
        )
    request_id = raw.get("id")
    request_id = request_id if _is_int(request_id) and 0 <= request_id <= MAX_REQUEST_ID else None
    request_type = raw.get("type")
    known_type = request_type if isinstance(request_type, str) else "error"
    problems: list[str] = []
    if request_id is None:
        problems.append("'id' must be an int 0..2^32-1")
    if not isinstance(request_type, str):
        problems.append("'type' must be a str")
    version = raw.get("v")
    if not _is_int(version):
        problems.append("'v' must be an int")
    body = raw.get("body", {})
    if body is None:
        body = {}
    if not isinstance(body, dict):
        problems.append("'body' must be a map")
    if problems:
        raise DecodeFailure(
            BadMessageError("malformed envelope: " + "; ".join(problems), {"reason": problems[0]}),
            request_id,
            known_type,
        )
    if version not in SUPPORTED_VERSIONS:
        raise DecodeFailure(
            UnsupportedVersionError(
                f"protocol version {version} is not supported",
                {"supported": list(SUPPORTED_VERSIONS), "version": version},
            ),
            request_id,
            known_type,
        )
    return Request(id=request_id, type=request_type, body=body, version=version)


def encode_reply(reply: Reply) -> bytes:
    return pack(reply.to_wire())


def ok_reply(request_id: int | None, request_type: str, result: dict[str, Any]) -> bytes:
    # the bytes of encode_reply(Reply(request_id, request_type, True, result=result)),
    # without the dataclass (every request's reply)
    return pack(
        {
            "v": PROTOCOL_VERSION,
            "id": request_id,
            "type": request_type,
            "ok": True,
            "result": result if result is not None else {},
        }
    )


def error_reply(request_id: int | None, request_type: str, error: OstinatoError) -> bytes:
    return encode_reply(Reply(request_id, request_type, False, error=error.to_wire()))


def decode_reply(frame: bytes) -> Reply:
    """Read a reply (client side). Raises `BadMessageError` if it is not one."""
    raw = unpack(frame)
    if not isinstance(raw, dict) or not isinstance(raw.get("ok"), bool):
        raise BadMessageError("not a reply envelope", {"reason": "missing 'ok'"})
    request_id = raw.get("id")
    ok = raw["ok"]
    result = raw.get("result") if ok else None
    error = None if ok else raw.get("error")
    if ok and not isinstance(result, dict):
        raise BadMessageError("reply 'result' must be a map", {"reason": "result"})
    if not ok and not (isinstance(error, dict) and isinstance(error.get("code"), str)):
        raise BadMessageError("error reply without an error map", {"reason": "error"})
    if error is not None:
        error = {
            "code": error["code"],
            "message": str(error.get("message", "")),
            "detail": error.get("detail") if isinstance(error.get("detail"), dict) else {},
        }
    return Reply(
        request_id if _is_int(request_id) else None,
        str(raw.get("type", "")),
        ok,
        result=result,
        error=error,
        version=raw.get("v", PROTOCOL_VERSION),
    )


# ---------------------------------------------------------------------------------------
# PCM stream blocks
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PcmHeader:
    stream: int
    seq: int
    sample: int
    frames: int
    format: str
    state: str
    variant: int
    bar: int
    beat: int
    intensity: float

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "pcm",
            "stream": self.stream,
            "seq": self.seq,
            "sample": self.sample,
            "frames": self.frames,
            "format": self.format,
            "state": self.state,
            "variant": self.variant,
            "bar": self.bar,
            "beat": self.beat,
            "intensity": float(self.intensity),
        }

    @classmethod
    def from_wire(cls, raw: Any) -> PcmHeader:
        if not isinstance(raw, dict) or raw.get("type") != "pcm":
            raise BadMessageError("not a PCM header", {"reason": "type"})
        try:
            return cls(
                stream=int(raw["stream"]),
                seq=int(raw["seq"]),
                sample=int(raw["sample"]),
                frames=int(raw["frames"]),
                format=str(raw["format"]),
                state=str(raw["state"]),
                variant=int(raw["variant"]),
                bar=int(raw["bar"]),
                beat=int(raw["beat"]),
                intensity=float(raw["intensity"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise BadMessageError("malformed PCM header", {"reason": str(error)}) from None


def block_bytes(frames: int, pcm_format: str) -> int:
    return frames * CHANNELS * np.dtype(PCM_FORMATS[pcm_format]).itemsize


def pcm_to_bytes(block: np.ndarray, pcm_format: str) -> bytes:
    """float32 (frames, 2) -> interleaved little-endian s16 or f32 bytes."""
    if pcm_format == "s16":
        scaled = np.rint(np.clip(block, -1.0, 1.0) * 32767.0)
        return scaled.astype("<i2").tobytes()
    return np.ascontiguousarray(block, dtype="<f4").tobytes()


def pcm_from_bytes(data: bytes, pcm_format: str) -> np.ndarray:
    """Interleaved bytes -> float32 (frames, 2)."""
    if pcm_format not in PCM_FORMATS:
        raise BadMessageError(f"unknown PCM format {pcm_format!r}", {"reason": "format"})
    samples = np.frombuffer(data, dtype=PCM_FORMATS[pcm_format])
    if samples.size % CHANNELS:
        raise BadMessageError("PCM data is not whole stereo frames", {"reason": "size"})
    out = samples.reshape(-1, CHANNELS).astype(np.float32)
    if pcm_format == "s16":
        out /= 32767.0
    return out


def encode_pcm(header: PcmHeader, data: bytes) -> list[bytes]:
    return [pack(header.to_wire()), data]


class PcmHeaderEncoder:
    """Packs PCM block headers: the same bytes as `encode_pcm(PcmHeader(...), _)[0]`,
    without building the dataclass, through one reused packer (the service sends
    thousands a second). Not thread-safe: one per thread."""

    def __init__(self) -> None:
        self._packer = msgpack.Packer(use_bin_type=True)

    def encode(
        self,
        stream: int,
        seq: int,
        sample: int,
        frames: int,
        pcm_format: str,
        state: str,
        variant: int,
        bar: int,
        beat: int,
        intensity: float,
    ) -> bytes:
        return self._packer.pack(
            {
                "type": "pcm",
                "stream": stream,
                "seq": seq,
                "sample": sample,
                "frames": frames,
                "format": pcm_format,
                "state": state,
                "variant": variant,
                "bar": bar,
                "beat": beat,
                "intensity": float(intensity),
            }
        )


#: kinds of two-frame stream messages that are not audio (header `type`, data frame empty)
STREAM_NOTICES: tuple[str, ...] = ("stopping", "rewind")


def encode_stream_notice(kind: str, stream: int, seq: int, **fields: Any) -> list[bytes]:
    """A notice on the stream (e.g. `stopping`: the service is shutting down): two frames
    like a block, header `{type: kind, stream, seq, ...fields}` (`seq`: the next block's
    number; `rewind` adds `sample`, the next block's first sample), empty data."""
    return [pack({"type": kind, "stream": stream, "seq": seq, **fields}), b""]


def stream_message_type(frames: list[bytes]) -> str | None:
    """The header `type` of a two-frame stream message (`"pcm"`, `"stopping"`...), or None
    if the header is not a map with a string `type`."""
    try:
        header = unpack(frames[0])
    except BadMessageError:
        return None
    kind = header.get("type") if isinstance(header, dict) else None
    return kind if isinstance(kind, str) else None


def decode_pcm(frames: list[bytes]) -> tuple[PcmHeader, bytes]:
    if len(frames) != 2:
        raise BadMessageError("a PCM block has two frames", {"reason": "frames"})
    header = PcmHeader.from_wire(unpack(frames[0]))
    expected = block_bytes(header.frames, header.format) if header.format in PCM_FORMATS else -1
    if len(frames[1]) != expected:
        raise BadMessageError(
            "PCM data size does not match its header",
            {"reason": "size", "size": len(frames[1]), "expected": expected},
        )
    return header, frames[1]


# ---------------------------------------------------------------------------------------
# PUB notifications
# ---------------------------------------------------------------------------------------

PUB_TOPICS: tuple[str, ...] = (
    "beat",
    "bar",
    "transition.planned",
    "transition.started",
    "transition.cancelled",
    "state",
    "stinger.planned",
    "stinger.dropped",
    "waiting_for_audio",
    "audio_ready",
    "bridge.start",
    "bridge.fallback",
    "variant.ready",
    "pregen.progress",
    "cache.damaged",
    "stopping",
    "error",
)


def pub_topic(topic: str, session: str | None) -> str:
    return topic if session is None else f"{topic}/{session}"


def encode_pub(topic: str, session: str | None, t_ns: int, fields: dict[str, Any]) -> list[bytes]:
    body: dict[str, Any] = {"session": session, "t_ns": t_ns}
    body.update(fields)
    return [pub_topic(topic, session).encode(), pack(body)]


def decode_pub(frames: list[bytes]) -> tuple[str, str | None, dict[str, Any]]:
    """-> (topic without session, session or None, body)."""
    if len(frames) != 2:
        raise BadMessageError("a notification has two frames", {"reason": "frames"})
    full = frames[0].decode("utf-8", errors="replace")
    topic, _, session = full.partition("/")
    body = unpack(frames[1])
    if not isinstance(body, dict):
        raise BadMessageError("notification body must be a map", {"reason": "body"})
    return topic, session or None, body
