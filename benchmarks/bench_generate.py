"""End-to-end `Engine.generate`: 4 variants x 16 bars at 120 bpm (128 s of music).

Stages are timed from the engine's progress reports: model (the composer), arrange,
render (SoundFont synthesis of every stem, tail fold, resampling), normalise (loudness
and true peak) and export (MIDI + metadata), plus writing the files (WAV with smpl
chunks). The baseline, measured in the same run, renders each variant's own MIDI file
(all stems in one file) with the SoundFont alone: the synthesis every engine pays.

The engine runs once to warm up (imports, model load, SoundFont read) before the timed
run. Without committed weights the model stage uses Bach chorales from music21's corpus
(tests/chorale_scores.py) and says so.
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
    for stage, at in events:
        ends["model" if stage not in ENGINE_STAGES else stage] = at
    durations: dict[str, float] = {}
    previous = started
    for stage in ("model", *ENGINE_STAGES):
        end = ends.get(stage, previous)
        durations[stage] = end - previous
        previous = end
    durations["export"] += finished - previous
    durations["total"] = finished - started
    durations["cpu"] = cpu_seconds() - cpu
    return durations, variant_set


def bench_banks() -> list[tuple[str, str]]:
    """(name, path) of each bank to measure: the default (FluidR3_GM when installed) and
    the TimGM6mb fallback from pretty_midi."""
    from engine_core.render.bank import default_bank_path, fallback_bank_path

    banks = {str(default_bank_path()), str(fallback_bank_path())}
    return [(Path(path).stem, path) for path in sorted(banks)]


def main() -> None:
    from dataclasses import replace

    for name, path in bench_banks():
        print(f"\n### bank {name} ({path})\n")
        measure_bank(replace(bench_spec(), soundfont=path))


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
        cells = " | ".join(f"{runs[c][stage]:.3f}" for c in columns)
        print(f"| {stage} | {cells} | |")
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
    best = min(columns, key=lambda c: runs[c]["total"])
    print(
        f"\nrender / baseline: {runs[best]['render'] / baseline_s:.2f}x with {best} worker(s) "
        f"({stems} stems rendered separately with a {2.0:g} s tail each)"
    )


if __name__ == "__main__":
    main()
