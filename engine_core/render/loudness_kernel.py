"""The loudness meter's two sample loops, compiled with numba (they release the GIL).

`k_weighted_hop_energy` runs BS.1770's K-weighting (two biquads, scipy's `sosfilt`
recurrence in float32) over both channels in one pass and sums each 100 ms hop's squared
output in float64, without the filtered copy, the squares or the hop reshape that the
numpy version allocates. `oversampled_peak` is the true-peak filter: for each run of
candidate samples, the four phases of `resample_poly`'s 4x interpolation filter (a 21-tap
FIR each) applied in float32 as upfirdn applies them, and only the largest magnitude kept.

Compiled on first use and cached on disk beside this file (numba's `cache=True`).
"""

from __future__ import annotations

import numba
import numpy as np

#: Taps smaller than this are a windowed sinc's zero crossings (about 1e-17) and skipped:
#: in float32 they could not change a sum that holds a sample at unit gain.
NEGLIGIBLE_TAP = 1e-9


@numba.njit(cache=True, nogil=True, inline="always")
def _k_weighted(x, z, c):  # type: ignore[no-untyped-def]
    """One sample through the two sections (`sosfilt`'s transposed direct form II, in
    float32): the output and the new state. `z` is (section 0's two delays, section 1's),
    `c` the coefficients (b0, b1, b2, a1, a2) of section 0, then section 1."""
    b00, b01, b02, a01, a02, b10, b11, b12, a11, a12 = c
    z00, z01, z10, z11 = z
    y = b00 * x + z00
    z00 = b01 * x - a01 * y + z01
    z01 = b02 * x - a02 * y
    x = y
    y = b10 * x + z10
    z10 = b11 * x - a11 * y + z11
    z11 = b12 * x - a12 * y
    return y, (z00, z01, z10, z11)


@numba.njit(cache=True, nogil=True)
def k_weighted_hop_energy(audio: np.ndarray, sos: np.ndarray, hop: int, hops: int) -> np.ndarray:
    """Per hop of `hop` frames (the first `hops`), the sum over channels of the squared
    K-weighted signal. `audio` is (frames, channels), float32 or float64 (each sample is
    rounded to float32 first); `sos` is two second-order sections (2, 6), float32, a0 = 1.
    Each channel's filter state lives in registers, and the channels run side by side."""
    frames, channels = audio.shape
    energy = np.zeros(hops, np.float64)
    limit = min(frames, hop * hops)
    c = (
        *(sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]),
        *(sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]),
    )
    zero = np.float32(0.0)
    for first in range(0, channels, 2):
        pair = min(2, channels - first)
        left = (zero, zero, zero, zero)  # each channel of the pair's filter state
        right = (zero, zero, zero, zero)
        for n in range(limit):
            y, left = _k_weighted(np.float32(audio[n, first]), left, c)
            total = np.float64(y * y)
            if pair == 2:
                y, right = _k_weighted(np.float32(audio[n, first + 1]), right, c)
                total += np.float64(y * y)
            energy[n // hop] += total
    return energy


@numba.njit(cache=True, nogil=True)
def oversampled_peak(
    audio: np.ndarray, starts: np.ndarray, stops: np.ndarray, taps: np.ndarray, circular: bool
) -> float:
    """The largest magnitude of the oversampled signal at the frames of each run
    [starts[i], stops[i]) of `audio` (frames, channels), every phase. `taps` is
    (phases, width) float32: output phase p of input frame n is
    sum_t taps[p, t] * audio[n + width // 2 - t]; frames outside the signal wrap round
    (`circular`) or repeat its first and last frame."""
    frames, channels = audio.shape
    phases, width = taps.shape
    reach = width // 2
    peak = 0.0
    for run in range(starts.size):
        start, stop = starts[run], stops[run]
        length = stop - start
        window = np.empty(length + 2 * reach, np.float32)
        acc = np.empty(length, np.float32)
        for c in range(channels):
            for i in range(length + 2 * reach):
                index = start - reach + i
                if index < 0 or index >= frames:
                    if circular:
                        index %= frames
                    else:
                        index = min(max(index, 0), frames - 1)
                window[i] = np.float32(audio[index, c])
            for p in range(phases):
                acc[:] = 0.0
                for t in range(width):
                    weight = taps[p, t]
                    if abs(weight) < NEGLIGIBLE_TAP:  # a sinc's zero crossings
                        continue
                    shifted = window[2 * reach - t : 2 * reach - t + length]
                    for n in range(length):
                        acc[n] += weight * shifted[n]
                for n in range(length):
                    magnitude = abs(acc[n])
                    if magnitude > peak:
                        peak = magnitude
    return peak


@numba.njit(cache=True, nogil=True)
def block_peaks(audio: np.ndarray, block: int) -> np.ndarray:
    """The largest magnitude in each `block` frames of `audio` (frames, channels), the
    last block possibly short; no array of magnitudes is made."""
    frames, channels = audio.shape
    peaks = np.zeros(-(-frames // block), np.float64)
    for index in range(peaks.size):
        peak = 0.0
        for n in range(index * block, min(frames, (index + 1) * block)):
            for c in range(channels):
                peak = max(peak, abs(np.float64(audio[n, c])))
        peaks[index] = peak
    return peaks
