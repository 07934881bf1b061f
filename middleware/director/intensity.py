"""Intensity: a 0-1 parameter, smoothed with a bounded slope, mapped to stem gains.

The smoothing is a linear ramp whose slope is at most `max_step` per sample, computed from
the ramp's start (never accumulated block by block), so the value at a sample is the same
whatever the block size. A stem whose range is `[low, high)` fades in around `low` and out
around `high` over `edge` intensity units; its gain therefore moves by at most
`max_step / edge` per sample (the no-zipper bound `tests/test_director.py` checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

#: Width of the intensity band over which a stem fades in or out.
STEM_EDGE = 0.1
#: Default time for a full 0 -> 1 intensity sweep.
FULL_SWEEP_S = 0.5


@dataclass(frozen=True)
class IntensityRamp:
    """The intensity from `start_sample` on: `start_value` moving to `target` at `step`/sample."""

    start_sample: int
    start_value: float
    target: float
    step: float

    @cached_property
    def end_sample(self) -> int:
        """First sample at which the ramp has reached its target."""
        distance = abs(self.target - self.start_value)
        if distance == 0.0:
            return self.start_sample
        return self.start_sample + int(np.ceil(distance / self.step))

    def value_at(self, sample: int) -> float:
        if sample >= self.end_sample:
            return self.target
        moved = self.step * float(sample - self.start_sample)
        if self.target >= self.start_value:
            return min(self.start_value + moved, self.target)
        return max(self.start_value - moved, self.target)

    def retarget(self, sample: int, target: float) -> IntensityRamp:
        """A new ramp from the value at `sample` towards `target`."""
        return IntensityRamp(sample, self.value_at(sample), target, self.step)

    def fill(self, out: np.ndarray, index: np.ndarray, start: int) -> None:
        """Write the values from sample `start` on into `out` (float64), laid out like
        `index`: sample offsets from `start` (interleaved `0, 0, 1, 1, ...` for stereo)."""
        np.add(index[: out.shape[0]], float(start - self.start_sample), out=out)
        if self.target >= self.start_value:
            np.multiply(out, self.step, out=out)
            np.add(out, self.start_value, out=out)
            np.minimum(out, self.target, out=out)
        else:
            np.multiply(out, -self.step, out=out)
            np.add(out, self.start_value, out=out)
            np.maximum(out, self.target, out=out)


def stem_gain(intensity: float, low: float, high: float, edge: float = STEM_EDGE) -> float:
    """Gain of a stem active on `[low, high)` at a given intensity (0..1, linear edges)."""
    gain = 1.0
    if low > 0.0:
        gain = min(gain, max(0.0, min(1.0, (intensity - low) / edge + 0.5)))
    if high < 1.0:
        gain = min(gain, max(0.0, min(1.0, (high - intensity) / edge + 0.5)))
    return gain


def stem_gains_into(
    out: np.ndarray,
    scratch: np.ndarray,
    intensity: np.ndarray,
    low: float,
    high: float,
    edge: float = STEM_EDGE,
) -> None:
    """Vector form of `stem_gain` on float32 buffers (no allocation, no casting buffer)."""
    out.fill(1.0)
    if low > 0.0:
        np.subtract(intensity, np.float32(low), out=scratch)
        _edge_into(scratch, edge)
        np.minimum(out, scratch, out=out)
    if high < 1.0:
        np.subtract(np.float32(high), intensity, out=scratch)
        _edge_into(scratch, edge)
        np.minimum(out, scratch, out=out)


def _edge_into(values: np.ndarray, edge: float) -> None:
    np.multiply(values, np.float32(1.0 / edge), out=values)
    np.add(values, np.float32(0.5), out=values)
    np.clip(values, 0.0, 1.0, out=values)
