"""The synthesiser's reverb as an impulse response, applied to a stem's reverb bus by FFT.

RustySynth's reverb is Freeverb: eight parallel comb filters (delays 1116-1617 samples at
44.1 kHz, scaled to the rate; feedback 0.84 through a one-pole low-pass, damping 0.2)
summed, then four all-pass filters in series (feedback 0.5), the right channel's delays
23 samples longer; wet 1, width 1 (no cross-mix); the master volume (0.5) is already in
the bus (`voice.NoteAudio.reverb`). It is linear and time-invariant, apart from flushing
values under 1e-6 to zero (which only shortens a decayed tail), so the output is the input
convolved with its impulse response. `impulse_response` computes that response once per
sample rate by running the filters (`voice_kernel.freeverb_response`) on a unit impulse.
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 48000
COMB_TUNINGS = (1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617)
ALLPASS_TUNINGS = (556, 441, 341, 225)
STEREO_SPREAD = 23
FEEDBACK = 0.5 * 0.28 + 0.7
DAMP = 0.5 * 0.4
ALLPASS_FEEDBACK = 0.5
#: The response is kept until its remaining energy is this far below its total.
TAIL_ENERGY = 1e-9
RESPONSE_SECONDS = 2.5


def _scaled(sample_rate: int, tuning: int) -> int:
    return round(sample_rate / 44100.0 * tuning)


@functools.cache
def impulse_response(sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(frames, 2) float32: the reverb's output for a unit impulse at its input, cut
    where less than `TAIL_ENERGY` of its energy remains."""
    from engine_core.render.voice_kernel import freeverb_response

    frames = int(RESPONSE_SECONDS * sample_rate)
    channels = [
        freeverb_response(
            frames,
            np.array([_scaled(sample_rate, t + spread) for t in COMB_TUNINGS]),
            np.array([_scaled(sample_rate, t + spread) for t in ALLPASS_TUNINGS]),
            FEEDBACK,
            DAMP,
            ALLPASS_FEEDBACK,
        ).astype(np.float64)
        for spread in (0, STEREO_SPREAD)
    ]
    response = np.stack(channels, axis=1)
    energy = np.cumsum((response**2).sum(axis=1)[::-1])[::-1]
    keep = int(np.searchsorted(-energy, -TAIL_ENERGY * energy[0]))
    return response[: max(keep, 1)].astype(np.float32)


#: FFT sizes the overlap-add convolution may use (the response's spectrum is kept per
#: rate and size): each stem takes the one with the least work for its length.
FFT_SIZES = tuple(1 << bits for bits in range(17, 21))


@functools.cache
def _response_spectrum(sample_rate: int, size: int) -> np.ndarray:
    import scipy.fft

    return scipy.fft.rfft(impulse_response(sample_rate), size, axis=0)


def fft_size(frames: int, sample_rate: int = SAMPLE_RATE) -> int:
    """The FFT size with the least work (segments x n log n) for a bus of `frames`."""
    response = impulse_response(sample_rate).shape[0]
    usable = [n for n in FFT_SIZES if n > response]

    def work(n: int) -> float:
        return -(-frames // (n - response + 1)) * n * np.log2(n)

    return min(usable, key=lambda n: (work(n), n))


def apply(bus: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The reverb's output (frames, 2) float32 for a mono float32 input bus, cut to its
    length: overlap-add FFT convolution, segments of silent input skipped."""
    import scipy.fft

    frames = bus.size
    size = fft_size(frames, sample_rate)
    out = np.zeros((frames + size, 2), np.float32)
    spectrum = _response_spectrum(sample_rate, size)
    segment = size - impulse_response(sample_rate).shape[0] + 1
    for begin in range(0, frames, segment):
        piece = bus[begin : begin + segment]
        if not piece.any():
            continue
        wet = scipy.fft.irfft(scipy.fft.rfft(piece, size)[:, None] * spectrum, size, axis=0)
        out[begin : begin + size] += wet
    return out[:frames]
