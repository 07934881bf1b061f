"""What the model's figures are read against.

- **held-out**: windows of the test pieces (split "test", never trained on), cut on phrase
  boundaries (a multiple of 4 bars) with the loop lengths the model is asked for, with
  the piece's mode label: what real music of the corpus scores.
- **untrained**: the denoiser's architecture with random weights (a fixed seed), sampled
  exactly like the model, decoded by the trained bar codec: what the pipeline writes
  without a learned prior over bar sequences and controls. (A random bar decoder as well
  would only add noise: probabilities near 0.5 everywhere, hundreds of notes a bar; the
  shuffled baseline already stands for structureless notes.)
- **shuffled**: the held-out windows with every note moved to a random onset on the loop's
  grid and a random pitch in its track's range (count and durations kept): real density,
  no musical structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from engine_core.data.dataset import MODE_LABELS, BarDataset
from engine_core.data.pianoroll import PITCHES, TRACK_LOW, bars_to_notes
from engine_core.model.checkpoint import Checkpoint
from engine_core.model.denoiser import Denoiser
from engine_core.score import TRACKS, Score
from engine_core.spec import METERS, Meter

PHRASE_BARS = 4


def heldout_windows(
    dataset: BarDataset, lengths: Sequence[int], rng: np.random.Generator
) -> list[Score]:
    """One phrase-aligned test-split window per entry of `lengths` (as many as exist)."""
    pieces = dataset.pieces("test")
    by_length: dict[int, list[tuple[int, int]]] = {}
    windows: list[Score] = []
    for length in lengths:
        if length not in by_length:
            by_length[length] = [
                (int(piece), start)
                for piece in pieces
                for start in range(0, int(dataset.piece_length[piece]) - length + 1, PHRASE_BARS)
            ]
        candidates = by_length[length]
        if not candidates:
            continue
        piece, start = candidates[int(rng.integers(len(candidates)))]
        first = int(dataset.piece_start[piece]) + start
        meter = METERS[dataset.meter[piece]]
        notes = bars_to_notes(
            dataset.bars[first : first + length],
            Meter.parse(meter).steps_per_bar,
            circular=False,
        )
        windows.append(
            Score(
                meter=meter,
                bars=length,
                mode=MODE_LABELS[dataset.mode[piece]],
                notes=tuple(notes),
            )
        )
    return windows


def shuffled(score: Score, rng: np.random.Generator) -> Score:
    """The score's notes at uniform random onsets and pitches (per track range)."""
    steps = score.steps_per_bar
    notes = []
    for note in score.notes:
        onset = int(rng.integers(score.total_steps))
        low = TRACK_LOW[TRACKS.index(note.track)]
        notes.append(
            replace(
                note,
                bar=onset // steps,
                step=onset % steps,
                pitch=low + int(rng.integers(PITCHES)),
            )
        )
    return replace(score, notes=tuple(sorted(notes)))


def untrained_checkpoint(trained: Checkpoint, seed: int = 0) -> Checkpoint:
    """The trained checkpoint with its denoiser replaced by a freshly initialised one."""
    torch.manual_seed(seed)
    denoiser = Denoiser(trained.denoiser.config).eval()
    return Checkpoint(
        autoencoder=trained.autoencoder,
        denoiser=denoiser,
        latent_mean=trained.latent_mean,
        latent_std=trained.latent_std,
        control_quantiles=trained.control_quantiles,
        sampler=trained.sampler,
        config=trained.config,
        weights_sha256=f"untrained-seed-{seed}",
    )
