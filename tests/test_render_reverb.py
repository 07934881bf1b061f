"""The reverb's FFT convolution (`reverb.apply`): the batched overlap-add against a direct
convolution and against transforming one segment at a time, silent segments, threads."""

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
    """The overlap-add one segment at a time, each segment transformed on its own."""
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
    for channel in range(2):
        truth = fftconvolve(bus.astype(np.float64), response[:, channel])[:frames]
        error = np.abs(ours[:, channel] - truth).max()
        assert ours.dtype == np.float32 and ours.shape == (frames, 2)
        assert error <= 2e-6 * np.abs(truth).max()


def test_batched_segments_are_transformed_as_one_at_a_time() -> None:
    bus = _bus(1_632_000, 2)
    assert np.array_equal(reverb.apply(bus), _segment_by_segment(bus))


def test_a_silent_bus_has_no_reverb() -> None:
    out = reverb.apply(np.zeros(500_000, np.float32))
    assert out.shape == (500_000, 2) and not out.any()


def test_render_threads_keep_their_own_scratch() -> None:
    """Two threads convolving different buses at once get what each gets alone."""
    buses = [_bus(frames, seed) for seed, frames in enumerate((1_000_000, 1_632_000, 700_000))]
    alone = [reverb.apply(bus) for bus in buses]
    with cf.ThreadPoolExecutor(2) as pool:
        together = list(pool.map(reverb.apply, buses * 2))
    for index, out in enumerate(together):
        assert np.array_equal(out, alone[index % len(buses)])


def test_the_transforms_written_in_place_are_scipys() -> None:
    """`apply` writes its FFTs into kept arrays through scipy's own pocketfft binding:
    the same numbers, bit for bit, as the public `scipy.fft` calls."""
    rows = np.random.default_rng(3).standard_normal((3, 4096)).astype(np.float32)
    spectra = np.empty((3, 2049), np.complex64)
    reverb._rfft_into(rows, spectra)
    assert np.array_equal(spectra, scipy.fft.rfft(rows, axis=1))
    products = np.repeat(spectra[:, :, None], 2, axis=2) * np.complex64(0.5 - 0.25j)
    wet = np.empty((3, 4096, 2), np.float32)
    reverb._irfft_into(products, wet)
    assert np.array_equal(wet, scipy.fft.irfft(products, 4096, axis=1))


def test_the_reverb_added_into_a_stem_is_the_same_sum() -> None:
    bus = _bus(1_632_000, 4)
    dry = np.random.default_rng(4).standard_normal((bus.size, 2)).astype(np.float32) * 0.1
    expected = dry + reverb.apply(bus)
    into = dry.copy()
    assert reverb.apply(bus, into=into) is into
    np.testing.assert_allclose(into, expected, rtol=0, atol=1e-7)
    with pytest.raises(ValueError, match="cannot go into"):
        reverb.apply(bus, into=dry[:-1])
    with pytest.raises(ValueError, match="cannot go into"):
        reverb.apply(bus, into=dry.astype(np.float64))
