"""The seam measure at a bridge's two joins, against the inner joins of the music it connects.

A bridge has two joins: the source's last bar -> the bridge's first bar, and the bridge's
last bar -> the target's first bar. Each is scored with the loop seam's join distance
(`engine_core.evaluation.joins`: rhythm, harmony, melody leap) on a three-part chain read
at *sounding* pitch (so a key change counts) on the target's grid (a source bar in another
meter is read at the same bar fractions). The reference is the interquartile range of the
inner joins (bar i -> i+1) of the source's and the target's loops, pooled, each at its own
sounding pitch: a join passes when it lies inside that range, as natural as a join inside
the music itself, neither rougher nor suspiciously smoother.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine_core.bridge.frame import carry_bars, sounding
from engine_core.evaluation.joins import BarFeatures, join_distance, loop_joins
from engine_core.score import Score, ScoreNote
from engine_core.spec import Key


@dataclass(frozen=True)
class JoinRange:
    """Quartiles of the inner joins a bridge's joins are compared with."""

    q1: float
    median: float
    q3: float
    joins: int

    def contains(self, distance: float) -> bool:
        return self.q1 <= distance <= self.q3

    def to_json(self) -> dict[str, float | int]:
        return {"q1": self.q1, "median": self.median, "q3": self.q3, "joins": self.joins}


@dataclass(frozen=True)
class BridgeJoins:
    source_join: float  # source's last bar -> bridge's first bar
    target_join: float  # bridge's last bar -> target's first bar
    reference: JoinRange

    @property
    def passed(self) -> bool:
        return self.reference.contains(self.source_join) and self.reference.contains(
            self.target_join
        )

    def to_json(self) -> dict[str, object]:
        return {
            "source_join": round(self.source_join, 4),
            "target_join": round(self.target_join, 4),
            "reference": {k: round(v, 4) for k, v in self.reference.to_json().items()},
            "passed": self.passed,
        }


def inner_join_range(loops: Sequence[tuple[Score, Key]]) -> JoinRange:
    """Quartiles of every inner join of `loops` (each score with its key)."""
    inner: list[float] = []
    for score, key in loops:
        joins, _ = loop_joins(sounding(score, key))
        inner.extend(joins)
    if not inner:
        return JoinRange(0.0, 0.0, 1.0, 0)
    q1, median, q3 = (float(v) for v in np.quantile(inner, [0.25, 0.5, 0.75]))
    return JoinRange(q1, median, q3, len(inner))


def chain(source: Score, source_key: Key, bridge: Score, target: Score, target_key: Key) -> Score:
    """source's last bar | the bridge's bars | target's first bar, at sounding pitch, on the
    bridge's grid (its meter). The source bar is carried into C major: pitches unchanged."""
    notes = [
        ScoreNote(n.bar, n.step, n.track, n.pitch, n.duration_steps, n.velocity)
        for n in carry_bars(
            source, [source.bars - 1], key=source_key, into_meter=bridge.meter,
            into_mode="major", into_key=Key(0, "major", "C major"), first_bar=0,
        )
    ]  # fmt: skip
    notes += [
        ScoreNote(n.bar + 1, n.step, n.track, n.pitch, n.duration_steps, n.velocity)
        for n in sounding(bridge, target_key).notes
    ]
    last = bridge.bars + 1
    notes += [
        ScoreNote(last, n.step, n.track, n.pitch, n.duration_steps, n.velocity)
        for n in sounding(target, target_key).notes
        if n.bar == 0
    ]
    return Score(bridge.meter, bridge.bars + 2, bridge.mode, tuple(sorted(notes)))


def bridge_joins(
    source: Score,
    source_key: Key,
    bridge: Score,
    target: Score,
    target_key: Key,
    reference: JoinRange,
) -> BridgeJoins:
    features = BarFeatures.of(chain(source, source_key, bridge, target, target_key))
    return BridgeJoins(
        join_distance(features, 0, 1),
        join_distance(features, bridge.bars, bridge.bars + 1),
        reference,
    )
