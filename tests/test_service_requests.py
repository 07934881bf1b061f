"""Every request type and every request-level error, over real ZeroMQ sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import numpy as np
import pytest
import zmq
import zmq.asyncio

from middleware.client import AsyncClient
from middleware.protocol import codec
from middleware.protocol.errors import RemoteError
from middleware.service.server import Service
from tests.service_support import make_service
from tests.vectors.generate import VECTORS_DIR


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    async with make_service() as running:
        yield running


@pytest.fixture
async def client(service: Service) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(service.endpoint, name="tests/1.0", timeout_s=3.0) as connected:
        yield connected


class RawPeer:
    """A bare DEALER for sending arbitrary frames."""

    def __init__(self, endpoint: str) -> None:
        self.context = zmq.asyncio.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(endpoint)

    async def exchange(self, *frames: bytes, timeout_s: float = 3.0) -> codec.Reply:
        await self.socket.send_multipart(list(frames))
        if not await self.socket.poll(int(timeout_s * 1000)):
            raise TimeoutError("no reply")
        reply_frames = await self.socket.recv_multipart()
        return codec.decode_reply(reply_frames[-1])

    async def request(self, request_type: str, body: dict, request_id: int = 1) -> codec.Reply:
        frame = codec.encode_request(codec.Request(request_id, request_type, body))
        return await self.exchange(frame)

    def close(self) -> None:
        self.socket.close(0)
        self.context.term()


@pytest.fixture
async def raw(service: Service) -> AsyncIterator[RawPeer]:
    peer = RawPeer(service.endpoint)
    yield peer
    peer.close()


async def test_hello_opens_a_session_and_describes_the_pack(client: AsyncClient) -> None:
    hello = await client.hello()
    assert hello.version == codec.PROTOCOL_VERSION
    assert len(hello.session) == 32
    assert hello.resumed is False
    assert hello.pack["name"] == "fantasy_rpg"
    assert hello.state == hello.pack["start_state"] == "menu"
    assert "battle" in hello.pack["states"] and "level_up" in hello.pack["stingers"]
    assert hello.pub_endpoint.startswith("tcp://127.0.0.1:")
    assert hello.limits["max_credits"] == 64


async def test_ping_echoes_its_token(client: AsyncClient) -> None:
    result = await client.ping({"n": 3})
    assert result["t"] == {"n": 3}
    assert result["server_time_ns"] > 0


async def test_list_reports_states_variants_and_readiness(client: AsyncClient) -> None:
    listing = await client.list()
    states = {s["name"]: s for s in listing["states"]}
    assert states["battle"]["ready_variants"] == 2
    assert states["boss"]["ready_variants"] == 0  # the test library leaves boss ungenerated
    assert listing["ready"] is False
    assert states["battle"]["bpm"] > 0 and states["battle"]["stems"]
    assert {s["name"] for s in listing["stingers"]} >= {"level_up"}


async def test_status_without_a_session_reports_the_service(client: AsyncClient) -> None:
    status = await client.status()
    assert status["session"] is None
    assert status["pregen"]["total"] >= status["pregen"]["done"] > 0


async def test_status_with_a_session_reports_its_clock(client: AsyncClient) -> None:
    hello = await client.hello()
    status = await client.status()
    assert status["session"] == hello.session
    assert status["state"] == "menu"
    assert status["sample"] == 0
    assert status["stream"] is None


async def test_event_plans_a_transition_on_a_bar(client: AsyncClient) -> None:
    await client.hello()
    ack = await client.event("town", intensity=0.4, params={"npcs": 3})
    assert ack.previous == "menu"
    assert ack.transition is not None
    assert ack.transition.target == "town"
    assert ack.transition.at_sample >= 0


async def test_event_to_the_playing_state_plans_nothing(client: AsyncClient) -> None:
    await client.hello()
    ack = await client.event("menu")
    assert ack.transition is None


async def test_intensity_is_set(client: AsyncClient) -> None:
    await client.hello()
    assert await client.intensity(0.25) == 0.25


async def test_stinger_is_scheduled_on_its_sync_point(client: AsyncClient) -> None:
    await client.hello()
    plan = await client.stinger("level_up")
    assert plan["name"] == "level_up"
    assert plan["sync"] == "next_beat"


async def test_bye_ends_the_session(client: AsyncClient) -> None:
    await client.hello()
    await client.bye()
    reply = await client.request_raw("status")
    assert reply.result["session"] is None


async def test_stream_requests_start_credit_and_stop(client: AsyncClient) -> None:
    await client.hello()
    blocks: list[codec.PcmHeader] = []
    info = await client.stream_start(lambda h, d: blocks.append(h), credits=0)
    assert info.block_bytes == info.block_frames * 4
    assert await client.credit(3) <= 3
    stopped = await client.stream_stop()
    assert stopped["stream"] == info.stream


async def test_fetch_returns_a_wav_file_in_chunks(client: AsyncClient) -> None:
    await client.hello()
    data = await client.fetch("level_up", file_format="wav")
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"


# ---------------------------------------------------------------------------- errors


async def _error(client: AsyncClient, request_type: str, body: dict) -> dict:
    reply = await client.request_raw(request_type, body)
    assert reply.ok is False
    assert reply.error is not None
    return reply.error


async def test_request_needing_a_session_without_one_is_no_session(client: AsyncClient) -> None:
    error = await _error(client, "event", {"state": "battle"})
    assert error["code"] == "no_session"


async def test_unknown_state_lists_the_states(client: AsyncClient) -> None:
    await client.hello()
    error = await _error(client, "event", {"state": "disco"})
    assert error["code"] == "unknown_state"
    assert "battle" in error["detail"]["states"]


async def test_unknown_stinger(client: AsyncClient) -> None:
    await client.hello()
    assert (await _error(client, "stinger", {"name": "airhorn"}))["code"] == "unknown_stinger"


async def test_unknown_pack(client: AsyncClient) -> None:
    body = {"versions": [1], "client": "t", "pack": "space_opera"}
    error = await _error(client, "hello", body)
    assert error["code"] == "unknown_pack"
    assert error["detail"]["packs"] == ["fantasy_rpg"]


async def test_fetch_of_an_ungenerated_state_is_not_ready(client: AsyncClient) -> None:
    await client.hello()
    error = await _error(client, "fetch", {"state": "boss"})
    assert error["code"] == "not_ready"


async def test_fetch_of_a_missing_variant_is_unknown_variant(client: AsyncClient) -> None:
    await client.hello()
    error = await _error(client, "fetch", {"state": "battle", "variant": 9})
    assert error["code"] == "unknown_variant"
    assert error["detail"] == {"variant": 9, "variants": 2}


async def test_credit_without_a_stream_is_no_stream(client: AsyncClient) -> None:
    await client.hello()
    assert (await _error(client, "credit", {"credits": 1}))["code"] == "no_stream"
    assert (await _error(client, "stream_stop", {}))["code"] == "no_stream"


async def test_session_limit_is_too_many_sessions() -> None:
    async with (
        make_service(max_sessions=1) as service,
        AsyncClient(service.endpoint) as first,
        AsyncClient(service.endpoint) as second,
    ):
        await first.hello(subscribe=False)
        with pytest.raises(RemoteError) as failure:
            await second.hello(subscribe=False)
        assert failure.value.code == "too_many_sessions"


INDEX = json.loads((VECTORS_DIR / "index.json").read_text())
BAD = [entry for entry in INDEX["vectors"] if entry["kind"] == "bad_request"]


@pytest.mark.parametrize("entry", BAD, ids=lambda e: e["name"])
async def test_bad_request_vector_gets_its_documented_error(raw: RawPeer, entry: dict) -> None:
    frame = (VECTORS_DIR / entry["frames"][0]).read_bytes()
    reply = await raw.exchange(frame)
    assert reply.ok is False
    assert reply.error_code == entry["expect_error"]
    # the connection still works afterwards
    assert (await raw.request("ping", {"t": 1})).ok


async def test_request_of_three_frames_is_a_bad_message(raw: RawPeer) -> None:
    reply = await raw.exchange(b"a", b"b", b"c")
    assert reply.error_code == "bad_message"


async def test_req_socket_clients_are_answered_through_the_delimiter(service: Service) -> None:
    context = zmq.asyncio.Context()
    req = context.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    req.connect(service.endpoint)
    await req.send(codec.encode_request(codec.Request(5, "ping", {"t": "req"})))
    assert await req.poll(3000)
    reply = codec.decode_reply(await req.recv())
    req.close(0)
    context.term()
    assert (reply.id, reply.ok, reply.result["t"]) == (5, True, "req")


async def test_internal_errors_are_answered_and_the_service_keeps_running(
    service: Service, client: AsyncClient
) -> None:
    await client.hello()
    session = next(iter(service.sessions))

    def broken() -> None:
        raise RuntimeError("boom")

    session.player.position = broken  # a player that fails (a bug) must not stop the service
    error = await _error(client, "status", {})
    assert error == {
        "code": "internal",
        "message": "internal error handling 'status'",
        "detail": {"exception": "RuntimeError"},
    }
    assert (await client.ping(1))["t"] == 1


@pytest.mark.parametrize("file_format", ["wav", "flac", "ogg"])
async def test_fetch_in_several_chunks_decodes_to_the_variant(file_format: str) -> None:
    import io

    import soundfile

    async with (
        make_service(fetch_chunk_bytes=8192) as service,
        AsyncClient(service.endpoint) as client,
    ):
        await client.hello(subscribe=False)
        first = await client.request("fetch", {"state": "level_up", "format": file_format})
        assert first["chunks"] >= 2 or file_format == "ogg"
        data = await client.fetch("level_up", file_format=file_format)
        assert len(data) == first["total_bytes"]
        audio, rate = soundfile.read(io.BytesIO(data), dtype="float32")
        variant = service.library.variant_set("fantasy_rpg", "level_up").variants[0]
        assert rate == variant.meta.sample_rate
        assert audio.shape == variant.mix.shape
        if file_format != "ogg":  # lossless: equal within 16-bit quantisation
            assert float(np.abs(audio - variant.mix).max()) < 1e-4


async def test_a_second_hello_on_one_connection_replaces_the_session(
    service: Service, client: AsyncClient
) -> None:
    first = await client.hello(subscribe=False, heartbeat=False)
    second = await client.hello(subscribe=False, heartbeat=False)
    assert second.session != first.session
    assert [s.session_id for s in service.sessions] == [second.session]


async def test_event_to_an_ungenerated_state_keeps_the_music_playing(
    client: AsyncClient,
) -> None:
    await client.hello()
    waiting: list = []
    client.on("waiting_for_audio", waiting.append)
    ack = await client.event("boss")  # the test library never generates boss
    assert ack.previous == "menu"
    blocks: list = []
    await client.stream_start(lambda h, d: blocks.append((h, d)), credits=8)
    for _ in range(300):
        if len(blocks) == 8 and waiting:
            break
        await asyncio.sleep(0.01)
    header, data = blocks[-1]
    assert header.state == "menu" and header.variant >= 0  # still the menu music
    assert float(np.abs(codec.pcm_from_bytes(data, "s16")).max()) > 0.01
    assert waiting and waiting[0].body["state"] == "boss"
    status = await client.status()
    assert (status["state"], status["target"]) == ("menu", "boss")
