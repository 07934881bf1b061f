"""Gain curves: equal-power fades and linear ramps, indexed by sample position.

A fade of `n` samples has `n` gains; gain `k` applies to the `k`-th sample of the fade.
The fade-in ends at exactly 1 and the fade-out at exactly 0, and
`in[k]**2 + out[k]**2 == 1` (equal power: a crossfade of uncorrelated material keeps its
loudness). The first sample of a fade-in is already above 0, so the incoming music is
audible on the very sample the transition was planned for. The director tabulates fades
up to `TABLE_MAX_SAMPLES` (once per length and session) and computes longer ones block by
block with the same `equal_power_into`, so both give the same gains and a 64-bar fade
costs no more to start than a 1 ms one.
"""

from __future__ import annotations

import numpy as np

#: Length of the short fade that stands in for a hard cut (Godot does the same).
CLICK_GUARD_MS = 1.0
#: Longest fade kept as a table (about 11 s at 48 kHz, 4 MiB interleaved).
TABLE_MAX_SAMPLES = 1 << 19


def _progress(length: int) -> np.ndarray:
    if length < 1:
        raise ValueError(f"a fade needs at least one sample, not {length}")
    return np.arange(1, length + 1, dtype=np.float64) / length


def equal_power_into(
    out: np.ndarray, index: np.ndarray, first: int, length: int, *, rising: bool
) -> None:
    """Gains `first .. first + len(out) - 1` of an equal-power fade of `length` samples.

    `out` is float32 and `index` a float32 `arange` as long as `out`. Computed in float32
    (exact sample offsets up to 2**24, i.e. fades up to ~5.8 minutes at 48 kHz), and each
    gain is a function of its position in the fade only, so computing a fade block by
    block gives the same gains as computing it whole.
    """
    if rising:  # sin(pi/2 * (k + 1) / n)
        np.add(index, np.float32(first + 1), out=out)
    else:  # cos(pi/2 * (k + 1) / n) written as sin(pi/2 * (n - 1 - k) / n): exactly 0 at the end
        np.subtract(np.float32(length - 1 - first), index, out=out)
    np.multiply(out, np.float32(0.5 * np.pi / length), out=out)
    np.sin(out, out=out)


def _table(length: int, rising: bool) -> np.ndarray:
    if length < 1:
        raise ValueError(f"a fade needs at least one sample, not {length}")
    table = np.empty(length, dtype=np.float32)
    equal_power_into(table, np.arange(length, dtype=np.float32), 0, length, rising=rising)
    return table


def equal_power_in(length: int) -> np.ndarray:
    """sin(pi/2 * t) for t = 1/n .. 1: the incoming side of an equal-power crossfade."""
    return _table(length, True)


def equal_power_out(length: int) -> np.ndarray:
    """cos(pi/2 * t) for t = 1/n .. 1: the outgoing side; it reaches 0 on its last sample."""
    return _table(length, False)


def linear_ramp(start_gain: float, end_gain: float, length: int) -> np.ndarray:
    """A straight ramp from `start_gain` (exclusive) to `end_gain` (reached on the last sample)."""
    t = _progress(length)
    table = (start_gain + (end_gain - start_gain) * t).astype(np.float32)
    table[-1] = end_gain
    return table


def click_guard_samples(sample_rate: int) -> int:
    return max(1, round(CLICK_GUARD_MS * sample_rate / 1000))
