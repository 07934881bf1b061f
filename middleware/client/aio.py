"""The asyncio Python client: requests, PUB callbacks, the PCM stream, transparent resume.

    async with AsyncClient("tcp://127.0.0.1:5570", name="my-game/1.0") as client:
        await client.hello()
        client.on("beat", lambda note: ...)
        ack = await client.event("battle", intensity=0.8)

One DEALER socket carries requests, replies and stream blocks; a SUB socket receives
notifications. If a reply does not come within `timeout_s`, the client opens a new
connection, resumes its session with `hello(resume=...)` and retries the request once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zmq
import zmq.asyncio

from middleware.client.results import EventAck, Hello, Notification, StreamInfo
from middleware.protocol import codec
from middleware.protocol.errors import RemoteError

log = logging.getLogger(__name__)

#: topics published without a session (subscribed by prefix: `error` also matches `error/*`)
SERVICE_TOPICS = frozenset({"variant.ready", "pregen.progress", "error"})

BlockCallback = Callable[[codec.PcmHeader, bytes], None]
NotificationCallback = Callable[[Notification], None]


class ClientTimeout(RemoteError):
    """No reply arrived in time, even after reconnecting once."""

    def __init__(self, message: str, detail: dict | None = None) -> None:
        super().__init__("timeout", message, detail)


@dataclass(frozen=True)
class ClientCurve:
    """CurveZMQ keys for a client: the server's public key and this client's key pair."""

    server_public: bytes
    public: bytes
    secret: bytes


class AsyncClient:
    def __init__(
        self,
        endpoint: str,
        *,
        name: str = "ostinato-python/0.1",
        timeout_s: float = 5.0,
        curve: ClientCurve | None = None,
        reconnect: bool = True,
    ) -> None:
        self.endpoint = endpoint
        self.name = name
        self.timeout_s = timeout_s
        self.curve = curve
        self.reconnect = reconnect
        self.hello_result: Hello | None = None
        self.session: str | None = None
        self.resume_token: str | None = None  # from the last hello reply (secret)
        self.stopping = False  # the service said it is shutting down (stream notice)
        self.reconnects = 0
        self._context = zmq.asyncio.Context()
        self._dealer: zmq.asyncio.Socket | None = None
        self._dealer_reader: asyncio.Task | None = None
        self._sub: zmq.asyncio.Socket | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._readers: list[asyncio.Task] = []
        self._heartbeat: asyncio.Task | None = None
        self._callbacks: dict[str, list[NotificationCallback]] = {}
        self._block_callback: BlockCallback | None = None
        self._last_sent_s = time.monotonic()
        self._hello_args: dict[str, Any] = {}

    # -- connection ---------------------------------------------------------------------

    def _secure(self, sock: zmq.Socket) -> None:
        if self.curve is not None:
            sock.curve_serverkey = self.curve.server_public
            sock.curve_publickey = self.curve.public
            sock.curve_secretkey = self.curve.secret

    def _open(self) -> None:
        dealer = self._context.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.setsockopt(zmq.RCVHWM, 0)
        self._secure(dealer)
        dealer.connect(self.endpoint)
        self._dealer = dealer
        self._dealer_reader = asyncio.create_task(self._read_dealer(dealer))
        self._readers.append(self._dealer_reader)

    async def connect(self) -> AsyncClient:
        if self._dealer is None:
            self._open()
        return self

    async def _reopen(self) -> None:
        """A new DEALER (new routing id); the old one's replies are abandoned."""
        old, reader = self._dealer, self._dealer_reader
        self._dealer = None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self._readers.remove(reader)
        if old is not None:
            old.close(0)
        self._open()
        self.reconnects += 1

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        for task in self._readers:
            task.cancel()
        for task in [*self._readers, *([self._heartbeat] if self._heartbeat else [])]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._readers.clear()
        for sock in (self._dealer, self._sub):
            if sock is not None:
                sock.close(0)
        self._dealer = self._sub = None
        for future in self._pending.values():
            if not future.done():
                future.cancel()
        self._context.term()

    async def __aenter__(self) -> AsyncClient:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _read_dealer(self, dealer: zmq.asyncio.Socket) -> None:
        while True:
            frames = await dealer.recv_multipart(copy=True)
            if len(frames) == 2:
                kind = codec.stream_message_type(frames)
                if kind == "stopping":
                    self.stopping = True
                elif kind == "pcm" and self._block_callback is not None:
                    header, data = codec.decode_pcm(frames)
                    self._block_callback(header, data)
                continue
            try:
                reply = codec.decode_reply(frames[-1])
            except codec.BadMessageError:
                log.warning("ignoring an undecodable reply")
                continue
            future = self._pending.pop(reply.id, None) if reply.id is not None else None
            if future is not None and not future.done():
                future.set_result(reply)

    # -- requests -----------------------------------------------------------------------

    async def request_raw(
        self,
        request_type: str,
        body: dict[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
    ) -> codec.Reply:
        """Send one request and wait for its reply (ok or error), without retrying."""
        if self._dealer is None:
            self._open()
        assert self._dealer is not None
        request_id = next(self._ids) & codec.MAX_REQUEST_ID
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        frame = codec.encode_request(codec.Request(request_id, request_type, body or {}))
        await self._dealer.send(frame)
        self._last_sent_s = time.monotonic()
        try:
            return await asyncio.wait_for(future, timeout_s or self.timeout_s)
        finally:
            self._pending.pop(request_id, None)

    async def request(
        self,
        request_type: str,
        body: dict[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Send a request, return its result; raise `RemoteError` for an error reply.

        On a timeout the client reconnects, resumes its session and retries once.
        """
        try:
            reply = await self.request_raw(request_type, body, timeout_s=timeout_s)
        except TimeoutError:
            if not self.reconnect or request_type == "hello":
                raise ClientTimeout(f"no reply to {request_type!r}") from None
            await self._reopen()
            if self.session is not None:
                await self._resume()
            try:
                reply = await self.request_raw(request_type, body, timeout_s=timeout_s)
            except TimeoutError:
                raise ClientTimeout(f"no reply to {request_type!r} after reconnecting") from None
        if self.reconnect and self.session and self._lost_session(reply):
            await self._resume()
            reply = await self.request_raw(request_type, body, timeout_s=timeout_s)
        if not reply.ok:
            assert reply.error is not None
            raise RemoteError(reply.error["code"], reply.error["message"], reply.error["detail"])
        assert reply.result is not None
        return reply.result

    @staticmethod
    def _lost_session(reply: codec.Reply) -> bool:
        """The service no longer knows this connection (it restarted, or we reconnected)."""
        if not reply.ok:
            return reply.error_code == "no_session"
        return (
            reply.type == "status"
            and reply.result is not None
            and (reply.result.get("session") is None)
        )

    async def _resume(self) -> None:
        args = dict(self._hello_args)
        args["resume"] = self.session
        args["resume_token"] = self.resume_token
        reply = await self.request_raw("hello", args)
        if not reply.ok:
            assert reply.error is not None
            raise RemoteError(reply.error["code"], reply.error["message"], reply.error["detail"])
        assert reply.result is not None
        self._took(Hello.from_wire(reply.result))

    def _took(self, hello: Hello) -> None:
        self.hello_result = hello
        self.session = hello.session
        self.resume_token = hello.resume_token

    async def hello(
        self,
        *,
        pack: str | None = None,
        resume: str | None = None,
        resume_token: str | None = None,
        capabilities: tuple[str, ...] = ("pcm.s16", "pcm.f32", "fetch.wav"),
        subscribe: bool = True,
        heartbeat: bool = True,
    ) -> Hello:
        self._hello_args = {
            "versions": list(codec.SUPPORTED_VERSIONS),
            "client": self.name,
            "capabilities": list(capabilities),
            "pack": pack,
        }
        body = {**self._hello_args, "resume": resume}
        if resume is not None:
            body["resume_token"] = resume_token
        result = await self.request("hello", body)
        self._took(Hello.from_wire(result))
        if subscribe and self._sub is None:
            self._subscribe(reachable_pub_endpoint(self.endpoint, self.hello_result.pub_endpoint))
        if heartbeat and self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._heartbeat_loop())
        return self.hello_result

    async def ping(self, t: Any = None) -> dict[str, Any]:
        return await self.request("ping", {"t": t})

    async def status(self) -> dict[str, Any]:
        return await self.request("status")

    async def list(self, pack: str | None = None) -> dict[str, Any]:
        return await self.request("list", {"pack": pack})

    async def event(
        self, state: str, *, intensity: float | None = None, params: dict[str, Any] | None = None
    ) -> EventAck:
        started = time.perf_counter()
        body = {"state": state, "intensity": intensity, "params": params or {}}
        result = await self.request("event", body)
        return EventAck.from_wire(result, time.perf_counter() - started)

    async def intensity(self, value: float) -> float:
        return float((await self.request("intensity", {"value": value}))["intensity"])

    async def stinger(self, name: str) -> dict[str, Any]:
        return await self.request("stinger", {"name": name})

    async def bye(self) -> None:
        if self.session is not None:
            await self.request("bye")
            self.session = None
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    async def fetch_rendition(self, stinger: str, state: str, **kwargs: Any) -> bytes:
        """`stinger`'s rendition over `state` (the set `"<stinger>@<state>"`) as a file."""
        return await self.fetch(f"{stinger}@{state}", **kwargs)

    async def fetch_bridge(self, source: str, target: str, **kwargs: Any) -> bytes:
        """The generated bridge `source` -> `target` (`"bridge:<source>-><target>"`)."""
        return await self.fetch(f"bridge:{source}->{target}", **kwargs)

    async def fetch(self, state: str, *, variant: int = 0, file_format: str = "wav") -> bytes:
        """A variant's whole encoded file (all chunks joined and checked). `state` is any
        set of the pack: a state, a stinger, a rendition `"<stinger>@<state>"` or a bridge
        `"bridge:<source>-><target>"` (docs/protocol.md, `fetch`)."""
        import hashlib

        body = {"state": state, "variant": variant, "format": file_format, "chunk": 0}
        first = await self.request("fetch", body)
        parts = [first["data"]]
        for chunk in range(1, first["chunks"]):
            parts.append((await self.request("fetch", {**body, "chunk": chunk}))["data"])
        data = b"".join(parts)
        if hashlib.sha256(data).hexdigest() != first["sha256"]:
            raise RemoteError("bad_message", "fetched file does not match its sha256")
        return data

    # -- stream ---------------------------------------------------------------------------

    async def stream_start(
        self,
        on_block: BlockCallback,
        *,
        pcm_format: str = "s16",
        block_frames: int = 1024,
        credits: int = 0,
    ) -> StreamInfo:
        self._block_callback = on_block
        result = await self.request(
            "stream_start",
            {"format": pcm_format, "block_frames": block_frames, "credits": credits},
        )
        return StreamInfo.from_wire(result)

    async def credit(self, credits: int, stream: int | None = None) -> int:
        body = {"credits": credits, "stream": stream}
        return int((await self.request("credit", body))["credits"])

    def credit_nowait(self, credits: int, stream: int | None = None) -> None:
        """Grant credit without waiting for the reply (it is read and discarded)."""
        task = asyncio.ensure_future(self._credit_quietly(credits, stream))
        self._readers.append(task)
        task.add_done_callback(lambda t: self._readers.remove(t) if t in self._readers else None)

    async def _credit_quietly(self, credits: int, stream: int | None) -> None:
        with contextlib.suppress(RemoteError):
            await self.credit(credits, stream)

    async def stream_stop(self) -> dict[str, Any]:
        result = await self.request("stream_stop")
        self._block_callback = None
        return result

    # -- notifications --------------------------------------------------------------------

    def on(self, topic: str, callback: NotificationCallback) -> None:
        """Call `callback` for every notification of `topic` (for this session or global)."""
        self._callbacks.setdefault(topic, []).append(callback)

    def _subscribe(self, pub_endpoint: str) -> None:
        """SUB to this session's topics and the service-wide ones (not other sessions')."""
        sub = self._context.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        self._secure(sub)
        for topic in codec.PUB_TOPICS:
            if topic in SERVICE_TOPICS:
                sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
            else:
                sub.setsockopt(zmq.SUBSCRIBE, codec.pub_topic(topic, self.session).encode())
        sub.connect(pub_endpoint)
        self._sub = sub
        self._readers.append(asyncio.create_task(self._read_sub(sub)))

    async def _read_sub(self, sub: zmq.asyncio.Socket) -> None:
        while True:
            frames = await sub.recv_multipart(copy=True)
            try:
                topic, session, body = codec.decode_pub(frames)
            except codec.BadMessageError:
                continue
            if session is not None and session != self.session:
                continue
            note = Notification(topic, session, body)
            for callback in self._callbacks.get(topic, ()):
                callback(note)

    async def _heartbeat_loop(self) -> None:
        while True:
            period_s = self.hello_result.heartbeat_s if self.hello_result else 2.0
            await asyncio.sleep(period_s / 2)
            if time.monotonic() - self._last_sent_s >= period_s / 2 and self.session:
                with contextlib.suppress(RemoteError, TimeoutError):
                    await self.ping()


def reachable_pub_endpoint(request_endpoint: str, pub_endpoint: str) -> str:
    """`pub_endpoint` with a wildcard host replaced by the host of `request_endpoint`."""
    scheme, _, rest = pub_endpoint.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme != "tcp" or host not in ("0.0.0.0", "*", "[::]", "::"):
        return pub_endpoint
    request_host = request_endpoint.partition("://")[2].rpartition(":")[0]
    return f"tcp://{request_host}:{port}"
