"""Service figures: event->reply latency (1 and 100 clients at 20 events/s each) and 50
real-time streaming clients' underruns, against a minimal pyzmq REQ/REP echo server (the
floor: what any ZeroMQ round trip costs on this machine) measured in the same run.

The service runs in its own process on the bundled fantasy_rpg pack with synthetic
audio of the templates' exact tempo, meter and length (so it needs no model); the
clients run in another process. With `--pregen` (on by default when the model's weights
are installed) a scheduler then fills a temporary cache with the real engine, and the
100-client latency and the streaming are measured again while pre-generation competes for
the CPU (the plain latency rows run with the machine otherwise idle).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zmq
import zmq.asyncio

ROOT = Path(__file__).resolve().parents[1]
PACK_DIR = ROOT / "templates" / "fantasy_rpg"
EVENT_RATE_HZ = 20.0
REPLY_TIMEOUT_S = 2.0


# ------------------------------------------------------------------------ server processes


def _synthetic_library(pack):  # -> StaticLibrary
    from middleware.director.synthetic import synthetic_variant_set
    from middleware.service.library import StaticLibrary

    cycle: dict[tuple[int, int], np.ndarray] = {}

    def fill(stem: int, variant: int, frames: int, beats: tuple[int, ...]) -> np.ndarray:
        key = (stem, frames)
        if key not in cycle:
            period = 48000 // (110 * (stem + 1))
            mono = np.resize(0.08 * np.sin(2 * np.pi * np.arange(period) / period), frames)
            mono[np.asarray(beats)] += 0.1
            cycle[key] = np.repeat(mono[:, None].astype(np.float32), 2, axis=1)
        return cycle[key]

    sets = {}
    items = [(n, s.spec, s.spec.one_shot) for n, s in pack.states.items()]
    items += [(n, s.spec, True) for n, s in pack.stingers.items() if s.spec is not None]
    for name, spec, one_shot in items:
        sets[pack.name, name] = synthetic_variant_set(
            name,
            bpm=spec.bpm,
            meter=spec.meter,
            bars=spec.bars,
            variants=2,
            stems={s.name: s.intensity for s in spec.stems},
            one_shot=one_shot,
            fill=fill,
        )
    return StaticLibrary(sets)


def _run_service(conn, pregen_cache: str | None) -> None:
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
            max_sessions_per_peer=0,  # every client is on loopback: one peer
            session_timeout_s=60.0,
        )
        service = Service([pack], _synthetic_library(pack), director_player_factory, config)
        scheduler = None
        await service.start()
        conn.send(service.endpoint)
        loop = asyncio.get_running_loop()
        # commands from the benchmark: "pregen" starts pre-generation, "stop" ends
        while (command := await loop.run_in_executor(None, conn.recv)) != "stop":
            if command == "pregen" and pregen_cache is not None and scheduler is None:
                from middleware.scheduler import Scheduler, pack_requests

                scheduler = Scheduler(pregen_cache, workers=1)
                scheduler.submit_many(pack_requests(pack))
            conn.send(command)
        await service.stop()
        if scheduler is not None:
            scheduler.close(timeout_s=10.0)

    asyncio.run(serve())


def _run_echo(conn) -> None:
    context = zmq.Context()
    rep = context.socket(zmq.ROUTER)  # a REP server that serves many REQ clients at once
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    conn.send(f"tcp://127.0.0.1:{port}")
    poller = zmq.Poller()
    poller.register(rep, zmq.POLLIN)
    while not conn.poll(0):
        if poller.poll(100):
            rep.send_multipart(rep.recv_multipart())
    rep.close(0)
    context.term()


class ServerProcess:
    def __init__(self, target, *args) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        # not a daemon: the service process starts the scheduler's worker processes itself
        # (daemonic processes may not have children); __exit__ always stops it, and a
        # closed pipe ends it if this process dies first
        self.process = context.Process(target=target, args=(child, *args), daemon=False)

    def __enter__(self) -> ServerProcess:
        self.process.start()
        if not self.conn.poll(300):
            raise RuntimeError("server did not start")
        self.endpoint: str = self.conn.recv()
        return self

    def command(self, name: str) -> None:
        self.conn.send(name)
        if not self.conn.poll(60) or self.conn.recv() != name:
            raise RuntimeError(f"server did not acknowledge {name!r}")

    def __exit__(self, *exc: object) -> None:
        self.conn.send("stop")
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()


# ------------------------------------------------------------------------ load generators


@dataclass(frozen=True)
class LatencyFigures:
    clients: int
    sent: int
    lost: int
    p50_ms: float
    p99_ms: float


async def _latency_client(
    context,
    endpoint: str,
    seconds: float,
    rtts: list[float],
    kind: str,
    index: int,
    ready: asyncio.Barrier,
) -> int:
    from middleware.protocol import codec

    sock = context.socket(zmq.REQ if kind == "echo" else zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    lost = 0
    request_id = 0

    async def call(request_type: str, body: dict, record: bool = True) -> bool:
        nonlocal request_id
        request_id += 1
        frame = codec.encode_request(codec.Request(request_id, request_type, body))
        started = time.perf_counter()
        await sock.send(frame)
        if not await sock.poll(int(REPLY_TIMEOUT_S * 1000)):
            return False
        reply = await sock.recv()
        if kind != "echo":
            decoded = codec.decode_reply(reply)
            if not decoded.ok or decoded.id != request_id:
                return False
        if record:
            rtts.append(time.perf_counter() - started)
        return True

    if kind == "service":
        await call("hello", {"versions": [1], "client": f"bench-{index}"}, record=False)
    for state in ("explore", "battle", "explore"):  # warm-up, not measured: a session's
        # first transitions build its director's fade tables (about 1 ms each)
        await call("event", {"state": state, "intensity": 0.5}, record=False)
    await ready.wait()  # every session exists before anyone sends events (steady state)
    states = ("explore", "battle")
    period = 1.0 / EVENT_RATE_HZ
    start = time.perf_counter() + (index % 50) * period / 50  # spread the clients
    for tick in range(int(seconds * EVENT_RATE_HZ)):
        delay = start + tick * period - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        body = {"state": states[tick % 2], "intensity": 0.5, "params": {}}
        if not await call("event", body):
            lost += 1
            break
    sock.close(0)
    return lost


async def measure_latency(endpoint: str, clients: int, seconds: float, kind: str) -> LatencyFigures:
    context = zmq.asyncio.Context()
    rtts: list[float] = []
    ready = asyncio.Barrier(clients)
    losses = await asyncio.gather(
        *(_latency_client(context, endpoint, seconds, rtts, kind, i, ready) for i in range(clients))
    )
    context.term()
    sent = len(rtts) + sum(losses)
    values = np.asarray(rtts) * 1000.0
    return LatencyFigures(
        clients,
        sent,
        sum(losses),
        float(np.percentile(values, 50)),
        float(np.percentile(values, 99)),
    )


async def measure_streaming(endpoint: str, clients: int, seconds: float) -> dict:
    from middleware.client import AsyncClient, StreamPlayer

    async def one(index: int) -> tuple[int, int, int]:
        async with AsyncClient(endpoint, name=f"stream-{index}", timeout_s=5.0) as client:
            await client.hello(subscribe=False, heartbeat=False)
            player = StreamPlayer(client, block_frames=2048, buffer_blocks=8, record=False)
            await player.start()
            await client.event("battle", intensity=0.8)
            await asyncio.sleep(seconds)
            await player.stop()
            await client.bye()
            stats = player.stats
            return stats.underruns, stats.blocks_played, stats.seq_gaps

    results = await asyncio.gather(*(one(i) for i in range(clients)))
    return {
        "clients": clients,
        "underruns": sum(r[0] for r in results),
        "blocks": sum(r[1] for r in results),
        "gaps": sum(r[2] for r in results),
    }


def measure_start(runs: int = 3) -> tuple[float, float]:
    """(median s to the 'listening' line of `ostinato serve --no-pregen`, bare Python start)."""
    import json
    import signal
    import subprocess
    import sys

    serve, bare = [], []
    with tempfile.TemporaryDirectory() as cache:
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "middleware.cli",
                    "serve",
                    str(PACK_DIR),
                    "--bind",
                    "tcp://127.0.0.1:*",
                    "--pub-bind",
                    "tcp://127.0.0.1:*",
                    "--cache",
                    cache,
                    "--no-pregen",
                ],
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            assert process.stdout is not None
            json.loads(process.stdout.readline())
            serve.append(time.perf_counter() - started)
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=30)
    return float(np.median(serve)), float(np.median(bare))


def _weights_installed() -> bool:
    folder = ROOT / "engine_core" / "weights"
    return folder.is_dir() and any(folder.glob("*.safetensors"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="service latency and streaming figures")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--stream-seconds", type=float, default=10.0)
    parser.add_argument("--pregen", choices=("auto", "on", "off"), default="auto")
    args = parser.parse_args(argv if argv is not None else [])
    pregen = args.pregen == "on" or (args.pregen == "auto" and _weights_installed())
    rows: list[str] = []
    start_s, bare_s = measure_start()
    with ServerProcess(_run_echo) as echo:
        at = echo.endpoint
        floor = {n: asyncio.run(measure_latency(at, n, args.seconds, "echo")) for n in (1, 100)}
    busy: LatencyFigures | None = None
    with (
        tempfile.TemporaryDirectory() as cache,
        ServerProcess(_run_service, cache if pregen else None) as server,
    ):
        endpoint = server.endpoint
        ours = {
            n: asyncio.run(measure_latency(endpoint, n, args.seconds, "service")) for n in (1, 100)
        }
        if pregen:  # the model now takes a core: what the game sees while sets are written
            server.command("pregen")
            busy = asyncio.run(measure_latency(endpoint, 100, args.seconds, "service"))
        stream = asyncio.run(measure_streaming(endpoint, 50, args.stream_seconds))
    print(
        f"Machine: {os.cpu_count()} cores; {EVENT_RATE_HZ:.0f} requests/s per client for "
        f"{args.seconds:.0f} s, after every client connected and sent 3 warm-up events; "
        "clients in one asyncio process, server in another.\n"
    )
    print("| measure | Ostinato service | baseline: pyzmq REQ/REP echo |")
    print("| --- | --- | --- |")
    for n in (1, 100):
        a, b = ours[n], floor[n]
        rows.append(
            f"| event->reply, {n} client{'s' if n > 1 else ''}: p50 / p99 | "
            f"{a.p50_ms:.2f} / {a.p99_ms:.2f} ms ({a.sent} events, {a.lost} lost) | "
            f"{b.p50_ms:.2f} / {b.p99_ms:.2f} ms ({b.sent} echoes, {b.lost} lost) |"
        )
    if busy is not None:
        rows.append(
            f"| event->reply, 100 clients, pre-generation running: p50 / p99 | "
            f"{busy.p50_ms:.2f} / {busy.p99_ms:.2f} ms ({busy.sent} events, {busy.lost} lost) | — |"
        )
    rows.append(
        f"| {stream['clients']} clients streaming 48 kHz stereo s16 for {args.stream_seconds:.0f} s"
        f" (2048-frame blocks, 8 in flight){' with pre-generation running' if pregen else ''} | "
        f"{stream['underruns']} underruns in {stream['blocks']} blocks, {stream['gaps']} gaps | — |"
    )
    rows.append(
        f"| `ostinato serve` start to listening (no model loaded) | {start_s * 1000:.0f} ms | "
        f"bare `python -c pass`: {bare_s * 1000:.0f} ms |"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
