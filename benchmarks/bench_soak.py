"""Soak figures of the service (`make soak`): bounded cost per session, whatever a client does.

The service runs in its own process (fantasy_rpg, synthetic audio: no model), the load in
this one. Each figure is printed beside its baseline from the same run:

- frozen clock: one session sends state events (and a stinger every 10th) back to back
  with no stream, so its clock never moves; first alone, then with 10 ordinary clients
  (20 events/s each) that started 1 s before it and run until it ends, so that its first
  and its last 100 events meet the same contention (and, with them, after 1,000 untimed
  events, so that both windows meet its budget spent: `WARMUP_EVENTS`). For both: the
  mean round trip of its first and last 100 events beside the service's own time per
  request in those windows (the wall time the serving loop charged to its connection,
  read from the service process between the windows, and the serving thread's CPU time from
  /proc/<pid>/task/<pid>/schedstat); the service's CPU per 500 events and RSS growth
  (alone); the 10 clients' p99 while it runs against the same 10 clients without it:
  with the others running it sends in alternate 1 s rounds (it pauses between events in
  the rounds between, its session keeping what it piled up), so both p99s come from the
  same stretch of a run (a shared machine's other load weighs on both alike; until
  2026-12-03 22:00 the baseline was 5 s measured once before it ran), with the p99 ratio
  of each pair of rounds for the spread, and the service-side time of the others'
  requests (taken off the socket to reply sent) with and without it, which tells the
  serving loop's queueing from the machine's scheduling. `OSTINATO_SOAK_PIN=1` runs
  this part with the service on one core and its load on the others (`_split_cores`).
- sessions: RSS of the service after N sessions x 10 events, above its idle RSS.
- pipelining: 10,000 pings sent before reading: replies missing without an explicit error.
- streaming load: 100 clients, each streaming in real time (1024-frame s16 blocks, credit
  granted at the playback rate) and sending 20 state events/s: events lost, their p50 and
  p99, blocks short of real time, against the same clients, timetable and timing code
  on the echo server; and the service's CPU time per block received (requests
  included). The clients are benchmarks/soak_load.py: plain sockets polled by one loop in
  this process (until 2026-12-03 15:50 they were asyncio clients in 4 processes, which
  fell behind on 2 cores: short blocks were then partly the clients' own). Events are
  sent open-loop (on their timetable, whether or not the last reply came).
- throughput: the same request mix without real-time pacing (the service works flat
  out): its CPU time per block, all threads and the serving thread alone. This one does
  not depend on how much CPU time the machine's other work leaves the service.
- digest check: mapping fantasy_rpg's start state (its exact size, real cache files) in a
  fresh process, with the check of its files against their digests, against without.

`OSTINATO_SOAK_EVENTS` (default 10000) sets the frozen-clock length; CI's bounded versions
are tests/test_service_hardening.py and tests/test_service_fairness.py (the loop time a
frozen-clock client gets beside 10 others, on the service's own clock). Timings on a
loaded machine are noisy; the ratios (last vs first 100, with vs without the misbehaving
client) are the figures to read.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from pathlib import Path

import msgpack
import numpy as np
import zmq
import zmq.asyncio

from benchmarks.bench_service import PACK_DIR, ROOT, ServerProcess, _run_echo, _synthetic_library
from benchmarks.soak_load import LoadResult, run_load, run_throughput

STATES = ("town", "explore", "battle", "victory", "menu")
ORDINARY_CLIENTS = 10
STREAMING_CLIENTS = int(os.environ.get("OSTINATO_SOAK_CLIENTS", "100"))
EVENT_RATE_HZ = 20.0


def _run_soak_service(conn, cores: set[int] | None = None) -> None:
    if cores:  # before any thread starts: ZeroMQ's I/O thread inherits it
        os.sched_setaffinity(0, cores)
    from middleware.service.config import ServiceConfig
    from middleware.service.director_player import director_player_factory
    from middleware.service.server import Service
    from middleware.templates.loader import load_pack

    async def serve() -> None:
        pack = load_pack(PACK_DIR)
        config = ServiceConfig(
            bind="tcp://127.0.0.1:*",
            pub_bind="tcp://127.0.0.1:*",
            max_sessions=512,
            max_sessions_per_peer=0,
            session_timeout_s=120.0,
        )
        service = Service([pack], _synthetic_library(pack), director_player_factory, config)
        await service.start()
        sojourns = _record_sojourns(service)
        conn.send(service.endpoint)
        loop = asyncio.get_running_loop()
        while (command := await loop.run_in_executor(None, conn.recv)) != "stop":
            if command == "costs":  # (requests, serving-loop seconds) per connection
                conn.send(service.fair.costs())
            elif command == "sojourns":  # the ordinary clients' since the last reading
                conn.send(sojourns[:])
                sojourns.clear()
            else:
                conn.send(command)
        await service.stop()

    asyncio.run(serve())


#: routing ids of the ordinary clients start with it (the service side tells them apart)
ORDINARY_ID = b"ordinary-"


def _record_sojourns(service) -> list[float]:
    """Bench-only instrument (the service is not changed): for each request of an ordinary
    client, the seconds from the serving loop taking it off the socket to its reply
    being sent (queueing in the service, behind other connections' requests, plus its
    own handling). The time a message waits in the socket before the loop reads it is
    not in it; the loop looks at the socket after every request."""
    sojourns: list[float] = []
    taken: dict[int, float] = {}
    push, handle = service.fair.push, service._handle_message
    clock = time.perf_counter

    def timed_push(routing_id: bytes, message) -> bool:
        if routing_id.startswith(ORDINARY_ID):
            taken[id(message)] = clock()
        return push(routing_id, message)

    def timed_handle(message) -> None:
        handle(message)
        started = taken.pop(id(message), None)
        if started is not None:
            sojourns.append(clock() - started)

    service.fair.push = timed_push
    service._handle_message = timed_handle
    return sojourns


def _sojourns(conn) -> list[float]:
    conn.send("sojourns")
    return conn.recv()


def _costs(conn) -> dict[bytes, tuple[int, float]]:
    conn.send("costs")
    return conn.recv()


def _window_cost(before: dict, after: dict) -> tuple[int, float]:
    """(requests, serving-loop seconds) of the connection that sent the most requests
    between two `costs` readings (the frozen-clock client: the others send 20/s)."""
    grown = {
        key: (handled - before.get(key, (0, 0.0))[0], spent - before.get(key, (0, 0.0))[1])
        for key, (handled, spent) in after.items()
    }
    return max(grown.values(), default=(0, 0.0))


def _thread_ns(pid: int) -> tuple[int, int]:
    """(ns on a CPU, ns runnable but waiting for one) of a process's main thread, from
    /proc schedstat (exact, unlike the 10 ms ticks of /proc stat)."""
    fields = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    return int(fields[0]), int(fields[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


_CONNECTIONS = itertools.count()


class _Client:
    def __init__(self, context: zmq.asyncio.Context, endpoint: str, **options: int) -> None:
        self.sock = context.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        for name, value in options.items():
            self.sock.setsockopt(getattr(zmq, name), value)
        self.sock.connect(endpoint)
        self.ids = itertools.count(1)

    async def call(self, request_type: str, body: dict) -> tuple[dict, float]:
        request_id = next(self.ids)
        started = time.perf_counter()
        await self.sock.send(msgpack.packb({"v": 1, "id": request_id, "type": request_type,
                                            "body": body}))  # fmt: skip
        reply = msgpack.unpackb(await self.sock.recv())
        return reply, time.perf_counter() - started


async def _ordinary(context, endpoint: str, seconds: float, index: int) -> list[float]:
    routing_id = ORDINARY_ID + f"{index}-{next(_CONNECTIONS)}".encode()
    client = _Client(context, endpoint, ROUTING_ID=routing_id)
    await client.call("hello", {"versions": [1], "client": f"ordinary-{index}"})
    rtts = []
    start = time.perf_counter() + index * 0.005
    for tick in range(int(seconds * EVENT_RATE_HZ)):
        await asyncio.sleep(max(0.0, start + tick / EVENT_RATE_HZ - time.perf_counter()))
        reply, rtt = await client.call("event", {"state": ("explore", "battle")[tick % 2]})
        if reply.get("ok", True):  # the echo server sends the request back
            rtts.append(rtt)
    await client.call("bye", {})
    client.sock.close(0)
    return rtts


def _cpu_s(pid: int, *, main_thread: bool = False) -> float:
    """User + system CPU time of a process, or of its main thread (from /proc, 10 ms
    resolution)."""
    path = f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: the frozen-clock windows compared: the first and the last this many events
WINDOW = 100
#: with others running, the frozen-clock client's untimed events before its first: its
#: budget's burst and spare burst (~40 ms of loop time, ~400 requests) would otherwise
#: serve its first window unheld and its last held, a difference of policy, not of cost.
#: Nor does it pause in its warm-up, first window and last `FINAL_STRETCH` events, so
#: that no window is served from a budget refilled in a pause (a round without it in
#: which it sent anyway is left out of the comparison)
WARMUP_EVENTS = 1000
FINAL_STRETCH = WARMUP_EVENTS + WINDOW


async def _frozen(
    context,
    endpoint: str,
    events: int,
    pid: int | None = None,
    cpu: list | None = None,
    probe=None,
    running=None,
    busy: list | None = None,
    warmup: int = 0,
    unpaused=None,
) -> list[float]:
    """Events back to back with no stream; with `pid`, the service's CPU time of each
    window of 500 events goes to `cpu` (load-independent, unlike round trips); `probe(n)`
    is called (outside the timed calls) before event 0, `WINDOW`, `events - WINDOW` and
    after the last, where the caller reads the service's own time per request; with
    `running` (an event), it waits (outside the timed calls) while that is clear, except
    in its warm-up, its first window and its last `FINAL_STRETCH` events, which it sends
    anyway, counting them in `unpaused` (a shared int); the seconds it spent sending
    (waits and probes left out) go to `busy`. `warmup` events (the same kind, untimed)
    come before the first."""
    client = _Client(context, endpoint)
    await client.call("hello", {"versions": [1], "client": "frozen-clock"})
    rtts = []
    edges = {0, WINDOW, events - WINDOW}
    sending_s = 0.0
    mark = _cpu_s(pid) if pid else 0.0
    for number in range(-warmup, events):
        if probe is not None and number in edges:
            await asyncio.to_thread(probe, number)
        if running is not None and not running.is_set():
            if WINDOW <= number < events - FINAL_STRETCH:
                await asyncio.to_thread(running.wait)
            else:  # (its warm-up, first window and last stretch do not pause)
                with unpaused.get_lock():
                    unpaused.value += 1
        started = time.perf_counter()
        _, rtt = await client.call("event", {"state": STATES[number % len(STATES)]})
        if number >= 0:
            rtts.append(rtt)
        if number % 10 == 0:
            await client.call("stinger", {"name": "level_up"})
        sending_s += time.perf_counter() - started
        if pid and cpu is not None and number % 500 == 499:
            now = _cpu_s(pid)
            cpu.append(now - mark)
            mark = now
    if probe is not None:
        await asyncio.to_thread(probe, events)
    client.sock.close(0)
    if busy is not None:
        busy.append(sending_s)
    return rtts


class _Probe:
    """Reads the service's per-connection costs and its serving thread's CPU time at the
    frozen client's window edges."""

    def __init__(self, conn, pid: int) -> None:
        self.conn = conn
        self.pid = pid
        self.readings: dict[int, tuple[dict, tuple[int, int]]] = {}

    def __call__(self, number: int) -> None:
        self.readings[number] = (_costs(self.conn), _thread_ns(self.pid))

    def windows(self, events: int) -> list[tuple[float, float, float]]:
        """For the first and the last window: (serving-loop wall time charged per
        request, serving-thread CPU time per request, time the serving thread waited for
        a core per request), in seconds. The thread's times include the other clients'
        few requests in that window. On a shared machine the round trip follows the
        wait for a core, not the service's own time."""
        result = []
        for start, end in ((0, WINDOW), (events - WINDOW, events)):
            (costs_a, (run_a, wait_a)), (costs_b, (run_b, wait_b)) = (
                self.readings[start],
                self.readings[end],
            )
            handled, spent = _window_cost(costs_a, costs_b)
            handled = max(handled, 1)
            result.append(
                (
                    spent / handled,
                    (run_b - run_a) / 1e9 / handled,
                    (wait_b - wait_a) / 1e9 / handled,
                )
            )
        return result


async def _p99_of_ordinary(endpoint: str, seconds: float, clients: int = ORDINARY_CLIENTS) -> float:
    context = zmq.asyncio.Context()
    runs = await asyncio.gather(*(_ordinary(context, endpoint, seconds, i) for i in range(clients)))
    context.term()
    return float(np.percentile([r for run in runs for r in run], 99) * 1000)


#: the others' rounds while the frozen-clock client runs alternate with rounds while it
#: pauses (seconds each): their p99 with it is compared with their p99 without it from
#: the same stretch of time, so a machine whose other load comes and goes weighs on both
ROUND_S = 1.0


def _frozen_process(
    endpoint: str, events: int, go, running, unpaused, edges, acks, out, idle: bool
) -> None:
    """The frozen-clock client in its own process: starts on `go`, sends while `running`
    is set (`unpaused`: see `_frozen`), tells the parent its window edges (`edges`) and
    waits for `acks` there; its round trips go to `out`. `idle`: it runs under
    SCHED_IDLE (see `_split_cores`)."""
    if idle:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))

    def probe(number: int) -> None:
        edges.put(number)
        acks.get()

    go.wait()
    context = zmq.asyncio.Context()
    busy: list[float] = []
    rtts = asyncio.run(
        _frozen(
            context, endpoint, events, probe=probe, running=running, busy=busy,
            warmup=WARMUP_EVENTS, unpaused=unpaused,
        )
    )  # fmt: skip
    out.put((rtts, busy[0]))
    context.term()


def _split_cores() -> tuple[set[int], set[int]] | None:
    """With `OSTINATO_SOAK_PIN=1` (and 2 cores or more): (the service's core, the load's
    cores) for the frozen-clock part, else None (the default: all share every core). On
    the 2-core reference machine the service and its load generator (the 10 ordinary
    clients and the frozen-clock client, 2-3 busy Python threads with ZeroMQ's I/O
    threads) compete for the same cores, so the others' p99 also measures the
    frozen-clock *client's* CPU time (in a game the clients run on other machines).
    Pinned, the service gets the first core and the load the others, and the
    frozen-clock client runs under SCHED_IDLE (any other client's wake-up preempts it): the
    others then meet the service's work for it, not its own. Under SCHED_IDLE it gets only
    the CPU time nothing else wants, so on a machine loaded by other jobs it sends far
    fewer events (its rate is printed): compare runs at the same rate only."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2 or os.environ.get("OSTINATO_SOAK_PIN", "0") != "1":
        return None
    return {cores[0]}, set(cores[1:])


class _FrozenRun:
    """What the frozen-clock client with 10 others running measured."""

    def __init__(self) -> None:
        self.with_rtts: list[float] = []  # the others' round trips, rounds while it ran
        self.without_rtts: list[float] = []  # ... rounds while it paused
        self.with_sojourns: list[float] = []  # service-side time of their requests
        self.without_sojourns: list[float] = []
        self.pairs: list[tuple[float, float]] = []  # (p99 with, p99 without) per pair of rounds
        self.rtts: list[float] = []  # its own round trips
        self.events_per_s = 0.0  # its events per second while running
        self.probe: _Probe | None = None

    def p99s(self) -> tuple[float, float]:
        return _p99_ms(self.with_rtts), _p99_ms(self.without_rtts)


def _p99_ms(values: list[float]) -> float:
    return float(np.percentile(values, 99) * 1000) if values else float("nan")


async def _frozen_with_ordinary(server: ServerProcess, events: int, idle: bool) -> _FrozenRun:
    """The 10 ordinary clients run first (1 s to warm up), then a frozen-clock client (in
    its own process, so it cannot delay this one's event loop) sends `events` events while
    they go on, in alternate rounds of `ROUND_S` (it pauses between events in the other
    rounds; its session keeps everything it piled up): the others' p99 in rounds with it
    and in rounds without it (as many of each, alternating), its round trips, and the
    service's time per request in its first and last window, both under the same
    contention."""
    import multiprocessing
    import threading

    spawn = multiprocessing.get_context("spawn")
    go, running, unpaused = spawn.Event(), spawn.Event(), spawn.Value("i", 0)
    edges, acks, out = spawn.Queue(), spawn.Queue(), spawn.Queue()
    frozen = spawn.Process(
        target=_frozen_process,
        args=(server.endpoint, events, go, running, unpaused, edges, acks, out, idle),
    )
    frozen.start()
    result = _FrozenRun()
    result.probe = probe = _Probe(server.conn, server.process.pid)

    def answer_edges() -> None:
        for _ in range(4):
            probe(edges.get())
            acks.put(True)

    reader = threading.Thread(target=answer_edges, daemon=True)
    reader.start()
    context = zmq.asyncio.Context()

    async def round_of_ordinary(seconds: float) -> list[float]:
        runs = await asyncio.gather(
            *(_ordinary(context, server.endpoint, seconds, i) for i in range(ORDINARY_CLIENTS))
        )
        return [r for run in runs for r in run]

    await round_of_ordinary(1.0)  # warm up
    _sojourns(server.conn)
    go.set()
    rounds: dict[bool, list[tuple[list[float], list[float]]]] = {True: [], False: []}
    with_it = True
    while True:
        if with_it:
            running.set()
        sent_anyway = unpaused.value
        rtts = await round_of_ordinary(ROUND_S)
        running.clear()  # (the frozen-clock client stops before its next event)
        sojourns = _sojourns(server.conn)
        if with_it or unpaused.value == sent_anyway:  # (else it sent in this round: left out)
            rounds[with_it].append((rtts, sojourns))
        if not with_it and (not out.empty() or not frozen.is_alive()):
            break
        with_it = not with_it
    result.rtts, sending_s = await asyncio.to_thread(out.get, True, 120)
    while len(rounds[False]) < len(rounds[True]):  # as many rounds without it, now it is done
        rtts = await round_of_ordinary(ROUND_S)
        rounds[False].append((rtts, _sojourns(server.conn)))
    for (with_rtts, with_sojourns), (rtts, sojourns) in zip(
        rounds[True], rounds[False], strict=True
    ):
        result.with_rtts += with_rtts
        result.with_sojourns += with_sojourns
        result.without_rtts += rtts
        result.without_sojourns += sojourns
        result.pairs.append((_p99_ms(with_rtts), _p99_ms(rtts)))
    result.events_per_s = (WARMUP_EVENTS + events) / max(sending_s, 1e-9)
    frozen.join()
    reader.join()
    context.term()
    return result


async def _sessions(endpoint: str, count: int) -> None:
    context = zmq.asyncio.Context()
    clients = [_Client(context, endpoint) for _ in range(count)]
    for number, client in enumerate(clients):
        await client.call("hello", {"versions": [1], "client": f"s{number}"})
        for state in STATES * 2:
            await client.call("event", {"state": state})
    for client in clients:
        await client.call("bye", {})
        client.sock.close(0)
    context.term()


async def _pipelined(endpoint: str, pings: int) -> tuple[int, int, int]:
    context = zmq.asyncio.Context()
    client = _Client(context, endpoint, SNDHWM=0, RCVHWM=1, RCVBUF=4096)
    padding = "x" * 1000
    for number in range(pings):
        await client.sock.send(msgpack.packb({"v": 1, "id": number + 1, "type": "ping",
                                              "body": {"t": padding}}))  # fmt: skip
    ok = overloaded = 0
    with_reply = set()
    while await client.sock.poll(5000):
        reply = msgpack.unpackb(await client.sock.recv())
        with_reply.add(reply["id"])
        ok += reply["ok"]
        overloaded += (not reply["ok"]) and reply["error"]["code"] == "overloaded"
    client.sock.close(0)
    context.term()
    return pings - len(with_reply), ok, overloaded


MAP_START_STATE = """
import sys, time
from middleware.cache import EngineKey, VariantCache
from middleware.templates.loader import load_pack
pack = load_pack(sys.argv[1])
cache = VariantCache(sys.argv[2])
started = time.perf_counter()
found = cache.get_set(pack.state(pack.start_state), EngineKey("soak", "soak", ""),
                      verify=sys.argv[3] == "1")
assert found is not None
print(time.perf_counter() - started)
"""


def _digest_check() -> tuple[float, float, float]:
    """(s with the check, s without, MiB of the start state's set), medians of 5 runs."""
    import subprocess
    import sys
    import tempfile

    from middleware.cache import EngineKey, VariantCache
    from middleware.director.synthetic import synthetic_variant_set
    from middleware.templates.loader import load_pack

    pack = load_pack(PACK_DIR)
    state = pack.state(pack.start_state)
    spec = state.spec
    with tempfile.TemporaryDirectory() as root:
        with VariantCache(root) as cache:
            variant_set = synthetic_variant_set(
                state.name, bpm=spec.bpm, meter=spec.meter, bars=spec.bars,
                variants=state.variants, stems={s.name: s.intensity for s in spec.stems},
            )  # fmt: skip
            cache.put_set(state, EngineKey("soak", "soak", ""), variant_set)
            size_mib = cache.size_bytes() / 2**20

        def run(verify: str) -> float:
            command = [sys.executable, "-c", MAP_START_STATE, str(PACK_DIR), root, verify]
            out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
            return float(out.stdout.strip())

        checked = float(np.median([run("1") for _ in range(5)]))
        unchecked = float(np.median([run("0") for _ in range(5)]))
    return checked, unchecked, size_mib


def _wanted(part: str) -> bool:
    """`OSTINATO_SOAK_ONLY=stream,frozen` runs only those parts (all by default)."""
    only = os.environ.get("OSTINATO_SOAK_ONLY", "")
    return not only or part in only.split(",")


def _frozen_cpu_in_process(events: int) -> np.ndarray:
    """The frozen-clock requests handled in this process's thread, no socket (the reply
    finds no peer and is dropped): the thread CPU time of each event with its share of
    stingers, in seconds. Exact and load-independent, unlike round trips on a shared
    machine; it is the issue's repro (0.75 -> 36 ms per event) without the network."""
    from middleware.service.config import ServiceConfig
    from middleware.service.director_player import director_player_factory
    from middleware.service.server import Service
    from middleware.templates.loader import load_pack

    def request(kind: str, body: dict) -> bytes:
        return msgpack.packb({"v": 1, "id": 1, "type": kind, "body": body})

    async def run() -> np.ndarray:
        pack = load_pack(PACK_DIR)
        config = ServiceConfig(bind="tcp://127.0.0.1:*", pub_bind="tcp://127.0.0.1:*")
        service = Service([pack], _synthetic_library(pack), director_player_factory, config)
        await service.start()
        route = b"\x00frozen-clock"
        handle = service._handle  # one request, as the serving loop hands it over
        handle([route, request("hello", {"versions": [1], "client": "frozen-clock"})])
        state_events = [request("event", {"state": state}) for state in STATES]
        stinger = request("stinger", {"name": "level_up"})
        clock = time.thread_time_ns
        costs = np.zeros(events)
        for number in range(events):
            started = clock()
            handle([route, state_events[number % len(STATES)]])
            if number % 10 == 0:
                handle([route, stinger])
            costs[number] = clock() - started
        await service.stop()
        return costs / 1e9

    return asyncio.run(run())


def _frozen_rows(events: int, echo_p99: float) -> list[tuple[str, str, str]]:
    split = _split_cores()
    service_cores, load_cores = split or (None, None)
    own_cores = os.sched_getaffinity(0)
    if load_cores:  # this process and the frozen-clock client's (spawned from it)
        os.sched_setaffinity(0, load_cores)
    try:
        with ServerProcess(_run_soak_service, service_cores) as server:
            pid = server.process.pid
            before_p99 = asyncio.run(_p99_of_ordinary(server.endpoint, 5.0))
            time.sleep(1.5)  # the ordinary clients' connections no longer count as active
            before_mb = _rss_mb(pid)
            context = zmq.asyncio.Context()
            cpu: list[float] = []
            alone = _Probe(server.conn, pid)
            rtts = asyncio.run(_frozen(context, server.endpoint, events, pid, cpu, alone))
            context.term()
            grown_mb = _rss_mb(pid) - before_mb
            run = asyncio.run(_frozen_with_ordinary(server, events, idle=split is not None))
    finally:
        os.sched_setaffinity(0, own_cores)
    busy_rtts, busy = run.rtts, run.probe
    assert busy is not None
    loaded_p99, baseline_p99 = run.p99s()
    pair_ratios = sorted(w / wo for w, wo in run.pairs)
    soj_with = np.percentile(run.with_sojourns, [50, 99]) * 1000
    soj_without = np.percentile(run.without_sojourns, [50, 99]) * 1000
    placement = (
        f"OSTINATO_SOAK_PIN=1: service on core {sorted(service_cores)}, its load on "
        f"{sorted(load_cores)}, the frozen-clock client under SCHED_IDLE"
        if split
        else "service and load share the cores"
    )
    first, last = np.mean(rtts[:WINDOW]) * 1000, np.mean(rtts[-WINDOW:]) * 1000
    busy_first = np.mean(busy_rtts[:WINDOW]) * 1000
    busy_last = np.mean(busy_rtts[-WINDOW:]) * 1000
    (own_first, cpu_first_us, wait_first), (own_last, cpu_last_us, wait_last) = alone.windows(
        events
    )
    first_busy, last_busy = busy.windows(events)
    busy_own_first, busy_cpu_first, busy_wait_first = first_busy
    busy_own_last, busy_cpu_last, busy_wait_last = last_busy
    inside = _frozen_cpu_in_process(events) * 1e6
    thousands = inside[: events // 1000 * 1000].reshape(-1, 1000).mean(axis=1)
    cpu_first = cpu[0] if cpu else float("nan")
    cpu_last = cpu[-1] if cpu else float("nan")
    n = f"{WINDOW} of {events}"
    return [
        (f"frozen clock, alone: mean event RTT, first vs last {n}",
         f"{first:.2f} vs {last:.2f} ms", f"{last / first:.2f}x (goal <= 2x)"),
        (f"frozen clock, alone: service time per request, first vs last {n}",
         f"{own_first * 1e6:.0f} vs {own_last * 1e6:.0f} us wall, "
         f"{cpu_first_us * 1e6:.0f} vs {cpu_last_us * 1e6:.0f} us serving-thread CPU",
         f"{own_last / own_first:.2f}x wall, {cpu_last_us / cpu_first_us:.2f}x CPU (the "
         "issue's growth was 0.75 -> 36 ms); the serving thread waited for a core "
         f"{wait_first * 1e6:.0f} vs {wait_last * 1e6:.0f} us per request"),
        (f"frozen clock, {ORDINARY_CLIENTS} other clients running (warmed up 1 s first; "
         f"its own first {WARMUP_EVENTS} events untimed, as it is held after its burst): "
         f"mean event RTT, first vs last {n}", f"{busy_first:.2f} vs {busy_last:.2f} ms",
         f"{busy_last / busy_first:.2f}x (goal <= 2x); service time per request "
         f"{busy_own_first * 1e6:.0f} vs {busy_own_last * 1e6:.0f} us wall "
         f"({busy_own_last / busy_own_first:.2f}x), {busy_cpu_first * 1e6:.0f} vs "
         f"{busy_cpu_last * 1e6:.0f} us CPU ({busy_cpu_last / busy_cpu_first:.2f}x), "
         f"waited for a core {busy_wait_first * 1e6:.0f} vs {busy_wait_last * 1e6:.0f} us"),
        (f"frozen clock, in process (no socket): thread CPU per event, first vs last {n}",
         f"{inside[:WINDOW].mean():.0f} vs {inside[-WINDOW:].mean():.0f} us "
         f"({inside[-WINDOW:].mean() / inside[:WINDOW].mean():.2f}x)",
         f"each 1000 events: {thousands.min():.0f}-{thousands.max():.0f} us (no growth: "
         "flat); the issue's repro before the fix: 0.75 -> 36 ms"),
        ("frozen clock: service CPU per 500 events, first vs last window",
         f"{cpu_first * 1000:.0f} ms vs {cpu_last * 1000:.0f} ms",
         f"{cpu_last / max(cpu_first, 0.01):.2f}x (CPU time: the load-independent figure)"),
        ("frozen clock: service RSS growth", f"{grown_mb:.1f} MB", "goal <= 10 MB"),
        (f"{ORDINARY_CLIENTS} ordinary clients' p99, frozen-clock client present "
         f"({len(run.pairs)} rounds of {ROUND_S:.0f} s, alternating with as many while it "
         f"paused; {placement})", f"{loaded_p99:.2f} ms",
         f"{baseline_p99:.2f} ms in the rounds without it (**{loaded_p99 / baseline_p99:.2f}x**"
         f", goal <= 1.5x; per pair of rounds "
         f"{' / '.join(f'{r:.2f}' for r in pair_ratios)}x); {before_p99:.2f} ms before it "
         f"ever ran; echo {echo_p99:.2f} ms; it sent {run.events_per_s:.0f} events/s"),
        ("the same: service-side time of the others' requests (taken off the socket to "
         "reply sent), p50 / p99 with it vs without it",
         f"{soj_with[0]:.2f} / {soj_with[1]:.2f} ms vs {soj_without[0]:.2f} / "
         f"{soj_without[1]:.2f} ms",
         "the part of their round trip spent in the serving loop (queueing behind the "
         "frozen-clock client's requests and their own handling)"),
    ]  # fmt: skip


def _streaming_rows(endpoint: str, pid: int, seconds: float, echo: LoadResult) -> list:
    """100 streaming clients (benchmarks/soak_load.py: one process, plain sockets)."""
    cpu_before, main_before = _cpu_s(pid), _cpu_s(pid, main_thread=True)
    run_before, wait_before = _thread_ns(pid)
    load = run_load(endpoint, STREAMING_CLIENTS, seconds)
    stream_cpu = _cpu_s(pid) - cpu_before
    main_cpu = _cpu_s(pid, main_thread=True) - main_before
    run_after, wait_after = _thread_ns(pid)
    busy = (run_after - run_before) / 1e9 / seconds  # the serving thread's share of a core
    starved = (wait_after - wait_before) / 1e9 / seconds  # runnable, waiting for a core
    p99 = float(np.percentile(load.rtts, 99) * 1000) if load.rtts else float("nan")
    p50 = float(np.percentile(load.rtts, 50) * 1000) if load.rtts else float("nan")
    echo_p99 = float(np.percentile(echo.rtts, 99) * 1000) if echo.rtts else float("nan")
    received = max(1, sum(load.blocks))
    return [
        (f"{STREAMING_CLIENTS} clients x 20 events/s for {seconds:.0f} s, each streaming in "
         "real time: events lost / p50 / p99", f"{load.lost} / {p50:.2f} / {p99:.2f} ms",
         f"echo, the same clients and timetable: p99 {echo_p99:.2f} ms "
         f"({p99 / echo_p99:.1f}x); goal 0 lost, p99 <= 10 ms (idle 2-core machine)"),
        ("the same: blocks short of real time (sum over the streams)", str(sum(load.short)),
         f"of {sum(load.blocks)} received; the load process used {load.loop_cpu_s:.1f} s "
         f"CPU in {seconds:.0f} s"),
        ("the same: service CPU per block received (requests included)",
         f"{stream_cpu / received * 1e6:.0f} us ({main_cpu / received * 1e6:.0f} us in the "
         "serving thread)",
         f"{stream_cpu:.1f} s CPU for {received} blocks and their clients' requests; real "
         f"time needs < {1e6 * 1024 / 48000 / STREAMING_CLIENTS:.0f} us per block for "
         f"{STREAMING_CLIENTS} streams on one core"),
        ("the same: the serving thread on a core / runnable but waiting for one (share of "
         "wall time); the machine's 2 cores used by the service and the load",
         f"{busy:.0%} / {starved:.0%}; {stream_cpu / seconds:.2f} + "
         f"{load.loop_cpu_s / seconds:.2f} cores",
         "waiting for a core: the machine, not the service, is the limit (an idle service "
         "machine would not have the load on it)"),
    ]  # fmt: skip


def main() -> None:
    events = int(os.environ.get("OSTINATO_SOAK_EVENTS", "10000"))
    stream_s = float(os.environ.get("OSTINATO_SOAK_STREAM_S", "30"))
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} (1, 5 min)", flush=True)
    rows = []
    with ServerProcess(_run_echo) as echo:
        echo_p99 = asyncio.run(_p99_of_ordinary(echo.endpoint, 5.0)) if _wanted("frozen") else 0
        echo_load = (
            run_load(echo.endpoint, STREAMING_CLIENTS, 10.0, stream=False)
            if _wanted("stream")
            else None
        )
    if _wanted("frozen"):
        rows += _frozen_rows(events, echo_p99)
    with ServerProcess(_run_soak_service) as server:
        pid = server.process.pid
        time.sleep(0.5)
        if _wanted("sessions"):
            idle_mb = _rss_mb(pid)
            asyncio.run(_sessions(server.endpoint, 256))
            above_mb = _rss_mb(pid) - idle_mb
            idle = f"idle {idle_mb:.1f} MB; goal <= 300 MB"
            rows.append(
                ("256 sessions x 10 events: service RSS above idle", f"{above_mb:.1f} MB", idle)
            )
        if _wanted("stream"):
            assert echo_load is not None
            rows += _streaming_rows(server.endpoint, pid, stream_s, echo_load)
        if _wanted("throughput"):
            cpu_before, main_before = _cpu_s(pid), _cpu_s(pid, main_thread=True)
            blocks = run_throughput(server.endpoint, 50, 20_000)
            used, main = _cpu_s(pid) - cpu_before, _cpu_s(pid, main_thread=True) - main_before
            rows.append(("service CPU per block, the streaming load's request mix flat out "
                         "(50 streams, an event per 2 blocks, credit per 4)",
                         f"{used / blocks * 1e6:.0f} us ({main / blocks * 1e6:.0f} us in the "
                         "serving thread)", f"{blocks} blocks; real time needs < "
                         f"{1e6 * 1024 / 48000 / STREAMING_CLIENTS:.0f} us per block for "
                         f"{STREAMING_CLIENTS} streams on one core"))  # fmt: skip
        if _wanted("pings"):
            missing, ok, overloaded = asyncio.run(_pipelined(server.endpoint, 10_000))
            rows.append(("10,000 pipelined pings: replies missing", str(missing),
                         f"{ok} pongs + {overloaded} `overloaded`; goal 0 missing"))  # fmt: skip
    if _wanted("digest"):
        checked, unchecked, size_mib = _digest_check()
        name = f"map the start state ({size_mib:.0f} MiB) in a fresh process, digests checked"
        baseline = f"without the check {unchecked * 1000:.1f} ms (warm-start goal: 0.5 s in all)"
        rows.append((name, f"{checked * 1000:.0f} ms", baseline))
    print("| figure | value | baseline / goal |")
    print("| --- | --- | --- |")
    for name, value, baseline in rows:
        print(f"| {name} | {value} | {baseline} |")


if __name__ == "__main__":
    main()
