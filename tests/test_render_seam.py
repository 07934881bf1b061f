"""The seam: folding the tail onto the head, and the measure that judges a seam."""

import numpy as np
import pytest

from engine_core.arrange.arranger import arrange
from engine_core.render.seam import fold_tail, reference_positions, seam_report
from engine_core.render.soundfont import SoundFont
from engine_core.render.stems import render_stems
from tests.chorale_scores import band_spec, band_variants, chorale_score

RATE = 48000


def test_fold_tail_adds_every_period_onto_the_head() -> None:
    audio = np.arange(10 * 2, dtype=np.float32).reshape(10, 2)
    folded = fold_tail(audio, 4)
    expected = audio[0:4] + audio[4:8]
    expected[:2] += audio[8:10]
    assert folded.shape == (4, 2)
    np.testing.assert_array_equal(folded, expected)


def test_fold_tail_of_exact_length_is_identity() -> None:
    audio = np.random.default_rng(0).standard_normal((480, 2)).astype(np.float32)
    np.testing.assert_array_equal(fold_tail(audio, 480), audio)


def test_reference_positions_add_midpoints_for_short_loops() -> None:
    assert reference_positions([0, 1000], 1000) == (500,)
    assert reference_positions([0, 100, 200, 300, 400], 400) == (100, 200, 300)


def _sine_loop(frequency_hz: float, seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    tone = 0.3 * np.sin(2 * np.pi * frequency_hz * t)
    return np.stack([tone, tone], axis=1).astype(np.float32)


def test_seam_passes_on_a_whole_number_of_periods() -> None:
    loop = _sine_loop(440.0, 2.0)  # 880 whole periods
    report = seam_report(loop, [0, RATE // 2, RATE, 3 * RATE // 2, 2 * RATE], RATE)
    assert report.passed, report.to_json()


def test_seam_fails_when_the_waveform_jumps() -> None:
    loop = _sine_loop(440.0, 2.0)[: 2 * RATE - 27]  # cut a quarter period short
    report = seam_report(loop, [0, RATE // 2, RATE, 3 * RATE // 2], RATE)
    assert not report.step_ok
    assert not report.passed


def test_generated_loops_are_seamless() -> None:
    for variant in band_variants().variants:
        meta = variant.meta
        report = seam_report(variant.mix, meta.bar_samples, meta.sample_rate)
        assert report.passed, (meta.index, report.to_json())
        by_beat = seam_report(
            variant.mix, meta.bar_samples, meta.sample_rate, beat_samples=meta.beat_samples
        )
        assert by_beat.passed, (meta.index, by_beat.to_json())


@pytest.mark.parametrize("cut_bars", [0.3, 0.55, 0.8])
def test_a_deliberately_cut_loop_fails(cut_bars: float) -> None:
    variant = band_variants().variants[0]
    meta = variant.meta
    bar = meta.bar_samples[1]
    cut = variant.mix[: meta.loop_end - int(cut_bars * bar)]
    report = seam_report(cut, meta.bar_samples[:-1], meta.sample_rate)
    assert not report.passed, report.to_json()


def test_a_loop_without_the_fold_fails() -> None:
    spec = band_spec()
    arrangement = arrange(chorale_score(bars=4), spec, seed=0)
    stems = render_stems(arrangement, SoundFont.load(), sample_rate=RATE, one_shot=True)
    unfolded = sum(stems.values())[: spec.loop_samples]
    folded = sum(render_stems(arrangement, SoundFont.load(), sample_rate=RATE).values())
    bars = [spec.loop_samples * b // spec.bars for b in range(spec.bars + 1)]
    assert seam_report(folded, bars, RATE).passed
    assert not seam_report(unfolded, bars, RATE).passed


def test_fold_tail_refuses_audio_shorter_than_the_loop() -> None:
    with pytest.raises(ValueError, match="shorter than the loop"):
        fold_tail(np.zeros((479, 2), dtype=np.float32), 480)


@pytest.mark.parametrize("frames", [50000, 49600, 45000, 30000])
def test_the_synth_fold_in_place_is_fold_tail_bit_for_bit(frames: int) -> None:
    """Folding a synth stem's tail into its own array gives `fold_tail`'s bytes (negative
    zeros and a stem shorter than loop + tail, or than the loop, included)."""
    from engine_core.render.stems import _fit_tail, _folded_float_loop

    audio = (np.random.default_rng(frames).standard_normal((frames, 2)) * 0.3).astype(np.float32)
    audio[::7] = -0.0
    loop, tail = 40000, 9600
    expected = fold_tail(_fit_tail(audio, loop + tail, loop), loop)
    own = audio.copy()
    folded = _folded_float_loop(own, loop, tail, in_place=True)
    assert folded.tobytes() == expected.tobytes()
    assert np.shares_memory(folded, own) == (frames >= loop)
