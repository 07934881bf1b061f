"""`ostinato compose` from a cold process, and prompt inference in a warm one.

Cold: `ostinato compose PROMPT --variants 4 --bars 8` in a fresh interpreter with an empty
prompt-score cache (so MiniLM loads and embeds too), wall time and the child's CPU time.
Baseline, same run: `ostinato generate` of the state that compose saved (`--save-template`)
in a fresh interpreter — the same spec, model and render, no prompt inference.

Warm: `infer_state` over the acceptance set's prompts with MiniLM loaded but no cached
scores (each prompt is embedded), and again with the scores cached. Baselines: the explicit
parser alone (`read_prompt`) and one bare MiniLM `encode` of a sentence.
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

PROMPT = "intense battle theme with heavy drums and brass, epic feel"
VARIANTS = 4
BARS = 8


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of one cold process running `ostinato argv`."""
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


def cold() -> list[tuple[str, str, str]]:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        env = {**os.environ, "OSTINATO_CACHE": str(root / "cache")}
        compose = [PROMPT, "--variants", str(VARIANTS), "--bars", str(BARS)]
        wall, cpu = _timed(
            [
                "compose",
                *compose,
                "--out",
                str(root / "a"),
                "--save-template",
                str(root / "p" / "battle.toml"),
            ],
            env,
        )
        rows.append(
            (
                "compose, cold process, empty prompt cache",
                f"{wall:.1f} s wall, {cpu:.1f} s CPU",
                "<= 15 s",
            )
        )
        wall, cpu = _timed(["compose", *compose, "--out", str(root / "b")], env)
        rows.append(
            (
                "compose, cold process, prompt scores cached",
                f"{wall:.1f} s wall, {cpu:.1f} s CPU",
                "—",
            )
        )
        wall, cpu = _timed(
            ["generate", str(root / "p"), "--state", "battle", "--out", str(root / "c")], env
        )
        rows.append(
            (
                "baseline: generate the saved state, cold process",
                f"{wall:.1f} s wall, {cpu:.1f} s CPU",
                "—",
            )
        )
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
    """Both parts; `python benchmarks/bench_compose.py warm` runs the warm part alone."""
    parts = argv or []
    rows = (cold() if not parts or "cold" in parts else []) + (
        warm() if not parts or "warm" in parts else []
    )
    print("| what | measured | goal |")
    print("| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
