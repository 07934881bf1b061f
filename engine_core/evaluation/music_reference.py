"""Corpus references for `eval-music`: what the held-out corpus does, per meter and family.

From the held-out (test split) pieces of a `BarDataset`, over 8-bar windows of the melody
track: the share of melody onsets on beat 1 (per meter: quartiles) and the shares of
repeats, steps (1-2 semitones), skips (3-4) and leaps (5+) between successive melody
onsets (the top note where several start together; per style family: 10th and 90th
percentiles, the "inner range"); the share of bars whose melody onsets (step, top pitch)
equal an earlier bar's in the window (per meter and per family: 10th, 50th, 75th and 90th
percentiles), and the longest melody rest inside the window in beats (per meter: the
same percentiles). The committed `music_reference.json` holds these figures
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
#: bars per phrase: a rest in a phrase's last bar is a breath, not a gap
PHRASE_BARS = 4


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


def repeated_share(
    bars: Sequence[Sequence[tuple[int, int]]], *, transposed: bool = False, minimum: int = 1
) -> float | None:
    """Share of the non-empty bars (each a time-ordered list of (step, top pitch) onsets)
    equal to an earlier one; `transposed`: pitches relative to the bar's first onset. None
    with fewer than `minimum` non-empty bars."""
    signatures = []
    for bar in bars:
        if not bar:
            continue
        base = bar[0][1] if transposed else 0
        signatures.append(tuple((step, pitch - base) for step, pitch in bar))
    if not signatures or len(signatures) < minimum:
        return None
    return sum(1 for i, b in enumerate(signatures) if b in signatures[:i]) / len(signatures)


def _bar_repetition(rolls: np.ndarray, steps: int, transposed: bool = False) -> float | None:
    """Share of a window's non-empty bars whose melody onsets equal an earlier bar's."""
    onsets = np.asarray(rolls)[:, 0, ONSET, :steps, :] >= 0.5
    bars = [
        [(step, int(np.nonzero(bar[step])[0].max())) for step in range(steps) if bar[step].any()]
        for bar in onsets
    ]
    return repeated_share(bars, transposed=transposed, minimum=WINDOW_BARS // 2)


def _longest_rests(rolls: np.ndarray, steps: int) -> tuple[int, int]:
    """(longest, longest inside a phrase) run of grid steps where no melody note sounds in
    the window; a rest is inside a phrase when none of it lies in a 4-bar phrase's last bar
    (`rests_of`, the same rule the loops are measured by)."""
    active = np.asarray(rolls)[:, 0, :, :steps, :].max(axis=(1, 3)) >= 0.5  # (bars, steps)
    return rests_of(active.reshape(-1), steps, wrap=False)


def rests_of(sounding: np.ndarray, bar_steps: int, *, wrap: bool) -> tuple[int, int]:
    """(longest, longest inside a phrase) run of False in `sounding` (grid steps), round
    the end when `wrap`; inside a phrase = no step of it in bar 4, 8, ... (phrase ends)."""
    flat = np.asarray(sounding, dtype=bool)
    total = len(flat)
    if not flat.any():
        return total, 0
    shift = int(np.argmax(flat)) if wrap else 0
    order = [(shift + i) % total for i in range(total)]
    longest = inner = 0
    run: list[int] = []
    for step in [*order, None]:
        if step is not None and not flat[step]:
            run.append(step)
            continue
        if run:
            longest = max(longest, len(run))
            if all((s // bar_steps) % PHRASE_BARS != PHRASE_BARS - 1 for s in run):
                inner = max(inner, len(run))
        run = []
    return longest, inner


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "p10": float(np.percentile(values, 10)),
        "median": float(np.median(values)),
        "p75": float(np.percentile(values, 75)),
        "p90": float(np.percentile(values, 90)),
        "windows": len(values),
    }


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
    repetition: dict[str, list[float]] = {}  # meter, "family:<name>" -> shares
    figures: dict[str, list[float]] = {}  # the same, transposed figures
    rests: dict[str, list[float]] = {m: [] for m in METERS}
    inner_rests: dict[str, list[float]] = {m: [] for m in METERS}
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
                    beat = Meter.parse(meter).steps_per_beat
                    longest, inner = _longest_rests(rolls, steps)
                    rests[meter].append(longest / beat)
                    inner_rests[meter].append(inner / beat)
                repeated = _bar_repetition(rolls, steps)
                if repeated is not None:
                    repetition.setdefault(meter, []).append(repeated)
                    repetition.setdefault(f"family:{family}", []).append(repeated)
                    moved = _bar_repetition(rolls, steps, transposed=True)
                    figures.setdefault(meter, []).append(moved)
                    figures.setdefault(f"family:{family}", []).append(moved)
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
        "bar_repetition": {k: _spread(v) for k, v in repetition.items() if v},
        "figure_repetition": {k: _spread(v) for k, v in figures.items() if v},
        "longest_rest_beats": {m: _spread(v) for m, v in rests.items() if v},
        "longest_inner_rest_beats": {m: _spread(v) for m, v in inner_rests.items() if v},
    }


def load_reference() -> dict[str, object] | None:
    """The committed reference (`music_reference.json`), or None when absent."""
    path = resources.files("engine_core.evaluation").joinpath("music_reference.json")
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, OSError, ValueError):
        return None
