"""The mixer's building blocks: equal-power tables, the soft clipper, int16 conversion."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from middleware.mixer import (
    BlockMixer,
    SoftClipper,
    equal_power_in,
    equal_power_out,
    linear_ramp,
    to_int16,
)

SAMPLE_RATE = 48000


def true_peak_db(audio: np.ndarray) -> float:
    """Peak of the signal oversampled 4x (ITU-R BS.1770 style true-peak estimate)."""
    over = resample_poly(audio.astype(np.float64), 4, 1, axis=0)
    return float(20 * np.log10(np.max(np.abs(over))))


@pytest.mark.parametrize("length", [1, 2, 48, 1000, 96000])
def test_equal_power_tables_keep_power_and_end_exactly(length: int) -> None:
    fade_in, fade_out = equal_power_in(length), equal_power_out(length)
    power = fade_in.astype(np.float64) ** 2 + fade_out.astype(np.float64) ** 2
    np.testing.assert_allclose(power, 1.0, atol=1e-6)
    assert fade_in[-1] == 1.0 and fade_out[-1] == 0.0
    assert fade_in[0] > 0.0
    assert np.all(np.diff(fade_in) >= 0) and np.all(np.diff(fade_out) <= 0)


def test_linear_ramp_reaches_its_end_gain() -> None:
    ramp = linear_ramp(1.0, 0.5, 10)
    assert ramp[-1] == np.float32(0.5)
    np.testing.assert_allclose(np.diff(ramp), -0.05, atol=1e-6)


def test_soft_clip_leaves_quiet_audio_untouched() -> None:
    rng = np.random.default_rng(1)
    block = (rng.standard_normal((4096, 2)) * 0.05).astype(np.float32)
    before = block.copy()
    assert SoftClipper(4096).process(block) is False
    assert np.array_equal(block, before)


def harmonic_stem(freq: float, t: np.ndarray) -> np.ndarray:
    """A band-limited sawtooth: bright, like a synth stem."""
    partials = [k for k in range(1, 21) if freq * k < 20000]
    return sum(np.sin(2 * np.pi * freq * k * t) / k for k in partials)


def test_soft_clip_keeps_true_peak_at_or_below_minus_one_dbfs() -> None:
    # Bright stems, noise and a 9 kHz tone summed to +3 dB over full scale: as much as an
    # equal-power crossfade of two correlated full-scale loops reaches.
    t = np.arange(2 * SAMPLE_RATE, dtype=np.float64) / SAMPLE_RATE
    noise = np.random.default_rng(0).standard_normal(len(t)) * 0.3
    mono = harmonic_stem(110, t) + harmonic_stem(330, t) + noise + np.sin(2 * np.pi * 9000 * t)
    mono *= 1.41 / np.max(np.abs(mono))
    block = np.stack([mono, np.roll(mono, 100)], axis=1).astype(np.float32)
    clipper = SoftClipper(len(block))
    clipper.process(block)
    assert np.max(np.abs(block)) <= clipper.ceiling
    assert true_peak_db(block) <= -1.0


def test_soft_clip_is_the_same_for_any_block_split() -> None:
    rng = np.random.default_rng(2)
    audio = (rng.standard_normal((8192, 2)) * 0.8).astype(np.float32)
    whole = audio.copy()
    SoftClipper(8192).process(whole)
    pieces = audio.copy()
    clipper = SoftClipper(8192)
    for start in range(0, 8192, 64):
        clipper.process(pieces[start : start + 64])
    assert np.array_equal(whole, pieces)


def test_int16_conversion_rounds_and_saturates() -> None:
    block = np.array([[0.0, 1.0], [-1.0, 0.5], [2.0, -3.0]], dtype=np.float32)
    out = np.zeros((8, 2), dtype=np.int16)
    scratch = np.zeros((8, 2), dtype=np.float32)
    got = to_int16(block, out, scratch)
    assert got.tolist() == [[0, 32767], [-32767, 16384], [32767, -32768]]


def test_block_mixer_adds_with_scalar_and_per_sample_gains() -> None:
    mixer = BlockMixer(128)
    out = np.zeros((128, 2), dtype=np.float32)
    source = np.ones((128, 2), dtype=np.float32)
    ramp = np.linspace(0, 1, 128, dtype=np.float32)
    mixer.add_scaled(out.reshape(-1), source.reshape(-1), 0.5)
    mixer.add_enveloped(out.reshape(-1), source.reshape(-1), np.repeat(ramp, 2))
    np.testing.assert_allclose(out[:, 0], 0.5 + ramp, atol=1e-6)
    np.testing.assert_array_equal(out[:, 0], out[:, 1])
