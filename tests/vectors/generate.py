"""Regenerate the shared protocol test vectors from the Python codec.

Run from the repository root: ``python -m tests.vectors.generate`` (or ``--check`` to
fail if the committed files differ). Every client (Python, GDScript, C#) decodes each
file to the index's `value` and encodes `value` back to the same bytes; see
docs/protocol.md, "Test vectors".
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from middleware.protocol import codec
from middleware.protocol.errors import WIRE_ERRORS

VECTORS_DIR = Path(__file__).resolve().parent
INDEX_NAME = "index.json"
SESSION = "5f0c2a9e7b3d4e1f8a6b9c0d1e2f3a4b"
RESUME_TOKEN = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"


def to_json(value: Any) -> Any:
    """msgpack value -> JSON value, bytes as {"$bin": base64}."""
    if isinstance(value, bytes):
        return {"$bin": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


def from_json(value: Any) -> Any:
    """Inverse of `to_json`."""
    if isinstance(value, dict):
        if set(value) == {"$bin"}:
            return base64.b64decode(value["$bin"])
        return {key: from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value


def _requests() -> list[tuple[str, codec.Request, dict[str, Any]]]:
    """(name, request, result of its successful reply)."""
    transition = {
        "from": "explore",
        "to": "battle",
        "at_sample": 192000,
        "bar": 2,
        "beat": 0,
        "leave_at": "next_bar",
        "fade": "cross",
        "fade_samples": 96000,
        "stinger": None,
    }
    return [
        (
            "hello",
            codec.Request(
                1,
                "hello",
                {"versions": [1], "client": "vectors/1.0", "capabilities": ["pcm.s16"]},
            ),
            {
                "version": 1,
                "session": SESSION,
                "resumed": False,
                "resume_token": RESUME_TOKEN,
                "server": "ostinato/0.1.0",
                "pub_endpoint": "tcp://127.0.0.1:5571",
                "heartbeat_s": 2.0,
                "session_timeout_s": 10.0,
                "capabilities": ["pcm.s16", "pcm.f32", "fetch.wav", "resume"],
                "limits": {
                    "max_message_bytes": 65536,
                    "max_credits": 64,
                    "min_block_frames": 128,
                    "max_block_frames": 8192,
                    "fetch_chunk_bytes": 262144,
                },
                "pack": {
                    "name": "fantasy_rpg",
                    "description": "A small fantasy RPG score.",
                    "start_state": "menu",
                    "sample_rate": 48000,
                    "states": ["menu", "town", "explore", "battle", "victory"],
                    "stingers": ["level_up"],
                },
                "state": "menu",
                "intensity": 0.5,
            },
        ),
        (
            "hello_resume",
            codec.Request(
                2,
                "hello",
                {
                    "versions": [1],
                    "client": "vectors/1.0",
                    "resume": SESSION,
                    "resume_token": RESUME_TOKEN,
                },
            ),
            {"version": 1, "session": SESSION, "resumed": True, "resume_token": RESUME_TOKEN},
        ),
        ("ping", codec.Request(7, "ping", {"t": 42}), {"t": 42, "server_time_ns": 123456789012}),
        ("bye", codec.Request(8, "bye", {}), {"session": SESSION}),
        (
            "list",
            codec.Request(9, "list", {}),
            {
                "pack": "fantasy_rpg",
                "start_state": "menu",
                "ready": False,
                "states": [
                    {
                        "name": "battle",
                        "bpm": 140.0,
                        "meter": "4/4",
                        "key": "D minor",
                        "bars": 4,
                        "one_shot": False,
                        "variants": 3,
                        "ready_variants": 1,
                        "stems": ["drums", "bass", "harmony", "melody"],
                    }
                ],
                "stingers": [{"name": "level_up", "ready": True, "sync": "next_beat"}],
            },
        ),
        (
            "status",
            codec.Request(10, "status", {}),
            {
                "session": SESSION,
                "ready": True,
                "pregen": {"done": 6, "total": 6, "cached": 4, "generated": 2},
                "sessions": 1,
                "state": "explore",
                "target": "explore",
                "variant": 1,
                "intensity": 0.25,
                "sample": 480000,
                "bar": 5,
                "beat": 2,
                "stream": {"active": True, "stream": 1, "format": "s16", "credits": 8, "sent": 469},
                "pending": None,
            },
        ),
        (
            "event",
            codec.Request(
                11,
                "event",
                {"state": "battle", "intensity": 0.75, "params": {"enemies": 3}},
            ),
            {"state": "battle", "previous": "explore", "transition": transition},
        ),
        ("intensity", codec.Request(12, "intensity", {"value": 0.9}), {"intensity": 0.9}),
        (
            "stinger",
            codec.Request(13, "stinger", {"name": "level_up"}),
            {"name": "level_up", "at_sample": 201600, "sync": "next_beat"},
        ),
        (
            "stream_start",
            codec.Request(
                14, "stream_start", {"format": "s16", "block_frames": 1024, "credits": 8}
            ),
            {
                "stream": 1,
                "format": "s16",
                "sample_rate": 48000,
                "channels": 2,
                "block_frames": 1024,
                "block_bytes": 4096,
                "credits": 8,
                "max_credits": 64,
                "sample": 0,
            },
        ),
        ("credit", codec.Request(15, "credit", {"credits": 4}), {"stream": 1, "credits": 12}),
        ("stream_stop", codec.Request(16, "stream_stop", {}), {"stream": 1, "sent": 120}),
        (
            "fetch",
            codec.Request(
                17, "fetch", {"state": "battle", "variant": 0, "format": "wav", "chunk": 0}
            ),
            {
                "state": "battle",
                "variant": 0,
                "format": "wav",
                "chunk": 0,
                "chunks": 1,
                "total_bytes": 12,
                "sha256": "0" * 64,
                "loop_start": 0,
                "loop_end": 329143,
                "sample_rate": 48000,
                "data": b"RIFF\x04\x00\x00\x00WAVE",
            },
        ),
    ]


def _env(version: int, request_id: int, request_type: str, body: Any) -> bytes:
    return codec.pack({"v": version, "id": request_id, "type": request_type, "body": body})


#: malformed or invalid requests and the error code the service must answer with
BAD_REQUESTS: list[tuple[str, bytes, str]] = [
    ("not_msgpack", b"\xc1\xc1\xc1", "bad_message"),
    ("not_a_map", codec.pack([1, 2, 3]), "bad_message"),
    ("missing_id", codec.pack({"v": 1, "type": "ping", "body": {}}), "bad_message"),
    ("body_not_map", _env(1, 3, "ping", [1]), "bad_message"),
    ("version_99", _env(99, 4, "ping", {}), "unsupported_version"),
    ("unknown_type", _env(1, 5, "dance", {}), "unknown_type"),
    ("hello_missing_client", _env(1, 6, "hello", {"versions": [1]}), "missing_field"),
    ("hello_versions_str", _env(1, 7, "hello", {"versions": "1", "client": "x"}), "bad_field"),
    (
        "hello_no_common_version",
        _env(1, 8, "hello", {"versions": [7], "client": "x"}),
        "unsupported_version",
    ),
    ("event_without_session", _env(1, 9, "event", {"state": "battle"}), "no_session"),
    ("event_state_int", _env(1, 10, "event", {"state": 5}), "bad_field"),
    ("oversize", _env(1, 11, "ping", {"t": b"\x00" * 70000}), "too_large"),
]


def _pcm_block(pcm_format: str) -> tuple[codec.PcmHeader, bytes]:
    frames = 128
    t = np.arange(frames, dtype=np.float64) / 48000.0
    left = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    right = 0.25 * np.sin(2 * np.pi * 660.0 * t)
    block = np.stack([left, right], axis=1).astype(np.float32)
    header = codec.PcmHeader(
        stream=1,
        seq=3,
        sample=3072,
        frames=frames,
        format=pcm_format,
        state="explore",
        variant=2,
        bar=0,
        beat=1,
        intensity=0.5,
    )
    return header, codec.pcm_to_bytes(block, pcm_format)


def build_vectors() -> tuple[dict[str, Any], dict[str, bytes]]:
    """-> (index, {file name: bytes})."""
    files: dict[str, bytes] = {}
    entries: list[dict[str, Any]] = []

    def add(name: str, kind: str, frames: list[bytes], value: Any, **extra: Any) -> None:
        names = []
        for number, frame in enumerate(frames):
            suffix = "" if len(frames) == 1 else f".{number}"
            binary = kind in ("pcm", "stream_notice") and number == 1
            file_name = f"{name}{suffix}.{'bin' if binary else 'msgpack'}"
            if kind == "pub" and number == 0:
                file_name = f"{name}.0.topic"
            files[file_name] = frame
            names.append(file_name)
        entries.append({"name": name, "kind": kind, "frames": names, "value": to_json(value)})
        entries[-1].update(extra)

    for name, request, result in _requests():
        add(f"{name}_request", "request", [codec.encode_request(request)], request.to_wire())
        reply = codec.Reply(request.id, request.type, True, result=result)
        add(f"{name}_reply", "reply", [codec.encode_reply(reply)], reply.to_wire())

    for code, error_class in WIRE_ERRORS.items():
        error = error_class(f"example {code} error", {"example": True})
        reply = codec.Reply(21, "event", False, error=error.to_wire())
        add(f"error_{code}", "error_reply", [codec.encode_reply(reply)], reply.to_wire())

    for name, frame, code in BAD_REQUESTS:
        files[f"bad_{name}.msgpack"] = frame
        entries.append(
            {"name": f"bad_{name}", "kind": "bad_request", "frames": [f"bad_{name}.msgpack"],
             "expect_error": code}
        )  # fmt: skip

    for pcm_format in ("s16", "f32"):
        header, data = _pcm_block(pcm_format)
        add(f"pcm_{pcm_format}", "pcm", codec.encode_pcm(header, data), header.to_wire())

    frames = codec.encode_stream_notice("stopping", 1, 82)
    add("stream_stopping", "stream_notice", frames, codec.unpack(frames[0]))

    t_ns = 987654321
    pubs = [
        ("beat", SESSION, {"sample": 24000, "bar": 0, "beat": 1, "state": "explore", "variant": 0}),
        ("bar", SESSION, {"sample": 96000, "bar": 1, "state": "explore", "variant": 0}),
        (
            "transition.planned",
            SESSION,
            {
                "from": "explore",
                "to": "battle",
                "at_sample": 192000,
                "bar": 2,
                "beat": 0,
                "leave_at": "next_bar",
                "fade": "cross",
                "fade_samples": 96000,
                "stinger": None,
            },
        ),
        (
            "transition.started",
            SESSION,
            {"from": "explore", "to": "battle", "sample": 192000, "bar": 2, "variant": 1},
        ),
        (
            "state",
            SESSION,
            {"state": "battle", "variant": 1, "sample": 288000, "params": {"enemies": 3}},
        ),
        ("variant.ready", None, {"state": "battle", "variants": 3, "cached": True}),
        ("pregen.progress", None, {"done": 3, "total": 6, "state": "battle"}),
        ("error", None, {"code": "generation_failed", "message": "example", "detail": {}}),
        ("stopping", None, {"reason": "shutdown"}),
        (
            "cache.damaged",
            None,
            {"pack": "fantasy_rpg", "state": "battle", "reason": "checksum mismatch"},
        ),
    ]
    for topic, session, fields in pubs:
        frames = codec.encode_pub(topic, session, t_ns, fields)
        body = codec.unpack(frames[1])
        add(f"pub_{topic.replace('.', '_')}", "pub", frames, body, topic=frames[0].decode())

    index = {"protocol_version": codec.PROTOCOL_VERSION, "vectors": entries}
    return index, files


def write_vectors(folder: Path = VECTORS_DIR) -> int:
    index, files = build_vectors()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / INDEX_NAME).write_text(json.dumps(index, indent=1) + "\n")
    return len(index["vectors"])


def check_vectors(folder: Path = VECTORS_DIR) -> list[str]:
    """Names of files that differ from what the codec produces now."""
    index, files = build_vectors()
    stale = [n for n, data in files.items() if (folder / n).read_bytes() != data]
    if json.loads((folder / INDEX_NAME).read_text()) != json.loads(json.dumps(index)):
        stale.append(INDEX_NAME)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = check_vectors()
        for name in stale:
            sys.stderr.write(f"stale vector: {name}\n")
        return 1 if stale else 0
    count = write_vectors()
    sys.stdout.write(f"wrote {count} vectors to {VECTORS_DIR}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
