"""`ostinato compose` from a cold process against `ostinato generate`, and warm inference.

Cold (`cold`): fresh interpreters, each with its own EMPTY cache (`OSTINATO_CACHE`), wall
time and the child's CPU time (user + system, render workers included):

- `compose PROMPT --variants 4 --bars 8` for a prompt whose words decide everything (the
  battle theme) and for one whose genre needs MiniLM (the underwater cave);
- baseline, same run: `generate` of the state each compose saved (`--save-template`): the
  same spec, model and render, no prompt inference. compose's overhead = the difference.

Stages (`stages`): one cold compose in a child that times each stage (import, prompt
inference with MiniLM, engine + model load, the model's compose, render, write) in CPU
and wall seconds.

Warm (`warm`): `infer_state` over the acceptance set's prompts with MiniLM loaded but no
cached scores (each prompt is embedded), and again with the scores cached. Baselines: the
explicit parser alone (`read_prompt`) and one bare MiniLM `encode` of a sentence.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

PROMPTS = {
    "battle": "intense battle theme with heavy drums and brass, epic feel",
    "cave": "calm underwater cave, marimba and kalimba, no drums",
}
VARIANTS = 4
BARS = 8


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], cache: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one cold process running `ostinato argv` with cache `cache`."""
    env = {**os.environ, "OSTINATO_CACHE": str(cache)}
    cpu = _child_cpu()
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "middleware.cli", *argv],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start, _child_cpu() - cpu


def _fmt(wall: float, cpu: float) -> str:
    return f"{wall:.1f} s wall, {cpu:.1f} s CPU"


def cold() -> list[tuple[str, str, str]]:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for name, prompt in PROMPTS.items():
            state = root / "p" / f"{name}.toml"
            compose = [
                "compose",
                prompt,
                "--variants",
                str(VARIANTS),
                "--bars",
                str(BARS),
                "--out",
                str(root / f"{name}-compose"),
                "--save-template",
                str(state),
            ]
            c_wall, c_cpu = _timed(compose, root / f"cache-{name}-compose")
            generate = ["generate", str(root / "p"), "--state", name]
            g_wall, g_cpu = _timed(
                [*generate, "--out", str(root / f"{name}-generate")], root / f"cache-{name}-gen"
            )
            rows.append(
                (
                    f"compose {name!r}, cold process, empty cache",
                    _fmt(c_wall, c_cpu),
                    "<= 15 s",
                )
            )
            rows.append(
                (
                    f"baseline: generate the saved {name!r} state, cold, empty cache",
                    _fmt(g_wall, g_cpu),
                    "—",
                )
            )
            rows.append(
                (
                    f"compose's overhead over generate ({name!r})",
                    f"{c_wall - g_wall:+.1f} s wall, {c_cpu - g_cpu:+.1f} s CPU",
                    "small",
                )
            )
    return rows


_STAGES = r"""
import json, os, sys, time
marks = [("start", time.perf_counter(), time.process_time())]
def mark(name):
    marks.append((name, time.perf_counter(), time.process_time()))
from middleware.compose import infer_composition, _write
from engine_core.generate import Engine
mark("import (CLI, engine, torch)")
inference = infer_composition(sys.argv[1], bars=int(sys.argv[2]))
spec = inference.spec()
mark("prompt inference (MiniLM when needed)")
engine = Engine(render_workers=max(1, len(os.sched_getaffinity(0))))
composer = engine.composer
mark("engine + model load")
scores = composer.compose(spec, seed=0, variants=int(sys.argv[3]))
mark("model: compose the scores")
variants = engine.render_scores(spec, scores, state="compose", seed=0)
mark("arrange + render")
_write(variants, __import__("pathlib").Path(sys.argv[4]), "wav", False, None)
mark("write files")
engine.close()
print(json.dumps([(b[0], b[1] - a[1], b[2] - a[2]) for a, b in zip(marks, marks[1:])]))
"""


def stages() -> list[tuple[str, str, str]]:
    import json

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for name, prompt in PROMPTS.items():
            env = {**os.environ, "OSTINATO_CACHE": str(root / f"cache-{name}")}
            done = subprocess.run(
                [sys.executable, "-c", _STAGES, prompt, str(BARS), str(VARIANTS), str(root / name)],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            for stage, wall, cpu in json.loads(done.stdout.strip().splitlines()[-1]):
                rows.append((f"{name}: {stage}", f"{wall:.2f} s wall, {cpu:.2f} s CPU", "—"))
    return rows


def warm() -> list[tuple[str, str, str]]:
    from middleware.prompt import infer_state, read_prompt
    from middleware.prompt.acceptance import load_set
    from middleware.prompt.similarity import PromptScorer

    prompts = [p.text for p in load_set()]
    with tempfile.TemporaryDirectory() as scratch:
        loaded = PromptScorer(cache_dir=Path(scratch) / "warmup")
        infer_state("a warm-up prompt about nothing in particular", scorer=loaded)
        interpreter = loaded.interpreter
        interpreter._memory.clear()  # the engine's own prompt cache: measure the encodes

        def run(scorer: PromptScorer) -> tuple[list[float], list[float]]:
            times, cpu = [], []
            for text in prompts:
                start, start_cpu = time.perf_counter(), time.process_time()
                infer_state(text, scorer=scorer)
                times.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
            return times, cpu

        fresh = PromptScorer(cache_dir=Path(scratch) / "fresh", interpreter=interpreter)
        interpreter._cache_dir = Path(scratch) / "text"
        embedded = run(fresh)
        cached = run(fresh)
        parse = []
        for text in prompts:
            start = time.perf_counter()
            read_prompt(text)
            parse.append((time.perf_counter() - start) * 1000)
        encode, encode_cpu = [], []
        for text in prompts:
            start, start_cpu = time.perf_counter(), time.process_time()
            interpreter.embed([text])
            encode.append((time.perf_counter() - start) * 1000)
            encode_cpu.append((time.process_time() - start_cpu) * 1000)

    def fmt(times: list[float], cpu: list[float] | None = None) -> str:
        text = f"median {median(times):.1f} ms, max {max(times):.1f} ms wall"
        if cpu is not None:
            text += f"; CPU median {median(cpu):.1f} ms, max {max(cpu):.1f} ms"
        return text

    n = len(prompts)
    return [
        (f"prompt inference, warm, MiniLM embeds ({n} prompts)", fmt(*embedded), "<= 50 ms"),
        (f"prompt inference, warm, scores cached ({n} prompts)", fmt(*cached), "—"),
        ("baseline: explicit parser alone", fmt(parse), "—"),
        ("baseline: one MiniLM encode", fmt(encode, encode_cpu), "—"),
    ]


def main(argv: list[str] | None = None) -> None:
    """All parts; `python benchmarks/bench_compose.py cold|stages|warm` runs the ones named.

    CPU figures (process_time, child rusage) are the ones to compare on a shared machine;
    stage CPU is the main process only (render workers run in child processes)."""
    parts = argv or ["cold", "stages", "warm"]
    rows = []
    for part, run in (("cold", cold), ("stages", stages), ("warm", warm)):
        if part in parts:
            rows += run()
    print("| what | measured | goal |")
    print("| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
