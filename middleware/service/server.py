"""The Ostinato service: a ROUTER socket for requests, replies and PCM, a PUB socket for news.

One asyncio event loop does everything that is cheap (decoding, validation, planning,
mixing a block); anything slow (generation, encoding files for `fetch`) runs elsewhere
(the scheduler's worker processes, a thread pool). Every request gets exactly one reply;
a malformed one gets an error reply and the connection keeps working (docs/protocol.md).

One *serving loop* owns the ROUTER socket (`_serve_loop`). Requests come first: it takes
every request waiting on the socket into its connection's line (`FairQueue`) and answers
the lines in turn, one request per connection per turn, each connection within its CPU
budget, so a client flooding the service holds the others up by one request at most.
Then streams get a slice of time (`Streams.render_slice`, at most `RENDER_SLICE_S`), which
ends as soon as a new request is waiting once it has lasted `RENDER_MIN_S`: a request
waits about half a millisecond of mixing, never for a round of every stream's, and streams
keep a share of the loop however many requests come. A session that streams nothing
costs nothing between requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import zmq
import zmq.asyncio

from engine_core.data.provenance import shipped_weights_wire
from engine_core.errors import OstinatoError
from middleware.protocol import codec
from middleware.protocol.errors import InternalError, NoSessionError, OverloadedError
from middleware.protocol.messages import SESSIONLESS_TYPES, validate_body
from middleware.service import requests
from middleware.service.config import ServiceConfig
from middleware.service.encoded_files import EncodedFiles
from middleware.service.errors import ServiceStartError
from middleware.service.fairness import FairQueue
from middleware.service.library import MusicLibrary
from middleware.service.outbox import Outbox
from middleware.service.player import Mark, PlayerFactory, RewindablePlayer
from middleware.service.session import Session, SessionRecords, SessionTable, StreamState
from middleware.service.streams import Streams
from middleware.service.wire import GONE, RouterWire, readable, send_frames
from middleware.templates.model import TemplatePack

log = logging.getLogger(__name__)

#: how long closing sockets may take to deliver the `stopping` notices
STOP_LINGER_MS = 250
#: requests taken off the socket at most at once (the rest wait in the socket)
READ_BATCH = 256
#: the serving loop answers every request waiting before streams get a slice; this bounds
#: it (seconds), so that requests never stopping cannot silence every stream
REQUEST_SLICE_S = 0.02
#: the longest slice of stream rendering before requests are looked at again
RENDER_SLICE_S = 0.004
#: a render slice lasts at least this long before a waiting request ends it, so streams
#: keep a share of the loop when requests never stop
RENDER_MIN_S = 0.0005
#: blocks of history a rewindable stream keeps beyond its credit cap (docs/protocol.md)
REWIND_SPARE_BLOCKS = 8


class Service:
    """Serve one or more template packs. Use as ``async with Service(...) as service:``."""

    def __init__(
        self,
        packs: Sequence[TemplatePack],
        library: MusicLibrary,
        player_factory: PlayerFactory,
        config: ServiceConfig | None = None,
    ) -> None:
        if not packs:
            raise ServiceStartError("the service needs at least one template pack")
        self.packs: dict[str, TemplatePack] = {pack.name: pack for pack in packs}
        self.default_pack = packs[0].name
        self.library = library
        self.player_factory = player_factory
        self.config = config or ServiceConfig()
        self.sessions = SessionTable()
        self.records = SessionRecords(self.config.state_dir)
        self.endpoint = ""
        self.pub_endpoint = ""
        self.stats = {"requests": 0, "errors": 0, "overloaded": 0, "internal": 0}
        self.outbox = Outbox(self._send, on_cut_off=self._cut_off)
        self.streams = Streams(
            self._send, self.publish_marks, self._stream_gone, self._stream_failed
        )
        self.fair = FairQueue()
        self._peer_now: tuple[bytes, zmq.Frame | None] = (b"", None)
        self._context: zmq.asyncio.Context | None = None
        self._router: zmq.asyncio.Socket | None = None
        self._wire: RouterWire | None = None
        self._pub: zmq.Socket | None = None
        self._pub_socket: zmq.asyncio.Socket | None = None
        self._subscriptions: set[bytes] = set()  # topic prefixes some subscriber wants
        self._auth: Any = None
        self._tasks: list[asyncio.Task] = []
        self._background: set[asyncio.Task] = set()
        self._stopped = asyncio.Event()
        self.encoded_files = EncodedFiles()
        #: the default weights' data terms, stated in every hello reply
        self.data_terms: dict[str, Any] = shipped_weights_wire()
        self._reachable: dict[tuple[str, str], list[str]] = {}

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self._context = zmq.asyncio.Context()
        router = self._context.socket(zmq.ROUTER)
        pub = self._context.socket(zmq.XPUB)  # a PUB that also tells us what is subscribed
        for sock in (router, pub):
            sock.setsockopt(zmq.LINGER, 0)
        router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        router.setsockopt(zmq.MAXMSGSIZE, 16 * self.config.max_message_bytes)
        router.setsockopt(zmq.SNDHWM, 2 * self.config.max_credits + 64)
        router.setsockopt(zmq.RCVHWM, 10000)
        pub.setsockopt(zmq.SNDHWM, 10000)
        if self.config.curve is not None:
            from middleware.service.security import enable_curve

            self._auth = enable_curve(self._context, (router, pub), self.config.curve)
        try:
            router.bind(self.config.bind)
            pub.bind(self.config.resolved_pub_bind())
        except zmq.ZMQError as error:
            router.close(0)
            pub.close(0)
            raise ServiceStartError(
                f"cannot bind {self.config.bind}: {error}", {"endpoint": self.config.bind}
            ) from None
        self.endpoint = router.getsockopt_string(zmq.LAST_ENDPOINT)
        self.pub_endpoint = pub.getsockopt_string(zmq.LAST_ENDPOINT)
        self._router = router
        self._wire = RouterWire(zmq.Socket.shadow(router.underlying))
        self._pub_socket = pub
        self._pub = zmq.Socket.shadow(pub.underlying)  # only ever used without blocking
        self.library.subscribe(self._on_library_news)
        self.outbox.start()
        self._wire.start()
        self._tasks = [
            asyncio.create_task(self._serve_loop(), name="ostinato-serve"),
            asyncio.create_task(self._expiry_loop(), name="ostinato-expiry"),
        ]
        await self.library.start()
        log.info(
            "serving %s on %s (PUB %s)", ", ".join(self.packs), self.endpoint, self.pub_endpoint
        )

    async def stop(self, reason: str = "shutdown") -> None:
        """Tell clients (`stopping` on PUB and on each running stream), stop streams and
        loops, close sockets; sessions stay recorded for a restart."""
        if self._router is not None:
            self._announce_stopping(reason)
        tasks = [*self._tasks, *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._wire is not None:
            self._wire.stop()
        self.outbox.flush()
        await self.outbox.close()
        await self.library.close()
        for sock in (self._router, self._pub_socket):
            if sock is not None:
                sock.close(STOP_LINGER_MS)
        if self._auth is not None:
            self._auth.stop()
        if self._context is not None:
            self._context.term()
        self._stopped.set()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    async def __aenter__(self) -> Service:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- requests -----------------------------------------------------------------------

    def _announce_stopping(self, reason: str) -> None:
        """PUB `stopping`, and a `stopping` message on every running stream (a two-frame
        message like a block, header `type: "stopping"`, empty data), before closing."""
        self.publish("stopping", None, {"reason": reason})
        for session in self.sessions:
            stream = session.stream
            if stream is not None:
                frames = codec.encode_stream_notice("stopping", stream.stream_id, stream.seq)
                self._send(session.routing_id, frames)

    async def _serve_loop(self) -> None:
        """Requests first, then a slice of stream blocks; sleep when neither has work."""
        wire = self._wire
        assert wire is not None  # set by start()
        streams = self.streams
        fair = self.fair
        clock = time.perf_counter
        while True:
            try:
                handled = self._serve_requests(clock() + REQUEST_SLICE_S)
                sent = streams.render_slice(
                    clock() + RENDER_SLICE_S, self.requests_waiting, min_s=RENDER_MIN_S
                )
            except Exception:  # never: but the loop must not die with it (a silent hang)
                self.stats["internal"] += 1
                log.exception("unhandled error in the serving loop")
                handled, sent = 0, 0
                await asyncio.sleep(0.001)
            if not (handled or sent):
                handled = self._serve_spare()
            if handled or sent:
                await asyncio.sleep(0)  # fetch replies, the outbox and expiry run too
                continue
            timeouts = [
                t
                for t in (streams.next_retry_s(time.monotonic()), fair.next_ready_s())
                if t is not None
            ]
            await wire.wait(min(timeouts) if timeouts else None)

    def requests_waiting(self) -> bool:
        """Whether a request waits on the socket (asked after every stream block)."""
        wire = self._wire
        return wire is not None and wire.readable()

    def _take_requests(self) -> int:
        """Move the requests waiting on the socket into their connections' lines."""
        wire = self._wire
        assert wire is not None
        fair = self.fair
        for count in range(READ_BATCH):
            message = wire.receive()
            if message is None:
                return count
            routing_id = message[0].bytes
            if not fair.push(routing_id, message):
                self._refuse_flood(routing_id, message)
        return READ_BATCH

    def _serve_requests(self, deadline: float) -> int:
        """Answer the requests waiting, connections in turn, until `deadline`; returns
        how many."""
        fair = self.fair
        wire = self._wire
        assert wire is not None
        clock = time.perf_counter  # (the thread's CPU clock is a system call: too dear here)
        self._take_requests()
        handled = 0
        while True:
            item = fair.pop()
            if item is None:
                if wire.readable() and self._take_requests():
                    continue
                return handled
            routing_id, message = item
            started = clock()
            self._handle_message(message)
            finished = clock()
            fair.charge(routing_id, finished - started)
            handled += 1
            if finished >= deadline:
                return handled
            if wire.readable():  # newcomers join the turns at once
                self._take_requests()

    def _serve_spare(self) -> int:
        """When nothing else wants the loop (no request in turn or on the socket, no
        stream block to send): one request of a connection held for its budget, which
        costs nobody anything now. Returns how many (0 or 1)."""
        if self.requests_waiting():
            return 0
        item = self.fair.pop_spare()
        if item is None:
            return 0
        routing_id, message = item
        started = time.perf_counter()
        self._handle_message(message)
        self.fair.charge(routing_id, time.perf_counter() - started, spare=True)
        return 1

    def _handle_message(self, message: list[zmq.Frame]) -> None:
        frames = [frame.bytes for frame in message]
        self._peer_now = (frames[0], message[-1])
        try:
            self._handle(frames)
        except Exception:  # a bug in a handler must not stop the service
            self.stats["internal"] += 1
            log.exception("unhandled error while handling a request")

    def _refuse_flood(self, routing_id: bytes, message: list[zmq.Frame]) -> None:
        """A connection with `LINE_LIMIT` requests already waiting: `overloaded`, not run."""
        self.stats["overloaded"] += 1
        frames = [frame.bytes for frame in message]
        prefix: list[bytes] = []
        payload = frames[1:]
        if len(payload) >= 2 and payload[0] == b"":
            prefix, payload = [b""], payload[1:]
        try:
            request = codec.decode_request(
                payload[-1] if payload else b"", max_bytes=self.config.max_message_bytes
            )
            request_id, request_type = request.id, request.type
        except codec.DecodeFailure as failure:
            request_id, request_type = failure.request_id, failure.request_type
        waiting = self.fair.waiting(routing_id)
        error = OverloadedError(
            f"{waiting} requests from this connection are waiting to be handled: wait for "
            "their replies, then send again (this request was not executed)",
            {"waiting": waiting, "limit": self.fair.line_limit},
        )
        self._reply(routing_id, prefix, codec.error_reply(request_id, request_type, error))

    def _handle(self, frames: list[bytes]) -> None:
        routing_id = frames[0]
        prefix: list[bytes] = []
        payload = frames[1:]
        if len(payload) >= 2 and payload[0] == b"":
            prefix, payload = [b""], payload[1:]
        self.stats["requests"] += 1
        if len(payload) != 1:
            error = codec.BadMessageError(
                "a request is exactly one frame",
                {"reason": f"got {len(payload)} frames"},
            )
            self._reply(routing_id, prefix, codec.error_reply(None, "error", error))
            return
        try:
            request = codec.decode_request(payload[0], max_bytes=self.config.max_message_bytes)
        except codec.DecodeFailure as failure:
            self.stats["errors"] += 1
            reply = codec.error_reply(failure.request_id, failure.request_type, failure.error)
            self._reply(routing_id, prefix, reply)
            return
        if self.outbox.overloaded(routing_id):
            self.stats["overloaded"] += 1
            overloaded_session = self.sessions.for_route(routing_id)
            if overloaded_session is not None:
                overloaded_session.touch()  # a busy client is not an idle one
            waiting = self.outbox.waiting(routing_id)
            error = OverloadedError(
                f"{waiting} replies are waiting to be read on this connection: read them, "
                "then send again (this request was not executed)",
                {"waiting": waiting, "limit": self.outbox.limits.soft_limit},
            )
            self._reply(routing_id, prefix, codec.error_reply(request.id, request.type, error))
            return
        try:
            body = validate_body(request.type, request.body)
            session = self.sessions.for_route(routing_id)
            if session is not None:
                session.touch()
            elif request.type not in SESSIONLESS_TYPES:
                raise NoSessionError(
                    f"{request.type!r} needs a session: send 'hello' first (or it expired)"
                )
            result = requests.HANDLERS[request.type](self, routing_id, session, body)
        except OstinatoError as error:
            self.stats["errors"] += 1
            self._reply(routing_id, prefix, codec.error_reply(request.id, request.type, error))
            return
        except Exception as error:
            self._internal(routing_id, prefix, request, error)
            return
        if isinstance(result, Awaitable):
            self._spawn(self._reply_later(routing_id, prefix, request, result))
            return
        self._reply(routing_id, prefix, codec.ok_reply(request.id, request.type, result))
        current = self.sessions.for_route(routing_id)
        if current is not None:
            self.publish_marks(current, current.player.drain())

    async def _reply_later(
        self, routing_id: bytes, prefix: list[bytes], request: codec.Request, pending: Any
    ) -> None:
        try:
            result = await pending
        except OstinatoError as error:
            self.stats["errors"] += 1
            self._reply(routing_id, prefix, codec.error_reply(request.id, request.type, error))
        except Exception as error:
            self._internal(routing_id, prefix, request, error)
        else:
            self._reply(routing_id, prefix, codec.ok_reply(request.id, request.type, result))

    def _internal(
        self, routing_id: bytes, prefix: list[bytes], request: codec.Request, error: Exception
    ) -> None:
        self.stats["internal"] += 1
        log.exception("internal error handling %r", request.type, exc_info=error)
        wire = InternalError(
            f"internal error handling {request.type!r}", {"exception": type(error).__name__}
        )
        self._reply(routing_id, prefix, codec.error_reply(request.id, request.type, wire))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _send(self, routing_id: bytes, frames: list[bytes]) -> str:
        """Send without blocking: 'sent', 'full' (peer's queue at its limit) or 'gone'."""
        wire = self._wire
        if wire is None:
            return GONE
        return wire.send(routing_id, frames)

    def _reply(self, routing_id: bytes, prefix: list[bytes], reply: bytes) -> None:
        self.outbox.send(routing_id, [*prefix, reply])

    def _cut_off(self, routing_id: bytes) -> None:
        """A connection that never reads its replies reached the outbox's hard limit."""
        session = self.sessions.for_route(routing_id)
        log.warning("connection cut off: it left %d replies unread", self.outbox.limits.hard_limit)
        if session is not None:
            self.stop_stream(session)
            self.publish(
                "error",
                session.session_id,
                {
                    "code": "overloaded",
                    "message": "this connection left too many replies unread; its backlog "
                    "was discarded and its stream stopped",
                    "detail": {"limit": self.outbox.limits.hard_limit},
                },
            )

    def peer_of(self, routing_id: bytes) -> str:
        """The peer (CurveZMQ user id, else network address) of the request being handled."""
        current, frame = self._peer_now
        return _peer_key(frame) if current == routing_id and frame is not None else ""

    # -- notifications ------------------------------------------------------------------

    def publish(self, topic: str, session_id: str | None, fields: dict[str, Any]) -> None:
        """Send a PUB notification if anyone subscribed to it; never blocks (a slow
        subscriber loses messages, the service never waits)."""
        if self._pub is None or not self._wanted(codec.pub_topic(topic, session_id).encode()):
            return
        frames = codec.encode_pub(topic, session_id, time.monotonic_ns(), fields)
        with contextlib.suppress(zmq.Again):  # a subscriber's queue is full: dropped
            send_frames(self._pub, frames)

    def _wanted(self, topic: bytes) -> bool:
        self._read_subscriptions()
        subscriptions = self._subscriptions
        if not subscriptions:
            return False
        return any(topic[:length] in subscriptions for length in range(len(topic) + 1))

    def _read_subscriptions(self) -> None:
        """XPUB queues b"\x01<prefix>" for a new subscription and b"\x00<prefix>" when the
        last subscriber of a prefix leaves; read them just before they matter."""
        pub = self._pub
        assert pub is not None
        while readable(pub):
            message = pub.recv(zmq.NOBLOCK)
            if message[:1] == b"\x01":
                self._subscriptions.add(message[1:])
            elif message[:1] == b"\x00":
                self._subscriptions.discard(message[1:])

    def publish_marks(self, session: Session, marks: Sequence[Mark]) -> None:
        for mark in marks:
            fields = mark.fields
            if mark.topic == "state":
                fields = {**fields, "params": session.params}
            self.publish(mark.topic, session.session_id, fields)

    def _on_library_news(self, topic: str, fields: dict[str, Any]) -> None:
        self.publish(topic, None, fields)

    # -- sessions -----------------------------------------------------------------------

    def end_session(self, session: Session) -> None:
        self.stop_stream(session)
        self.sessions.remove(session)
        self.records.forget(session.session_id)

    async def _expiry_loop(self) -> None:
        period_s = min(0.5, self.config.heartbeat_s / 2)
        while True:
            await asyncio.sleep(period_s)
            for session in self.sessions.expired(self.config.session_timeout_s):
                log.info("session %s expired", session.session_id)
                self.end_session(session)

    def lookup_for(self, pack: str) -> Callable[[str], Any]:
        library = self.library
        return lambda name: library.variant_set(pack, name)

    def prioritise(self, session: Session, state: str) -> None:
        """Tell the library what this session needs first: `state`, then where it leads."""
        key = (session.pack, state)
        order = self._reachable.get(key)
        if order is None:
            order = self._reachable[key] = [state, *self.packs[session.pack].reachable_from(state)]
        self.library.prioritise(session.pack, order)

    # -- the PCM stream -----------------------------------------------------------------

    def start_stream(
        self,
        session: Session,
        pcm_format: str,
        block_frames: int,
        credits: int,
        rewind: bool = False,
    ) -> StreamState:
        self.stop_stream(session)
        stream = StreamState(
            stream_id=session.next_stream_id,
            pcm_format=pcm_format,
            block_frames=block_frames,
            credits=min(credits, self.config.max_credits),
            rewind=rewind and isinstance(session.player, RewindablePlayer),
            history_limit=self.config.max_credits + REWIND_SPARE_BLOCKS,
        )
        session.next_stream_id += 1
        session.stream = stream
        self.streams.add(session)
        return stream

    def stop_stream(self, session: Session) -> StreamState | None:
        stream = session.stream
        session.stream = None
        self.streams.remove(session)
        return stream

    def rewind(self, session: Session, replace_from: int | None) -> dict[str, int] | None:
        """Before an event: take back the audio rendered from `replace_from` on, if the
        session's stream allows it (docs/protocol.md, "Rewind")."""
        rewound = None if replace_from is None else self.streams.rewind(session, replace_from)
        stream = session.stream
        if stream is not None and stream.rewind:  # the event applies here: never rewind
            stream.rewind_floor = session.player.position().sample  # before it
        return rewound

    def add_credits(self, stream: StreamState, credits: int) -> None:
        stream.credits = min(stream.credits + credits, self.config.max_credits)

    def _stream_failed(self, session: Session, error: Exception) -> None:
        """A player failed to render: its stream stops with an `error` notice on the
        stream and on PUB; the loop and every other stream go on."""
        self.stats["internal"] += 1
        log.error(
            "session %s: rendering failed, stream stopped", session.session_id, exc_info=error
        )
        stream = self.stop_stream(session)
        if stream is not None:
            frames = codec.encode_stream_notice("error", stream.stream_id, stream.seq)
            self._send(session.routing_id, frames)
        self.publish(
            "error",
            session.session_id,
            {
                "code": "internal",
                "message": "the session's music failed to render; its stream was stopped",
                "detail": {"exception": type(error).__name__},
            },
        )

    def _stream_gone(self, session: Session) -> None:
        log.info("session %s: client gone mid-stream, stream stopped", session.session_id)
        self.stop_stream(session)

    # -- summaries ----------------------------------------------------------------------

    def pack_for(self, name: str | None, session: Session | None) -> TemplatePack:
        from middleware.protocol.errors import UnknownPackError

        chosen = name or (session.pack if session is not None else self.default_pack)
        pack = self.packs.get(chosen)
        if pack is None:
            raise UnknownPackError(
                f"no pack named {chosen!r} is served",
                {"pack": chosen, "packs": sorted(self.packs)},
            )
        return pack

    def readiness(self, pack: TemplatePack) -> Mapping[str, int]:
        """name (state or stinger) -> variants ready."""
        ready: dict[str, int] = {}
        for name in [*pack.states, *pack.stingers]:
            found = self.library.variant_set(pack.name, name)
            ready[name] = 0 if found is None else len(found.variants)
        return ready


def _peer_key(frame: zmq.Frame) -> str:
    """Who sent a frame: its CurveZMQ user id when there is one, else its address."""
    for name in ("User-Id", "Peer-Address"):
        with contextlib.suppress(zmq.ZMQError, KeyError, UnicodeDecodeError, ValueError):
            value = frame.get(name)
            if value:
                return f"{name.lower()}:{value}"
    return ""
