"""How natural a bar join is, and whether a loop's seam is as natural as its inner joins.

The join distance between bar a and the bar b that follows it is the mean of three parts,
each in [0, 1] (0 = the smoothest join):

- **rhythm**: Hamming distance between the two bars' onset patterns (any track), per step;
- **harmony**: total-variation distance between the two bars' onset pitch-class
  distributions (0 when both bars are empty, 1 when only one is);
- **melody leap**: the interval from the last melody pitch sounding in bar a to the first
  melody pitch sounding in bar b, in semitones / 12, capped at 1 (0 when either bar has
  no melody; a note held over the join gives 0).

A loop of N bars has N - 1 inner joins (bar i -> bar i+1) and one seam (bar N-1 -> bar 0),
scored with the same function. Over a set of loops the check passes when the median seam
distance lies inside the interquartile range of all inner-join distances: the seam is a
typical join, neither rougher nor suspiciously smoother.

Pure numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine_core.data.pianoroll import (
    ACTIVE,
    MAX_STEPS,
    TRACK_LOW,
    score_to_bars,
    track_activity,
)
from engine_core.evaluation.metrics import onset_patterns
from engine_core.score import Score

JOIN_PARTS: tuple[str, ...] = ("rhythm", "harmony", "melody_leap")
LEAP_CAP_SEMITONES = 12


@dataclass(frozen=True)
class BarFeatures:
    """What the join measure reads from each bar of one loop."""

    onsets: np.ndarray  # (bars, steps) bool
    pitch_classes: np.ndarray  # (bars, 12) onset counts
    first_melody: np.ndarray  # (bars,) MIDI pitch or -1
    last_melody: np.ndarray  # (bars,) MIDI pitch or -1

    @classmethod
    def of(cls, score: Score) -> BarFeatures:
        steps = score.steps_per_bar
        pitch_classes = np.zeros((score.bars, 12))
        for note in score.notes:
            pitch_classes[note.bar, note.pitch % 12] += 1
        if steps > MAX_STEPS:  # 12/8, 5/4: wider than the piano roll
            melody = track_activity(score, "melody")
        else:
            melody = score_to_bars(score)[:, 0, ACTIVE, :steps]  # (bars, steps, pitches)
        first = np.full(score.bars, -1)
        last = np.full(score.bars, -1)
        for bar in range(score.bars):
            sounding_steps = np.nonzero(melody[bar].any(axis=1))[0]
            if len(sounding_steps):
                top = [np.nonzero(melody[bar, s])[0].max() + TRACK_LOW[0] for s in sounding_steps]
                first[bar], last[bar] = top[0], top[-1]
        return cls(onset_patterns(score), pitch_classes, first, last)


def join_parts(features: BarFeatures, a: int, b: int) -> dict[str, float]:
    """The three parts of the join a -> b (see the module docstring)."""
    rhythm = float(np.mean(features.onsets[a] != features.onsets[b]))
    ha, hb = features.pitch_classes[a], features.pitch_classes[b]
    if ha.sum() == 0 and hb.sum() == 0:
        harmony = 0.0
    elif ha.sum() == 0 or hb.sum() == 0:
        harmony = 1.0
    else:
        harmony = float(0.5 * np.abs(ha / ha.sum() - hb / hb.sum()).sum())
    last, first = features.last_melody[a], features.first_melody[b]
    if last < 0 or first < 0:
        leap = 0.0
    else:
        leap = min(abs(int(first) - int(last)), LEAP_CAP_SEMITONES) / LEAP_CAP_SEMITONES
    return {"rhythm": rhythm, "harmony": harmony, "melody_leap": leap}


def join_distance(features: BarFeatures, a: int, b: int) -> float:
    return float(np.mean(list(join_parts(features, a, b).values())))


def loop_joins(score: Score) -> tuple[list[float], float]:
    """(inner join distances, seam distance) of one loop; a one-bar loop has no inner join."""
    features = BarFeatures.of(score)
    inner = [join_distance(features, i, i + 1) for i in range(score.bars - 1)]
    return inner, join_distance(features, score.bars - 1, 0)


@dataclass(frozen=True)
class SeamCheck:
    seam_median: float
    inner_q1: float
    inner_median: float
    inner_q3: float
    loops: int
    inner_joins: int

    @property
    def passed(self) -> bool:
        return self.inner_q1 <= self.seam_median <= self.inner_q3

    def to_json(self) -> dict[str, object]:
        return {
            "seam_median": self.seam_median,
            "inner_q1": self.inner_q1,
            "inner_median": self.inner_median,
            "inner_q3": self.inner_q3,
            "loops": self.loops,
            "inner_joins": self.inner_joins,
            "passed": self.passed,
        }


def seam_check(scores: Sequence[Score]) -> SeamCheck:
    """Median seam distance vs the inner joins' quartiles, pooled over `scores`."""
    inner: list[float] = []
    seams: list[float] = []
    for score in scores:
        joins, seam = loop_joins(score)
        inner.extend(joins)
        seams.append(seam)
    if not seams or not inner:
        return SeamCheck(math.nan, math.nan, math.nan, math.nan, len(seams), len(inner))
    q1, median, q3 = (float(v) for v in np.quantile(inner, [0.25, 0.5, 0.75]))
    return SeamCheck(float(np.median(seams)), q1, median, q3, len(seams), len(inner))
