"""Loudness: integrated loudness (ITU-R BS.1770-4, vectorised) and true peak.

A variant's mix is normalised with one gain: the gain that brings its integrated
loudness to the target, lowered if needed so the true peak stays at or under the ceiling.
The stems are scaled by the same gain, so they keep their balance and still sum to the mix.
True peak is estimated by 4x oversampling (polyphase FIR, as BS.1770-4 Annex 2 suggests);
loops are oversampled circularly so the seam is measured like any other sample.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

#: Loudness reported for silence (the BS.1770 absolute gate).
SILENCE_LUFS = -70.0
TRUE_PEAK_OVERSAMPLING = 4
#: Guard below the ceiling for the estimate's own error (inter-sample peaks between
#: the 4x points can exceed it by a few hundredths of a dB).
TRUE_PEAK_GUARD_DB = 0.05
#: Blocks of the true-peak search and the candidate range.
PEAK_BLOCK = 512
CANDIDATE_RANGE_DB = 6.0


@dataclass(frozen=True)
class LoudnessGain:
    gain_db: float
    loudness_lufs: float  # after the gain
    true_peak_db: float  # after the gain
    peak_limited: bool  # True when the ceiling, not the loudness target, set the gain


#: BS.1770 gating: 400 ms blocks every 100 ms, absolute gate -70 LUFS, relative -10 LU.
GATE_BLOCK_SECONDS = 0.4
GATE_HOPS_PER_BLOCK = 4
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LOUDNESS_OFFSET = -0.691


@functools.lru_cache(maxsize=8)
def _k_weighting(sample_rate: int) -> np.ndarray:
    """BS.1770's K-weighting (high shelf, then high pass) as second-order sections, with
    the coefficients pyloudnorm's meter uses."""
    from pyloudnorm import IIRfilter

    shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sample_rate, "high_shelf")
    high_pass = IIRfilter(0.0, 0.5, 38.0, sample_rate, "high_pass")
    return np.array([[*f.b, *f.a] for f in (shelf, high_pass)])


def integrated_loudness(audio: np.ndarray, sample_rate: int, *, circular: bool = True) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, stereo, channel gains 1);
    loops shorter than 3 s are measured over repeats.

    The K-weighting runs in float32 over both channels in one compiled pass that sums
    each 100 ms hop's squared samples in float64 (`loudness_kernel`), and the gating
    blocks are summed from those hops with no loop over blocks: the same figure as
    pyloudnorm's meter within 0.001 LU, several times faster.
    """
    from engine_core.render.loudness_kernel import k_weighted_hop_energy

    data = np.asarray(audio)
    if data.dtype not in (np.float32, np.float64):
        data = data.astype(np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if circular and data.shape[0] < 3 * sample_rate:
        data = np.tile(data, (-(-3 * sample_rate // data.shape[0]), 1))
    frames = data.shape[0]
    if frames < GATE_BLOCK_SECONDS * sample_rate or not np.any(data):
        return SILENCE_LUFS
    hop = round(GATE_BLOCK_SECONDS * sample_rate / GATE_HOPS_PER_BLOCK)
    # as many blocks as BS.1770's count (pyloudnorm's), the last one zero-padded if short
    blocks = round((frames / sample_rate - GATE_BLOCK_SECONDS) * sample_rate / hop) + 1
    hops = blocks + GATE_HOPS_PER_BLOCK - 1
    sos = _k_weighting(sample_rate).astype(np.float32)
    hop_energy = k_weighted_hop_energy(data, sos, hop, hops)  # channels summed
    windows = np.lib.stride_tricks.sliding_window_view(hop_energy, GATE_HOPS_PER_BLOCK)
    power = windows.sum(axis=1) / (GATE_HOPS_PER_BLOCK * hop)  # mean square per block
    with np.errstate(divide="ignore"):
        block_lufs = LOUDNESS_OFFSET + 10.0 * np.log10(power)
    gated = power[block_lufs >= ABSOLUTE_GATE_LUFS]
    if gated.size == 0:
        return SILENCE_LUFS
    relative = LOUDNESS_OFFSET + 10.0 * np.log10(gated.mean()) + RELATIVE_GATE_LU
    kept = power[(block_lufs > relative) & (block_lufs > ABSOLUTE_GATE_LUFS)]
    if kept.size == 0:
        return SILENCE_LUFS
    loudness = LOUDNESS_OFFSET + 10.0 * float(np.log10(kept.mean()))
    return loudness if np.isfinite(loudness) else SILENCE_LUFS


def true_peak_db(audio: np.ndarray, *, circular: bool = True) -> float:
    """Peak of the 4x oversampled signal in dBTP (silence is reported as -200 dB).

    Only blocks whose sample peak is within `CANDIDATE_RANGE_DB` of the loudest sample
    can hold the true peak (inter-sample overs of real music stay well under that), so
    only those are oversampled (`loudness_kernel.oversampled_peak`: each run of
    consecutive candidate blocks with the filter's reach of neighbouring samples each
    side, wrapped round the seam for loops, the first and last sample repeated for
    one-shots). The values are `resample_poly(x, 4, 1)`'s at those samples; only the
    largest magnitude is kept, so no oversampled copy is made.
    """
    from engine_core.render.loudness_kernel import block_peaks as compiled_block_peaks
    from engine_core.render.loudness_kernel import oversampled_peak

    data = np.asarray(audio)
    if data.dtype not in (np.float32, np.float64):
        data = data.astype(np.float32)
    if data.ndim == 1:
        data = data[:, None]
    frames = data.shape[0]
    if frames == 0:
        return -200.0
    block_peaks = compiled_block_peaks(data, PEAK_BLOCK)
    sample_peak = float(block_peaks.max())
    if sample_peak <= 0.0:
        return -200.0
    threshold = sample_peak * 10.0 ** (-CANDIDATE_RANGE_DB / 20.0)
    chosen = np.flatnonzero(block_peaks >= threshold)
    breaks = np.flatnonzero(np.diff(chosen) != 1)
    starts = chosen[np.concatenate(([0], breaks + 1))] * PEAK_BLOCK
    stops = np.minimum(
        (chosen[np.concatenate((breaks, [chosen.size - 1]))] + 1) * PEAK_BLOCK, frames
    )
    peak = oversampled_peak(data, starts, stops, _interpolation_taps(), circular)
    return 20.0 * float(np.log10(max(peak, sample_peak)))


@functools.cache
def _interpolation_taps() -> np.ndarray:
    """(4, 21) float32: `resample_poly(x, 4, 1)`'s filter (a Kaiser-windowed sinc, 81
    taps, in float32 as it applies it to float32 input) split into its four phases:
    output 4n + p = sum_t taps[p, t] * x[n + 10 - t]."""
    from scipy.signal import firwin

    up = TRUE_PEAK_OVERSAMPLING
    half = 10 * up
    taps = firwin(2 * half + 1, 1.0 / up, window=("kaiser", 5.0)).astype(np.float32)
    taps *= np.float32(up)
    padded = np.zeros(-(-taps.size // up) * up, np.float32)
    padded[: taps.size] = taps
    return np.ascontiguousarray(padded.reshape(-1, up).T)


def normalising_gain(
    mix: np.ndarray,
    sample_rate: int,
    *,
    loudness_lufs: float,
    ceiling_db: float,
    circular: bool = True,
) -> LoudnessGain:
    """The one gain for a variant: loudness target, capped by the true-peak ceiling."""
    measured = integrated_loudness(mix, sample_rate, circular=circular)
    peak = true_peak_db(mix, circular=circular)
    if measured <= SILENCE_LUFS:
        return LoudnessGain(0.0, SILENCE_LUFS, peak, False)
    gain_db = loudness_lufs - measured
    limit_db = ceiling_db - TRUE_PEAK_GUARD_DB - peak
    limited = gain_db > limit_db
    if limited:
        gain_db = limit_db
    return LoudnessGain(gain_db, measured + gain_db, peak + gain_db, limited)


def db_to_gain(gain_db: float) -> float:
    return float(10.0 ** (gain_db / 20.0))
