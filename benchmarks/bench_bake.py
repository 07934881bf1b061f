"""Bake the bundled packs from an empty cache with 1 and 2 workers, then re-bake unchanged.

Figures: wall time, music produced per second of wall time ("x real time"), the 2-worker
speed-up over the 1-worker bake (the baseline, measured in the same run), and the
no-change re-bake time beside the from-empty bake it repeats.

`python -m benchmarks.bench_bake [--variants N] [--engine MODULE:CALLABLE]`.

The engine is the shipped one (`engine_core.generate:Engine`, the diffusion model) when its
weights are installed. Without them the benchmark says so and bakes with the real engine
over Bach chorale scores (tests/chorale_scores.py) instead of the model's, which renders
4/4 only: the packs are then baked without their 3/4 and 6/8 states (listed in the output).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from middleware.bake import BakeOptions, bake_pack
from middleware.templates.loader import load_pack
from middleware.templates.model import WILDCARD, TemplatePack

ROOT = Path(__file__).resolve().parents[1]
PACKS = ("fantasy_rpg", "neon_runner")
SHIPPED_ENGINE = "engine_core.generate:Engine"
CHORALE_ENGINE = "test_bake_support:chorale_engine"


def _choose_engine(requested: str | None) -> tuple[str, list[str]]:
    """The engine factory to bake with, and notes on what that means for the figures."""
    if requested is not None:
        return requested, []
    from engine_core.errors import CheckpointError
    from engine_core.generate import Engine

    try:
        _ = Engine().weights_version
        return SHIPPED_ENGINE, []
    except CheckpointError:
        sys.path[:0] = [str(ROOT / "tests")]
        return CHORALE_ENGINE, [
            "no model weights installed: engine = the real engine over Bach chorale scores "
            "(4/4 only)"
        ]


def _packs(engine: str, notes: list[str]) -> list[TemplatePack]:
    packs = []
    for name in PACKS:
        if not (ROOT / "templates" / name / "pack.toml").is_file():
            continue
        pack = load_pack(ROOT / "templates" / name)
        if engine == CHORALE_ENGINE:
            pack, dropped = _four_four_only(pack)
            if dropped:
                notes.append(f"{pack.name}: baked without {', '.join(dropped)} (not 4/4)")
        packs.append(pack)
    return packs


def _four_four_only(pack: TemplatePack) -> tuple[TemplatePack, list[str]]:
    states = {n: s for n, s in pack.states.items() if s.spec.meter == "4/4"}
    states = {n: s for n, s in states.items() if s.next is None or s.next in states}
    stingers = {n: s for n, s in pack.stingers.items() if s.spec is None or s.spec.meter == "4/4"}
    allowed = {*states, WILDCARD}
    rules = tuple(
        rule
        for rule in pack.transitions
        if rule.source in allowed
        and rule.target in allowed
        and (rule.filler is None or rule.filler.stinger in (None, *stingers))
    )
    dropped = sorted(set(pack.states) - set(states)) + sorted(set(pack.stingers) - set(stingers))
    start = pack.start_state if pack.start_state in states else next(iter(states))
    reduced = replace(pack, states=states, stingers=stingers, transitions=rules, start_state=start)
    return reduced, dropped


def _bake(
    packs: list[TemplatePack],
    out: Path,
    cache: Path,
    workers: int,
    variants: int | None,
    engine: str,
) -> tuple[float, float, int]:
    started = time.perf_counter()
    music_s = 0.0
    generated = 0
    for pack in packs:
        options = BakeOptions(
            workers=workers, cache_dir=cache, variants=variants, engine_factory=engine
        )
        report = bake_pack(pack, out, options)
        music_s += sum(r.music_seconds for r in report.results if r.origin == "generated")
        generated += len(report.generated)
    return time.perf_counter() - started, music_s, generated


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", type=int, default=None)
    parser.add_argument("--engine", default=None, help="engine factory, module:callable")
    args = parser.parse_args([] if argv is None else argv)
    engine, notes = _choose_engine(args.engine)
    packs = _packs(engine, notes)
    names = " + ".join(pack.name for pack in packs)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_bake_") as temp:
        work = Path(temp)
        timings = {}
        for workers in (1, 2):
            out, cache = work / f"out{workers}", work / f"cache{workers}"
            wall, music, generated = _bake(packs, out, cache, workers, args.variants, engine)
            timings[workers] = wall
            rows.append(
                (f"bake {names}, empty cache, {workers} worker(s)",
                 f"{wall:.1f} s", f"{music / wall:.2f}x real time ({music:.0f} s of music, "
                 f"{generated} jobs)",
                 "baseline" if workers == 1 else f"speed-up {timings[1] / wall:.2f}x vs 1 worker")
            )  # fmt: skip
        wall, _, generated = _bake(packs, work / "out2", work / "cache2", 2, args.variants, engine)
        rows.append(
            ("re-bake, nothing changed, 2 workers", f"{wall:.2f} s", f"{generated} jobs generated",
             f"{timings[2] / wall:.0f}x faster than the {timings[2]:.1f} s bake")
        )  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)
    print(f"engine: {engine}")
    for note in notes:
        print(f"note: {note}")
    print()
    print("| bake | wall time | throughput | vs baseline |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
