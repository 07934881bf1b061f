"""Adherence: does the model write what the controls ask for?

- **Mode**: the mode a listener hears (`engine_core.data.pianoroll.score_mode`: C major vs
  C minor Krumhansl profile fit, the same detector that labels the data) must match the
  requested mode in at least `MODE_TARGET` of the loops. A loop without notes is a miss.
- **Scalar controls** (energy, density, register): the loops generated at each level of a
  control are measured with `engine_core.model.controls.raw_measures` (the functions that
  labelled the training windows): melody onsets per grid step, onsets per bar, mean melody
  pitch. The check passes when the mean measure strictly rises with the level.

Pure numpy.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine_core.data.pianoroll import score_mode, score_to_bars
from engine_core.model.controls import SCALARS, raw_measures
from engine_core.score import Score

MODE_TARGET = 0.9
#: control -> the unit of its measure, for the report
MEASURE_UNITS: dict[str, str] = {
    "energy": "melody onsets per step",
    "density": "onsets per bar",
    "register": "mean melody MIDI pitch",
}


def detected_mode(score: Score) -> str | None:
    """ "major" / "minor", or None for a loop without notes."""
    return score_mode(score) if score.notes else None


def mode_rate(scores: Sequence[Score], requested: Sequence[str]) -> float:
    """Fraction of loops whose detected mode is the requested one."""
    if not scores:
        return float("nan")
    hits = sum(detected_mode(s) == r for s, r in zip(scores, requested, strict=True))
    return hits / len(scores)


def control_measure(score: Score, control: str) -> float:
    """The raw measure of `control` ("energy", "density" or "register") on one loop."""
    return float(raw_measures(score_to_bars(score), score.meter)[SCALARS.index(control)])


@dataclass(frozen=True)
class ControlSweep:
    control: str
    levels: tuple[float, ...]
    measured: tuple[float, ...]  # mean measure per level
    loops_per_level: int

    @property
    def monotonic(self) -> bool:
        return all(b > a for a, b in itertools.pairwise(self.measured))

    def to_json(self) -> dict[str, object]:
        return {
            "control": self.control,
            "unit": MEASURE_UNITS[self.control],
            "levels": list(self.levels),
            "measured": list(self.measured),
            "loops_per_level": self.loops_per_level,
            "monotonic": self.monotonic,
        }


def control_sweep(control: str, loops_by_level: Mapping[float, Sequence[Score]]) -> ControlSweep:
    levels = tuple(sorted(loops_by_level))
    measured = tuple(
        float(np.mean([control_measure(s, control) for s in loops_by_level[level]]))
        for level in levels
    )
    return ControlSweep(
        control=control,
        levels=levels,
        measured=measured,
        loops_per_level=min(len(v) for v in loops_by_level.values()),
    )


@dataclass(frozen=True)
class AdherenceCheck:
    mode_rate: float
    loops: int
    sweeps: tuple[ControlSweep, ...]

    @property
    def mode_passed(self) -> bool:
        return self.mode_rate >= MODE_TARGET

    @property
    def passed(self) -> bool:
        return self.mode_passed and all(s.monotonic for s in self.sweeps)

    def to_json(self) -> dict[str, object]:
        return {
            "mode_rate": self.mode_rate,
            "mode_target": MODE_TARGET,
            "mode_passed": self.mode_passed,
            "loops": self.loops,
            "controls": {s.control: s.to_json() for s in self.sweeps},
            "passed": self.passed,
        }
