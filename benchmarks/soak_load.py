"""The soak's streaming load: many real-time streaming clients in one cheap process.

A measurement tool, so it must cost far less than what it measures. Each client is a
plain DEALER socket (no asyncio, no future per message); one loop waits on all their
notification descriptors with epoll and drains only the sockets that have something
(until 2026-12-03 19:10 a `zmq.Poller` asked all 100 sockets on every wake-up: the tool
then took about half a core of the 2 it shares with the service), counts PCM blocks
without decoding them (a block is a two-frame message, a reply one frame), and sends on
a timetable:

- a state event every 1/20 s per client, open-loop (sent at its time whether or not the
  last reply came, so a slow reply cannot hide the ones behind it), timed from the send
  to the moment the loop reads its reply;
- a credit grant every 4 block periods, like a player: one credit per block received,
  8 in flight, never more than 8 blocks ahead of real time.

`lost` counts events without a reply 2 s after the end; `short` counts blocks short of
real time per client at the end. Against the echo server (no stream) the same loop gives
the baseline: the same clients, sockets, timetable and timing code.
"""

from __future__ import annotations

import heapq
import itertools
import select
import time
from dataclasses import dataclass, field

import msgpack
import zmq
from zmq.backend import Socket as _CompiledSocket

BLOCK_FRAMES = 1024
SAMPLE_RATE = 48000
CREDITS_AHEAD = 8
STATES = ("explore", "battle")

_get, _recv = _CompiledSocket.get, _CompiledSocket.recv
_EVENTS, _POLLIN, _NOBLOCK = int(zmq.EVENTS), int(zmq.POLLIN), int(zmq.NOBLOCK)


@dataclass(eq=False)  # (hashed by identity: sets of clients)
class _Client:
    sock: zmq.Socket
    index: int
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    blocks: int = 0
    granted: int = CREDITS_AHEAD
    events: dict[int, float] = field(default_factory=dict)  # request id -> sent at
    others: set[int] = field(default_factory=set)  # request ids of untimed requests
    tick: int = 0

    def send(self, request_type: str, body: dict) -> int:
        request_id = next(self.ids)
        self.sock.send(
            msgpack.packb({"v": 1, "id": request_id, "type": request_type, "body": body}),
            zmq.NOBLOCK,
        )
        return request_id


@dataclass
class LoadResult:
    rtts: list[float] = field(default_factory=list)  # seconds, one per answered event
    lost: int = 0
    failed: int = 0  # events answered with an error
    blocks: list[int] = field(default_factory=list)  # per client
    short: list[int] = field(default_factory=list)  # per client: blocks short of real time
    loop_cpu_s: float = 0.0  # this process's CPU time while the load ran


def _connect(context: zmq.Context, endpoint: str, count: int) -> list[_Client]:
    clients = []
    for index in range(count):
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        clients.append(_Client(sock, index))
    return clients


def _call_all(clients: list[_Client], request_type: str, body: dict, timeout_s: float) -> None:
    """Send one request on every client and wait for every reply (set-up steps); blocks
    that arrive meanwhile are counted."""
    poller = zmq.Poller()
    waiting = {}
    by_socket = {}
    for client in clients:
        waiting[client.sock] = client.send(request_type, body)
        by_socket[client.sock] = client
        poller.register(client.sock, zmq.POLLIN)
    deadline = time.perf_counter() + timeout_s
    while waiting and time.perf_counter() < deadline:
        for sock, _ in poller.poll(100):
            while sock.get(zmq.EVENTS) & zmq.POLLIN:
                frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
                if len(frames) == 2:
                    by_socket[sock].blocks += 1
                elif msgpack.unpackb(frames[0].bytes)["id"] == waiting.get(sock):
                    waiting.pop(sock, None)
    if waiting:
        raise RuntimeError(f"{len(waiting)} clients got no reply to {request_type!r}")


def run_load(
    endpoint: str, clients: int, seconds: float, *, event_hz: float = 20.0, stream: bool = True
) -> LoadResult:
    """`clients` sessions sending `event_hz` state events each for `seconds`, each
    streaming in real time if `stream` (against the echo server: `stream=False`)."""
    context = zmq.Context()
    result = LoadResult()
    peers = _connect(context, endpoint, clients)
    try:
        _call_all(peers, "hello", {"versions": [1], "client": "soak-load"}, 30.0)
        if stream:
            body = {"format": "s16", "block_frames": BLOCK_FRAMES, "credits": CREDITS_AHEAD}
            _call_all(peers, "stream_start", body, 30.0)
        _drive(peers, seconds, event_hz, stream, result)
    finally:
        for peer in peers:
            peer.sock.close(0)
        context.term()
    return result


def _drive(
    peers: list[_Client], seconds: float, event_hz: float, stream: bool, result: LoadResult
) -> None:
    block_s = BLOCK_FRAMES / SAMPLE_RATE
    period = 1.0 / event_hz
    # epoll on the sockets' notification descriptors: a wake-up costs in proportion to
    # the sockets that have something, not to all of them (zmq.Poller asks every socket
    # on every call: with 100 clients that was most of this process's CPU time)
    epoll = select.epoll()
    by_fd = {}
    for peer in peers:
        fd = peer.sock.getsockopt(zmq.FD)
        epoll.register(fd, select.EPOLLIN)
        by_fd[fd] = peer
    to_read: set[_Client] = set(peers)  # sockets to drain (a send may take the signal)
    cpu_started = time.process_time()
    started = time.perf_counter()
    # the clients' events are spread evenly over one period, not sent all at once
    timetable = [(started + period * index / len(peers), index) for index in range(len(peers))]
    heapq.heapify(timetable)
    next_grant = started + 4 * block_s
    end = started + seconds
    drain_until = end + 2.0
    while True:
        now = time.perf_counter()
        if now >= drain_until or (now >= end and not any(p.events for p in peers)):
            break
        while timetable and timetable[0][0] <= now and now < end:
            due, index = heapq.heappop(timetable)
            peer = peers[index]
            state = STATES[peer.tick % 2]
            peer.events[peer.send("event", {"state": state})] = time.perf_counter()
            peer.tick += 1
            to_read.add(peer)
            heapq.heappush(timetable, (due + period, index))
        if stream and now >= next_grant and now < end:
            elapsed_blocks = int((now - started) / block_s)
            for peer in peers:
                due_credit = min(peer.blocks, elapsed_blocks) + CREDITS_AHEAD
                if due_credit > peer.granted:
                    peer.others.add(peer.send("credit", {"credits": due_credit - peer.granted}))
                    peer.granted = due_credit
                    to_read.add(peer)
            next_grant += 4 * block_s
        if now < end:
            next_due = min(timetable[0][0], next_grant if stream else end, end)
        else:
            next_due = min(drain_until, now + 0.05)
        timeout_s = 0.0 if to_read else max(0.0, next_due - time.perf_counter())
        for fd, _ in epoll.poll(timeout_s):
            to_read.add(by_fd[fd])
        reading, to_read = to_read, set()
        for peer in reading:
            _drain(peer, result)
    epoll.close()
    elapsed = min(time.perf_counter(), end) - started
    result.loop_cpu_s = time.process_time() - cpu_started
    for peer in peers:
        result.lost += len(peer.events)
        result.blocks.append(peer.blocks)
        result.short.append(max(0, int(elapsed / block_s) - peer.blocks) if stream else 0)


def _drain(peer: _Client, result: LoadResult) -> None:
    """Read everything waiting on a client's socket: count blocks, time event replies."""
    sock = peer.sock
    while _get(sock, _EVENTS) & _POLLIN:  # (also clears the descriptor's signal)
        first = _recv(sock, _NOBLOCK, copy=False)
        if first.more:  # a block (or a stream notice): header and data
            _recv(sock, _NOBLOCK, copy=False)
            peer.blocks += 1
            continue
        received = time.perf_counter()
        reply = msgpack.unpackb(first.bytes)
        sent_at = peer.events.pop(reply.get("id"), None)
        if sent_at is None:
            peer.others.discard(reply.get("id"))
        elif reply.get("ok", True):  # (the echo server sends the request back)
            result.rtts.append(received - sent_at)
        else:
            result.failed += 1


def run_throughput(endpoint: str, clients: int, blocks: int) -> int:
    """The soak's request mix without real-time pacing: each client grants 4 credits per
    4 blocks received and sends a state event every 2 blocks (the soak's 20 events/s
    against 47 blocks/s, rounded), until `blocks` blocks have arrived in all. The service
    works flat out, so its CPU time per block (measured by the caller) does not depend
    on how fast this machine's other work lets real time go. Returns the blocks received."""
    context = zmq.Context()
    peers = _connect(context, endpoint, clients)
    received = 0
    try:
        _call_all(peers, "hello", {"versions": [1], "client": "soak-throughput"}, 30.0)
        body = {"format": "s16", "block_frames": BLOCK_FRAMES, "credits": CREDITS_AHEAD}
        _call_all(peers, "stream_start", body, 30.0)
        poller = zmq.Poller()
        by_socket = {}
        for peer in peers:
            poller.register(peer.sock, zmq.POLLIN)
            by_socket[peer.sock] = peer
            peer.granted = peer.blocks + CREDITS_AHEAD
        received = sum(peer.blocks for peer in peers)
        while received < blocks:
            ready = poller.poll(5000)
            if not ready:
                raise RuntimeError("the service stopped sending")
            for sock, _ in ready:
                peer = by_socket[sock]
                while sock.get(zmq.EVENTS) & zmq.POLLIN:
                    frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
                    if len(frames) != 2:
                        continue
                    peer.blocks += 1
                    received += 1
                    if peer.blocks % 2 == 0:
                        peer.send("event", {"state": STATES[peer.blocks // 2 % 2]})
                    if peer.blocks + CREDITS_AHEAD - peer.granted >= 4:
                        peer.send("credit", {"credits": 4})
                        peer.granted += 4
    finally:
        for peer in peers:
            peer.sock.close(0)
        context.term()
    return received
