"""The shared byte vectors (tests/vectors/) agree with the Python codec, both ways."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from middleware.protocol import codec
from tests.vectors.generate import VECTORS_DIR, check_vectors, from_json

INDEX = json.loads((VECTORS_DIR / "index.json").read_text())
VECTORS = INDEX["vectors"]


def _frames(entry: dict) -> list[bytes]:
    return [(Path(VECTORS_DIR) / name).read_bytes() for name in entry["frames"]]


def test_committed_vectors_match_the_codec() -> None:
    assert check_vectors() == []


def test_index_states_the_protocol_version() -> None:
    assert INDEX["protocol_version"] == codec.PROTOCOL_VERSION


def test_every_request_type_has_a_request_and_a_reply_vector() -> None:
    from middleware.protocol.messages import REQUEST_TYPES

    names = {entry["name"] for entry in VECTORS}
    for request_type in REQUEST_TYPES:
        assert f"{request_type}_request" in names
        assert f"{request_type}_reply" in names


@pytest.mark.parametrize(
    "entry", [e for e in VECTORS if e["kind"] in ("request", "reply", "error_reply")],
    ids=lambda e: e["name"],
)  # fmt: skip
def test_envelope_vector_decodes_and_reencodes_to_the_same_bytes(entry: dict) -> None:
    (frame,) = _frames(entry)
    value = from_json(entry["value"])
    assert codec.unpack(frame) == value
    assert codec.pack(value) == frame
    if entry["kind"] == "request":
        request = codec.decode_request(frame)
        assert codec.encode_request(request) == frame
    else:
        reply = codec.decode_reply(frame)
        assert reply.ok is (entry["kind"] == "reply")
        assert codec.encode_reply(reply) == frame


@pytest.mark.parametrize(
    "entry", [e for e in VECTORS if e["kind"] == "pcm"], ids=lambda e: e["name"]
)
def test_pcm_vector_decodes_to_its_header_and_samples(entry: dict) -> None:
    frames = _frames(entry)
    header, data = codec.decode_pcm(frames)
    assert header.to_wire() == from_json(entry["value"])
    assert codec.encode_pcm(header, data) == frames
    samples = codec.pcm_from_bytes(data, header.format)
    assert samples.shape == (header.frames, 2)
    assert 0.45 < float(abs(samples[:, 0]).max()) <= 0.5


@pytest.mark.parametrize(
    "entry", [e for e in VECTORS if e["kind"] == "pub"], ids=lambda e: e["name"]
)
def test_pub_vector_decodes_to_topic_session_and_body(entry: dict) -> None:
    frames = _frames(entry)
    topic, session, body = codec.decode_pub(frames)
    assert frames[0].decode() == entry["topic"]
    assert topic in codec.PUB_TOPICS
    assert body == from_json(entry["value"])
    assert body["session"] == session
    assert codec.encode_pub(topic, session, body["t_ns"], {
        k: v for k, v in body.items() if k not in ("session", "t_ns")
    }) == frames  # fmt: skip


@pytest.mark.parametrize(
    "entry", [e for e in VECTORS if e["kind"] == "bad_request"], ids=lambda e: e["name"]
)
def test_bad_request_vector_names_a_documented_error_code(entry: dict) -> None:
    from middleware.protocol.errors import WIRE_ERROR_CODES

    assert entry["expect_error"] in WIRE_ERROR_CODES
