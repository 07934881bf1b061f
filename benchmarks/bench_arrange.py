"""Arranging and MIDI export, CPU time per set: this tree beside a baseline tree.

In `Engine.render_scores` the main thread arranges each variant and writes its MIDI file
while the render threads synthesise, so with both cores busy this Python time is on the
critical path. Measured here alone, in CPU seconds (`time.process_time`, steadier than
wall-clock time on a shared machine), for the 4 variants of `bench_generate`'s spec
(16 bars of 4/4 at 120 bpm) and of a 6/8 and a 7/8 spec: `arrange` of every variant
(the set's theme as a new set sees it: nothing kept from an earlier run) and `loop_midi`
of every arrangement.

The scores are composed once (the engine's composer: the diffusion model, or Bach chorales
without weights) and every tree arranges the same ones, in fresh processes taking turns.
The baseline tree is `OSTINATO_BENCH_BASELINE_TREE` (another checkout's source) or else
`git archive` of `OSTINATO_BENCH_BASELINE_REF` (default `BASELINE_REF`: the arranger
before its quick paths). Each tree's output digest (every arrangement's notes and every
MIDI file's bytes) is printed: equal digests, the same arrangements and files.
"""

from __future__ import annotations

import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The commit before the arranger's quick paths (numpy chord fit, direct MIDI bytes,
#: the set's theme material built once).
BASELINE_REF = "524b97a"
VARIANTS = 4
SEED = 7
#: Timed sets per process, and turns of (this tree, baseline tree) processes.
RUNS = 5
TURNS = 2


def bench_specs() -> dict[str, object]:  # label -> GenerationSpec
    from dataclasses import replace

    from benchmarks.bench_generate import bench_spec

    spec = bench_spec()
    return {
        "4/4 D minor": spec,
        "6/8 D minor": replace(spec, meter="6/8", bpm=100.0),
        "7/8 D minor": replace(spec, meter="7/8"),
    }


def compose_sets(path: Path) -> str:
    """Compose every spec's scores once and pickle (label, spec, scores) rows to `path`."""
    from benchmarks.bench_generate import make_engine

    engine, description = make_engine()
    with engine:
        rows = [
            (label, spec, engine.composer.compose(spec, seed=SEED, variants=VARIANTS))
            for label, spec in bench_specs().items()
        ]
    path.write_bytes(pickle.dumps(rows))
    return description


def _child(scores_path: str, runs: int) -> None:
    """In a fresh process (`python benchmarks/bench_arrange.py --child PATH RUNS`, the
    engine from PYTHONPATH): one JSON line per spec with each run's CPU seconds."""
    import hashlib

    import engine_core
    from engine_core.arrange import arranger
    from engine_core.arrange.grooves import load_library
    from engine_core.export.midi import loop_midi

    library = load_library()
    for label, spec, scores in pickle.loads(Path(scores_path).read_bytes()):

        def arrange_set(scores=scores, spec=spec) -> list:  # type: ignore[no-untyped-def]
            kept = getattr(arranger, "_theme", None)
            if kept is not None:
                kept.cache_clear()  # a new set: its theme is not known yet
            return [
                arranger.arrange(
                    score, spec, seed=SEED, variant_index=i, grooves=library, theme=scores[0]
                )
                for i, score in enumerate(scores)
            ]

        arrangements = arrange_set()  # warm-up (imports, the groove library)
        digest = hashlib.sha256(repr(arrangements).encode())
        for arrangement in arrangements:
            digest.update(loop_midi(arrangement))
        figures: dict[str, list[float]] = {"arrange": [], "midi": []}
        for _ in range(runs):
            started = time.process_time()
            arrangements = arrange_set()
            arranged = time.process_time()
            for arrangement in arrangements:
                loop_midi(arrangement)
            figures["arrange"].append(arranged - started)
            figures["midi"].append(time.process_time() - arranged)
        row = {"label": label, "digest": digest.hexdigest()[:12], **figures}
        print(json.dumps({**row, "engine": engine_core.__file__}), flush=True)


def baseline_tree(workdir: Path) -> tuple[Path, str] | None:
    """The baseline's source: `OSTINATO_BENCH_BASELINE_TREE`, or `git archive` of the
    baseline ref unpacked in `workdir` (None when neither is available)."""
    given = os.environ.get("OSTINATO_BENCH_BASELINE_TREE")
    if given:
        return Path(given).resolve(), given
    ref = os.environ.get("OSTINATO_BENCH_BASELINE_REF", BASELINE_REF)
    here = Path(__file__).resolve().parent.parent
    target = workdir / "baseline"
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(here), "archive", ref], capture_output=True, check=False
    )
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target, f"git archive {ref}"


def _run_tree(root: Path, scores: Path) -> list[dict]:
    from benchmarks.trees import run_child

    rows = run_child(__file__, root, str(scores), str(RUNS))
    for row in rows:  # the engine really came from `root`
        assert Path(row["engine"]).resolve().is_relative_to(root), row["engine"]
    return rows


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as workdir:
        scores = Path(workdir) / "scores.pickle"
        description = compose_sets(scores)
        baseline = baseline_tree(Path(workdir))
        trees = [("this tree", here)] + ([("baseline", baseline[0])] if baseline else [])
        results: dict[str, list[dict]] = {label: [] for label, _ in trees}
        for turn in range(TURNS):  # A B, then B A: a load that drifts favours neither
            for label, root in trees if turn % 2 == 0 else trees[::-1]:
                results[label] += _run_tree(root, scores)
    source = baseline[1] if baseline else "none (no git checkout)"
    print(
        f"composer: {description}; {VARIANTS} variants x 16 bars, seed {SEED}; baseline: "
        f"{source}; CPU ms per set (median of {TURNS} x {RUNS} runs; the machine's load "
        "adds noise)\n"
    )
    _table(results)


def _table(results: dict[str, list[dict]]) -> None:
    labels = list(results)
    header = " | ".join(f"{tree} arrange | {tree} MIDI | {tree} total" for tree in labels)
    print(f"| spec | {header} | speed-up | digests |")
    print("| --- |" + " ---: |" * (3 * len(labels) + 1) + " --- |")
    specs = dict.fromkeys(row["label"] for row in results[labels[0]])
    for spec in specs:
        cells, totals, digests = [], [], []
        for tree in labels:
            rows = [row for row in results[tree] if row["label"] == spec]
            arrange = statistics.median(v for row in rows for v in row["arrange"]) * 1000
            midi = statistics.median(v for row in rows for v in row["midi"]) * 1000
            cells += [f"{arrange:.1f}", f"{midi:.1f}", f"{arrange + midi:.1f}"]
            totals.append(arrange + midi)
            digests.append(rows[0]["digest"])
        speed = f"{totals[1] / totals[0]:.2f}x" if len(totals) > 1 else "-"
        same = "equal" if len(set(digests)) == 1 and len(digests) > 1 else " / ".join(digests)
        print(f"| {spec} | {' | '.join(cells)} | {speed} | {same} {digests[0]} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
