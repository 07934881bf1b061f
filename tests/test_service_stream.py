"""The PCM stream: credits, real-time playback, slow and vanished clients, PUB beats."""

from __future__ import annotations

import asyncio
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile
import zmq
import zmq.asyncio

from middleware.client import AsyncClient, Notification, StreamPlayer
from middleware.protocol import codec
from middleware.service.streams import BURST_BLOCKS, PcmEncoder
from tests.service_support import make_service


async def _wait_for(predicate, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_server_sends_exactly_the_blocks_credited() -> None:
    async with make_service() as service, AsyncClient(service.endpoint) as client:
        await client.hello(subscribe=False)
        headers: list[codec.PcmHeader] = []
        await client.stream_start(lambda h, d: headers.append(h), block_frames=512, credits=5)
        await _wait_for(lambda: len(headers) == 5)
        await asyncio.sleep(0.1)
        assert len(headers) == 5  # no credit, no block
        await client.credit(3)
        await _wait_for(lambda: len(headers) == 8)
        assert [h.seq for h in headers] == list(range(8))
        assert [h.sample for h in headers] == [512 * i for i in range(8)]
        assert {h.frames for h in headers} == {512}


async def test_blocks_carry_the_music_as_int16_or_float32() -> None:
    async with make_service() as service, AsyncClient(service.endpoint) as client:
        await client.hello(subscribe=False)
        for pcm_format in ("s16", "f32"):
            received: list[tuple[codec.PcmHeader, bytes]] = []
            info = await client.stream_start(
                lambda h, d, out=received: out.append((h, d)), pcm_format=pcm_format, credits=4
            )
            await _wait_for(lambda out=received: len(out) == 4)
            header, data = received[-1]
            assert header.format == pcm_format and header.stream == info.stream
            audio = codec.pcm_from_bytes(data, pcm_format)
            assert audio.shape == (1024, 2)
            assert float(np.abs(audio).max()) > 0.01  # the menu music, not silence
            await client.stream_stop()


async def test_credit_beyond_the_cap_is_clipped() -> None:
    async with make_service(max_credits=8) as service, AsyncClient(service.endpoint) as client:
        await client.hello(subscribe=False)
        info = await client.stream_start(lambda h, d: None, credits=100)
        assert info.credits <= 8 and info.max_credits == 8


async def test_realtime_player_has_no_underruns_and_hears_beats() -> None:
    async with make_service() as service, AsyncClient(service.endpoint) as client:
        await client.hello()
        beats: list[Notification] = []
        client.on("beat", beats.append)
        player = StreamPlayer(client, block_frames=1024, buffer_blocks=6)
        await player.start()
        await asyncio.sleep(1.5)
        await player.stop()
        assert player.stats.underruns == 0
        assert player.stats.seq_gaps == 0
        assert player.stats.blocks_played >= 50
        assert player.stats.max_buffered <= 6
        assert len(beats) >= 2  # menu is >= 60 bpm
        assert all(b.session == client.session for b in beats)
        assert player.audio().shape[0] == player.stats.blocks_played * 1024


async def test_the_client_records_the_stream_into_a_wav_file(tmp_path: Path) -> None:
    async with make_service() as service, AsyncClient(service.endpoint) as client:
        await client.hello(subscribe=False)
        player = StreamPlayer(client, block_frames=1024, buffer_blocks=4, realtime=False)
        await player.start()
        await _wait_for(lambda: player.stats.blocks_played >= 20)
        await player.stop()
        heard = player.audio()
        path = player.write_wav(tmp_path / "nested" / "session.wav")
    written, rate = soundfile.read(str(path), dtype="int16")
    assert rate == 48000 and written.shape == heard.shape
    assert heard.shape[0] == player.stats.blocks_played * 1024
    lsb = np.abs(written.astype(np.int32) - np.round(heard * 32768).astype(np.int32))
    assert lsb.max() <= 1  # s16 in, 16-bit PCM out: within one LSB (scale 32767 vs 32768)
    assert np.abs(heard).max() > 0.01  # the music, not silence


async def test_a_client_granting_no_credit_costs_the_server_nothing() -> None:
    async with make_service() as service, AsyncClient(service.endpoint) as client:
        await client.hello(subscribe=False)
        await client.stream_start(lambda h, d: None, credits=0)
        session = next(iter(service.sessions))
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        await asyncio.sleep(0.5)
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
        assert session.stream is not None and session.stream.sent == 0
        assert session.player.position().sample == 0  # nothing rendered
        assert grown < 256 * 1024


@pytest.mark.slow
async def test_a_client_that_grants_credit_but_never_reads_is_bounded_by_the_queue() -> None:
    async with make_service(max_credits=64) as service:
        context = zmq.asyncio.Context()
        greedy = context.socket(zmq.DEALER)
        greedy.setsockopt(zmq.LINGER, 0)
        greedy.setsockopt(zmq.RCVHWM, 1)
        greedy.setsockopt(zmq.RCVBUF, 4096)
        greedy.connect(service.endpoint)

        async def send(request_id: int, request_type: str, body: dict) -> None:
            await greedy.send(codec.encode_request(codec.Request(request_id, request_type, body)))

        await send(1, "hello", {"versions": [1], "client": "greedy"})
        await asyncio.sleep(0.1)
        await send(2, "stream_start", {"format": "f32", "block_frames": 8192, "credits": 64})
        for request_id in range(3, 60):  # keeps granting, never reads a block
            await send(request_id, "credit", {"credits": 64})
            await asyncio.sleep(0.03)
        await asyncio.sleep(0.5)
        session = next(iter(service.sessions))
        stream = session.stream
        assert stream is not None
        sent_before = stream.sent
        await asyncio.sleep(0.5)
        # the socket queue is full: the pump waits instead of rendering ahead without bound
        assert stream.sent == sent_before
        assert stream.blocked_sends > 0
        # queued at most: the socket's high-water mark plus what the kernel buffers hold
        assert stream.sent < 57 * 64
        async with AsyncClient(service.endpoint) as other:
            assert (await other.ping("still answering"))["t"] == "still answering"
        greedy.close(0)
        context.term()


async def test_a_client_vanishing_mid_stream_stops_its_stream() -> None:
    async with make_service() as service:
        client = AsyncClient(service.endpoint)
        await client.hello(subscribe=False)
        received: list[codec.PcmHeader] = []
        await client.stream_start(lambda h, d: received.append(h), credits=4)
        await _wait_for(lambda: len(received) == 4)
        session = next(iter(service.sessions))
        await client.close()  # gone without bye
        # more credit for a peer that is gone: the next send finds it unreachable
        service.add_credits(session.stream, 4)
        await _wait_for(lambda: session.stream is None)
        async with AsyncClient(service.endpoint) as other:
            assert (await other.ping(2))["t"] == 2


def test_the_stream_encoder_writes_the_bytes_the_protocol_defines() -> None:
    rng = np.random.default_rng(7)
    block = (rng.standard_normal((1024, 2)) * 0.7).astype(np.float32)  # some beyond +-1
    block[:4] = [[1.0, -1.0], [1.5, -1.5], [0.5 / 32767, -0.5 / 32767], [0.0, 2e-5]]
    for pcm_format in ("s16", "f32"):
        encoder = PcmEncoder(pcm_format, 1024)
        for frames in (1024, 256):
            assert encoder.encode(block[:frames]) == codec.pcm_to_bytes(block[:frames], pcm_format)


async def test_a_slice_sends_streams_their_blocks_in_turn() -> None:
    """Streams with plenty of credit take turns of at most BURST_BLOCKS blocks each, and
    the next slice goes on from where the last one stopped."""
    assert BURST_BLOCKS == 4  # (the counts below)
    async with make_service() as service:
        clients = [AsyncClient(service.endpoint) for _ in range(3)]
        received: list[list[codec.PcmHeader]] = [[], [], []]
        try:
            for client, out in zip(clients, received, strict=True):
                await client.hello(subscribe=False)
                await client.stream_start(lambda h, d, out=out: out.append(h), credits=0)
            streams = [session.stream for session in service.sessions]
            assert all(stream is not None and stream.sent == 0 for stream in streams)
            for stream in streams:
                service.add_credits(stream, 5)

            def after(blocks: int):  # "a request is waiting" after that many blocks
                asked: list[int] = []
                return lambda: asked.append(1) or len(asked) >= blocks

            # no await in between: the serving loop does not run, these slices are the only ones
            assert service.streams.render_slice(float("inf"), after(2)) == 2  # cut short
            assert sorted(stream.sent for stream in streams) == [0, 0, 2]
            # the turn goes on with the other two, four blocks each at most
            assert service.streams.render_slice(float("inf"), after(8)) == 8
            assert sorted(stream.sent for stream in streams) == [2, 4, 4]
            # then the first one again: what credit is left, for all three
            assert service.streams.render_slice(float("inf"), lambda: False) == 5
            assert [stream.sent for stream in streams] == [5, 5, 5]
            assert [stream.credits for stream in streams] == [0, 0, 0]
            await _wait_for(lambda: [len(out) for out in received] == [5, 5, 5])
            assert all([h.seq for h in out] == list(range(5)) for out in received)
        finally:
            for client in clients:
                await client.close()


async def _raw_call(sock: zmq.Socket, request_id: int, kind: str, body: dict) -> codec.Reply:
    """Send a request on a plain socket and let the serving loop run until its reply."""
    sock.send(codec.encode_request(codec.Request(request_id, kind, body)))
    await _wait_for(lambda: sock.poll(0) != 0)
    return codec.decode_reply(sock.recv())


async def test_a_waiting_request_ends_the_render_slice_after_one_block() -> None:
    """Requests before streams: with many streams owed blocks, a request that reaches the
    socket stops the slice after the block in progress, and the loop answers it before it
    renders another (over real ZeroMQ: the reply overtakes the asker's own stream)."""
    async with make_service() as service:
        clients = [AsyncClient(service.endpoint) for _ in range(5)]
        context = zmq.Context()
        asker = context.socket(zmq.DEALER)
        asker.setsockopt(zmq.LINGER, 0)
        asker.connect(service.endpoint)
        try:
            for client in clients:
                await client.hello(subscribe=False)
                await client.stream_start(lambda h, d: None, credits=0)
            await _raw_call(asker, 1, "hello", {"versions": [1], "client": "asker"})
            body = {"format": "s16", "block_frames": 1024, "credits": 0}
            assert (await _raw_call(asker, 2, "stream_start", body)).ok
            for session in service.sessions:
                assert session.stream is not None
                service.add_credits(session.stream, 20)
            asker.send(codec.encode_request(codec.Request(3, "ping", {"t": "first"})))
            # no await: the serving loop cannot run; wait until the ping is in its socket
            for _ in range(2000):
                if service.requests_waiting():
                    break
                asker.poll(5)
            assert service.requests_waiting()
            sent = service.streams.render_slice(float("inf"), service.requests_waiting)
            assert sent == 1  # 6 streams x 20 blocks owed: the request stopped the slice
            blocks_before_reply = 0
            while True:  # the asker's messages in order: its blocks, then the pong
                await _wait_for(lambda: asker.poll(0) != 0)
                frames = asker.recv_multipart()
                if len(frames) == 2:
                    blocks_before_reply += 1
                    continue
                reply = codec.decode_reply(frames[0])
                break
            assert reply.ok and reply.result is not None and reply.result["t"] == "first"
            assert blocks_before_reply <= 1  # at most the one block of the interrupted slice
        finally:
            asker.close(0)
            context.term()
            for client in clients:
                await client.close()
