"""Sample-rate conversion from the synthesiser's 48 kHz to a spec's rate.

Loops are resampled as the periodic signals they are: an FFT resampler (scipy's
`resample`) maps exactly one period of `n` frames onto the target loop length, so the
seam stays seamless and the loop length is exact to the sample. One-shots use a
polyphase filter (scipy's `resample_poly`) with the rate ratio reduced to lowest terms.
"""

from __future__ import annotations

from math import gcd

import numpy as np


def resample_loop(audio: np.ndarray, frames: int) -> np.ndarray:
    """One loop period resampled to exactly `frames` frames (circular, band-limited)."""
    from scipy.signal import resample

    if frames == audio.shape[0]:
        return audio.astype(np.float32, copy=False)
    return resample(audio.astype(np.float64), frames, axis=0).astype(np.float32)


def resample_one_shot(audio: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """A non-periodic signal converted between rates with a polyphase filter."""
    from scipy.signal import resample_poly

    if source_rate == target_rate:
        return audio.astype(np.float32, copy=False)
    divisor = gcd(source_rate, target_rate)
    up, down = target_rate // divisor, source_rate // divisor
    return resample_poly(audio.astype(np.float64), up, down, axis=0).astype(np.float32)
