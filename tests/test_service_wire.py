"""The serving loop's socket (RouterWire): no lost wake-up, and a loop that cannot die."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import zmq
import zmq.asyncio

from middleware.client import AsyncClient, Notification
from middleware.protocol import codec
from middleware.service.director_player import DirectorPlayer, director_player_factory
from middleware.service.wire import RouterWire
from tests.service_support import make_service


async def test_wait_wakes_for_a_request_whose_signal_a_send_consumed() -> None:
    """ZeroMQ's descriptor signals a change once; any operation on the socket (a send
    too) may consume that signal. Here a request arrives, then the service sends
    something else (consuming the signal) and waits: `wait` must see the request waiting
    (it asks the socket itself) instead of sleeping on a signal already gone."""
    context = zmq.asyncio.Context()
    router = context.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.setsockopt(zmq.ROUTER_MANDATORY, 1)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    wire = RouterWire(zmq.Socket.shadow(router.underlying))
    wire.start()
    plain = zmq.Context()
    dealer = plain.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    try:
        dealer.send(b"first")
        first = None
        for _ in range(100):  # (wait may return early: "the socket may have a message")
            await asyncio.wait_for(wire.wait(0.05), 5.0)
            if (first := wire.receive()) is not None:
                break
        assert first is not None and first[-1].bytes == b"first"
        peer = first[0].bytes
        woken = 0
        for number in range(20):
            assert wire.receive() is None  # nothing waits: the pipe is read dry
            dealer.send(b"request %d" % number)
            time.sleep(0.01)  # (no await) the request reaches the socket, which is signalled
            assert wire.send(peer, [b"tick"]) == "sent"  # ... and this send takes the signal
            await asyncio.wait_for(wire.wait(None), 2.0)  # a lost wake-up times out here
            message = wire.receive()
            assert message is not None and message[-1].bytes == b"request %d" % number
            woken += 1
        assert woken == 20
    finally:
        wire.stop()
        dealer.close(0)
        plain.term()
        router.close(0)
        context.term()


class _FailingPlayer(DirectorPlayer):
    """A real director whose renders fail after a few blocks (a bug in a player)."""

    fail_after = 3

    def render(self, frames: int) -> tuple[np.ndarray, object]:  # type: ignore[override]
        self.fail_after -= 1
        if self.fail_after < 0:
            raise RuntimeError("a bug in the player")
        return super().render(frames)


def _factory(pack, lookup, record):  # the second session's player fails
    if getattr(_factory, "made", 0) == 1:
        _factory.made = 2  # type: ignore[attr-defined]
        return _FailingPlayer(pack, lookup, record)
    _factory.made = getattr(_factory, "made", 0) + 1  # type: ignore[attr-defined]
    return director_player_factory(pack, lookup, record)


async def test_a_player_that_fails_stops_its_stream_not_the_service() -> None:
    """A render that raises stops that session's stream with an `error` notice (on the
    stream and PUB); the serving loop, other streams and requests go on."""
    _factory.made = 0  # type: ignore[attr-defined]
    service = make_service()
    service.player_factory = _factory
    async with service:
        healthy, failing = AsyncClient(service.endpoint), AsyncClient(service.endpoint)
        try:
            await healthy.hello(subscribe=False)
            await failing.hello()
            errors: list[Notification] = []
            failing.on("error", errors.append)
            good: list[codec.PcmHeader] = []
            await healthy.stream_start(lambda h, d: good.append(h), credits=20)
            notices: list[codec.PcmHeader] = []
            await failing.stream_start(lambda h, d: notices.append(h), credits=20)
            deadline = time.monotonic() + 10
            while (len(good) < 20 or not failing.stream_failed) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert len(good) == 20  # the healthy stream got every block credited
            assert len(notices) == 3  # the failing one: its 3 good blocks
            assert failing.stream_failed and not healthy.stream_failed  # the stream notice
            assert service.stats["internal"] == 1
            # (PUB `error` goes out too; a subscriber that joined late may miss it)
            assert all(note.body["code"] == "internal" for note in errors)
            failing_session = service.sessions.get(failing.session or "")
            assert failing_session is not None and failing_session.stream is None
            assert service.streams.stats["failed"] == 1
            assert (await healthy.ping("alive"))["t"] == "alive"
            assert (await failing.ping("alive"))["t"] == "alive"
        finally:
            await healthy.close()
            await failing.close()
