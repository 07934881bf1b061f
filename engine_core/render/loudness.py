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
#: Blocks of the true-peak search, their filter context, and the candidate range.
PEAK_BLOCK = 512
BLOCK_PAD = 64
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

    The K-weighting runs in float32 over both channels at once and the gating blocks are
    summed from 100 ms hops of squared samples (a float64 reduction), with no loop over
    blocks: the same figure as pyloudnorm's meter within 0.001 LU, several times faster.
    """
    from scipy.signal import sosfilt

    data = np.asarray(audio, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if circular and data.shape[0] < 3 * sample_rate:
        data = np.tile(data, (-(-3 * sample_rate // data.shape[0]), 1))
    frames = data.shape[0]
    if not np.any(data) or frames < GATE_BLOCK_SECONDS * sample_rate:
        return SILENCE_LUFS
    weighted = sosfilt(_k_weighting(sample_rate).astype(np.float32), data, axis=0)
    hop = round(GATE_BLOCK_SECONDS * sample_rate / GATE_HOPS_PER_BLOCK)
    # as many blocks as BS.1770's count (pyloudnorm's), the last one zero-padded if short
    blocks = round((frames / sample_rate - GATE_BLOCK_SECONDS) * sample_rate / hop) + 1
    hops = blocks + GATE_HOPS_PER_BLOCK - 1
    if hops * hop > frames:
        padding = np.zeros((hops * hop - frames, data.shape[1]), dtype=weighted.dtype)
        weighted = np.concatenate([weighted, padding])
    squares = np.square(weighted[: hops * hop], dtype=np.float32).reshape(hops, hop, -1)
    hop_energy = squares.sum(axis=1, dtype=np.float64).sum(axis=1)  # channels summed
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
    only those are oversampled: each run of consecutive candidate blocks as one segment,
    with `BLOCK_PAD` neighbouring samples each side (wrapped round the seam for loops) to
    settle the filter. An output sample depends only on the samples within the filter's
    reach of it, so a run gives each of its blocks the values that block would get alone.
    """
    from scipy.signal import resample_poly

    data = np.asarray(audio)
    if data.ndim == 1:
        data = data[:, None]
    frames = data.shape[0]
    sample_peak = float(np.max(np.abs(data))) if frames else 0.0
    if sample_peak <= 0.0:
        return -200.0
    threshold = sample_peak * 10.0 ** (-CANDIDATE_RANGE_DB / 20.0)
    blocks = -(-frames // PEAK_BLOCK)
    whole = (frames // PEAK_BLOCK) * PEAK_BLOCK
    block_peaks = np.empty(blocks)
    magnitude = np.abs(data[:whole]).reshape(frames // PEAK_BLOCK, -1)
    block_peaks[: frames // PEAK_BLOCK] = magnitude.max(axis=1)
    if whole < frames:
        block_peaks[-1] = np.abs(data[whole:]).max()
    chosen = np.flatnonzero(block_peaks >= threshold)
    breaks = np.flatnonzero(np.diff(chosen) != 1)
    firsts = chosen[np.concatenate(([0], breaks + 1))]
    lasts = chosen[np.concatenate((breaks, [chosen.size - 1]))]
    segments = []
    for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
        start, stop = first * PEAK_BLOCK, min((last + 1) * PEAK_BLOCK, frames)
        indices = np.arange(start - BLOCK_PAD, stop + BLOCK_PAD)
        indices = indices % frames if circular else np.clip(indices, 0, frames - 1)
        segments.append(data[indices].astype(np.float32))
    # One filter pass over all the segments; each keeps its own padded context and only
    # its middle (away from the joins) is searched.
    upsampled = resample_poly(np.concatenate(segments), TRUE_PEAK_OVERSAMPLING, 1, axis=0)
    peak = sample_peak
    offset = 0
    trim = BLOCK_PAD * TRUE_PEAK_OVERSAMPLING
    for segment in segments:
        length = segment.shape[0] * TRUE_PEAK_OVERSAMPLING
        middle = upsampled[offset + trim : offset + length - trim]
        peak = max(peak, float(np.max(np.abs(middle))))
        offset += length
    return 20.0 * float(np.log10(peak))


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
