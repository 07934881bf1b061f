"""A 4-bar bridge, from the moment its two states exist to its audio being ready.

The bridge is neon_runner's `boss -> run` (4 bars, A phrygian 132 bpm -> A minor 118 bpm,
five stems): `engine_core.bridge.generate_bridge` as a pre-generation worker runs it —
the two loops' scores composed again from their specs and seeds, the candidates
inpainted and measured, the chosen bridge arranged and rendered with its tempo ramp.
Goal: ready <= 2 s after its states exist, on this 2-core machine.

Baseline in the same run: one variant of the target state (`Engine.generate`, 8 bars,
the same stems), the unit every pre-generation figure is made of. Both are timed after a
warm-up (model, SoundFont and text embedding loaded), best of `--repeats`, wall clock and
this process's CPU time, with the load average (the machine is shared: wall figures are
noisy, CPU time less so). The parts of the bridge's time are listed below it.

    python -m benchmarks.bench_bridge [--repeats 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _best(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) over `repeats` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="render worker processes")
    args = parser.parse_args(argv or [])  # `benchmarks.run` calls main() with no arguments

    from engine_core.bridge import compose_bridge, generate_bridge
    from engine_core.generate import Engine
    from middleware.bridges.requests import bridge_requests
    from middleware.templates.loader import load_pack

    pack = load_pack(ROOT / "templates" / "neon_runner")
    request = next(r for r in bridge_requests(pack) if r.name == "bridge:boss->run")
    source, target, bars = request.bridge
    engine = Engine(render_workers=args.workers)
    try:

        def bridge() -> object:
            return generate_bridge(engine, source, target, bars, name=request.name, seed=1)

        def baseline() -> object:
            return engine.generate(target.spec, state="run", seed=target.seed, variants=1)

        def loops() -> object:
            engine.composer.compose(source.spec, seed=source.seed, variants=source.variants)
            return engine.composer.compose(target.spec, seed=target.seed, variants=target.variants)

        def score() -> object:
            return compose_bridge(engine.composer, source, target, bars, seed=1)

        bridge()  # warm-up: model, SoundFont, text embedding, render workers
        baseline()
        runs = [
            ("bridge boss -> run, 4 bars: ready after its states exist", bridge),
            ("baseline: one variant of `run` (8 bars), Engine.generate", baseline),
            ("  part: both loops' scores composed again", loops),
            ("  part: loops + inpainting candidates + joins (no render)", score),
        ]
        rows = [(label, _best(run, args.repeats)) for label, run in runs]
    finally:
        engine.close()
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} / {load[1]:.1f} (2 cores); render workers {args.workers}")
    print("| measure | wall s (best) | CPU s of this process (best) |")
    print("| --- | ---: | ---: |")
    for label, (wall, cpu) in rows:
        print(f"| {label} | {wall:.2f} | {cpu:.2f} |")
    ratio = rows[0][1][0] / rows[1][1][0]
    print(f"bridge / one variant (wall): {ratio:.2f}x; goal: bridge <= 2 s")


if __name__ == "__main__":
    main(sys.argv[1:])
