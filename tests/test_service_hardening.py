"""Hardening of the service (issue: bounded cost per session, no silent drops, session
ownership, shutdown notice). Every test runs the real service over real ZeroMQ sockets.
"""

from __future__ import annotations

import asyncio
import itertools
import tracemalloc

import msgpack
import zmq
import zmq.asyncio

from middleware.client import AsyncClient
from middleware.director.tables import SHARED_TABLES
from middleware.protocol import codec
from tests.service_support import fantasy_pack, make_service

STATES = ("town", "explore", "battle", "victory", "menu")


async def _wait_for(predicate, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


class RawClient:
    """A client written from docs/protocol.md alone: a DEALER and msgpack."""

    def __init__(
        self, context: zmq.asyncio.Context, endpoint: str, options: dict[int, int] | None = None
    ) -> None:
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        for option, value in (options or {}).items():
            self.socket.setsockopt(option, value)
        self.socket.connect(endpoint)
        self._ids = itertools.count(1)

    async def send(self, request_type: str, body: dict | None = None) -> int:
        request_id = next(self._ids)
        envelope = {"v": 1, "id": request_id, "type": request_type, "body": body or {}}
        await self.socket.send(msgpack.packb(envelope))
        return request_id

    async def reply(self, timeout_s: float = 10.0) -> dict:
        while True:
            frames = await asyncio.wait_for(self.socket.recv_multipart(), timeout_s)
            if len(frames) == 1:
                return msgpack.unpackb(frames[0])

    async def call(self, request_type: str, body: dict | None = None) -> dict:
        request_id = await self.send(request_type, body)
        reply = await self.reply()
        assert reply["id"] == request_id
        return reply

    def close(self) -> None:
        self.socket.close(0)


def _hello(**extra: object) -> dict:
    return {"versions": [1], "client": "hardening-test/1", **extra}


# -- 1. events while the clock stands still ------------------------------------------------


async def test_events_without_a_stream_keep_the_director_bounded() -> None:
    """2,000 state events (and stingers) with no stream: the session clock never moves,
    yet the director holds a bounded number of voices, envelopes, ducks and queued events."""
    context = zmq.asyncio.Context()
    async with make_service() as service:
        client = RawClient(context, service.endpoint)
        try:
            assert (await client.call("hello", _hello()))["ok"]
            session = next(iter(service.sessions))
            director = session.player.director
            peak = {"voices": 0, "ducks": 0, "queued": 0, "envelopes": 0}
            for number in range(2000):
                reply = await client.call("event", {"state": STATES[number % len(STATES)]})
                assert reply["ok"], reply
                if number % 10 == 0:
                    assert (await client.call("stinger", {"name": "level_up"}))["ok"]
                load = director.load()
                load["envelopes"] = max(len(v._envelopes) for v in director._voices)
                for key in peak:
                    peak[key] = max(peak[key], load[key])
            assert director.position == 0  # the clock really stood still
        finally:
            client.close()
    context.term()
    # Before the fix: ~2,000 voices and ~200 ducks, every event looping over all of them.
    assert peak["voices"] <= 6, peak
    assert peak["ducks"] <= len(fantasy_pack().stingers), peak
    assert peak["queued"] <= 2, peak
    assert peak["envelopes"] <= 4, peak


# -- 2. memory per session ------------------------------------------------------------------


async def test_sessions_share_fade_tables_and_stay_small() -> None:
    """Fade and duck tables are made once per process, not once per session: 30 sessions
    x 10 events allocate a small, fixed amount each (numpy reports to tracemalloc)."""
    context = zmq.asyncio.Context()
    clients: list[RawClient] = []
    async with make_service(max_sessions_per_peer=0) as service:
        try:
            first = RawClient(context, service.endpoint)  # warms the shared tables
            clients.append(first)
            await first.call("hello", _hello())
            for state in STATES * 2:
                await first.call("event", {"state": state})
            made = SHARED_TABLES.made
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(30):
                client = RawClient(context, service.endpoint)
                clients.append(client)
                assert (await client.call("hello", _hello()))["ok"]
                for state in STATES * 2:
                    assert (await client.call("event", {"state": state}))["ok"]
            per_session = (tracemalloc.get_traced_memory()[0] - before) / 30
            tracemalloc.stop()
        finally:
            for client in clients:
                client.close()
    context.term()
    assert SHARED_TABLES.made == made  # no session made a table of its own
    # Before the fix each session built its own fade tables (~0.5 MB per long fade) and
    # its mixing buffers (~1 MB): 3.9 MB per session. Now a session without a stream holds
    # neither (the buffers come with the first rendered block).
    assert per_session < 256 * 1024, per_session


# -- 5. no reply is ever silently dropped ---------------------------------------------------


async def test_pipelined_requests_never_lose_a_reply() -> None:
    """10,000 pings sent before reading any reply: every id is answered exactly once, with
    its pong or with an explicit `overloaded` error (the request was not executed)."""
    context = zmq.asyncio.Context()
    async with make_service() as service:
        # a client that reads slowly: tiny receive queue and TCP buffer (before the fix,
        # ~70% of the replies were dropped when the service's send queue filled)
        options = {zmq.SNDHWM: 0, zmq.RCVHWM: 1, zmq.RCVBUF: 4096}
        client = RawClient(context, service.endpoint, options)
        # The first 1,000 pongs echo 32 KB each (32 MB: more than any kernel buffer and the
        # socket's high-water mark hold, and under the 1,024 requests a connection may have
        # waiting, so all of them run); the next 9,000 are small and mostly `overloaded`.
        big, small = "x" * 32_000, "x" * 100
        try:
            sent = [
                await client.send("ping", {"t": [n, big if n < 1_000 else small]})
                for n in range(10_000)
            ]
            await asyncio.sleep(0.5)  # let the service read (and answer) all of them
            answers: dict[int, dict] = {}
            while len(answers) < len(sent):
                reply = await client.reply(timeout_s=20.0)
                assert reply["id"] not in answers, "a reply was sent twice"
                answers[reply["id"]] = reply
            ok = [r for r in answers.values() if r["ok"]]
            refused = [r for r in answers.values() if not r["ok"]]
            assert {r["error"]["code"] for r in refused} <= {"overloaded"}
            assert all(r["result"]["t"][0] == r["id"] - 1 for r in ok)
            assert service.outbox.stats["dropped_replies"] == 0
            assert service.outbox.stats["queued"] > 0  # the socket did refuse sends
            # once the client has read its backlog, the connection works normally again
            assert (await client.call("ping", {"t": "after"}))["result"]["t"] == "after"
        finally:
            client.close()
    context.term()


# -- 6. session ownership ------------------------------------------------------------------


async def test_a_session_id_alone_cannot_take_over_a_session() -> None:
    context = zmq.asyncio.Context()
    async with make_service() as service:
        owner, thief = RawClient(context, service.endpoint), RawClient(context, service.endpoint)
        try:
            hello = (await owner.call("hello", _hello()))["result"]
            sid, token = hello["session"], hello["resume_token"]
            assert len(token) == 32 and token != sid
            await owner.call("event", {"state": "battle"})
            # the id is public (PUB topics carry it); without the token it resumes nothing
            for body in (_hello(resume=sid), _hello(resume=sid, resume_token="0" * 32)):
                stolen = (await thief.call("hello", body))["result"]
                assert stolen["resumed"] is False and stolen["session"] != sid
                assert "resume_token" in stolen and stolen["resume_token"] != token
            status = (await owner.call("status"))["result"]
            assert status["session"] == sid and status["target"] == "battle"  # untouched
            # the owner, on a new connection, resumes with its token
            again = RawClient(context, service.endpoint)
            try:
                resumed = await again.call("hello", _hello(resume=sid, resume_token=token))
                assert resumed["result"]["resumed"] is True
                assert resumed["result"]["session"] == sid
                assert resumed["result"]["state"] == "battle"
            finally:
                again.close()
        finally:
            owner.close()
            thief.close()
    context.term()


async def test_one_peer_cannot_take_every_session() -> None:
    context = zmq.asyncio.Context()
    clients: list[RawClient] = []
    async with make_service(max_sessions=8, max_sessions_per_peer=3) as service:
        try:
            for _ in range(3):
                clients.append(RawClient(context, service.endpoint))
                assert (await clients[-1].call("hello", _hello()))["ok"]
            clients.append(RawClient(context, service.endpoint))
            refused = await clients[-1].call("hello", _hello())
            assert refused["ok"] is False
            assert refused["error"]["code"] == "too_many_sessions"
            assert refused["error"]["detail"] == {"limit": 3, "scope": "peer"}
            # a second hello on a connection replaces its session: never refused by the cap
            assert (await clients[0].call("hello", _hello()))["ok"]
            # ending one makes room
            assert (await clients[1].call("bye"))["ok"]
            assert (await clients[-1].call("hello", _hello()))["ok"]
            assert len(service.sessions) == 3
        finally:
            for client in clients:
                client.close()
    context.term()


# -- 8. shutdown notice ----------------------------------------------------------------------


async def test_stopping_is_announced_on_the_stream_and_on_pub() -> None:
    service = make_service()
    await service.start()
    stopped = False
    try:
        async with AsyncClient(service.endpoint) as client:
            await client.hello(subscribe=False)
            sub = client._context.socket(zmq.SUB)
            sub.setsockopt(zmq.LINGER, 0)
            sub.setsockopt(zmq.SUBSCRIBE, b"stopping")
            sub.connect(service.pub_endpoint)
            await asyncio.sleep(0.3)  # let the subscription reach the service
            blocks: list[codec.PcmHeader] = []
            await client.stream_start(lambda h, d: blocks.append(h), credits=4)
            await _wait_for(lambda: len(blocks) == 4)
            await service.stop()
            stopped = True
            await _wait_for(lambda: client.stopping, timeout_s=5.0)
            topic, _, body = codec.decode_pub(await asyncio.wait_for(sub.recv_multipart(), 5))
            assert topic == "stopping" and body["reason"] == "shutdown"
            sub.close(0)
    finally:
        if not stopped:
            await service.stop()


# -- protocol leniency, as documented -------------------------------------------------------


async def test_extension_types_are_refused_and_nil_body_is_empty() -> None:
    context = zmq.asyncio.Context()
    async with make_service() as service:
        client = RawClient(context, service.endpoint)
        try:
            for value in (msgpack.ExtType(5, b"ab"), msgpack.Timestamp(1, 0)):
                envelope = {"v": 1, "id": 3, "type": "ping", "body": {"t": value}}
                await client.socket.send(msgpack.packb(envelope))
                reply = await client.reply()
                assert reply["ok"] is False and reply["error"]["code"] == "bad_message"
                assert reply["id"] is None  # the envelope as a whole is refused
            await client.socket.send(msgpack.packb({"v": 1, "id": 4, "type": "ping", "body": None}))
            reply = await client.reply()
            assert reply["ok"] is True and reply["result"]["t"] is None
        finally:
            client.close()
    context.term()


# -- 3. non-finite samples never leave the mixer --------------------------------------------


async def test_nan_audio_never_reaches_a_stream_or_a_fetched_file() -> None:
    """Audio with NaN and inf in it (damage the cache could not see: it happened after the
    check, in memory) streams as finite float32 and `fetch` encodes it (no `internal`)."""
    import dataclasses

    import numpy as np

    from engine_core.variant import VariantSet
    from middleware.service.config import ServiceConfig
    from middleware.service.director_player import director_player_factory
    from middleware.service.library import StaticLibrary
    from middleware.service.server import Service
    from tests.service_support import synthetic_sets

    pack = fantasy_pack()
    sets = synthetic_sets(pack)
    menu = sets[pack.name, "menu"]
    broken = []
    for variant in menu.variants:
        stems = {name: audio.copy() for name, audio in variant.stems.items()}
        mix = variant.mix.copy()
        for audio in (*stems.values(), mix):
            audio[1000:3000] = np.nan
            audio[5000:5100] = np.inf
        broken.append(dataclasses.replace(variant, stems=stems, mix=mix))
    sets[pack.name, "menu"] = VariantSet(menu.state, menu.generation_hash, menu.seed, tuple(broken))
    config = ServiceConfig(bind="tcp://127.0.0.1:*", pub_bind="tcp://127.0.0.1:*")
    service = Service([pack], StaticLibrary(sets), director_player_factory, config)
    async with service, AsyncClient(service.endpoint) as client:
        await client.hello(subscribe=False)
        blocks: list[np.ndarray] = []
        await client.stream_start(
            lambda h, d: blocks.append(codec.pcm_from_bytes(d, "f32")),
            pcm_format="f32",
            block_frames=1024,
            credits=8,
        )
        await _wait_for(lambda: len(blocks) == 8)
        assert all(np.isfinite(block).all() for block in blocks)
        assert float(np.abs(np.concatenate(blocks)).max()) > 0.01  # not all silenced
        reply = await client.request_raw("fetch", {"state": "menu", "format": "wav"})
        assert reply.ok, reply.error
        assert service.stats["internal"] == 0
