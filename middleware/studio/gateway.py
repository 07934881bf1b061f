"""One page's WebSocket relayed to the ZeroMQ service: the same protocol, another transport.

Each page gets a DEALER socket to the service (so the service sees an ordinary client: the
same session handling, director, credit flow control and structured errors as a game)
and a SUB socket for its session's notifications. Requests arrive as JSON text and go on
as msgpack; replies and notifications come back as JSON text; PCM blocks come back as
binary messages (`middleware.studio.wire`). Flow control is end to end: the service
renders a block only for a credit the page granted, and `send_bytes` waits while the
page's socket is full. When the page goes away, its session is ended with `bye`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

import zmq
import zmq.asyncio
from aiohttp import WSMsgType, web

from middleware.client.aio import SERVICE_TOPICS
from middleware.protocol import codec
from middleware.protocol.errors import BadMessageError
from middleware.studio import wire

log = logging.getLogger(__name__)

#: how long the hello reply waits for the page's new subscriptions to reach the service
SUBSCRIBE_SETTLE_S = 0.1


class PageLink:
    """A page's connection: its WebSocket, a DEALER to the service, a SUB for its news."""

    def __init__(
        self,
        socket: web.WebSocketResponse,
        context: zmq.asyncio.Context,
        endpoint: str,
        pub_endpoint: str,
        *,
        max_message_bytes: int,
    ) -> None:
        self.socket = socket
        self.max_message_bytes = max_message_bytes
        self.session: str | None = None
        self.blocks_sent = 0
        self._dealer = context.socket(zmq.DEALER)
        self._dealer.setsockopt(zmq.LINGER, 0)
        self._dealer.connect(endpoint)
        self._sub = context.socket(zmq.SUB)
        self._sub.setsockopt(zmq.LINGER, 0)
        for topic in SERVICE_TOPICS:
            self._sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
        self._sub.connect(pub_endpoint)
        self._outbox: asyncio.Queue[str | bytes | None] = asyncio.Queue(maxsize=256)

    async def run(self) -> None:
        """Relay until the page closes its socket; then end the session and close."""
        tasks = [
            asyncio.create_task(self._from_service()),
            asyncio.create_task(self._from_pub()),
            asyncio.create_task(self._to_page()),
        ]
        try:
            async for message in self.socket:
                if message.type == WSMsgType.TEXT:
                    await self._request(message.data)
                elif message.type == WSMsgType.BINARY:
                    error = BadMessageError(
                        "requests are JSON text messages", {"reason": "binary message"}
                    )
                    await self.send(wire.error_text_for(error, None, "error"))
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            await self._farewell()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._dealer.close(0)
            self._sub.close(0)

    async def send(self, message: str | bytes) -> None:
        """Queue a message for the page (replies, notes and PCM keep their order)."""
        await self._outbox.put(message)

    def notify(self, topic: str, body: dict) -> None:
        """A studio notification (pack changed, re-roll progress); dropped if the page lags."""
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait(wire.note_text(topic, body))

    async def _request(self, text: str) -> None:
        try:
            frame = wire.request_from_text(text, max_bytes=self.max_message_bytes)
        except codec.DecodeFailure as failure:
            await self.send(wire.error_text(failure))
            return
        await self._dealer.send(frame)

    async def _from_service(self) -> None:
        while True:
            frames = await self._dealer.recv_multipart(copy=True)
            if len(frames) == 2:
                self.blocks_sent += 1
                await self.send(wire.pcm_message(frames[0], frames[1]))
                continue
            reply = codec.decode_reply(frames[-1])
            if reply.ok and reply.type == "hello" and reply.result is not None:
                self._follow(str(reply.result["session"]))
                # ZeroMQ subscriptions are not acknowledged: give this one time to reach
                # the service before the page, told it has a session, starts the music
                await asyncio.sleep(SUBSCRIBE_SETTLE_S)
            elif reply.ok and reply.type == "bye":
                self._follow(None)
            await self.send(wire.reply_text(frames[-1]))

    def _follow(self, session: str | None) -> None:
        """Subscribe to `session`'s topics (and drop the previous session's)."""
        if self.session is not None:
            for topic in _session_topics(self.session):
                self._sub.setsockopt(zmq.UNSUBSCRIBE, topic)
        self.session = session
        if session is not None:
            for topic in _session_topics(session):
                self._sub.setsockopt(zmq.SUBSCRIBE, topic)

    async def _from_pub(self) -> None:
        while True:
            frames = await self._sub.recv_multipart(copy=True)
            try:
                topic, session, body = codec.decode_pub(frames)
            except codec.BadMessageError:
                continue
            if session is not None and session != self.session:
                continue
            self.notify(topic, body)

    async def _to_page(self) -> None:
        while True:
            message = await self._outbox.get()
            if message is None or self.socket.closed:
                return
            if isinstance(message, bytes):
                await self.socket.send_bytes(message)
            else:
                await self.socket.send_str(message)

    async def _farewell(self) -> None:
        """The page left: end its session so its director stops at once."""
        if self.session is None:
            return
        request = codec.Request(0, "bye", {})
        with contextlib.suppress(zmq.ZMQError):
            await self._dealer.send(codec.encode_request(request))
            await asyncio.sleep(0.05)  # let the DEALER hand it over before closing


def _session_topics(session: str) -> Iterable[bytes]:
    for topic in codec.PUB_TOPICS:
        if topic not in SERVICE_TOPICS:
            yield codec.pub_topic(topic, session).encode()
