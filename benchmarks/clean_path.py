"""The clean training path, measured: a small collection whose terms permit commercial use.

    python -m benchmarks.clean_path [--out DIR] [--pieces 60] [--ae-steps 2500]
        [--steps 1500] [--loops 100] [--seed 0] [--skip-shipped]

Makes a seeded studio set (`benchmarks.studio_set`: ``--pieces`` MIDI files and their
``ostinato-terms.toml``), then runs the recipe a studio would run::

    python -m engine_core.training.train --data DIR --add-permissive-corpus \\
        --only-commercial-ok --ae-steps 2500 --steps 1500 --out DIR/weights

(the studio's pieces plus every file of music21's corpus whose stated terms permit
commercial use: about 40 pieces), timing it in wall-clock and CPU seconds, and evaluates
the result beside the shipped weights with the same settings (`ostinato eval-model`'s
suite: each model against its own training corpus, so originality is measured against
the set it learned from). Prints Markdown tables. Not part of `make bench` (it trains
a model: minutes to tens of minutes).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def train(folder: Path, out: Path, ae_steps: int, steps: int, seed: int) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "engine_core.training.train",
        "--data",
        str(folder),
        "--add-permissive-corpus",
        "--only-commercial-ok",
        "--ae-steps",
        str(ae_steps),
        "--steps",
        str(steps),
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"command": " ".join(command[1:]), "wall_seconds": wall, "cpu_seconds": cpu}


def evaluate(weights: Path | None, loops: int, seed: int) -> tuple[Any, float]:
    import torch

    from engine_core.evaluation.corpus import corpus_for
    from engine_core.evaluation.suite import EvaluationSettings, run_evaluation
    from engine_core.model.composer import DiffusionComposer

    torch.set_num_threads(1)
    started = time.perf_counter()
    composer = DiffusionComposer.load(weights)
    dataset = corpus_for(composer.checkpoint)
    report = run_evaluation(composer, dataset, EvaluationSettings(loops=loops, seed=seed))
    return report, time.perf_counter() - started


def figures(report: Any) -> dict[str, str]:
    model = report.model
    adherence = report.adherence
    sweeps = ", ".join(f"{s.control} {'yes' if s.monotonic else 'no'}" for s in adherence.sweeps)
    overlap = report.diversity.default_overlap
    originality = model.originality
    return {
        "seam median in inner-join IQR": (
            f"{'pass' if model.seam.passed else 'FAIL'} ({model.seam.seam_median:.3f} in "
            f"[{model.seam.inner_q1:.3f}, {model.seam.inner_q3:.3f}])"
        ),
        "requested mode detected": f"{adherence.mode_rate:.1%}",
        "monotonic sweeps": sweeps,
        "variant overlap at the default variance": f"{overlap:.2f}",
        "loops copying >= 2 bars of a training piece": (
            f"{originality.loops_copying} of {model.loops}"
        ),
        "pitch-class entropy (bits)": f"{model.metrics['pitch_class_entropy']['mean']:.2f}",
        "scale consistency": f"{model.metrics['scale_consistency']['mean']:.3f}",
        "notes per bar": f"{model.metrics['notes_per_bar']['mean']:.1f}",
        "held-out corpus: loops copying >= 2 bars": (
            f"{report.columns['held-out'].originality.loops_copying}"
            if "held-out" in report.columns
            else "-"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/ostinato-clean-path"))
    parser.add_argument("--pieces", type=int, default=60)
    parser.add_argument("--ae-steps", type=int, default=2500)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--loops", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-shipped", action="store_true")
    args = parser.parse_args(argv)

    from benchmarks.studio_set import write_studio_set

    folder = args.out / "studio"
    weights = args.out / "weights"
    write_studio_set(folder, args.pieces, seed=args.seed)
    timing = train(folder, weights, args.ae_steps, args.steps, args.seed)
    config = json.loads((weights / "ostinato.json").read_text())
    data, summary = config["data"], config["training"]
    print("| clean recipe | value |\n| --- | --- |")
    print(f"| command | `python {timing['command']}` |")
    print(f"| pieces / bars | {data['pieces']} / {data['bars']} |")
    print(f"| pieces by source | {json.dumps(data['pieces_by_collection'])} |")
    print(f"| bars by terms class | {json.dumps(data['terms']['bars_by_class'])} |")
    print(f"| training wall time | {timing['wall_seconds'] / 60:.1f} min |")
    print(f"| training CPU time (all processes) | {timing['cpu_seconds'] / 60:.1f} min |")
    print(f"| phases (s) | {json.dumps(summary['timings'])} |")
    heldout = summary["autoencoder_heldout"]
    f1 = heldout.get("onset_f1", float("nan"))
    print(f"| held-out onset F1 | {f1:.3f} ({heldout['bars']} bars) |")
    sys.stdout.flush()

    rows: dict[str, dict[str, str]] = {}
    models = {"clean recipe": weights} | ({} if args.skip_shipped else {"shipped weights": None})
    for name, folder_or_none in models.items():
        report, seconds = evaluate(folder_or_none, args.loops, args.seed)
        rows[name] = figures(report)
        print(f"\n{name}: evaluated in {seconds:.0f} s: {json.dumps(rows[name])}", flush=True)
    names = list(rows)
    print(f"\n| eval-model, {args.loops} loops, seed {args.seed} | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    for metric in rows[names[0]]:
        print(f"| {metric} | " + " | ".join(rows[n][metric] for n in names) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
