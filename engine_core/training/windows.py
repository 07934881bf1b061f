"""Training windows: runs of bars cut from pieces, with the controls measured on them.

A window is L consecutive bars of one piece starting on a phrase boundary (a multiple of
4 bars, or of L when L < 4), L drawn from `WINDOW_BARS`. The denoiser is trained on a
window as a circle (its last bar joined to its first): a phrase-aligned window ends on a
cadence and starts a phrase, the same join a loop's seam makes.

Controls come from the piece (mode, meter, style family) and from the window itself
(energy, density, register: `engine_core.model.controls.raw_measures`, vectorised here
from per-bar sums) mapped to percentiles *of the window's style family*. The families
barely overlap (90% of chorale windows lie above the corpus's 80th density percentile,
most folk windows below its 60th), so corpus-wide percentiles would leave most
(style, level) pairs unseen: a sparse chorale would be a request the model never met.
Per-family tables make every level of every style a texture the data holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine_core.data.corpus import STYLE_FAMILIES
from engine_core.data.dataset import BarDataset
from engine_core.data.pianoroll import ONSET, PITCHES, TRACK_LOW
from engine_core.model.controls import (
    MODE_LABELS,
    SCALARS,
    TOKEN_FEATURES,
    TOKENS,
    Controls,
    to_percentile,
)
from engine_core.spec import METERS, Meter

WINDOW_BARS: tuple[int, ...] = (2, 4, 8, 16)
WINDOW_WEIGHTS: tuple[float, ...] = (0.15, 0.35, 0.3, 0.2)
QUANTILES = 101


@dataclass
class BarSums:
    """Per-bar sums that window measures add up."""

    melody_steps: np.ndarray  # steps with a melody onset
    onsets: np.ndarray  # onsets over all tracks
    pitch_sum: np.ndarray  # sum of melody onset pitches
    pitch_count: np.ndarray
    steps_per_bar: np.ndarray  # of the bar's piece meter

    @classmethod
    def of(cls, dataset: BarDataset) -> BarSums:
        onsets = dataset.bars[:, :, ONSET]  # (n, tracks, steps, pitches)
        melody = onsets[:, 0]
        pitch_ids = np.arange(PITCHES) + TRACK_LOW[0]
        steps = np.zeros(len(dataset.bars), dtype=np.float64)
        for piece in range(len(dataset.piece_start)):
            start, length = dataset.piece_start[piece], dataset.piece_length[piece]
            steps[start : start + length] = Meter.parse(METERS[dataset.meter[piece]]).steps_per_bar
        return cls(
            melody_steps=melody.any(axis=-1).sum(axis=-1).astype(np.float64),
            onsets=onsets.reshape(len(onsets), -1).sum(axis=-1).astype(np.float64),
            pitch_sum=(melody.sum(axis=1) * pitch_ids).sum(axis=-1).astype(np.float64),
            pitch_count=melody.sum(axis=(1, 2)).astype(np.float64),
            steps_per_bar=steps,
        )

    def window_raw(self, starts: np.ndarray, length: int) -> np.ndarray:
        """Raw (energy, density, register) of windows [start, start + length)."""
        index = starts[:, None] + np.arange(length)[None]
        energy = self.melody_steps[index].sum(1) / self.steps_per_bar[index].sum(1)
        density = self.onsets[index].sum(1) / length
        count = self.pitch_count[index].sum(1)
        register = np.where(
            count > 0, self.pitch_sum[index].sum(1) / np.maximum(count, 1), TRACK_LOW[0] + 12.0
        )
        return np.stack([energy, density, register], axis=1)


class WindowSampler:
    """Draws phrase-aligned windows of training pieces and builds their condition tokens."""

    def __init__(self, dataset: BarDataset, split: str, rng: np.random.Generator) -> None:
        self.dataset = dataset
        self.rng = rng
        self.sums = BarSums.of(dataset)
        self.pieces = dataset.pieces(split)
        self.starts: dict[int, np.ndarray] = {}
        self.owner: dict[int, np.ndarray] = {}
        for length in WINDOW_BARS:
            hop = min(4, length)
            starts, owners = [], []
            for piece in self.pieces:
                first, count = dataset.piece_start[piece], dataset.piece_length[piece]
                offsets = np.arange(0, count - length + 1, hop)
                starts.append(first + offsets)
                owners.append(np.full(len(offsets), piece))
            self.starts[length] = np.concatenate(starts) if starts else np.zeros(0, int)
            self.owner[length] = np.concatenate(owners) if owners else np.zeros(0, int)

    def quantiles(self, samples: int = 20000) -> np.ndarray:
        """(style families, 3, QUANTILES) percentile tables of the raw measures over
        random windows of each family; a family without windows gets the all-family table.
        """
        family_of = {length: self.dataset.family[self.owner[length]] for length in WINDOW_BARS}
        overall = self._table(samples, lambda length: np.ones(len(self.starts[length]), bool))
        tables = []
        for family in range(len(STYLE_FAMILIES)):
            table = self._table(samples, lambda length, f=family: family_of[length] == f)
            tables.append(overall if table is None else table)
        if overall is None:
            raise ValueError("no training windows to measure control percentiles on")
        return np.stack(tables)

    def _table(self, samples: int, chooses: Callable[[int], np.ndarray]) -> np.ndarray | None:
        """A (3, QUANTILES) table over the windows `chooses(length)` selects, if any."""
        raws = []
        for length, weight in zip(WINDOW_BARS, WINDOW_WEIGHTS, strict=True):
            pool = self.starts[length][chooses(length)]
            if len(pool) == 0:
                continue
            chosen = self.rng.choice(pool, size=max(1, int(samples * weight)))
            raws.append(self.sums.window_raw(chosen, length))
        if not raws:
            return None
        raw = np.concatenate(raws)
        table = np.quantile(raw, np.linspace(0, 1, QUANTILES), axis=0).T
        # strictly increasing for interpolation
        return np.maximum.accumulate(table + np.arange(QUANTILES)[None] * 1e-9, axis=1)

    def lengths(self) -> list[int]:
        return [length for length in WINDOW_BARS if len(self.starts[length])]

    def draw(
        self, batch: int, quantiles: np.ndarray, *, drop_all: float = 0.1, drop_each: float = 0.15
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bar indices (batch, L), condition tokens (batch, 6, 16), per-sample meters)."""
        lengths = self.lengths()
        weights = np.array([WINDOW_WEIGHTS[WINDOW_BARS.index(n)] for n in lengths])
        length = int(self.rng.choice(lengths, p=weights / weights.sum()))
        pick = self.rng.integers(0, len(self.starts[length]), size=batch)
        starts = self.starts[length][pick]
        owners = self.owner[length][pick]
        raw = self.sums.window_raw(starts, length)
        families = self.dataset.family[owners]
        scalars = np.empty_like(raw)
        for family in np.unique(families):
            rows = families == family
            scalars[rows] = to_percentile(raw[rows], quantiles[family])
        tokens = np.zeros((batch, len(TOKENS), TOKEN_FEATURES), dtype=np.float32)
        for row in range(batch):
            piece = owners[row]
            values: dict[str, object] = {
                "mode": MODE_LABELS[self.dataset.mode[piece]],
                "meter": METERS[self.dataset.meter[piece]],
                "style": STYLE_FAMILIES[self.dataset.family[piece]],
            }
            for index, name in enumerate(SCALARS):
                values[name] = float(scalars[row, index])
            if self.rng.random() < drop_all:
                values = {"meter": values["meter"]}
            else:
                for name in list(values):
                    if name != "meter" and self.rng.random() < drop_each:
                        del values[name]
            tokens[row] = Controls(**values).features()  # type: ignore[arg-type]
        index = starts[:, None] + np.arange(length)[None]
        return index, tokens, self.dataset.meter[owners]
