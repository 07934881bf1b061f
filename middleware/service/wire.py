"""The ROUTER socket, driven directly: non-blocking sends and receives, one readiness flag.

pyzmq's asyncio sockets wrap every send and receive in a future and re-check the
socket's events after each one; at thousands of stream blocks and requests a second that
bookkeeping cost more than mixing a block. The service instead uses a plain socket (a
shadow of the asyncio one, which keeps CurveZMQ and closing as they are) from its one
serving loop: `receive` and `send` never block, and `wait` sleeps until the socket may
have a message.

ZeroMQ's notification descriptor is edge-like: it signals when the socket's state
changes, and any operation on the socket (a send too) may consume that signal. So
`wait` always asks the socket itself (`EVENTS`) after clearing the flag and before
sleeping, and every `send` (whichever task makes it) raises the flag, so the serving
loop looks again.

Sends and receives call pyzmq's compiled socket methods directly, frame by frame (with
the option numbers as plain ints): pyzmq's Python layer (`send_multipart`, option
enums, an `Again` exception per empty read) cost more than libzmq itself here.
"""

from __future__ import annotations

import asyncio
import contextlib

import zmq
from zmq.backend import Socket as _CompiledSocket

#: the outcome of a non-blocking send
SENT, FULL, GONE = "sent", "full", "gone"

_send = _CompiledSocket.send
_recv = _CompiledSocket.recv
_get = _CompiledSocket.get
_NOBLOCK = int(zmq.NOBLOCK)
_MORE = int(zmq.NOBLOCK | zmq.SNDMORE)
_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)


def send_frames(socket: zmq.Socket, frames: list[bytes]) -> None:
    """Send a multipart message without blocking (raises zmq.Again / ZMQError like
    `send_multipart`: a ROUTER refuses on the first frame, or takes them all)."""
    last = len(frames) - 1
    for index, frame in enumerate(frames):
        _send(socket, frame, _NOBLOCK if index == last else _MORE)


def readable(socket: zmq.Socket) -> bool:
    """Whether a message waits on the socket (asks the socket, consumes no message)."""
    return bool(_get(socket, _EVENTS) & _POLLIN)


class RouterWire:
    """Non-blocking access to one ROUTER socket (with `ROUTER_MANDATORY` set)."""

    def __init__(self, socket: zmq.Socket) -> None:
        self.socket = socket
        self.ready = asyncio.Event()  # set when the socket may have something to read
        self._fd: int | None = None

    def start(self) -> None:
        self._fd = self.socket.getsockopt(zmq.FD)
        asyncio.get_running_loop().add_reader(self._fd, self.ready.set)
        self.ready.set()

    def stop(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(fd)

    def receive(self) -> list[zmq.Frame] | None:
        """The next whole message (routing id first), or None if none is waiting."""
        socket = self.socket
        if not _get(socket, _EVENTS) & _POLLIN:
            return None
        try:
            frame = _recv(socket, _NOBLOCK, copy=False)
            message = [frame]
            while frame.more:  # (the frame knows: no getsockopt per frame)
                frame = _recv(socket, _NOBLOCK, copy=False)
                message.append(frame)
        except zmq.Again:  # (a whole message is there once its first frame is)
            return None
        return message

    def send(self, routing_id: bytes, frames: list[bytes]) -> str:
        """SENT, FULL (the peer's queue is at its high-water mark) or GONE (no such peer)."""
        socket = self.socket
        last = len(frames) - 1
        try:
            _send(socket, routing_id, _MORE)  # a ROUTER refuses here, or takes it all
            for index, frame in enumerate(frames):
                _send(socket, frame, _NOBLOCK if index == last else _MORE)
        except zmq.Again:
            return FULL
        except zmq.ZMQError as error:
            if error.errno == zmq.EHOSTUNREACH:
                return GONE
            raise
        finally:
            self.ready.set()  # a send may have consumed the descriptor's signal
        return SENT

    def readable(self) -> bool:
        return bool(_get(self.socket, _EVENTS) & _POLLIN)

    async def wait(self, timeout_s: float | None) -> None:
        """Return once the socket may have a message (or after `timeout_s`)."""
        self.ready.clear()
        if self.readable():
            return
        timer = None
        if timeout_s is not None:  # (not asyncio.wait_for: a task per wait, for nothing)
            timer = asyncio.get_running_loop().call_later(timeout_s, self.ready.set)
        try:
            await self.ready.wait()
        finally:
            if timer is not None:
                timer.cancel()
