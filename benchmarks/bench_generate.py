"""End-to-end `Engine.generate`: 4 variants x 16 bars at 120 bpm (128 s of music).

Stages are timed from the engine's progress reports: model (the composer), arrange,
render (SoundFont synthesis of every stem, tail fold, resampling), normalise (loudness
and true peak) and export (MIDI + metadata), plus writing the files (WAV with smpl
chunks). Stages overlap (variant N+1 is arranged while variant N renders, a variant is
normalised while the next renders), so each stage's table row is when it ran, from its
first report to its last. The baseline, measured in the same run, renders each variant's
own MIDI file (all stems in one file) with the SoundFont alone: the synthesis every
engine pays.

With `OSTINATO_BENCH_BASELINE_TREE=<dir>` (another checkout's source, e.g.
`git archive main | tar -x -C <dir>`), the default bank's 2-worker run is also measured
with that code, in turns with this tree's in fresh processes, and both are printed with
the sets' audio digests (equal digests: the same audio, bit for bit).

The engine runs once to warm up (imports, model load, SoundFont read, render workers)
before the timed runs. Without committed weights the model stage uses Bach chorales from
music21's corpus (tests/chorale_scores.py) and says so.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

VARIANTS = 4
BARS = 16
BPM = 120.0
ENGINE_STAGES = ("arrange", "render", "normalise", "export")


def bench_spec():  # -> GenerationSpec
    from engine_core.spec import GenerationSpec, StemSpec

    return GenerationSpec(
        prompt="a driving orchestral battle with a string ostinato and war drums",
        tags=("orchestral", "epic", "driving"),
        bpm=BPM,
        meter="4/4",
        key="D minor",
        bars=BARS,
        energy=0.8,
        stems=(
            StemSpec("ostinato", "arp", program=48, register=(50, 74)),
            StemSpec("bass", "bass", program=43, register=(26, 50)),
            StemSpec("brass", "harmony", program=61, register=(38, 69), intensity=(0.35, 1.0)),
            StemSpec("horns", "melody", program=60, register=(53, 74), intensity=(0.55, 1.0)),
            StemSpec("drums", "drums", program=48),
        ),
    )


def make_engine(render_workers: int = 1):  # -> (Engine, composer description)
    from engine_core.errors import CheckpointError
    from engine_core.generate import Engine

    engine = Engine(render_workers=render_workers)
    try:
        description = f"diffusion model ({engine.weights_version})"
    except (CheckpointError, ImportError) as error:
        from tests.chorale_scores import CHORALES, ChoraleComposer

        engine = Engine(ChoraleComposer(CHORALES), render_workers=render_workers)
        description = f"music21 chorales (no weights: {type(error).__name__})"
    return engine, description


def cpu_seconds() -> float:
    """CPU time of this process and its children (the render workers): steadier than
    wall-clock time on a shared machine."""
    import contextlib

    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def run_once(engine, spec) -> tuple[dict[str, float], object]:
    """One timed `generate`: each stage's end (its last report) as a duration from the
    previous stage's end, as before stages overlapped, plus `<stage>_first` and
    `<stage>_last` (seconds from the start), `total` and `cpu`. The synth renderer's
    note cache is emptied first: every run renders the same seed, and a set whose notes
    are all cached would not be the cost of a new one."""
    import sys

    synth = sys.modules.get("engine_core.render.synth_renderer")
    if synth is not None:  # a new set, not the warm-up's notes again
        synth.process_cache().clear()
    events: list[tuple[str, float]] = []
    cpu = cpu_seconds()
    started = time.perf_counter()
    variant_set = engine.generate(
        spec,
        state="battle",
        seed=7,
        variants=VARIANTS,
        progress=lambda stage, done, total: events.append((stage, time.perf_counter())),
    )
    finished = time.perf_counter()
    ends: dict[str, float] = {}
    figures: dict[str, float] = {}
    for stage, at in events:
        name = "model" if stage not in ENGINE_STAGES else stage
        figures.setdefault(f"{name}_first", at - started)
        figures[f"{name}_last"] = at - started
        ends[name] = at
    previous = started
    for stage in ("model", *ENGINE_STAGES):
        end = max(ends.get(stage, previous), previous)
        figures[stage] = end - previous
        previous = end
    figures["export"] += finished - previous
    figures["total"] = finished - started
    figures["cpu"] = cpu_seconds() - cpu
    return figures, variant_set


def set_digest(variant_set) -> str:
    """SHA-256 (16 hex) of every stem and mix of a set, in order: equal digests, same audio."""
    import hashlib

    digest = hashlib.sha256()
    for variant in variant_set.variants:
        for audio in (*variant.stems.values(), variant.mix):
            digest.update(audio.tobytes())
    return digest.hexdigest()[:16]


def bench_banks() -> list[tuple[str, str]]:
    """(name, path) of each bank to measure: the default (FluidR3_GM when installed) and
    the TimGM6mb fallback from pretty_midi."""
    from engine_core.render.bank import default_bank_path, fallback_bank_path

    banks = {str(default_bank_path()), str(fallback_bank_path())}
    return [(Path(path).stem, path) for path in sorted(banks)]


def main() -> None:
    import os
    from dataclasses import replace

    for name, path in bench_banks():
        print(f"\n### bank {name} ({path})\n")
        measure_bank(replace(bench_spec(), soundfont=path))
    tree = os.environ.get("OSTINATO_BENCH_BASELINE_TREE")
    if tree:
        compare_trees(Path(tree))


#: Timed runs per process and turns of (this tree, baseline tree) processes.
TREE_RUNS = 3
TREE_TURNS = 2


def _child_runs(workers: int, runs: int) -> None:
    """In a fresh process (`python -m benchmarks.bench_generate --child W N`): warm up,
    then print one JSON line per timed run of the default bank."""
    import json

    engine, _ = make_engine(render_workers=workers)
    with engine:
        run_once(engine, bench_spec())
        for _ in range(runs):
            figures, variant_set = run_once(engine, bench_spec())
            figures["digest"] = set_digest(variant_set)  # type: ignore[assignment]
            print(json.dumps(figures), flush=True)


def compare_trees(baseline: Path) -> None:
    """This tree against `baseline`'s source, one render worker per core, the default bank,
    in fresh processes taking turns (this tree first, then the baseline first)."""
    import statistics

    from benchmarks.trees import run_child
    from middleware.cli.generate_cmd import default_render_workers

    here = Path(__file__).resolve().parent.parent
    workers = default_render_workers()
    results: dict[str, list[dict]] = {"this tree": [], "baseline tree": []}
    trees = [("this tree", here), ("baseline tree", baseline.resolve())]
    for turn in range(TREE_TURNS):  # A B, then B A: a load that drifts favours neither
        for label, root in trees if turn % 2 == 0 else trees[::-1]:
            # this file, the engine from `root`
            results[label] += run_child(__file__, root, str(workers), str(TREE_RUNS))
    music_s = VARIANTS * BARS * 4 * 60.0 / BPM
    print(
        f"\n### this tree against {baseline} ({workers} render workers, default bank, "
        f"{TREE_TURNS} turns x {TREE_RUNS} runs, medians)\n"
    )
    print("| figure | this tree | baseline tree |")
    print("| --- | ---: | ---: |")
    for figure in ("total", "cpu", *(f"{s}_last" for s in ("model", *ENGINE_STAGES))):
        cells = [
            statistics.median(r[figure] for r in runs) if runs else float("nan")
            for runs in results.values()
        ]
        print(f"| {figure} (s) | {cells[0]:.3f} | {cells[1]:.3f} |")
    speed = [music_s / statistics.median(r["total"] for r in runs) for runs in results.values()]
    print(f"| x real time | **{speed[0]:.1f}x** | {speed[1]:.1f}x |")
    best = [min(r["total"] for r in runs) for runs in results.values()]
    print(f"| best total (s) | {best[0]:.3f} | {best[1]:.3f} |")
    digests = [sorted({r["digest"] for r in runs}) for runs in results.values()]
    print(f"| audio digests | {', '.join(digests[0])} | {', '.join(digests[1])} |")


def measure_bank(spec) -> None:
    from engine_core.export.variant_files import write_variant_set
    from engine_core.render.soundfont import SoundFont
    from middleware.cli.generate_cmd import default_render_workers

    workers = default_render_workers()
    runs: dict[int, dict[str, float]] = {}
    for count in sorted({1, workers}):
        engine, composer = make_engine(render_workers=count)
        with engine:
            run_once(engine, spec)  # warm-up (and the render workers' start)
            runs[count], variant_set = run_once(engine, spec)

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        write_variant_set(variant_set, Path(folder), audio_format="wav")
        write_s = time.perf_counter() - started

    sound_font = SoundFont.load(spec.soundfont)
    started = time.perf_counter()
    for variant in variant_set.variants:
        sound_font.render(variant.midi)
    baseline_s = time.perf_counter() - started

    music_s = VARIANTS * BARS * 4 * 60.0 / BPM
    stems = len(spec.stems)
    print(
        f"{VARIANTS} variants x {BARS} bars at {BPM:g} bpm = {music_s:g} s of music, "
        f"{stems} stems; composer: {composer}\n"
    )
    columns = sorted(runs)
    header = " | ".join(f"{c} render worker{'s' if c > 1 else ''} (s)" for c in columns)
    print(f"| stage | {header} | baseline: SoundFont render of the same MIDI, 1 process |")
    print("| --- |" + " ---: |" * len(columns) + " ---: |")
    for stage in ("model", *ENGINE_STAGES):
        cells = " | ".join(
            f"{runs[c].get(f'{stage}_first', 0.0):.3f}-{runs[c].get(f'{stage}_last', 0.0):.3f}"
            for c in columns
        )
        print(f"| {stage} (ran from-to, s) | {cells} | |")
    totals = " | ".join(
        f"**{runs[c]['total']:.3f} ({music_s / runs[c]['total']:.1f}x)**" for c in columns
    )
    print(
        f"| **generate total (x real time)** | {totals} | "
        f"{baseline_s:.3f} s ({music_s / baseline_s:.1f}x) |"
    )
    cpu = " | ".join(f"{runs[c]['cpu']:.2f}" for c in columns)
    print(f"| CPU s (process + render workers) | {cpu} | |")
    print(
        f"| write files (WAV + smpl, stems, MIDI, manifest) | {write_s:.3f} |" + " |" * len(columns)
    )
    print(f"\naudio digest of the set: {set_digest(variant_set)}")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--child"]:
        _child_runs(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
