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
"""

from __future__ import annotations

import asyncio
import contextlib

import zmq

#: the outcome of a non-blocking send
SENT, FULL, GONE = "sent", "full", "gone"


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
        try:
            return self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return None

    def send(self, routing_id: bytes, frames: list[bytes]) -> str:
        """SENT, FULL (the peer's queue is at its high-water mark) or GONE (no such peer)."""
        try:
            self.socket.send_multipart([routing_id, *frames], zmq.NOBLOCK)
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
        return bool(self.socket.get(zmq.EVENTS) & zmq.POLLIN)

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
