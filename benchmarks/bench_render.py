"""Renderers side by side: 4 variants x 16 bars at 120 bpm (the `generate` benchmark's spec).

Each row runs in a fresh process (so "cold" means an empty note cache) with one render
worker per core. As `Engine.generate` does, the render workers are started (`Engine.warm`:
for the synth renderer its kernels, the bank, the reverb and loudness meter readied on a
render thread) while the model composes the scores of both sets, before timing (the
model's time does not differ between renderers; the warm-up's own cost in a fresh
process is printed under the table); then
everything after the model (`Engine.render_scores`: arrange, render, normalise, export) is
timed for seed 7 (cold) and seed 8 (warm: a second state of the same instruments, as in
pregen and bake). `bench_generate` has the end-to-end figures.
Rows: the reference renderer (the same-run baseline), the synth renderer (no synthesiser
call) and the note renderer; "per-stem" (the reference with one synthesiser call per stem,
as before stems were grouped) can still be named: `python -m benchmarks.bench_render
per-stem:fluid reference:fluid`.
The synth renderer's kernels are compiled first, in a process of their own (numba caches
them on disk once per machine), so its cold rows load them rather than compile them.
Wall-clock and CPU time (this process plus its render workers) are reported: on a shared
machine the CPU figure is the steadier one. Audio: per stem, RMS(reference - new) /
RMS(reference) in dB for the seed-7 set, against the reference renderer with the same bank.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time

MUSIC_SECONDS = 4 * 16 * 4 * 60.0 / 120.0
CONFIGS = (
    ("reference", "fluid"),
    ("synth", "fluid"),
    ("notes", "fluid"),
    ("reference", "timgm"),
    ("synth", "timgm"),
)
#: "per-stem" is the reference renderer with one synthesiser call per stem, as before
#: stems were grouped (`stem_batch`): the baseline the grouping is measured against.
PER_STEM = "per-stem"


def _cpu_seconds() -> float:
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def _rss_mb() -> list[float]:
    import psutil

    me = psutil.Process()
    sizes = [me.memory_info().rss / 1e6]
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            sizes.append(child.memory_info().rss / 1e6)
    return sizes


def one(renderer: str, bank_name: str) -> dict:
    import numpy as np

    from benchmarks.bench_generate import bench_spec, make_engine
    from engine_core.generate import Engine
    from engine_core.render.bank import default_bank_path, fallback_bank_path
    from middleware.cli.generate_cmd import default_render_workers

    bank = default_bank_path() if bank_name == "fluid" else fallback_bank_path()
    if renderer == PER_STEM:
        from engine_core.render import pool

        pool.stem_groups = lambda counts, workers: [
            (variant, (index,)) for variant, count in enumerate(counts) for index in range(count)
        ]
    workers = default_render_workers()
    base, _ = make_engine(render_workers=workers)
    engine = Engine(
        base.composer,
        bank,
        render_workers=workers,
        renderer="reference" if renderer == PER_STEM else renderer,
    )
    spec = bench_spec()
    engine.warm()  # as `generate` does: the render threads get ready while the model runs
    # the model runs before timing: its time does not differ between renderers, and on a
    # loaded machine its threads' CPU time would drown the renderers' differences
    scores = {seed: engine.composer.compose(spec, seed=seed, variants=4) for seed in (7, 8)}
    figures: dict = {"renderer": renderer, "bank": bank.name, "workers": workers}
    sets = {}
    for label, seed in (("cold", 7), ("warm", 8)):
        cpu, started = _cpu_seconds(), time.perf_counter()
        sets[label] = engine.render_scores(spec, scores[seed], state="battle", seed=seed)
        figures[label] = {
            "wall": time.perf_counter() - started,
            "cpu": _cpu_seconds() - cpu,
        }
    figures["rss_mb"] = _rss_mb()
    if renderer in ("notes", "synth"):
        with Engine(base.composer, bank, render_workers=workers, renderer="reference") as reference:
            truth = reference.render_scores(spec, scores[7], state="battle", seed=7)
        errors: dict[str, list[float]] = {}
        for ours, theirs in zip(sets["cold"].variants, truth.variants, strict=True):
            for name, audio in theirs.stems.items():
                ref = audio.astype(np.float64)
                diff = ref - ours.stems[name].astype(np.float64)
                rms_ref = float(np.sqrt(np.mean(ref**2)))
                rms_diff = float(np.sqrt(np.mean(diff**2)))
                errors.setdefault(name, []).append(20 * np.log10(rms_diff / max(rms_ref, 1e-12)))
            errors.setdefault("mix", []).append(
                20
                * np.log10(
                    float(np.sqrt(np.mean((theirs.mix - ours.mix) ** 2)))
                    / float(np.sqrt(np.mean(theirs.mix**2)))
                )
            )
        figures["error_db"] = {name: max(values) for name, values in errors.items()}
    engine.close()
    return figures


def compile_kernels() -> None:
    """Compile the synth renderer's kernels into numba's on-disk cache (once per machine
    and code version), so no row times a compilation."""
    from engine_core.render.soundfont import SoundFont
    from engine_core.render.synth_renderer import warm_up

    warm_up(SoundFont.load())


def warm_up_cost() -> dict:
    """The synth renderer's warm-up in a fresh process (kernels loaded from numba's cache,
    the bank read and parsed, the reverb's response, the loudness meter's imports).
    torch (the reverb's transforms) is imported before timing, as `generate`'s model has
    imported it by then."""
    import torch  # noqa: F401

    from engine_core.render.soundfont import SoundFont
    from engine_core.render.synth_renderer import warm_up

    cpu, started = time.process_time(), time.perf_counter()
    warm_up(SoundFont.load())
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu}


def main(configs=CONFIGS) -> None:
    rows = []
    subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_render", "compile"], check=True, timeout=600
    )
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_render", "warm-up"],
        capture_output=True,
        text=True,
        check=True,
    )
    warm = json.loads(out.stdout.strip().splitlines()[-1])
    for renderer, bank in configs:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_render", renderer, bank],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{MUSIC_SECONDS:g} s of music per set; one fresh process per row\n")
    print(
        "| renderer | bank | cold: wall s (x real time), CPU s | warm: wall s (x), CPU s "
        "| RSS MB (parent; workers) |"
    )
    print("| --- | --- | ---: | ---: | --- |")
    for row in rows:
        cells = []
        for label in ("cold", "warm"):
            wall, cpu = row[label]["wall"], row[label]["cpu"]
            cells.append(f"{wall:.2f} ({MUSIC_SECONDS / wall:.1f}x), {cpu:.2f}")
        rss = row["rss_mb"]
        workers = ", ".join(f"{size:.0f}" for size in rss[1:])
        print(
            f"| {row['renderer']} | {row['bank']} | {cells[0]} | {cells[1]} "
            f"| {rss[0]:.0f}; {workers} |"
        )
    print(
        f"\nsynth warm-up in a fresh process, torch imported (kernels, bank, reverb, loudness "
        "meter): "
        f"{warm['wall']:.2f} s wall, {warm['cpu']:.2f} s CPU; `generate` and these rows "
        "run it on a render thread while the model composes, before the cold set"
    )
    print("\nvs reference, worst variant per stem, RMS(ref - new)/RMS(ref) in dB:\n")
    for row in rows:
        if "error_db" in row:
            text = ", ".join(f"{name} {value:.1f}" for name, value in row["error_db"].items())
            print(f"- {row['renderer']}, {row['bank']}: {text}")


if __name__ == "__main__":
    if sys.argv[1:] == ["compile"]:
        compile_kernels()
    elif sys.argv[1:] == ["warm-up"]:
        print(json.dumps(warm_up_cost()))
    elif len(sys.argv) == 3 and ":" not in sys.argv[1]:
        print(json.dumps(one(sys.argv[1], sys.argv[2])))
    else:  # all configurations, or the named ones: `per-stem:fluid reference:fluid`
        main([tuple(arg.split(":")) for arg in sys.argv[1:]] or CONFIGS)
