"""Cache and scheduler figures, each beside a baseline measured in the same run.

- warm start: process start to "first state ready" (fantasy_rpg's start state loaded from
  a full cache, engine key read from the index, no torch) vs a bare interpreter and vs a
  cold start (load the model, generate the start state);
- cache hit: `get_set` latency (p50/p99, memory-mapped) vs reading the same files fully;
- memory: RSS growth when every state of the pack is loaded, mapped vs read;
- throughput: sets per minute with 2 workers vs 1 worker (same sets, fresh caches).

The full cache lives in ``out/bench/cache`` and is filled by the real engine on the first
run (later runs reuse it). Run: ``python -m benchmarks.run cache``.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from middleware.cache import VariantCache
from middleware.cache.engine import engine_fingerprint, record_engine_key, resolve_engine_key
from middleware.scheduler import DEFAULT_ENGINE_FACTORY, Scheduler, pack_requests
from middleware.templates.loader import load_pack

REPO = Path(__file__).resolve().parent.parent
PACK = REPO / "templates" / "fantasy_rpg"
CACHE_ROOT = REPO / "out" / "bench" / "cache"
HIT_ROUNDS = 2000
WARM_RUNS = 7
THROUGHPUT_SETS = 6
THROUGHPUT_ROUNDS = 2

WARM_START = """
import sys
from middleware.cache import VariantCache
from middleware.cache.engine import engine_fingerprint, record_engine_key, resolve_engine_key
from middleware.templates.loader import load_pack
pack = load_pack(sys.argv[1])
cache = VariantCache(sys.argv[2])
key = resolve_engine_key(cache, load=False)
found = cache.get_set(pack.state(pack.start_state), key)
assert found is not None, "cache is not full"
float(found.variants[0].mix[0, 0])
print("torch" in sys.modules)
"""

COLD_START = """
import sys
from engine_core.generate import Engine
from middleware.templates.loader import load_pack
pack = load_pack(sys.argv[1])
state = pack.state(pack.start_state)
Engine().generate(state.spec, state=state.name, seed=state.seed, variants=state.variants)
"""


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        env=env,
    )
    return time.perf_counter() - started, done.stdout.strip()


def _bytecode_env() -> dict[str, str]:
    """The environment of an installed program: bytecode compiled once and reused (kept in
    out/bench/pycache, not in the source tree), whatever PYTHONDONTWRITEBYTECODE says."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(REPO / "out" / "bench" / "pycache")
    return env


def fill_cache(root: Path, engine_factory: str) -> float:
    """Pre-generate the whole pack into `root` (skips what is cached); returns seconds.

    Workers of the default engine record its key in the cache; for another engine the
    key is recorded here, so the warm start reads it the same way.
    """
    pack = load_pack(PACK)
    started = time.perf_counter()
    with Scheduler(root, engine_factory=engine_factory) as scheduler:
        for future in scheduler.submit_many(pack_requests(pack)).values():
            future.result()
        engine_key = scheduler.engine_key
    if engine_factory != DEFAULT_ENGINE_FACTORY and engine_key is not None:
        with VariantCache(root) as cache:
            record_engine_key(cache, engine_fingerprint(), engine_key)
    return time.perf_counter() - started


def warm_start(root: Path) -> dict[str, object]:
    compiled = _bytecode_env()
    _python(WARM_START, str(PACK), str(root), env=compiled)  # compiles the bytecode once
    warm = [_python(WARM_START, str(PACK), str(root), env=compiled) for _ in range(WARM_RUNS)]
    source = [_python(WARM_START, str(PACK), str(root))[0] for _ in range(WARM_RUNS)]
    bare = [_python("pass")[0] for _ in range(WARM_RUNS)]
    return {
        "warm_s": statistics.median(t for t, _ in warm),
        "warm_max_s": max(t for t, _ in warm),
        "source_s": statistics.median(source),
        "torch": any(out == "True" for _, out in warm),
        "bare_s": statistics.median(bare),
    }


def cold_start() -> float:
    return _python(COLD_START, str(PACK))[0]


def _percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.array(samples) * 1e3, q))


def cache_hits(root: Path) -> dict[str, float]:
    """Wall-clock latency of `get_set` on the start state (and CPU time per call, which
    a machine shared with other work does not inflate) vs reading the same files."""
    pack = load_pack(PACK)
    with VariantCache(root) as cache:
        key = resolve_engine_key(cache, load=False)
        state = pack.state(pack.start_state)
        mapped, fresh = [], []
        cpu_started = time.process_time()
        for _ in range(HIT_ROUNDS):  # a fresh mapping each time: nothing else holds the set
            started = time.perf_counter()
            found = cache.get_set(state, key)
            fresh.append(time.perf_counter() - started)
            assert found is not None
            del found
        cpu_ms = 1e3 * (time.process_time() - cpu_started) / HIT_ROUNDS
        playing = cache.get_set(state, key)  # the set a session is playing stays mapped
        for _ in range(HIT_ROUNDS):
            started = time.perf_counter()
            found = cache.get_set(state, key)
            mapped.append(time.perf_counter() - started)
            assert found is not None and playing is not None
        rows = cache.index.query(
            "SELECT audio_digest FROM variants WHERE set_key = ?", (cache.set_key(state, key),)
        )
        files = [cache.store.path_for(digest, ".npy") for (digest,) in rows]
        full = []
        for _ in range(HIT_ROUNDS // 20):
            started = time.perf_counter()
            for path in files:
                np.load(path)
            full.append(time.perf_counter() - started)
    return {
        "hit_p50_ms": _percentile_ms(fresh, 50),
        "hit_p99_ms": _percentile_ms(fresh, 99),
        "held_p50_ms": _percentile_ms(mapped, 50),
        "held_p99_ms": _percentile_ms(mapped, 99),
        "hit_cpu_ms": cpu_ms,
        "read_p50_ms": _percentile_ms(full, 50),
        "read_p99_ms": _percentile_ms(full, 99),
    }


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def memory(root: Path) -> dict[str, float]:
    pack = load_pack(PACK)
    with VariantCache(root) as cache:
        key = resolve_engine_key(cache, load=False)
        before = _rss_bytes()
        mapped = [cache.get_set(s, key) for s in pack.states.values()]
        mapped_growth = _rss_bytes() - before
        total = sum(
            v.mix.nbytes + sum(a.nbytes for a in v.stems.values())
            for s in mapped
            if s
            for v in s.variants
        )
        before = _rss_bytes()
        copies = [np.array(v.mix) for s in mapped if s for v in s.variants]
        copies += [np.array(a) for s in mapped if s for v in s.variants for a in v.stems.values()]
        copied_growth = _rss_bytes() - before
        del copies
    return {
        "audio_mb": total / 2**20,
        "mapped_mb": mapped_growth / 2**20,
        "read_mb": copied_growth / 2**20,
    }


def throughput(engine_factory: str, workers: int) -> float:
    """Steady-state sets per minute: `THROUGHPUT_SETS` sets of the pack's battle state
    (seeds 1..N: equal work, distinct keys), from submission to the last one done, after
    every worker has loaded its engine and made one short warm-up set (lazy loads)."""
    battle = load_pack(PACK).state("battle")
    states = [dataclasses.replace(battle, seed=seed) for seed in range(1, THROUGHPUT_SETS + 1)]
    warm_up = dataclasses.replace(battle, spec=dataclasses.replace(battle.spec, bars=1, motif=None))
    with (
        tempfile.TemporaryDirectory() as root,
        Scheduler(root, workers=workers, engine_factory=engine_factory) as scheduler,
    ):
        scheduler.wait_ready()
        # all workers are idle: one warm-up set goes to each
        for future in [
            scheduler.submit(dataclasses.replace(warm_up, seed=-1 - n)) for n in range(workers)
        ]:
            future.result()
        started = time.perf_counter()
        for future in [scheduler.submit(state) for state in states]:
            future.result()
        elapsed = time.perf_counter() - started
    return 60.0 * len(states) / elapsed


def main(
    engine_factory: str | None = None,
    cache_root: Path | None = None,
    throughput_engine: str | None = None,
) -> None:
    """Environment overrides: OSTINATO_BENCH_ENGINE, OSTINATO_BENCH_CACHE,
    OSTINATO_BENCH_THROUGHPUT_ENGINE (engines as module:callable)."""
    engine_factory = engine_factory or os.environ.get(
        "OSTINATO_BENCH_ENGINE", DEFAULT_ENGINE_FACTORY
    )
    cache_root = cache_root or Path(os.environ.get("OSTINATO_BENCH_CACHE", str(CACHE_ROOT)))
    throughput_engine = throughput_engine or os.environ.get(
        "OSTINATO_BENCH_THROUGHPUT_ENGINE", engine_factory
    )
    load_average = os.getloadavg()[0]
    fill_s = fill_cache(cache_root, engine_factory)
    warm = warm_start(cache_root)
    cold_s = cold_start() if engine_factory == DEFAULT_ENGINE_FACTORY else float("nan")
    hits = cache_hits(cache_root)
    mem = memory(cache_root)
    # alternate 1 and 2 workers, best of two each: the machine is shared, and a run that
    # overlaps someone else's work only measures that
    runs: dict[int, list[float]] = {1: [], 2: []}
    loads: list[float] = []
    for _ in range(THROUGHPUT_ROUNDS):
        for workers in (1, 2):
            loads.append(round(os.getloadavg()[0], 2))
            runs[workers].append(round(throughput(throughput_engine, workers), 2))
    one, two = max(runs[1]), max(runs[2])
    rows = [
        ("warm start to first state ready (median of 7)", f"{warm['warm_s']:.3f} s", "<= 0.5 s",
         f"bare interpreter {warm['bare_s']:.3f} s; cold start (model + generate) {cold_s:.1f} s"),
        ("warm start, slowest of 7", f"{warm['warm_max_s']:.3f} s", "<= 0.5 s", ""),
        ("warm start without bytecode (PYTHONDONTWRITEBYTECODE)", f"{warm['source_s']:.3f} s",
         "", "every module compiled from source on each start"),
        ("torch imported on the warm path", str(warm["torch"]), "False", ""),
        ("cache hit p50 (get_set, new memory map)", f"{hits['hit_p50_ms']:.3f} ms", "",
         f"full read of the same audio {hits['read_p50_ms']:.3f} ms"),
        ("cache hit p99 (get_set, new memory map)", f"{hits['hit_p99_ms']:.3f} ms", "<= 1 ms",
         f"full read {hits['read_p99_ms']:.3f} ms"),
        ("cache hit p50 / p99, set already mapped (playing)",
         f"{hits['held_p50_ms']:.3f} / {hits['held_p99_ms']:.3f} ms", "<= 1 ms", ""),
        ("cache hit, CPU time per call (new mapping)", f"{hits['hit_cpu_ms']:.3f} ms", "",
         f"load average at start {load_average:.2f} on {os.cpu_count()} cores"),
        (f"RSS growth, all states loaded ({mem['audio_mb']:.0f} MiB audio)",
         f"{mem['mapped_mb']:.1f} MiB", "flat", f"read into memory {mem['read_mb']:.1f} MiB"),
        (f"throughput, 2 workers ({THROUGHPUT_SETS} sets)", f"{two:.2f} sets/min", ">= 1.7x",
         f"1 worker {one:.2f} sets/min: x{two / one:.2f}"),
        ("throughput runs (sets/min)", f"2 workers {runs[2]}", "",
         f"1 worker {runs[1]}; load averages before each run {loads}"),
        ("filling the full cache (first run only)", f"{fill_s:.1f} s", "", f"cache {cache_root}"),
        ("engines", engine_factory, "", f"throughput: {throughput_engine}"),
    ]  # fmt: skip
    print("| figure | measured | goal | baseline (same run) |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
