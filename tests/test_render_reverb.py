"""The reverb's FFT convolution (`reverb.apply`): the batched overlap-add against a direct
convolution and against scipy's transforms one segment at a time, silent segments,
threads, torch's transforms written into kept tensors."""

import concurrent.futures as cf

import numpy as np
import pytest
import scipy.fft
from scipy.signal import fftconvolve

from engine_core.render import reverb


def _bus(frames: int, seed: int) -> np.ndarray:
    """Noise bursts at a reverb bus's level, with a silent stretch longer than a segment
    (so one segment is skipped) and silence at the end."""
    rng = np.random.default_rng(seed)
    bus = (rng.standard_normal(frames) * 3e-3).astype(np.float32)
    bus *= (np.sin(np.arange(frames) / 9000.0) > 0.3).astype(np.float32)
    segment = reverb.fft_size(frames) - reverb.impulse_response().shape[0] + 1
    bus[segment : 2 * segment + 1000] = 0.0
    bus[-20000:] = 0.0
    return bus


def _segment_by_segment(bus: np.ndarray) -> np.ndarray:
    """The overlap-add one segment at a time, each segment transformed on its own by
    scipy (pocketfft), (frames, 2)."""
    frames = bus.size
    size = reverb.fft_size(frames)
    segment = size - reverb.impulse_response().shape[0] + 1
    spectrum = scipy.fft.rfft(reverb.impulse_response(), size, axis=0)
    out = np.zeros((frames + size, 2), np.float32)
    for begin in range(0, frames, segment):
        piece = bus[begin : begin + segment]
        if piece.any():
            wet = scipy.fft.irfft(scipy.fft.rfft(piece, size)[:, None] * spectrum, size, axis=0)
            out[begin : begin + size] += wet
    return out[:frames]


@pytest.mark.parametrize("frames", [1_632_000, 30_000])
def test_the_reverb_is_the_convolution_with_its_response(frames: int) -> None:
    bus = _bus(frames, 1)
    ours = reverb.apply(bus)
    response = reverb.impulse_response().astype(np.float64)
    assert ours.dtype == np.float32 and ours.shape == (2, frames)
    for channel in range(2):
        truth = fftconvolve(bus.astype(np.float64), response[:, channel])[:frames]
        error = np.abs(ours[channel] - truth).max()
        assert error <= 2e-6 * np.abs(truth).max()


def test_batched_segments_are_scipys_segment_by_segment_to_float32_rounding() -> None:
    """Torch's batched transforms against scipy's, one segment at a time: the same sums
    to float32 rounding (the transforms round differently, so not bit for bit)."""
    bus = _bus(1_632_000, 2)
    ours, theirs = reverb.apply(bus).T, _segment_by_segment(bus)
    difference = (ours.astype(np.float64) - theirs) ** 2
    assert 10 * np.log10(difference.sum() / (theirs.astype(np.float64) ** 2).sum()) < -120.0


def test_the_response_is_cut_where_its_energy_is_spent() -> None:
    """The kept response holds all but `TAIL_ENERGY` of the full response's energy."""
    from engine_core.render.voice_kernel import freeverb_response

    rate = reverb.SAMPLE_RATE
    full = freeverb_response(
        int(reverb.RESPONSE_SECONDS * rate),
        np.array([reverb._scaled(rate, t) for t in reverb.COMB_TUNINGS]),
        np.array([reverb._scaled(rate, t) for t in reverb.ALLPASS_TUNINGS]),
        reverb.FEEDBACK,
        reverb.DAMP,
        reverb.ALLPASS_FEEDBACK,
    ).astype(np.float64)
    kept = reverb.impulse_response()
    assert np.array_equal(kept[:, 0], full[: kept.shape[0]].astype(np.float32))
    cut = (full[kept.shape[0] :] ** 2).sum() / (full**2).sum()
    assert 0.0 < cut < 2 * reverb.TAIL_ENERGY


def test_a_silent_bus_has_no_reverb() -> None:
    out = reverb.apply(np.zeros(500_000, np.float32))
    assert out.shape == (2, 500_000) and not out.any()


def test_render_threads_keep_their_own_scratch() -> None:
    """Two threads convolving different buses at once get what each gets alone."""
    buses = [_bus(frames, seed) for seed, frames in enumerate((1_000_000, 1_632_000, 700_000))]
    alone = [reverb.apply(bus) for bus in buses]
    with cf.ThreadPoolExecutor(2) as pool:
        together = list(pool.map(reverb.apply, buses * 2))
    for index, out in enumerate(together):
        assert np.array_equal(out, alone[index % len(buses)])


def test_the_transforms_written_into_kept_tensors_are_torchs() -> None:
    """`apply` writes its transforms into this thread's kept tensors (views of larger
    storage, as `_Workspace.take` gives them): the same numbers, bit for bit, as torch's
    own calls returning fresh tensors, and no storage is reallocated."""
    import torch

    rows = reverb._workspace.take("test rows", (3, 4096), torch.float32)
    rows.copy_(torch.from_numpy(np.random.default_rng(3).standard_normal((3, 4096))))
    spectra = reverb._workspace.take("test spectra", (3, 2049), torch.complex64)
    torch.fft.rfft(rows, dim=1, out=spectra)
    assert torch.equal(spectra, torch.fft.rfft(rows, dim=1))
    response = torch.tensor([0.5 - 0.25j, 1.0], dtype=torch.complex64)[:, None]
    products = spectra[:, None, :] * response
    wet = reverb._workspace.take("test wet", (3, 2, 4096), torch.float32)
    storage = wet.data_ptr()
    torch.fft.irfft(products, 4096, dim=2, out=wet)
    assert wet.data_ptr() == storage
    assert torch.equal(wet, torch.fft.irfft(products, 4096, dim=2))
    smaller = reverb._workspace.take("test wet", (1, 2, 4096), torch.float32)
    assert smaller.data_ptr() == storage


def test_the_reverb_added_into_a_stem_is_the_same_sum() -> None:
    bus = _bus(1_632_000, 4)
    dry = np.random.default_rng(4).standard_normal((2, bus.size)).astype(np.float32) * 0.1
    expected = dry + reverb.apply(bus)
    into = dry.copy()
    assert reverb.apply(bus, into=into) is into
    np.testing.assert_allclose(into, expected, rtol=0, atol=1e-7)
    with pytest.raises(ValueError, match="cannot go into"):
        reverb.apply(bus, into=dry[:, :-1])
    with pytest.raises(ValueError, match="cannot go into"):
        reverb.apply(bus, into=dry.T)
    with pytest.raises(ValueError, match="cannot go into"):
        reverb.apply(bus, into=dry.astype(np.float64))
