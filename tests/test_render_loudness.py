"""Loudness normalisation: BS.1770 integrated loudness on target, true peak under the ceiling."""

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import resample_poly

from engine_core.render.loudness import integrated_loudness, normalising_gain, true_peak_db
from tests.chorale_scores import band_variants

RATE = 48000


def _independent_true_peak_db(audio: np.ndarray) -> float:
    """8x oversampling of the whole loop (wrapped round the seam), no block search."""
    pad = 256
    wrapped = np.concatenate([audio[-pad:], audio, audio[:pad]]).astype(np.float64)
    upsampled = resample_poly(wrapped, 8, 1, axis=0)[8 * pad : -8 * pad]
    return float(20 * np.log10(np.max(np.abs(upsampled))))


def test_true_peak_finds_the_peak_between_samples() -> None:
    # A sine at a quarter of the sample rate, 45 degrees off: samples at 0.707, peak 1.0.
    n = np.arange(48000)
    tone = np.sin(np.pi / 2 * n + np.pi / 4)
    stereo = np.stack([tone, tone], axis=1)
    assert 20 * np.log10(np.max(np.abs(stereo))) < -2.9
    assert abs(true_peak_db(stereo)) < 0.1


def test_silence_has_no_gain_and_the_floor_loudness() -> None:
    gain = normalising_gain(np.zeros((RATE, 2)), RATE, loudness_lufs=-16.0, ceiling_db=-1.0)
    assert gain.gain_db == 0.0
    assert gain.loudness_lufs == -70.0


def test_generated_mix_meets_the_loudness_target() -> None:
    for variant in band_variants().variants:
        tiled = np.tile(variant.mix.astype(np.float64), (2, 1))
        measured = pyloudnorm.Meter(RATE).integrated_loudness(tiled)
        assert abs(measured - (-16.0)) < 0.05
        assert abs(variant.meta.loudness_lufs - measured) < 0.05


def test_generated_mix_true_peak_is_under_the_ceiling() -> None:
    for variant in band_variants().variants:
        peak = _independent_true_peak_db(variant.mix)
        assert peak <= -1.0
        assert abs(peak - variant.meta.true_peak_db) < 0.05


def test_stems_sum_to_the_mix() -> None:
    for variant in band_variants().variants:
        total = np.sum([a.astype(np.float64) for a in variant.stems.values()], axis=0)
        np.testing.assert_allclose(total, variant.mix, atol=1e-5)


def test_a_loud_target_is_capped_by_the_true_peak_ceiling() -> None:
    mix = band_variants().variants[0].mix
    gain = normalising_gain(mix, RATE, loudness_lufs=-3.0, ceiling_db=-1.0)
    assert gain.peak_limited
    assert gain.true_peak_db <= -1.0
    assert gain.loudness_lufs < -3.0
    scaled = mix * 10 ** (gain.gain_db / 20)
    assert _independent_true_peak_db(scaled) <= -1.0
    assert abs(integrated_loudness(scaled, RATE) - gain.loudness_lufs) < 0.01


@pytest.mark.parametrize("seconds", [0.7, 3.0, 10.3])
def test_vectorised_loudness_matches_pyloudnorm(seconds: float) -> None:

    rng = np.random.default_rng(5)
    frames = int(seconds * RATE)
    t = np.arange(frames) / RATE
    # a swelling two-tone chord over noise, with a quiet stretch the relative gate drops
    audio = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.2 + np.sin(np.pi * t / seconds))
    audio = np.stack([audio, 0.5 * np.sin(2 * np.pi * 3300 * t)], axis=1)
    audio += 0.01 * rng.standard_normal(audio.shape)
    audio[: frames // 5] *= 1e-3
    ours = integrated_loudness(audio.astype(np.float32), RATE, circular=False)
    theirs = pyloudnorm.Meter(RATE).integrated_loudness(audio)
    assert ours == pytest.approx(theirs, abs=1e-3)
    tiled = np.tile(audio, (-(-3 * RATE // frames), 1))
    looped = integrated_loudness(audio, RATE, circular=True)
    assert looped == pytest.approx(pyloudnorm.Meter(RATE).integrated_loudness(tiled), abs=1e-3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_true_peak_of_candidate_runs_equals_oversampling_the_whole_loop(dtype) -> None:
    # loud bursts (candidate runs of several blocks, one across the seam) in quiet noise
    rng = np.random.default_rng(5)
    audio = rng.standard_normal((48_000, 2)) * 0.01
    for start, length in ((0, 700), (10_000, 3_000), (30_333, 1_500), (47_000, 1_000)):
        audio[start : start + length] = rng.standard_normal((length, 2)) * 0.3
    audio = audio.astype(dtype)
    padded = np.concatenate([audio[-64:], audio, audio[:64]]).astype(np.float32)
    whole = resample_poly(padded, 4, 1, axis=0)[4 * 64 : -4 * 64]
    expected = 20.0 * np.log10(max(float(np.max(np.abs(whole))), float(np.abs(audio).max())))
    assert true_peak_db(audio) == expected


def _sosfilt_hop_energy(audio: np.ndarray, hop: int, hops: int) -> np.ndarray:
    """The numpy meter's hops: scipy's float32 sosfilt, squared, summed per hop in float64."""
    from scipy.signal import sosfilt

    from engine_core.render.loudness import _k_weighting

    weighted = sosfilt(_k_weighting(RATE).astype(np.float32), audio.astype(np.float32), axis=0)
    padded = np.zeros((hops * hop, audio.shape[1]), np.float32)
    count = min(hops * hop, audio.shape[0])
    padded[:count] = weighted[:count]
    return np.square(padded).reshape(hops, hop, -1).sum(axis=1, dtype=np.float64).sum(axis=1)


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_compiled_k_weighting_is_sosfilts(channels: int, dtype) -> None:
    from engine_core.render.loudness import _k_weighting
    from engine_core.render.loudness_kernel import k_weighted_hop_energy

    audio = (np.random.default_rng(channels).standard_normal((50_000, channels)) * 0.2).astype(
        dtype
    )
    sos = _k_weighting(RATE).astype(np.float32)
    for hops in (10, 11, 13):  # short of the audio, the audio's end mid-hop, padded hops
        ours = k_weighted_hop_energy(audio, sos, 4800, hops)
        np.testing.assert_allclose(ours, _sosfilt_hop_energy(audio, 4800, hops), rtol=1e-9)


def test_one_shot_true_peak_repeats_the_edges() -> None:
    """A one-shot's edges are not wrapped: the filter sees its first and last samples
    repeated, as the numpy version's clipped indices did; mono input is one channel."""
    rng = np.random.default_rng(9)
    audio = rng.standard_normal(20_000) * 0.01
    audio[:300] = rng.standard_normal(300) * 0.5  # loud at both ends
    audio[-200:] = rng.standard_normal(200) * 0.5
    indices = np.clip(np.arange(-64, audio.size + 64), 0, audio.size - 1)
    whole = resample_poly(audio[indices].astype(np.float32), 4, 1)[4 * 64 : -4 * 64]
    expected = 20.0 * np.log10(max(float(np.max(np.abs(whole))), float(np.abs(audio).max())))
    assert true_peak_db(audio, circular=False) == pytest.approx(expected, abs=1e-6)
    assert true_peak_db(audio[:, None], circular=False) == true_peak_db(audio, circular=False)


def test_a_real_mix_matches_pyloudnorm_and_8x_oversampling() -> None:
    for variant in band_variants().variants:
        mix = variant.mix.astype(np.float64)
        tiled = np.tile(mix, (-(-3 * RATE // mix.shape[0]), 1))
        theirs = pyloudnorm.Meter(RATE).integrated_loudness(tiled)
        assert integrated_loudness(variant.mix, RATE) == pytest.approx(theirs, abs=1e-3)
        assert true_peak_db(variant.mix) == pytest.approx(_independent_true_peak_db(mix), abs=0.01)
