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
import threading

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
#: rate and size), with the CPU time per transformed point `apply` measured for each
#: (ns, 34 s stems, two render threads, 2-core EPYC with 1 MB L2 per core): the larger
#: transforms outgrow the caches, so beyond 2^18 a point costs more than n log n says.
#: Each bus takes the size of least segments x size x cost for its length: 2^18 for a
#: 34 s stem (2^19 cost 1.3x as much CPU), 2^17 for a short bus.
FFT_COST_NS = {1 << 17: 9.2, 1 << 18: 11.4, 1 << 19: 18.5, 1 << 20: 27.0}
FFT_SIZES = tuple(FFT_COST_NS)


@functools.cache
def _response_spectrum(sample_rate: int, size: int) -> np.ndarray:
    """(size // 2 + 1, 2) complex64: the response's spectrum, channels last."""
    import scipy.fft

    return scipy.fft.rfft(impulse_response(sample_rate), size, axis=0)


def fft_size(frames: int, sample_rate: int = SAMPLE_RATE) -> int:
    """The FFT size with the least measured work (segments x size x `FFT_COST_NS`) for a
    bus of `frames`."""
    response = impulse_response(sample_rate).shape[0]
    usable = [n for n in FFT_SIZES if n > response]

    def work(n: int) -> float:
        return -(-frames // (n - response + 1)) * n * FFT_COST_NS[n]

    return min(usable, key=lambda n: (work(n), n))


class _Workspace(threading.local):
    """Each thread's scratch arrays for `apply`, kept between calls and grown as needed.

    A 34 s stem's convolution needs ~50 MB of scratch (the padded segments and their
    convolved output, the spectra and their products); allocated afresh on every call,
    blocks that size are mapped and unmapped by the allocator each time, and faulting the
    fresh pages in cost a third of the reverb's CPU time on the render threads. Reusing
    them keeps that memory per thread that has run the reverb.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def take(self, name: str, count: int, dtype: type) -> np.ndarray:
        """A flat array of at least `count` elements (contents undefined), the first
        `count` of them returned."""
        array = self.arrays.get(name)
        if array is None or array.size < count:
            array = self.arrays[name] = np.empty(count, dtype)
        return array[:count]


_workspace = _Workspace()


def _rfft_into(rows: np.ndarray, out: np.ndarray) -> None:
    """`out[...] = scipy.fft.rfft(rows, axis=1)`, written into `out` (no fresh array)."""
    try:
        from scipy.fft._pocketfft.pypocketfft import r2c
    except ImportError:  # scipy's own binding moved: the public call, plus a copy
        import scipy.fft

        out[...] = scipy.fft.rfft(rows, axis=1)
        return
    r2c(rows, axes=(1,), forward=True, inorm=0, out=out)


def _irfft_into(spectra: np.ndarray, out: np.ndarray) -> None:
    """`out[...] = scipy.fft.irfft(spectra, out.shape[1], axis=1)`, written into `out`."""
    try:
        from scipy.fft._pocketfft.pypocketfft import c2r
    except ImportError:
        import scipy.fft

        out[...] = scipy.fft.irfft(spectra, out.shape[1], axis=1)
        return
    c2r(spectra, axes=(1,), lastsize=out.shape[1], forward=False, inorm=2, out=out)


def apply(
    bus: np.ndarray, sample_rate: int = SAMPLE_RATE, *, into: np.ndarray | None = None
) -> np.ndarray:
    """The reverb's output (frames, 2) float32 for a mono float32 input bus, cut to its
    length: overlap-add FFT convolution, segments of silent input skipped.

    With `into` (a (frames, 2) float32 array, say the stem's dry mix) the output is added
    to it in place and `into` is returned: no output array is allocated (a fresh 13 MB
    array per 34 s stem costs its page faults) and no second pass adds it. The sums are
    the same up to float32 rounding where segments overlap (added in another order).

    All the bus's non-silent segments go through one batched real FFT, one product with
    the response's spectrum and one batched inverse FFT (pocketfft runs a batch of
    transforms several at a time in SIMD lanes, and releases the GIL throughout), written
    channels last so the overlap-add is a few contiguous additions. Each segment's
    transform is the one a segment alone would get: the result is the same, bit for bit,
    as transforming segment by segment.
    """
    bus = np.asarray(bus, dtype=np.float32)
    frames = bus.size
    size = fft_size(frames, sample_rate)
    segment = size - impulse_response(sample_rate).shape[0] + 1
    starts = np.arange(0, frames, segment)
    active = [begin for begin in starts.tolist() if bus[begin : begin + segment].any()]
    if into is not None and (into.shape != (frames, 2) or into.dtype != np.float32):
        raise ValueError(
            f"reverb output of {frames} frames cannot go into {into.dtype} {into.shape}"
        )
    out = into if into is not None else np.zeros((frames, 2), np.float32)
    if not active:
        return out
    count, bins = len(active), size // 2 + 1
    # the inverse transform's output takes the memory of its input rows (no longer needed)
    real = _workspace.take("real", count * size * 2, np.float32)
    rows = real[: count * size].reshape(count, size)
    rows[:, segment:] = 0.0
    for row, begin in zip(rows, active, strict=True):
        piece = bus[begin : begin + segment]
        row[: piece.size] = piece
        row[piece.size : segment] = 0.0
    spectra = _workspace.take("spectra", count * bins, np.complex64).reshape(count, bins)
    _rfft_into(rows, spectra)
    products = _workspace.take("products", count * bins * 2, np.complex64)
    products = products.reshape(count, bins, 2)
    np.multiply(spectra[:, :, None], _response_spectrum(sample_rate, size), out=products)
    wet = real.reshape(count, size, 2)
    _irfft_into(products, wet)
    for row, begin in zip(wet, active, strict=True):
        stop = min(begin + size, frames)
        out[begin:stop] += row[: stop - begin]
    return out
