"""Bake the bundled packs from an empty cache with 1 and 2 workers, then re-bake unchanged.

Figures: wall time, music produced per second of wall time ("x real time"), the 2-worker
speed-up over the 1-worker bake (the baseline, measured in the same run), and the
no-change re-bake time beside the from-empty bake it repeats.

`python -m benchmarks.bench_bake [--variants N]` (default: each pack's own counts).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from middleware.bake import BakeOptions, bake_pack
from middleware.templates.loader import load_pack

ROOT = Path(__file__).resolve().parents[1]
PACKS = ("fantasy_rpg", "neon_runner")


def _bake(pack_names: tuple[str, ...], out: Path, cache: Path, workers: int, variants: int | None):
    started = time.perf_counter()
    music_s = 0.0
    generated = 0
    for name in pack_names:
        pack = load_pack(ROOT / "templates" / name)
        options = BakeOptions(workers=workers, cache_dir=cache, variants=variants)
        report = bake_pack(pack, out, options)
        music_s += sum(r.music_seconds for r in report.results if r.origin == "generated")
        generated += len(report.generated)
    return time.perf_counter() - started, music_s, generated


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", type=int, default=None)
    args = parser.parse_args([] if argv is None else argv)
    packs = tuple(name for name in PACKS if (ROOT / "templates" / name / "pack.toml").is_file())
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_bake_") as temp:
        work = Path(temp)
        timings = {}
        for workers in (1, 2):
            out, cache = work / f"out{workers}", work / f"cache{workers}"
            wall, music, generated = _bake(packs, out, cache, workers, args.variants)
            timings[workers] = wall
            rows.append(
                (f"bake {' + '.join(packs)}, empty cache, {workers} worker(s)",
                 f"{wall:.1f} s", f"{music / wall:.2f}x real time ({music:.0f} s of music, "
                 f"{generated} jobs)",
                 "baseline" if workers == 1 else f"speed-up {timings[1] / wall:.2f}x vs 1 worker")
            )  # fmt: skip
        wall, _, generated = _bake(packs, work / "out2", work / "cache2", 2, args.variants)
        rows.append(
            ("re-bake, nothing changed, 2 workers", f"{wall:.2f} s", f"{generated} jobs generated",
             f"{timings[2] / wall:.0f}x faster than the {timings[2]:.1f} s bake")
        )  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)
    print("| bake | wall time | throughput | vs baseline |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
