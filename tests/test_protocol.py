"""The codec and request schemas: what docs/protocol.md says is what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from middleware.protocol import codec, messages
from middleware.protocol.errors import WIRE_ERROR_CODES

DOC = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text()


def _doc_section(title: str) -> str:
    start = DOC.index(f"\n## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end]


def test_documented_protocol_version_is_the_code_constant() -> None:
    match = re.search(r"Protocol version: \*\*(\d+)\*\*", DOC)
    assert match is not None
    assert int(match.group(1)) == codec.PROTOCOL_VERSION


def test_documented_error_codes_are_exactly_the_wire_errors() -> None:
    table = _doc_section("Errors")
    documented = re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE)
    assert sorted(documented) == sorted(WIRE_ERROR_CODES)


def test_every_request_type_is_documented() -> None:
    documented = re.findall(r"^### `([a-z_]+)`", DOC, flags=re.MULTILINE)
    assert sorted(documented) == sorted(messages.REQUEST_TYPES)


def test_documented_pub_topics_are_the_codec_topics() -> None:
    table = _doc_section("PUB topics")
    documented = set(re.findall(r"^\| `([a-z_.]+)[`/]", table, flags=re.MULTILINE))
    assert documented == set(codec.PUB_TOPICS)


def test_every_vector_kind_and_entry_field_is_documented() -> None:
    import json

    index = json.loads((Path(__file__).parent / "vectors" / "index.json").read_text())
    section = _doc_section("Test vectors")
    bullets = dict(re.findall(r"^- `([a-z_]+)`: (.*(?:\n  .*)*)", section, flags=re.MULTILINE))
    kinds = set(re.findall(r"`([a-z_]+)`", bullets["kind"]))
    assert {entry["kind"] for entry in index["vectors"]} <= kinds
    fields = {key for entry in index["vectors"] for key in entry} - {"name"}
    assert fields <= set(bullets), sorted(fields - set(bullets))


def test_request_round_trips_through_bytes() -> None:
    request = codec.Request(41, "event", {"state": "battle", "intensity": 0.5})
    assert codec.decode_request(codec.encode_request(request)) == request


def test_oversize_request_is_too_large_before_decoding() -> None:
    frame = codec.pack({"v": 1, "id": 1, "type": "ping", "body": {"t": "x" * 200}})
    with pytest.raises(codec.DecodeFailure) as failure:
        codec.decode_request(frame, max_bytes=100)
    assert failure.value.error.code == "too_large"
    assert failure.value.error.detail == {"size": len(frame), "limit": 100}


def test_malformed_envelope_keeps_the_id_when_it_can_be_read() -> None:
    frame = codec.pack({"v": "one", "id": 9, "type": "ping"})
    with pytest.raises(codec.DecodeFailure) as failure:
        codec.decode_request(frame)
    assert failure.value.error.code == "bad_message"
    assert failure.value.request_id == 9
    assert failure.value.request_type == "ping"


def test_bool_is_not_accepted_as_a_request_id() -> None:
    with pytest.raises(codec.DecodeFailure) as failure:
        codec.decode_request(codec.pack({"v": 1, "id": True, "type": "ping"}))
    assert failure.value.error.code == "bad_message"


def test_non_string_map_keys_are_a_bad_message() -> None:
    with pytest.raises(codec.DecodeFailure) as failure:
        codec.decode_request(codec.pack({1: 2}))
    assert failure.value.error.code == "bad_message"


def test_missing_body_means_an_empty_body() -> None:
    request = codec.decode_request(codec.pack({"v": 1, "id": 3, "type": "status"}))
    assert request.body == {}


def test_body_validation_fills_defaults_and_drops_unknown_keys() -> None:
    body = messages.validate_body("stream_start", {"format": "f32", "future_field": 1})
    assert body == {"format": "f32", "block_frames": 1024, "credits": 0, "rewind": False}


def test_integer_is_accepted_where_a_float_is_expected() -> None:
    body = messages.validate_body("intensity", {"value": 1})
    assert body["value"] == 1.0
    assert isinstance(body["value"], float)


@pytest.mark.parametrize(
    ("request_type", "body", "code", "field"),
    [
        ("event", {}, "missing_field", "state"),
        ("event", {"state": 3}, "bad_field", "state"),
        ("event", {"state": "battle", "intensity": 1.5}, "bad_field", "intensity"),
        ("event", {"state": "battle", "intensity": float("nan")}, "bad_field", "intensity"),
        ("intensity", {"value": True}, "bad_field", "value"),
        ("stream_start", {"format": "mp3"}, "bad_field", "format"),
        ("stream_start", {"block_frames": 64}, "bad_field", "block_frames"),
        ("credit", {"credits": 0}, "bad_field", "credits"),
        ("hello", {"versions": [1], "client": "x" * 129}, "bad_field", "client"),
        ("fetch", {"state": "battle", "format": "mp3"}, "bad_field", "format"),
    ],
)
def test_invalid_body_names_the_field(request_type: str, body: dict, code: str, field: str) -> None:
    with pytest.raises(Exception) as failure:
        messages.validate_body(request_type, body)
    assert failure.value.code == code
    assert failure.value.detail["field"] == field


def test_unknown_type_lists_the_known_types() -> None:
    with pytest.raises(Exception) as failure:
        messages.validate_body("dance", {})
    assert failure.value.code == "unknown_type"
    assert "hello" in failure.value.detail["types"]


def test_error_reply_carries_code_message_and_detail() -> None:
    from middleware.protocol.errors import NoStreamError

    reply = codec.decode_reply(codec.error_reply(5, "credit", NoStreamError("no stream")))
    assert (reply.id, reply.ok, reply.error_code) == (5, False, "no_stream")
    assert reply.error == {"code": "no_stream", "message": "no stream", "detail": {}}


@pytest.mark.parametrize("pcm_format", ["s16", "f32"])
def test_pcm_block_round_trips_within_quantisation(pcm_format: str) -> None:
    rng = np.random.default_rng(3)
    block = rng.uniform(-1, 1, size=(256, 2)).astype(np.float32)
    data = codec.pcm_to_bytes(block, pcm_format)
    assert len(data) == codec.block_bytes(256, pcm_format)
    back = codec.pcm_from_bytes(data, pcm_format)
    tolerance = 1.0 / 32767 if pcm_format == "s16" else 0.0
    assert np.max(np.abs(back - block)) <= tolerance


def test_s16_clips_instead_of_wrapping() -> None:
    block = np.array([[2.0, -2.0]], dtype=np.float32)
    samples = np.frombuffer(codec.pcm_to_bytes(block, "s16"), dtype="<i2")
    assert samples.tolist() == [32767, -32767]


def test_pcm_with_a_wrong_data_size_is_rejected() -> None:
    header = codec.PcmHeader(1, 0, 0, 128, "s16", "menu", 0, 0, 0, 1.0)
    frames = codec.encode_pcm(header, b"\x00" * 100)
    with pytest.raises(Exception) as failure:
        codec.decode_pcm(frames)
    assert failure.value.code == "bad_message"


def test_the_service_header_encoder_writes_the_dataclass_bytes() -> None:
    """The serving loop packs PCM headers without the dataclass: the same bytes."""
    encoder = codec.PcmHeaderEncoder()
    for fields in (
        (1, 0, 0, 1024, "s16", "menu", 0, 0, 0, 1.0),
        (7, 2**20, 2**40, 512, "f32", "battle", -1, 123456, 5, 0.3),
        (3, 99, 48000, 256, "s16", "bridge:a->b", 2, -4, 2, 1),  # an int intensity: float
    ):
        header = codec.PcmHeader(*fields)
        assert encoder.encode(*fields) == codec.encode_pcm(header, b"")[0]
        assert codec.PcmHeader.from_wire(codec.unpack(encoder.encode(*fields))) == header


def test_ok_reply_is_the_reply_envelope() -> None:
    for request_id, kind, result in ((1, "ping", {"t": 2}), (None, "event", {}), (9, "x", None)):
        expected = codec.encode_reply(codec.Reply(request_id, kind, True, result=result))
        assert codec.ok_reply(request_id, kind, result) == expected


def test_pub_topic_is_scoped_by_session() -> None:
    frames = codec.encode_pub("beat", "abc", 1, {"beat": 2})
    assert frames[0] == b"beat/abc"
    assert codec.decode_pub(frames) == ("beat", "abc", {"session": "abc", "t_ns": 1, "beat": 2})
