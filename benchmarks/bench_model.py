"""The generative model alone: a variant set's model time, and linear vs softmax attention.

(a) One variant set, 4 variants x 16 bars at the checkpoint's default sampler steps, with
the installed weights (`DiffusionComposer.compose`: conditioning, retake noise, guided
flow-matching sampling, bar decoding, note readout). The prompt is interpreted once
before timing: loading MiniLM and embedding a first prompt is a one-time cost per
process, reported on its own line. Baseline in the same run: the same set with a single
sampler step (everything but the extra denoiser steps), plus the parts on their own
(sampling, the bar decoder on 64 latents, the note readout) so the table says where the
time goes. Measured with torch on 1 and on 2 threads (the machine has 2 cores).

(b) One denoiser step for one loop under guidance (batch 2: conditional and unconditional
rows) at 64, 128, 256 and 512 bars (and 1024, 2048 beyond the goal's range), with the
ReLU-kernel linear self-attention and with softmax self-attention in the same blocks and
the same weights (`DenoiserConfig(attention="softmax")` loads the linear model's state
dict; neither kernel has parameters of its own), on one torch thread. Beside the whole
step: every block's self-attention module, and the attention kernel alone
(`relu_linear_attention` vs `scaled_dot_product_attention`), since at these lengths the
O(n) projections and the gated-conv feed-forward dominate a step. Ratios 512/64: linear
goal <= 10x (8x the bars), softmax kernel ~quadratic (64x). Also the 512/64 step ratio for
a 4-variant set (batch 8). The curves go to ``out/bench/model_attention.png``.

Every figure is the best of N runs after a warm-up (in (b), rounds over all lengths);
wall clock and this process's CPU time are both shown, with the load average (the
machine is shared).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine_core.model.denoiser import Denoiser

VARIANTS = 4
BARS = 16
SEED = 7
ATTENTION_BARS = (64, 128, 256, 512)
LONG_BARS = (1024, 2048)  # past the goal's range: where softmax's n² term takes over
PARTS = ("step", "layers", "kernel")
LOOP_BATCH = 2  # one loop under guidance: its conditional and unconditional rows
SET_BATCH = 2 * VARIANTS  # a guided 4-variant set
CURVE_THREADS = 1  # a shared box: two threads contend with other work and scatter the figures
PLOT_PATH = Path("out/bench/model_attention.png")
GOAL_SET_S = 0.5
GOAL_LINEAR_RATIO = 10.0


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def best_of(run: Callable[[], object], repeats: int, warmup: int = 1) -> Timing:
    """The fastest of `repeats` runs (wall clock) after `warmup` untimed ones."""
    for _ in range(warmup):
        run()
    best = Timing(float("inf"), float("inf"))
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        timing = Timing(time.perf_counter() - wall, time.process_time() - cpu)
        if timing.wall < best.wall:
            best = timing
    return best


def set_spec():  # -> GenerationSpec
    from engine_core.spec import GenerationSpec, StemSpec

    return GenerationSpec(
        prompt="a driving orchestral battle with a string ostinato and war drums",
        tags=("orchestral", "epic", "driving"),
        bpm=120.0,
        meter="4/4",
        key="D minor",
        bars=BARS,
        energy=0.8,
        stems=(StemSpec("strings", "harmony"), StemSpec("bass", "bass", register=(26, 50))),
    )


def measure_set(composer, spec, threads: int) -> dict[str, Timing]:
    import torch

    from engine_core.data.pianoroll import bars_to_notes
    from engine_core.model.sampling import retake_noise, sample_latents

    torch.set_num_threads(threads)
    steps = composer.sampler.steps
    repeats = 5
    timings = {
        "set": best_of(lambda: composer.compose(spec, seed=SEED, variants=VARIANTS), repeats),
        "set_one_step": best_of(
            lambda: composer.compose(spec, seed=SEED, variants=VARIANTS, steps=1), repeats
        ),
    }
    checkpoint = composer.checkpoint
    controls = composer.controls(spec)
    cond = torch.from_numpy(controls.features())[None].repeat(VARIANTS, 1, 1)
    null = torch.from_numpy(controls.unconditional().features())[None].repeat(VARIANTS, 1, 1)
    dim = checkpoint.denoiser.config.latent_dim

    def sample() -> torch.Tensor:
        generator = torch.Generator().manual_seed(SEED)
        base = torch.randn(1, BARS, dim, generator=generator)
        fresh = torch.randn(VARIANTS, BARS, dim, generator=generator)
        noise = retake_noise(base.expand(VARIANTS, -1, -1), fresh, spec.variance)
        return sample_latents(
            checkpoint.denoiser, noise, cond, null, composer.sampler, roll_generator=generator
        )

    timings["sampling"] = best_of(sample, repeats)
    latents = sample().reshape(-1, dim) * checkpoint.latent_std + checkpoint.latent_mean

    def decode() -> object:
        with torch.no_grad():
            return checkpoint.autoencoder.decode(latents)

    timings["decode"] = best_of(decode, repeats)
    probs = decode().numpy()
    probs = probs.reshape(VARIANTS, BARS, *probs.shape[1:])
    timings["readout"] = best_of(lambda: [bars_to_notes(rolls, 16) for rolls in probs], repeats)
    timings["per_step"] = Timing(
        (timings["set"].wall - timings["set_one_step"].wall) / max(steps - 1, 1),
        (timings["set"].cpu - timings["set_one_step"].cpu) / max(steps - 1, 1),
    )
    return timings


def prompt_load_cost(spec) -> tuple[Timing, Timing]:
    """(MiniLM load + first prompt, a second new prompt) with an empty prompt cache."""
    from engine_core.model.text import PromptInterpreter

    with tempfile.TemporaryDirectory() as folder:
        prompts = PromptInterpreter(cache_dir=Path(folder))
        first = best_of(lambda: prompts.controls(spec.prompt), repeats=1, warmup=0)
        second = best_of(lambda: prompts.controls(spec.prompt + " at night"), 1, warmup=0)
    return first, second


def kernel_models(denoiser: Denoiser) -> dict[str, Denoiser]:
    """The installed denoiser and the same weights with softmax self-attention."""
    from engine_core.model.denoiser import Denoiser, DenoiserConfig

    softmax = Denoiser(DenoiserConfig(**{**denoiser.config.to_dict(), "attention": "softmax"}))
    softmax.load_state_dict(denoiser.state_dict())
    return {"linear": denoiser, "softmax": softmax.eval()}


@dataclass(frozen=True)
class Scaling:
    """Best-of-N times of one denoiser forward at one length, and of its attention parts."""

    step: Timing  # the whole denoiser
    layers: Timing  # every block's self-attention module (projections, norms, RoPE, kernel)
    kernel: Timing  # the attention kernel alone, once per block


def attention_scaling(
    models: dict[str, Denoiser],
    batch: int,
    bars_list: tuple[int, ...],
    *,
    parts: tuple[str, ...] = PARTS,
    rounds: int = 5,
) -> dict[str, dict[int, Scaling]]:
    """kernel name -> bars -> timings, each the best of `rounds` after a warm-up round.

    Rounds go over every (length, kernel, part) in turn, so a burst of load from other
    processes lands on all lengths alike instead of on one of them.
    """
    import torch
    from torch.nn import functional as F

    from engine_core.model.denoiser import circular_rope, relu_linear_attention

    config = models["linear"].config
    head_dim = config.width // config.heads
    kernels = {"linear": relu_linear_attention, "softmax": F.scaled_dot_product_attention}
    generator = torch.Generator().manual_seed(0)
    condition = torch.zeros(batch, config.condition_tokens, config.condition_dim)
    t = torch.full((batch,), 0.5)
    runs: dict[tuple[str, int, str], Callable[[], object]] = {}
    for bars in bars_list:
        x = torch.randn(batch, bars, config.latent_dim, generator=generator)
        hidden = torch.randn(batch, bars, config.width, generator=generator)
        q, k, v = torch.randn(3, batch, config.heads, bars, head_dim, generator=generator)
        rope = circular_rope(bars, head_dim, torch.device("cpu"))
        for name, model in models.items():
            kernel = kernels[name]

            def step(model=model, x=x) -> None:
                model(x, t, condition)

            def layers(model=model, hidden=hidden, rope=rope) -> None:
                for block in model.blocks:
                    block.attn(hidden, rope)

            def kernel_only(kernel=kernel, q=q, k=k, v=v) -> None:
                for _ in range(config.depth):
                    kernel(q, k, v)

            for part, run in (("step", step), ("layers", layers), ("kernel", kernel_only)):
                if part in parts:
                    runs[(name, bars, part)] = run
    best: dict[tuple[str, int, str], Timing] = {}
    with torch.no_grad():
        for key, run in runs.items():
            best[key] = best_of(run, repeats=1)  # includes the warm-up run
        for _ in range(rounds - 1):
            for key, run in runs.items():
                timing = best_of(run, repeats=1, warmup=0)
                if timing.wall < best[key].wall:
                    best[key] = timing
    skipped = Timing(float("nan"), float("nan"))
    return {
        name: {
            bars: Scaling(*(best.get((name, bars, part), skipped) for part in PARTS))
            for bars in bars_list
        }
        for name in models
    }


def plot(results: dict[str, dict[int, Scaling]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(1, 3, figsize=(14, 3.9))
    titles = {
        "step": f"one denoiser step (batch {LOOP_BATCH}, {CURVE_THREADS} thread)",
        "layers": "its self-attention layers",
        "kernel": "the attention kernel alone",
    }
    all_bars = list(results["linear"])
    for axis, part in zip(axes, PARTS, strict=True):
        for name, marker in (("linear", "o"), ("softmax", "s")):
            ms = [getattr(results[name][b], part).wall * 1000 for b in all_bars]
            axis.plot(all_bars, ms, marker=marker, label=f"{name} attention")
        reference = getattr(results["linear"][all_bars[0]], part).wall * 1000
        for power, style, label in ((1, ":", "O(n)"), (2, "--", "O(n²)")):
            scaled = [reference * (b / all_bars[0]) ** power for b in all_bars]
            axis.plot(all_bars, scaled, style, color="#999", linewidth=0.8, label=label)
        axis.axvspan(ATTENTION_BARS[0], ATTENTION_BARS[-1], color="#eee", zorder=0)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xticks(all_bars, [str(b) for b in all_bars])
        axis.set_xlabel("bars in the loop (shaded: the goal's 64-512)")
        axis.set_ylabel("ms, best of N")
        axis.set_title(titles[part])
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def print_set(composer, spec) -> None:
    import torch

    steps = composer.sampler.steps
    default_threads = torch.get_num_threads()
    print("| variant set, 4 x 16 bars | torch threads | wall s | CPU s | load avg |")
    print("| --- | ---: | ---: | ---: | ---: |")
    sets: dict[int, dict[str, Timing]] = {}
    for threads in (1, 2):
        load = os.getloadavg()[0]
        sets[threads] = timings = measure_set(composer, spec, threads)
        rows = (
            (f"**compose, {steps} steps (goal <= {GOAL_SET_S} s)**", "set"),
            ("baseline: compose, 1 step", "set_one_step"),
            ("one extra sampler step (difference / (steps - 1))", "per_step"),
            (f"sampling alone ({steps} steps, guided)", "sampling"),
            ("bar decoder alone (64 latents)", "decode"),
            ("note readout alone (64 bars)", "readout"),
        )
        for label, key in rows:
            timing = timings[key]
            print(f"| {label} | {threads} | {timing.wall:.3f} | {timing.cpu:.3f} | {load:.2f} |")
    torch.set_num_threads(default_threads)
    best = min(sets.values(), key=lambda t: t["set"].wall)["set"].wall
    share = sets[1]["sampling"].cpu / sets[1]["set"].cpu
    print(
        f"\nbest set time {best:.3f} s: {'meets' if best <= GOAL_SET_S else 'misses'} the "
        f"{GOAL_SET_S} s goal; sampling is {share:.0%} of the 1-thread set's CPU time"
    )
    slowdown = sets[2]["set"].wall / sets[1]["set"].wall
    if slowdown > 1.2:
        print(
            f"two torch threads were {slowdown:.1f}x slower than one: another process holds a "
            "core, and each parallel region of every layer waits for the second thread"
        )


def print_scaling(composer) -> None:
    import torch

    default_threads = torch.get_num_threads()
    torch.set_num_threads(CURVE_THREADS)
    models = kernel_models(composer.checkpoint.denoiser)
    results = attention_scaling(models, LOOP_BATCH, ATTENTION_BARS + LONG_BARS)
    first, last = ATTENTION_BARS[0], ATTENTION_BARS[-1]
    sets = attention_scaling(models, SET_BATCH, (first, last), parts=("step",), rounds=3)
    torch.set_num_threads(default_threads)
    print(
        f"\nOne denoiser step, batch {LOOP_BATCH} (one loop, guided), {CURVE_THREADS} torch "
        f"thread, ms best of N; load average {os.getloadavg()[0]:.2f}\n"
    )
    header = [f"{kind} {part}" for part in PARTS for kind in ("linear", "softmax")]
    print("| bars | " + " | ".join(header) + " |")
    print("| ---: |" + " ---: |" * len(header))

    def ms(kind: str, bars: int, part: str, table: dict[str, dict[int, Scaling]]) -> float:
        return getattr(table[kind][bars], part).wall * 1000

    def ratio(kind: str, part: str, table: dict[str, dict[int, Scaling]] = results) -> float:
        return ms(kind, last, part, table) / ms(kind, first, part, table)

    for bars in ATTENTION_BARS + LONG_BARS:
        cells = [ms(k, bars, p, results) for p in PARTS for k in ("linear", "softmax")]
        print(f"| {bars} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    ratios = [ratio(k, p) for p in PARTS for k in ("linear", "softmax")]
    print(
        f"| **{last}/{first}** | **{ratios[0]:.1f}x** | "
        + " | ".join(f"{r:.1f}x" for r in ratios[1:])
        + " |"
    )
    verdict = "met" if ratio("linear", "step") <= GOAL_LINEAR_RATIO else "missed"
    print(
        f"\n{last / first:.0f}x the bars: a linear step takes {ratio('linear', 'step'):.1f}x "
        f"(goal <= {GOAL_LINEAR_RATIO:g}x: {verdict}); the softmax kernel "
        f"{ratio('softmax', 'kernel'):.1f}x, the linear kernel {ratio('linear', 'kernel'):.1f}x "
        f"(quadratic: {(last / first) ** 2:.0f}x). Batch {SET_BATCH} (a 4-variant set): "
        f"linear step {ratio('linear', 'step', sets):.1f}x, "
        f"softmax step {ratio('softmax', 'step', sets):.1f}x"
    )
    plot(results, PLOT_PATH)
    print(f"curve: {PLOT_PATH}")


def main() -> None:
    from engine_core.model.composer import DiffusionComposer

    spec = set_spec()
    started = time.perf_counter()
    composer = DiffusionComposer.load()
    load_s = time.perf_counter() - started
    minilm, second_prompt = prompt_load_cost(spec)
    composer.controls(spec)  # the prompt is now in the composer's memory cache
    print(
        f"weights {composer.weights_version}, {composer.sampler.steps} sampler steps "
        f"({composer.sampler.guidance} guidance: 2 denoiser rows per variant), "
        f"{VARIANTS} variants x {BARS} bars; load average {os.getloadavg()[0]:.2f}\n"
    )
    print("| one-time cost | seconds |")
    print("| --- | ---: |")
    print(f"| checkpoint load (safetensors, both models) | {load_s:.3f} |")
    print(f"| MiniLM load + first prompt (empty prompt cache) | {minilm.wall:.3f} |")
    print(f"| a further new prompt (MiniLM loaded) | {second_prompt.wall:.3f} |")
    print()
    print_set(composer, spec)
    print_scaling(composer)


if __name__ == "__main__":
    main()
