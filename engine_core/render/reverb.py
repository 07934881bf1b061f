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
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

SAMPLE_RATE = 48000
COMB_TUNINGS = (1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617)
ALLPASS_TUNINGS = (556, 441, 341, 225)
STEREO_SPREAD = 23
FEEDBACK = 0.5 * 0.28 + 0.7
DAMP = 0.5 * 0.4
ALLPASS_FEEDBACK = 0.5
#: The response is kept until its remaining energy is this far below its total (-80 dB:
#: 1.64 s at 48 kHz, against 1.87 s at -90 dB; a 34 s stem then takes 9 FFT segments,
#: not 10, and what is cut is 80 dB under the reverb itself).
TAIL_ENERGY = 1e-8
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
#: (ns, a 34 s bus, two render threads at once, a 2-core Xeon with AVX-512, torch's MKL
#: transforms): the larger transforms outgrow the caches, so a point costs more than
#: n log n says. Each bus takes the size of least segments x size x cost for its length:
#: 2^18 for a 34 s stem (9 segments; 2^19 and 2^20 cost 8% and 17% more CPU, 2^17 2.1x).
#: A single segment costs more per point (torch transforms a batch of one another way:
#: ~21 ns at 2^18), so a bus of 1.1-2.2 s takes 2^18 where two 2^17 segments would be
#: cheaper; such buses cost a few ms either way.
FFT_COST_NS = {1 << 17: 15.0, 1 << 18: 12.5, 1 << 19: 15.2, 1 << 20: 16.5}
FFT_SIZES = tuple(FFT_COST_NS)


@functools.cache
def _response_spectrum(sample_rate: int, size: int) -> torch.Tensor:
    """(2, size // 2 + 1) complex64 torch tensor: the response's spectrum per channel."""
    import torch

    response = torch.from_numpy(np.ascontiguousarray(impulse_response(sample_rate).T))
    return torch.fft.rfft(response, size, dim=1)


def fft_size(frames: int, sample_rate: int = SAMPLE_RATE) -> int:
    """The FFT size with the least measured work (segments x size x `FFT_COST_NS`) for a
    bus of `frames`."""
    response = impulse_response(sample_rate).shape[0]
    usable = [n for n in FFT_SIZES if n > response]

    def work(n: int) -> float:
        return -(-frames // (n - response + 1)) * n * FFT_COST_NS[n]

    return min(usable, key=lambda n: (work(n), n))


class _Workspace(threading.local):
    """Each thread's scratch tensors for `apply`, kept between calls and grown as needed.

    A 34 s stem's convolution needs ~50 MB of scratch (the padded segments and their
    convolved output, the spectra and their products); allocated afresh on every call,
    blocks that size are mapped and unmapped by the allocator each time, and faulting the
    fresh pages in cost a third of the reverb's CPU time on the render threads. Reusing
    them keeps that memory per thread that has run the reverb.
    """

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}

    def take(self, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        """A contiguous tensor of `shape` (contents undefined), a view of this thread's
        kept storage for `name`."""
        import torch

        count = int(np.prod(shape))
        kept = self.tensors.get(name)
        if kept is None or kept.numel() < count:
            kept = self.tensors[name] = torch.empty(count, dtype=dtype)
        return kept[:count].view(shape)


_workspace = _Workspace()


def apply(
    bus: np.ndarray, sample_rate: int = SAMPLE_RATE, *, into: np.ndarray | None = None
) -> np.ndarray:
    """The reverb's output, planar float32 (2, frames), for a mono float32 input bus, cut
    to its length: overlap-add FFT convolution, segments of silent input skipped.

    With `into` (a (2, frames) float32 array, say the stem's dry buses) the output is
    added to it in place and `into` is returned: no output array is allocated and no
    second pass adds it.

    All the bus's non-silent segments go through one batched real FFT, one product with
    the response's spectrum and one batched inverse FFT, written into this thread's kept
    tensors, channels first so the overlap-add is a few contiguous additions. The
    transforms are torch's (Intel MKL in its x86 builds, which ships inside torch): on
    these sizes they take half the CPU time of scipy's pocketfft and, unlike it, two
    render threads running them at once do not slow each other down. They release the
    GIL, and their results depend only on the input (not on the thread or torch's thread
    count), so a stem's reverb is the same bit for bit wherever it is rendered.
    """
    import torch

    bus = np.asarray(bus, dtype=np.float32)
    frames = bus.size
    if into is not None and (into.shape != (2, frames) or into.dtype != np.float32):
        raise ValueError(
            f"reverb output of {frames} frames cannot go into {into.dtype} {into.shape}"
        )
    size = fft_size(frames, sample_rate)
    segment = size - impulse_response(sample_rate).shape[0] + 1
    starts = np.arange(0, frames, segment)
    active = [begin for begin in starts.tolist() if bus[begin : begin + segment].any()]
    out = into if into is not None else np.zeros((2, frames), np.float32)
    if not active:
        return out
    count, bins = len(active), size // 2 + 1
    rows_t = _workspace.take("rows", (count, size), torch.float32)
    rows = rows_t.numpy()
    rows[:, segment:] = 0.0
    for row, begin in zip(rows, active, strict=True):
        piece = bus[begin : begin + segment]
        row[: piece.size] = piece
        row[piece.size : segment] = 0.0
    spectra = _workspace.take("spectra", (count, 1, bins), torch.complex64)
    torch.fft.rfft(rows_t, dim=1, out=spectra.view(count, bins))
    products = _workspace.take("products", (count, 2, bins), torch.complex64)
    torch.mul(spectra, _response_spectrum(sample_rate, size), out=products)
    wet_t = _workspace.take("wet", (count, 2, size), torch.float32)
    torch.fft.irfft(products, size, dim=2, out=wet_t)
    wet = wet_t.numpy()
    for row, begin in zip(wet, active, strict=True):
        stop = min(begin + size, frames)
        out[:, begin:stop] += row[:, : stop - begin]
    return out
