"""Corpus references for `eval-music`: what the held-out corpus does, per meter and family.

From the held-out (test split) pieces of a `BarDataset`, over 8-bar windows of the melody
track: the share of melody onsets on beat 1 (per meter: quartiles) and the shares of
repeats, steps (1-2 semitones), skips (3-4) and leaps (5+) between successive melody
onsets (the top note where several start together; per style family: 10th and 90th
percentiles, the "inner range"). The committed `music_reference.json` holds these figures
for the tiny development corpus (every piece: its held-out split has too few windows per
meter; the held-out figures are kept beside them); the sweep compares against it, so the
command needs no corpus.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from importlib import resources

import numpy as np

from engine_core.data.corpus import STYLE_FAMILIES
from engine_core.data.dataset import BarDataset
from engine_core.data.pianoroll import ONSET, TRACK_LOW
from engine_core.spec import METERS, Meter

WINDOW_BARS = 8


def _window_line(rolls: np.ndarray, steps: int) -> tuple[list[int], int, int]:
    """(top pitch per onset, onsets on beat 1, onsets) of a window's melody."""
    onsets = np.asarray(rolls)[:, 0, ONSET, :steps, :] >= 0.5  # (bars, steps, pitches)
    line: list[int] = []
    downbeats = total = 0
    for bar in onsets:
        for step in range(steps):
            pitches = np.nonzero(bar[step])[0]
            if len(pitches):
                line.append(int(pitches.max()) + TRACK_LOW[0])
                total += 1
                downbeats += step == 0
    return line, downbeats, total


def _shares(line: list[int]) -> tuple[float, float, float, float] | None:
    moves = np.array([abs(b - a) for a, b in itertools.pairwise(line)])
    if len(moves) < 8:
        return None
    return (
        float((moves == 0).mean()),
        float(((moves >= 1) & (moves <= 2)).mean()),
        float(((moves >= 3) & (moves <= 4)).mean()),
        float((moves >= 5).mean()),
    )


def corpus_reference(
    datasets: BarDataset | Sequence[BarDataset], split: str = "test"
) -> dict[str, object]:
    """The figures of the module docstring, pooled over `datasets` (`split`: "test",
    "train" or "all"), with the windows and pieces each figure comes from."""
    if isinstance(datasets, BarDataset):
        datasets = [datasets]
    downbeat: dict[str, list[float]] = {m: [] for m in METERS}
    intervals: dict[str, list[tuple[float, float, float, float]]] = {f: [] for f in STYLE_FAMILIES}
    meter_pieces: dict[str, set[str]] = {m: set() for m in METERS}
    family_pieces: dict[str, set[str]] = {f: set() for f in STYLE_FAMILIES}
    for dataset in datasets:
        everything = range(len(dataset.piece_ids))
        pieces = dataset.pieces(split) if split in ("test", "train") else everything
        for piece in pieces:
            meter = METERS[dataset.meter[piece]]
            family = STYLE_FAMILIES[dataset.family[piece]]
            steps = Meter.parse(meter).steps_per_bar
            start, length = int(dataset.piece_start[piece]), int(dataset.piece_length[piece])
            name = str(dataset.piece_ids[piece])
            for offset in range(0, length - WINDOW_BARS + 1, WINDOW_BARS):
                rolls = dataset.bars[start + offset : start + offset + WINDOW_BARS]
                line, down, total = _window_line(rolls, steps)
                if total >= 8:
                    downbeat[meter].append(down / total)
                    meter_pieces[meter].add(name)
                shares = _shares(line)
                if shares is not None:
                    intervals[family].append(shares)
                    family_pieces[family].add(name)
    names = ("repeats", "steps", "skips", "leaps")
    return {
        "window_bars": WINDOW_BARS,
        "split": split,
        "corpus_hash": "+".join(d.manifest_hash for d in datasets),
        "downbeat_share": {
            m: {
                "q1": float(np.percentile(v, 25)),
                "median": float(np.median(v)),
                "q3": float(np.percentile(v, 75)),
                "windows": len(v),
                "pieces": len(meter_pieces[m]),
            }
            for m, v in downbeat.items()
            if v
        },
        "melody_intervals": {
            f: {
                name: {
                    "p10": float(np.percentile(np.array(v)[:, i], 10)),
                    "median": float(np.median(np.array(v)[:, i])),
                    "p90": float(np.percentile(np.array(v)[:, i], 90)),
                }
                for i, name in enumerate(names)
            }
            | {"windows": len(v), "pieces": len(family_pieces[f])}
            for f, v in intervals.items()
            if v
        },
    }


def load_reference() -> dict[str, object] | None:
    """The committed reference (`music_reference.json`), or None when absent."""
    path = resources.files("engine_core.evaluation").joinpath("music_reference.json")
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, OSError, ValueError):
        return None
