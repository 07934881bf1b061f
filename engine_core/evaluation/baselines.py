"""What the model's figures are read against.

- **held-out**: windows of the test pieces (split "test", never trained on), cut on phrase
  boundaries (a multiple of 4 bars) with the loop lengths the model is asked for, with
  the piece's mode label: what real music of the corpus scores.
- **untrained**: the model's architecture with random weights (a fixed seed) and the
  trained checkpoint's sampler and control tables: what the pipeline gives without learning.
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
from engine_core.model.autoencoder import BarAutoencoder
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
    windows: list[Score] = []
    for length in lengths:
        candidates = [
            (int(piece), start)
            for piece in pieces
            for start in range(0, int(dataset.piece_length[piece]) - length + 1, PHRASE_BARS)
        ]
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
    """The trained checkpoint's architecture and tables with freshly initialised weights."""
    torch.manual_seed(seed)
    autoencoder = BarAutoencoder(trained.autoencoder.config).eval()
    denoiser = Denoiser(trained.denoiser.config).eval()
    return Checkpoint(
        autoencoder=autoencoder,
        denoiser=denoiser,
        latent_mean=torch.zeros_like(trained.latent_mean),
        latent_std=torch.ones_like(trained.latent_std),
        control_quantiles=trained.control_quantiles,
        sampler=trained.sampler,
        config=trained.config,
        weights_sha256=f"untrained-seed-{seed}",
    )
