"""Per-loop descriptors after MusPy's definitions (Dong et al., ISMIR 2020), on a `Score`.

MusPy (``muspy.metrics``) defines these on a ``Music`` object; here they are computed
on the loop's own sixteenth grid, with two deliberate differences for loops:

- the length is the loop's (``bars x steps_per_bar``), not "up to the last note end",
  so trailing silence counts as empty beats and an empty loop has empty-beat rate 1.0
  (MusPy returns NaN for a piece without notes);
- a note that runs past the loop end sounds again from bar 0 (a loop is a circle), as
  `engine_core.score.Score` defines.

Each metric returns NaN where MusPy's does (no notes, or fewer than two bars for groove
consistency); aggregate with `numpy.nanmean`. The beat is a quarter note (4 grid steps),
MusPy's ``resolution``. Drum tracks do not exist in a `Score`, so nothing is skipped.

Pure numpy.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from engine_core.score import Score

STEPS_PER_BEAT = 4
#: pitch classes of the major and (natural) minor scale on C, as in muspy.pitch_in_scale_rate
MAJOR_SCALE: tuple[int, ...] = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE: tuple[int, ...] = (0, 2, 3, 5, 7, 8, 10)


def pitch_class_entropy(score: Score) -> float:
    """Shannon entropy (bits) of the note pitch-class histogram (muspy.pitch_class_entropy).

    Counts notes, not durations: 0 for one pitch class, log2(12) = 3.585 for all twelve
    equally often. NaN without notes.
    """
    counts = np.zeros(12)
    for note in score.notes:
        counts[note.pitch % 12] += 1
    total = counts.sum()
    if total < 1:
        return math.nan
    probabilities = counts[counts > 0] / total
    return float(-(probabilities * np.log2(probabilities)).sum())


def scale_consistency(score: Score) -> float:
    """The largest fraction of notes inside one major or minor scale, over all 24
    (muspy.scale_consistency). 1.0 for a diatonic loop; NaN without notes."""
    if not score.notes:
        return math.nan
    classes = np.array([note.pitch % 12 for note in score.notes])
    best = 0.0
    for scale in (MAJOR_SCALE, MINOR_SCALE):
        for root in range(12):
            members = np.zeros(12, dtype=bool)
            members[[(root + degree) % 12 for degree in scale]] = True
            best = max(best, float(members[classes].mean()))
    return best


def sounding_roll(score: Score) -> np.ndarray:
    """Boolean (total_steps, 128): pitch p sounds on step s, in any track; wraps at the end."""
    total = score.total_steps
    roll = np.zeros((total, 128), dtype=bool)
    for note in score.notes:
        start = score.onset_step(note)
        steps = (start + np.arange(min(max(note.duration_steps, 1), total))) % total
        roll[steps, note.pitch] = True
    return roll


def polyphony(score: Score) -> float:
    """Mean number of distinct pitches sounding, over the steps where at least one sounds
    (muspy.polyphony). 1.0 for a monophonic line; NaN without notes."""
    per_step = sounding_roll(score).sum(axis=1)
    busy = per_step > 0
    if not busy.any():
        return math.nan
    return float(per_step[busy].mean())


def empty_beat_rate(score: Score) -> float:
    """Fraction of the loop's quarter-note beats in which no note sounds
    (muspy.empty_beat_rate, over the loop's length). 1.0 for an empty loop."""
    total = score.total_steps
    beats = max(total // STEPS_PER_BEAT, 1)
    sounding = sounding_roll(score).any(axis=1)[: beats * STEPS_PER_BEAT]
    busy = sounding.reshape(beats, -1).any(axis=1)
    return float(1.0 - busy.mean())


def onset_patterns(score: Score) -> np.ndarray:
    """Boolean (bars, steps_per_bar): some note (any track, any pitch) starts on the step."""
    patterns = np.zeros((score.bars, score.steps_per_bar), dtype=bool)
    for note in score.notes:
        patterns[note.bar, note.step] = True
    return patterns


def groove_consistency(score: Score) -> float:
    """1 - mean Hamming distance between neighbouring bars' onset patterns, per step
    (muspy.groove_consistency with measure_resolution = steps_per_bar; the seam pair
    bar N-1 -> bar 0 is not included, as in MusPy). NaN for a one-bar loop."""
    if score.bars < 2:
        return math.nan
    patterns = onset_patterns(score)
    distance = np.count_nonzero(patterns[:-1] != patterns[1:])
    return float(1.0 - distance / (score.steps_per_bar * (score.bars - 1)))


def notes_per_bar(score: Score) -> float:
    """Note onsets per bar, all tracks (not a MusPy metric: the texture's density)."""
    return len(score.notes) / max(score.bars, 1)


#: metric name -> function, in table order
METRICS: dict[str, Callable[[Score], float]] = {
    "pitch_class_entropy": pitch_class_entropy,
    "scale_consistency": scale_consistency,
    "polyphony": polyphony,
    "empty_beat_rate": empty_beat_rate,
    "groove_consistency": groove_consistency,
    "notes_per_bar": notes_per_bar,
}


def loop_metrics(score: Score) -> dict[str, float]:
    """Every metric of one loop."""
    return {name: function(score) for name, function in METRICS.items()}


def summarise(values: list[float]) -> dict[str, float]:
    """Mean and standard deviation over loops, NaNs left out; `n` counts the finite values."""
    finite = np.array([v for v in values if not math.isnan(v)], dtype=float)
    if len(finite) == 0:
        return {"mean": math.nan, "sd": math.nan, "n": 0}
    return {"mean": float(finite.mean()), "sd": float(finite.std()), "n": len(finite)}
