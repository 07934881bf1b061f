"""The seam: fold a rendered tail onto the loop's head, and measure how seamless it is.

A loop is rendered with its material continuing past the loop end (notes that wrap round
the seam keep sounding, releases and reverb ring out). `fold_tail` adds everything past
the loop end back onto the start, so playing the loop over and over gives exactly the
audio an endless performance would: the decays carry over the seam.

`seam_report` is the reusable measure (also for audio backends): it compares the
*sample step* and the *spectral flux* at the seam (last sample -> first sample) with the
same two figures at the loop's inner bar lines. Bar lines are where music changes on
purpose; a seamless seam is no more abrupt than they are. A cut loop (the waveform
jumps, or a sound stops dead) shows a step or a flux well above every bar line.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: FFT frame length and hop of the flux measure (5.3 ms / 2.7 ms at 48 kHz).
FLUX_FRAME = 256
#: A seam passes when each figure is at most this multiple of the largest bar-line figure.
SEAM_TOLERANCE = 1.5
#: Jumps this far (in samples) each side of a position set its scale.
STEP_CONTEXT = 64
#: Smallest jump RMS a step is divided by (silence must not turn a tiny jump into a click).
STEP_FLOOR = 1e-4
#: Lowest step limit: a continuous signal's step is about 1, so a seam scoring under 2 is
#: no jump even when every bar line happens to be smoother than that (sustained banks).
MIN_STEP_LIMIT = 2.0


def fold_tail(audio: np.ndarray, loop_frames: int) -> np.ndarray:
    """Sum every `loop_frames`-long slice of `audio` onto the first: the steady-state loop.

    `audio` is (frames, channels) with frames >= loop_frames; the result is
    (loop_frames, channels) float32. Tails longer than the loop fold round again.
    """
    if loop_frames <= 0:
        raise ValueError(f"loop_frames must be positive, got {loop_frames}")
    if audio.shape[0] < loop_frames:
        raise ValueError(f"{audio.shape[0]} frames is shorter than the loop ({loop_frames})")
    # period by period from +0.0, in order: the sum a reduction over the stacked periods
    # gives, bit for bit (signed zeros included), without a padded float64 copy
    folded = np.zeros((loop_frames, audio.shape[1]), dtype=np.float64)
    for start in range(0, audio.shape[0], loop_frames):
        part = audio[start : start + loop_frames]
        folded[: part.shape[0]] += part
    return folded.astype(np.float32)


@dataclass(frozen=True)
class SeamReport:
    """Seam figures beside the bar-line figures they are judged against."""

    seam_step: float
    seam_flux: float
    bar_steps: tuple[float, ...]
    bar_fluxes: tuple[float, ...]
    step_limit: float
    flux_limit: float
    reference_positions: tuple[int, ...] = field(default=())

    @property
    def step_ok(self) -> bool:
        return self.seam_step <= self.step_limit

    @property
    def flux_ok(self) -> bool:
        return self.seam_flux <= self.flux_limit

    @property
    def passed(self) -> bool:
        return self.step_ok and self.flux_ok

    def to_json(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "seam_step": self.seam_step,
            "seam_flux": self.seam_flux,
            "step_limit": self.step_limit,
            "flux_limit": self.flux_limit,
            "bar_steps": list(self.bar_steps),
            "bar_fluxes": list(self.bar_fluxes),
        }


def _step_at(audio: np.ndarray, position: int) -> float:
    """The jump into sample `position` over the RMS of the jumps around it (circular).

    The largest channel counts. A continuous signal scores about 1 (up to ~3); a cut
    makes a jump far larger than the signal's own sample-to-sample motion.
    """
    frames = audio.shape[0]
    indices = np.arange(position - STEP_CONTEXT - 1, position + STEP_CONTEXT + 1) % frames
    jumps = np.abs(np.diff(audio[indices], axis=0))  # jumps[STEP_CONTEXT] enters `position`
    centre = jumps[STEP_CONTEXT]
    around = np.delete(jumps, STEP_CONTEXT, axis=0)
    scale = np.maximum(np.sqrt(np.mean(around**2, axis=0)), STEP_FLOOR)
    return float(np.max(centre / scale))


def _spectrum(mono: np.ndarray, centre: int, window: np.ndarray) -> np.ndarray:
    half = FLUX_FRAME // 2
    indices = np.arange(centre - half, centre + half) % mono.shape[0]
    return np.abs(np.fft.rfft(mono[indices] * window))


def _flux_at(mono: np.ndarray, position: int, window: np.ndarray) -> float:
    """Normalised positive spectral flux into the frame centred on `position` (circular).

    0 means nothing new appeared; values near 1 mean the frame is all new energy.
    """
    hop = FLUX_FRAME // 2
    previous = _spectrum(mono, position - hop, window)
    current = _spectrum(mono, position, window)
    rise = np.maximum(current - previous, 0.0).sum()
    total = current.sum() + previous.sum()
    return float(rise / total) if total > 1e-12 else 0.0


def reference_positions(bar_samples: Sequence[int], frames: int) -> tuple[int, ...]:
    """Inner bar (or beat) lines; midpoints are added when there are fewer than three."""
    inner = [int(s) for s in bar_samples if 0 < s < frames]
    if len(inner) >= 3:
        return tuple(inner)
    lines = [0, *inner, frames]
    halves = [(a + b) // 2 for a, b in itertools.pairwise(lines)]
    return tuple(sorted(set(inner + halves)))


def seam_report(
    audio: np.ndarray,
    bar_samples: Sequence[int],
    sample_rate: int,
    *,
    beat_samples: Sequence[int] | None = None,
    tolerance: float = SEAM_TOLERANCE,
) -> SeamReport:
    """Judge the seam of a loop (`audio`: (frames, channels) or (frames,)).

    `bar_samples` are the bar lines in samples (0 and the loop end may be included; they
    are ignored). With `beat_samples` the inner beat lines are the reference instead (a
    larger sample of the same kind of moment). `sample_rate` is accepted so callers state
    it; the measure works on samples and fixed-length frames. The seam passes when its
    sample step and spectral flux are each at most `tolerance` x the largest value at the
    reference positions (the step limit is never below `MIN_STEP_LIMIT`).
    """
    del sample_rate  # frames are fixed-length; documented for callers and future measures
    data = np.asarray(audio, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    frames = data.shape[0]
    if frames < 2 * FLUX_FRAME:
        raise ValueError(f"a loop of {frames} frames is too short to measure its seam")
    lines = bar_samples if beat_samples is None else beat_samples
    positions = reference_positions(lines, frames)
    mono = data.mean(axis=1)
    window = np.hanning(FLUX_FRAME)
    bar_steps = tuple(_step_at(data, p) for p in positions)
    bar_fluxes = tuple(_flux_at(mono, p, window) for p in positions)
    return SeamReport(
        seam_step=_step_at(data, 0),
        seam_flux=_flux_at(mono, 0, window),
        bar_steps=bar_steps,
        bar_fluxes=bar_fluxes,
        step_limit=max(max(bar_steps) * tolerance, MIN_STEP_LIMIT),
        flux_limit=max(bar_fluxes) * tolerance,
        reference_positions=positions,
    )
