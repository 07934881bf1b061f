"""`make train`: data -> bar autoencoder -> latent statistics -> denoiser -> checkpoint.

    python -m engine_core.training.train [--data DIR] [--tiny] [--out DIR]
        [--ae-steps N] [--steps N] [--workers N] [--seed N] [--autoencoder-from DIR]
        [--autoencoder-config JSON] [--condition-dropout P] [--only-commercial-ok]
        [--add-permissive-corpus]

Everything runs on the CPU. The default schedule (data build on both cores, then both
models) fits the project's budget of 60 minutes on 2 cores; ``--tiny`` trains on a few
dozen pieces (a smoke test of the pipeline: about 15 minutes, most of it parsing). The
output folder gets the checkpoint (`engine_core.model.checkpoint`), ``training_log.json``
(losses, timings, held-out autoencoder metrics, the data manifest) and ``loss.png``.

The data manifest, with the terms every training file states (per class and per source),
goes into the checkpoint, so the weights say what they were learned from.
``--only-commercial-ok`` trains only on files whose stated terms permit commercial use
(a studio folder declares its terms in ``ostinato-terms.toml``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine_core.data.dataset import (
    DEFAULT_COLLECTIONS,
    TINY_COLLECTIONS,
    BarDataset,
    DatasetError,
    build_dataset,
)
from engine_core.data.pianoroll import ONSET
from engine_core.errors import OstinatoError
from engine_core.model.autoencoder import AutoencoderConfig, BarAutoencoder
from engine_core.model.checkpoint import default_weights_dir, save_checkpoint
from engine_core.model.denoiser import Denoiser, DenoiserConfig
from engine_core.model.sampling import SamplerSettings
from engine_core.training.augment import octave_augment
from engine_core.training.windows import WindowSampler

ProgressCallback = Callable[[str, int, int], None]
#: each control is dropped from a training window with this probability (and all but the
#: meter with 0.1), so the model knows unconditional and partial requests for guidance
CONDITION_DROPOUT = 0.15
#: The default schedule (the shipped weights'): about 29 + 16 minutes on this 2-core host.
AUTOENCODER_STEPS = 10000
DENOISER_STEPS = 5000


@dataclass
class TrainingLog:
    entries: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def add(self, phase: str, step: int, **values: float) -> None:
        entry = {
            "phase": phase,
            "step": step,
            "seconds": round(time.perf_counter() - self.started, 2),
        }
        entry.update({k: round(float(v), 5) for k, v in values.items()})
        self.entries.append(entry)


def lr_at(step: int, total: int, peak: float, warmup: int = 100) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def train_autoencoder(
    dataset: BarDataset,
    config: AutoencoderConfig,
    *,
    steps: int,
    batch: int = 256,
    lr: float = 5e-3,
    seed: int = 0,
    log: TrainingLog | None = None,
    progress: ProgressCallback | None = None,
) -> BarAutoencoder:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = BarAutoencoder(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    train_bars = dataset.bar_indices("train")
    # empty bars carry little to learn: keep a few
    filled = train_bars[dataset.bars[train_bars].reshape(len(train_bars), -1).any(axis=1)]
    model.train()
    for step in range(steps):
        for group in optimiser.param_groups:
            group["lr"] = lr_at(step, steps, lr)
        chosen = rng.choice(filled, size=batch)
        bars = torch.from_numpy(octave_augment(dataset.bars[chosen], rng))
        loss, parts = model.loss(bars)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        if log is not None and (step % 25 == 0 or step == steps - 1):
            log.add("autoencoder", step, loss=float(loss.detach()), **parts)
        if progress is not None and (step % 10 == 0 or step == steps - 1):
            progress("autoencoder", step + 1, steps)
    model.eval()
    return model


@torch.no_grad()
def encode_all(model: BarAutoencoder, bars: np.ndarray, chunk: int = 2048) -> torch.Tensor:
    out = [model.encode(torch.from_numpy(bars[i : i + chunk])) for i in range(0, len(bars), chunk)]
    return torch.cat(out)


@torch.no_grad()
def onset_f1(model: BarAutoencoder, bars: np.ndarray, limit: int = 4000) -> dict[str, float]:
    """Note-onset precision/recall/F1 of encode->decode on `bars` (onset channel only).

    With no bars (a folder too small to hold a piece out) there is nothing to measure:
    only ``{"bars": 0}`` is returned.
    """
    bars = bars[:limit]
    if len(bars) == 0:
        return {"bars": 0}
    probs = torch.cat(
        [
            model.decode(model.encode(torch.from_numpy(bars[i : i + 1024])))
            for i in range(0, len(bars), 1024)
        ]
    ).numpy()
    predicted = probs[:, :, ONSET] >= 0.5
    truth = bars[:, :, ONSET].astype(bool)
    tp = float((predicted & truth).sum())
    precision = tp / max(float(predicted.sum()), 1.0)
    recall = tp / max(float(truth.sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"onset_precision": precision, "onset_recall": recall, "onset_f1": f1, "bars": len(bars)}


def flow_matching_loss(
    model: Denoiser, latents: torch.Tensor, condition: torch.Tensor
) -> torch.Tensor:
    """Rectified-flow loss: x_t = (1-t)x0 + t·eps, target velocity eps - x0, t logit-normal."""
    batch = latents.shape[0]
    t = torch.sigmoid(torch.randn(batch))
    noise = torch.randn_like(latents)
    noisy = (1 - t[:, None, None]) * latents + t[:, None, None] * noise
    velocity = model(noisy, t, condition)
    return torch.nn.functional.mse_loss(velocity, noise - latents)


def train_denoiser(
    latents: torch.Tensor,
    sampler: WindowSampler,
    quantiles: np.ndarray,
    config: DenoiserConfig,
    *,
    steps: int,
    batch: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    condition_dropout: float = CONDITION_DROPOUT,
    log: TrainingLog | None = None,
    progress: ProgressCallback | None = None,
) -> Denoiser:
    torch.manual_seed(seed)
    model = Denoiser(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    ema = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.995)
    )
    model.train()
    for step in range(steps):
        for group in optimiser.param_groups:
            group["lr"] = lr_at(step, steps, lr, warmup=200)
        index, tokens, _ = sampler.draw(batch, quantiles, drop_each=condition_dropout)
        loss = flow_matching_loss(model, latents[torch.from_numpy(index)], torch.from_numpy(tokens))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        ema.update_parameters(model)
        if log is not None and (step % 25 == 0 or step == steps - 1):
            log.add("denoiser", step, loss=float(loss.detach()), bars=index.shape[1])
        if progress is not None and (step % 10 == 0 or step == steps - 1):
            progress("denoiser", step + 1, steps)
    final = Denoiser(config)
    final.load_state_dict(ema.module.state_dict())
    final.eval()
    return final


def _final_loss(log: TrainingLog, phase: str, reused: float | None) -> float | None:
    """Mean of the phase's last 8 logged losses; a reused autoencoder's own figure (the
    phase did not run here), or None when there is none (never NaN: the logs are JSON)."""
    losses = [e["loss"] for e in log.entries if e["phase"] == phase][-8:]
    if losses:
        return float(np.mean(losses))
    return None if reused is None else float(reused)


def reused_autoencoder(folder: Path, dataset: BarDataset) -> tuple[BarAutoencoder, dict[str, Any]]:
    """The bar autoencoder of the checkpoint in `folder`, which must have been trained on
    this data set, and where it came from (for the training summary)."""
    from engine_core.model.checkpoint import AUTOENCODER_FORMATS, load_checkpoint

    checkpoint = load_checkpoint(
        folder, expect_data_hash=str(dataset.manifest["hash"]), formats=AUTOENCODER_FORMATS
    )
    summary = checkpoint.config.get("training", {})
    return checkpoint.autoencoder, {
        "trained": False,
        "checkpoint": checkpoint.weights_version,
        "autoencoder_steps": summary.get("autoencoder_steps", 0),
        "autoencoder_seconds": summary.get("timings", {}).get("autoencoder_seconds", 0.0),
        "final_loss": summary.get("final_loss", {}).get("autoencoder"),
    }


def plot_losses(log: TrainingLog, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for axis, phase, title in (
        (axes[0], "autoencoder", "bar autoencoder (weighted BCE)"),
        (axes[1], "denoiser", "denoiser (flow-matching MSE)"),
    ):
        rows = [e for e in log.entries if e["phase"] == phase]
        if rows:
            steps = np.array([e["step"] for e in rows])
            values = np.array([e["loss"] for e in rows])
            axis.plot(steps, values, color="#bbb", linewidth=0.8, label="loss")
            if len(values) >= 8:
                kernel = np.ones(8) / 8
                axis.plot(steps[7:], np.convolve(values, kernel, mode="valid"), label="mean of 8")
            axis.set_yscale("log")
            axis.legend()
        axis.set_title(title)
        axis.set_xlabel("step")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def run(
    *,
    out: Path,
    data_dir: Path | None,
    tiny: bool,
    ae_steps: int,
    steps: int,
    workers: int | None,
    seed: int,
    autoencoder_from: Path | None = None,
    ae_config: AutoencoderConfig | None = None,
    condition_dropout: float = CONDITION_DROPOUT,
    only_commercial_ok: bool = False,
    permissive_corpus: bool = False,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    log = TrainingLog()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    dataset = build_dataset(
        data_dir=data_dir,
        collections=TINY_COLLECTIONS if tiny else DEFAULT_COLLECTIONS,
        workers=workers,
        only_commercial_ok=only_commercial_ok,
        permissive_corpus=permissive_corpus,
        progress=progress,
    )
    timings["data_seconds"] = round(time.perf_counter() - started, 1)
    if len(dataset.pieces("train")) == 0:
        raise DatasetError(
            f"no training piece: all {len(dataset.piece_ids)} piece(s) fell into the "
            "held-out split (one piece in ten, by a hash of its file name); add more scores"
        )

    phase = time.perf_counter()
    ae_config = ae_config or AutoencoderConfig()
    if autoencoder_from is None:
        autoencoder = train_autoencoder(
            dataset, ae_config, steps=ae_steps, seed=seed, log=log, progress=progress
        )
        timings["autoencoder_seconds"] = round(time.perf_counter() - phase, 1)
        ae_source: dict[str, Any] = {"trained": True}
    else:
        autoencoder, ae_source = reused_autoencoder(autoencoder_from, dataset)
        ae_steps = int(ae_source["autoencoder_steps"])
        timings["autoencoder_seconds"] = float(ae_source["autoencoder_seconds"])
    ae_config = autoencoder.config  # the reused checkpoint's, when one is reused
    test_bars = dataset.bars[dataset.bar_indices("test")]
    ae_metrics = onset_f1(autoencoder, test_bars)

    raw_latents = encode_all(autoencoder, dataset.bars)
    mean = raw_latents.mean(dim=0)
    std = raw_latents.std(dim=0).clamp_min(1e-3)
    latents = (raw_latents - mean) / std

    rng = np.random.default_rng(seed)
    sampler = WindowSampler(dataset, "train", rng)
    quantiles = sampler.quantiles()
    phase = time.perf_counter()
    denoiser_config = DenoiserConfig(latent_dim=ae_config.latent_dim)
    denoiser = train_denoiser(
        latents,
        sampler,
        quantiles,
        denoiser_config,
        steps=steps,
        seed=seed,
        condition_dropout=condition_dropout,
        log=log,
        progress=progress,
    )
    timings["denoiser_seconds"] = round(time.perf_counter() - phase, 1)
    timings["total_seconds"] = round(time.perf_counter() - started, 1)

    bar_cells = int(np.prod(dataset.bars.shape[1:]))
    training = {
        "seed": seed,
        "tiny": tiny,
        "autoencoder_steps": ae_steps,
        "autoencoder_source": ae_source,
        "denoiser_steps": steps,
        "condition_dropout": condition_dropout,
        "only_commercial_ok": only_commercial_ok,
        "permissive_corpus": permissive_corpus,
        "autoencoder_heldout": ae_metrics,
        "compression": {
            "bar_cells": bar_cells,
            "latent_floats": ae_config.latent_dim,
            "ratio": round(bar_cells / ae_config.latent_dim, 1),
        },
        "parameters": {
            "autoencoder": sum(p.numel() for p in autoencoder.parameters()),
            "denoiser": sum(p.numel() for p in denoiser.parameters()),
        },
        "timings": timings,
        "final_loss": {
            phase_name: _final_loss(log, phase_name, ae_source.get("final_loss"))
            for phase_name in ("autoencoder", "denoiser")
        },
    }
    manifest = {k: v for k, v in dataset.manifest.items()}
    save_checkpoint(
        out,
        autoencoder=autoencoder,
        denoiser=denoiser,
        latent_mean=mean,
        latent_std=std,
        control_quantiles=torch.from_numpy(quantiles),
        sampler=SamplerSettings(),
        data_manifest=manifest,
        training=training,
    )
    (out / "training_log.json").write_text(
        json.dumps({"summary": training, "data": manifest, "log": log.entries}, indent=1) + "\n"
    )
    plot_losses(log, out / "loss.png")
    return training


def _autoencoder_config(text: str) -> AutoencoderConfig:
    try:
        fields = json.loads(text)
        return AutoencoderConfig(**fields)
    except (ValueError, TypeError) as error:
        raise argparse.ArgumentTypeError(f"not AutoencoderConfig fields: {error}") from None


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not in [0, 1)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="a folder of MIDI/MusicXML/ABC/krn")
    parser.add_argument("--tiny", action="store_true", help="a small corpus and short schedule")
    parser.add_argument("--out", type=Path, default=default_weights_dir())
    parser.add_argument("--ae-steps", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--autoencoder-from",
        type=Path,
        default=None,
        help="reuse the bar autoencoder of this checkpoint folder (same data) and train "
        "only the denoiser",
    )
    parser.add_argument(
        "--autoencoder-config",
        type=_autoencoder_config,
        default=AutoencoderConfig(),
        help="JSON fields of AutoencoderConfig, e.g. '{\"step_features\": 48}'",
    )
    parser.add_argument(
        "--condition-dropout",
        type=_probability,
        default=CONDITION_DROPOUT,
        help="probability of dropping each control in a training window (CFG)",
    )
    parser.add_argument(
        "--only-commercial-ok",
        action="store_true",
        help="train only on files whose stated terms permit commercial use (refuses "
        "non-commercial, rights-reserved and unstated sources)",
    )
    parser.add_argument(
        "--add-permissive-corpus",
        action="store_true",
        help="with --data: also train on music21's files whose stated terms permit "
        "commercial use (every collection; about 40 pieces, 3100 bars)",
    )
    args = parser.parse_args(argv)
    ae_steps = args.ae_steps or (300 if args.tiny else AUTOENCODER_STEPS)
    steps = args.steps or (400 if args.tiny else DENOISER_STEPS)
    last: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total or now - last.get(stage, 0.0) > 10:
            last[stage] = now
            print(
                f"[{time.strftime('%H:%M:%S')}] {stage}: {done}/{total}",
                file=sys.stderr,
                flush=True,
            )

    try:
        summary = run(
            out=args.out,
            data_dir=args.data,
            tiny=args.tiny,
            ae_steps=ae_steps,
            steps=steps,
            workers=args.workers,
            seed=args.seed,
            autoencoder_from=args.autoencoder_from,
            ae_config=args.autoencoder_config,
            condition_dropout=args.condition_dropout,
            only_commercial_ok=args.only_commercial_ok,
            permissive_corpus=args.add_permissive_corpus,
            progress=progress,
        )
    except OstinatoError as error:
        print(f"error [{error.code}]: {error}", file=sys.stderr)
        return error.exit_code
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
