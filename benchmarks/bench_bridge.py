"""A 4-bar bridge, from the moment its two states exist to its audio being ready.

The bridge is neon_runner's `boss -> run` (4 bars, A phrygian 132 bpm -> A minor 118 bpm,
five stems), made as a pre-generation worker makes it once both states are cached: the
states' scores read back from the cache (kept beside their audio), six candidates
inpainted in one batched sampling call and measured, the chosen one arranged and
rendered with its tempo ramp (`middleware.bridges.generate.generate_item` with
`cached_scores`). Goal: ready <= 2 s after its states exist, on this 2-core machine.

Setup (not timed): both states' full sets (4 variants of 8 bars each) are generated
and cached in a temporary cache, as pre-generation leaves them.

Baseline in the same run: one variant of the target state (`Engine.generate`, 8 bars,
the same stems), the unit every pre-generation figure is made of. Each row is timed after
a warm-up (model, SoundFont loaded), best of `--repeats`: wall clock and CPU time
(this process and its waited-for children; the machine is shared, so wall figures are
noisy, CPU time less so). Parts of the bridge's time are listed below it, with the
costs the old path paid (the loops composed again; one sampling call per candidate).

    python -m benchmarks.bench_bridge [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _best(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) over `repeats` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), _cpu()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return min(walls), min(cpus)


class _OneAtATime:
    """The composer seen without `inpaint_many`: one sampling call per candidate."""

    def __init__(self, composer) -> None:  # type: ignore[no-untyped-def]
        self._composer = composer
        self.weights_version = composer.weights_version
        self.compose = composer.compose
        self.inpaint = composer.inpaint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv or [])  # `benchmarks.run` calls main() with no arguments

    from engine_core.bridge import compose_bridge
    from engine_core.bridge.compose import _retimer, bridge_spec, tempo_ramp
    from engine_core.generate import Engine
    from middleware.bridges.generate import cached_scores, generate_item
    from middleware.bridges.requests import bridge_requests
    from middleware.cache import EngineKey, VariantCache
    from middleware.templates.loader import load_pack

    pack = load_pack(ROOT / "templates" / "neon_runner")
    request = next(r for r in bridge_requests(pack) if r.name == "bridge:boss->run")
    source, target, bars = request.bridge
    engine = Engine()
    engine_key = EngineKey.from_engine(engine)
    with tempfile.TemporaryDirectory(prefix="bench-bridge-") as folder:
        root = Path(folder) / "cache"
        with VariantCache(root) as cache:  # the states exist: both sets cached, as pregen does
            for state in (request.source, request.target):
                made = engine.generate(
                    state.spec, state=state.name, seed=state.seed, variants=state.variants
                )
                cache.put_set(state, engine_key, made)

        def read_scores() -> tuple[list, list]:
            with VariantCache(root) as fresh:  # a fresh reader: no memo from earlier runs
                lookup = cached_scores(fresh, engine_key)
                return lookup(source), lookup(target)  # type: ignore[return-value]

        def bridge() -> object:
            with VariantCache(root) as fresh:
                return generate_item(engine, request, scores=cached_scores(fresh, engine_key))

        loops = read_scores()
        assert loops[0] is not None and loops[1] is not None, "scores not kept in the cache"
        composed = compose_bridge(engine.composer, source, target, bars, seed=1, loops=loops)
        spec, ramp = bridge_spec(source, target, bars), tempo_ramp(source.spec, target.spec, bars)

        def candidates() -> object:
            return compose_bridge(engine.composer, source, target, bars, seed=1, loops=loops)

        def render() -> object:
            return engine.render_scores(
                spec, [composed.score], state=request.name, seed=1, retime=_retimer(ramp)
            )

        def baseline() -> object:
            return engine.generate(target.spec, state="run", seed=target.seed, variants=1)

        def recompose() -> object:
            return compose_bridge(engine.composer, source, target, bars, seed=1)

        def one_at_a_time() -> object:
            return compose_bridge(
                _OneAtATime(engine.composer), source, target, bars, seed=1, loops=loops
            )

        try:
            bridge()  # warm-up: model, SoundFont, grooves
            baseline()
            runs = [
                ("bridge boss -> run, 4 bars: ready after its states exist", bridge),
                ("baseline: one variant of `run` (8 bars), Engine.generate", baseline),
                ("  part: both states' scores read from the cache", read_scores),
                ("  part: 6 candidates inpainted (one batch) + joins measured", candidates),
                ("  part: arranged + rendered with the tempo ramp", render),
                ("  old path, for comparison: loops composed again + candidates", recompose),
                ("  old path, for comparison: 6 candidates one call each", one_at_a_time),
            ]
            rows = [(label, _best(run, args.repeats)) for label, run in runs]
        finally:
            engine.close()
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} / {load[1]:.1f} (2 cores); best of {args.repeats}")
    print("| measure | wall s (best) | CPU s (best) |")
    print("| --- | ---: | ---: |")
    for label, (wall, cpu) in rows:
        print(f"| {label} | {wall:.2f} | {cpu:.2f} |")
    (bridge_wall, bridge_cpu), (base_wall, base_cpu) = rows[0][1], rows[1][1]
    print(
        f"bridge / one variant: {bridge_cpu / base_cpu:.2f}x CPU, {bridge_wall / base_wall:.2f}x "
        f"wall; goal: bridge <= 2 s ({'met' if bridge_cpu <= 2.0 else 'NOT met'} in CPU time, "
        f"{'met' if bridge_wall <= 2.0 else 'not met'} in wall time on this load)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
