"""Gain curves as tables, computed once per fade and indexed by sample position.

A fade of `n` samples is a float32 table of `n` gains; gain `k` applies to the `k`-th
sample of the fade. The fade-in table ends at exactly 1 and the fade-out table at
exactly 0, and `in[k]**2 + out[k]**2 == 1` (equal power: a crossfade of uncorrelated
material keeps its loudness). The first sample of a fade-in is already above 0, so the
incoming music is audible on the very sample the transition was planned for.
"""

from __future__ import annotations

import numpy as np

#: Length of the short fade that stands in for a hard cut (Godot does the same).
CLICK_GUARD_MS = 1.0


def _progress(length: int) -> np.ndarray:
    if length < 1:
        raise ValueError(f"a fade needs at least one sample, not {length}")
    return np.arange(1, length + 1, dtype=np.float64) / length


def equal_power_in(length: int) -> np.ndarray:
    """sin(pi/2 * t) for t = 1/n .. 1: the incoming side of an equal-power crossfade."""
    table = np.sin(0.5 * np.pi * _progress(length)).astype(np.float32)
    table[-1] = 1.0
    return table


def equal_power_out(length: int) -> np.ndarray:
    """cos(pi/2 * t) for t = 1/n .. 1: the outgoing side; its last gain is exactly 0."""
    table = np.cos(0.5 * np.pi * _progress(length)).astype(np.float32)
    table[-1] = 0.0
    return table


def linear_ramp(start_gain: float, end_gain: float, length: int) -> np.ndarray:
    """A straight ramp from `start_gain` (exclusive) to `end_gain` (reached on the last sample)."""
    t = _progress(length)
    table = (start_gain + (end_gain - start_gain) * t).astype(np.float32)
    table[-1] = end_gain
    return table


def click_guard_samples(sample_rate: int) -> int:
    return max(1, round(CLICK_GUARD_MS * sample_rate / 1000))
