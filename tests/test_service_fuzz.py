"""Random and malformed frames never crash, hang or silence the service."""

from __future__ import annotations

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from middleware.protocol import codec
from middleware.protocol.messages import REQUEST_TYPES
from tests.service_support import ServiceThread, make_service

msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats()
    | st.text(max_size=20) | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=12,
)  # fmt: skip

envelopes = st.fixed_dictionaries(
    {},
    optional={
        "v": st.sampled_from([1, 1, 1, 0, 2, "1", None]),
        "id": st.one_of(st.integers(-5, 2**33), st.text(max_size=3), st.none()),
        "type": st.one_of(st.sampled_from(REQUEST_TYPES), st.text(max_size=12)),
        "body": st.one_of(
            st.dictionaries(
                st.sampled_from(["state", "value", "name", "credits", "format", "versions",
                                 "client", "intensity", "params", "chunk", "variant", "t"]),
                msgpack_values, max_size=5,
            ),
            msgpack_values,
        ),
    },
)  # fmt: skip

frames = st.one_of(
    st.binary(max_size=200),
    envelopes.map(lambda e: msgpack.packb(e, use_bin_type=True)),
    msgpack_values.map(lambda v: msgpack.packb(v, use_bin_type=True)),
)


@pytest.fixture(scope="module")
def running_service():
    with ServiceThread(make_service()) as service:
        yield service


@pytest.fixture(scope="module")
def peer(running_service):
    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.connect(running_service.endpoint)
    yield socket
    socket.close(0)
    context.term()


def _wire_codes() -> set[str]:
    from middleware.protocol.errors import WIRE_ERROR_CODES

    return set(WIRE_ERROR_CODES) - {"internal"}


@pytest.mark.slow
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=frames)
def test_every_fuzzed_frame_gets_exactly_one_reply(peer, payload: bytes) -> None:
    peer.send(payload)
    peer.send(codec.encode_request(codec.Request(2**32 - 1, "ping", {"t": "alive"})))
    assert peer.poll(5000), "the service did not answer"
    reply = codec.decode_reply(peer.recv())
    if reply.ok:
        assert isinstance(reply.result, dict)
    else:
        assert reply.error_code in _wire_codes()
    # replies come in request order: the next one must be the ping's (no second reply)
    assert peer.poll(5000), "the service stopped answering"
    after = codec.decode_reply(peer.recv())
    assert (after.id, after.result) == (2**32 - 1, after.result) and after.result["t"] == "alive"


@pytest.mark.slow
def test_malformed_input_never_causes_an_internal_error(running_service, peer) -> None:
    for payload in (
        b"",
        b"\x91",
        b"\xdc\xff\xff",
        msgpack.packb({"v": 1, "id": 1, "type": "event"}),
    ):
        peer.send(payload)
        assert peer.poll(5000)
        assert codec.decode_reply(peer.recv()).ok is False
    assert running_service.stats["internal"] == 0  # also covers the fuzzing above
