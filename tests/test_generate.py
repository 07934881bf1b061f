"""Engine.generate: metadata that agrees with the timing maths, determinism, stages, errors."""

import io
from dataclasses import replace
from fractions import Fraction

import mido
import numpy as np
import pytest

from engine_core import ENGINE_VERSION
from engine_core.errors import GenerationError, InvalidSpecError
from engine_core.generate import Engine
from engine_core.render.seam import seam_report
from engine_core.render.stems import TAIL_SECONDS
from engine_core.spec import StemSpec, beat_to_sample
from tests.chorale_scores import ChoraleComposer, band_spec, band_variants, chorale_score


def test_metadata_matches_the_timing_maths() -> None:
    spec = band_spec()
    variant_set = band_variants()
    assert variant_set.state == "battle"
    assert variant_set.generation_hash == spec.generation_hash()
    assert len(variant_set.variants) == 3
    for index, variant in enumerate(variant_set.variants):
        meta = variant.meta
        exact = Fraction(4 * 4 * 60 * 48000, 120)  # bars x beats x 60/bpm x sr
        assert meta.loop_end == exact == spec.loop_samples
        assert (meta.loop_start, meta.index, meta.is_loop) == (0, index, True)
        assert meta.beat_samples == tuple(beat_to_sample(b, 120.0, 48000) for b in range(16))
        assert meta.bar_samples == tuple(beat_to_sample(4 * b, 120.0, 48000) for b in range(5))
        assert (meta.bpm, meta.meter, meta.key, meta.bars) == (120.0, "4/4", "D minor", 4)
        assert meta.stem_intensity == {
            "lead": (0.3, 1.0),
            "strings": (0.0, 1.0),
            "bass": (0.0, 1.0),
            "drums": (0.6, 1.0),
        }
        assert meta.seed == 3 and meta.generation_hash == spec.generation_hash()
        assert meta.engine_version.startswith(ENGINE_VERSION + "+sf.")
        assert meta.weights_version == "chorales-music21"
        assert variant.mix.shape == (meta.loop_end, 2) and variant.mix.dtype == np.float32
        assert set(variant.stems) == {"lead", "strings", "bass", "drums"}
        for audio in variant.stems.values():
            assert audio.shape == variant.mix.shape and audio.dtype == np.float32
        assert variant.midi.startswith(b"MThd")


def test_variants_of_a_set_differ() -> None:
    first, second = band_variants().variants[:2]
    assert not np.array_equal(first.mix, second.mix)


def test_same_inputs_and_seed_give_bit_identical_audio() -> None:
    spec = band_spec(bars=2)
    runs = [
        Engine(ChoraleComposer()).generate(spec, state="s", seed=5, variants=1) for _ in range(2)
    ]
    first, second = (run.variants[0] for run in runs)
    assert first.mix.tobytes() == second.mix.tobytes()
    for name in first.stems:
        assert first.stems[name].tobytes() == second.stems[name].tobytes()
    assert first.midi == second.midi
    assert first.meta == second.meta


def test_another_seed_humanises_differently() -> None:
    engine = Engine(ChoraleComposer(("bach/bwv66.6",)))
    spec = band_spec(bars=2)
    first = engine.generate(spec, state="s", seed=1, variants=1).variants[0]
    second = engine.generate(spec, state="s", seed=2, variants=1).variants[0]
    assert first.midi != second.midi
    assert not np.array_equal(first.mix, second.mix)


@pytest.mark.parametrize(
    ("meter", "bpm", "sample_rate"), [("3/4", 96.0, 44100), ("6/8", 80.0, 32000)]
)
def test_other_meters_and_rates_keep_exact_loop_lengths(
    meter: str, bpm: float, sample_rate: int
) -> None:
    spec = band_spec(meter=meter, bpm=bpm, sample_rate=sample_rate, bars=2, key="A major")
    score = chorale_score(bars=2)
    steps = spec.meter_info.steps_per_bar
    score = replace(score, meter=meter, notes=tuple(n for n in score.notes if n.step < steps))
    variant = Engine().render_scores(spec, [score], state="s", seed=0).variants[0]
    meta = variant.meta
    beats = 2 * spec.meter_info.beats_per_bar
    assert meta.loop_end == beat_to_sample(beats, bpm, sample_rate) == spec.loop_samples
    assert variant.mix.shape == (spec.loop_samples, 2)
    assert meta.sample_rate == sample_rate and len(meta.beat_samples) == beats
    report = seam_report(variant.mix, meta.bar_samples, sample_rate, beat_samples=meta.beat_samples)
    assert report.passed, report.to_json()
    assert meta.true_peak_db <= -1.0


def test_one_shot_keeps_its_tail_and_is_not_a_loop() -> None:
    spec = band_spec(bars=1, one_shot=True)
    variant = Engine(ChoraleComposer()).generate(spec, state="victory", seed=0, variants=1)
    meta = variant.variants[0].meta
    assert not meta.is_loop
    assert meta.loop_end == spec.loop_samples + int(TAIL_SECONDS * 48000)
    assert meta.bar_samples[-1] == spec.loop_samples


def test_progress_reports_every_stage_in_order() -> None:
    seen: list[tuple[str, int, int]] = []
    Engine(ChoraleComposer()).generate(
        band_spec(bars=1),
        state="s",
        seed=0,
        variants=2,
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    stages = list(dict.fromkeys(stage for stage, _, _ in seen))
    assert stages == ["model", "arrange", "render", "normalise", "export"]
    assert ("render", 8, 8) in seen and ("export", 2, 2) in seen


@pytest.mark.parametrize("variants", [0, 17, True])
def test_bad_variant_counts_are_refused(variants: object) -> None:
    with pytest.raises(InvalidSpecError):
        Engine(ChoraleComposer()).generate(
            band_spec(),
            state="s",
            seed=0,
            variants=variants,  # type: ignore[arg-type]
        )


def test_a_score_of_the_wrong_shape_is_a_generation_error() -> None:
    with pytest.raises(GenerationError, match="2 bars"):
        Engine().render_scores(band_spec(bars=4), [chorale_score(bars=2)], state="s", seed=0)


def test_an_unknown_groove_is_an_invalid_spec() -> None:
    spec = band_spec(groove="polka_deluxe", bars=1)
    with pytest.raises(InvalidSpecError, match="polka_deluxe") as info:
        Engine().render_scores(spec, [chorale_score(bars=1)], state="s", seed=0)
    assert "rock_backbeat" in info.value.detail["allowed"]


def test_a_named_groove_is_used() -> None:
    spec = band_spec(groove="four_on_the_floor", bars=1, stems=(StemSpec("drums", "drums"),))
    variant = Engine().render_scores(spec, [chorale_score(bars=1)], state="s", seed=0)
    midi_file = mido.MidiFile(file=io.BytesIO(variant.variants[0].midi))
    kicks = [m for m in midi_file.tracks[1] if m.type == "note_on" and m.note == 36]
    assert len(kicks) == 4  # a kick on every beat of the bar
    assert all(m.channel == 9 for m in kicks)
    meta = variant.variants[0].meta
    assert meta.true_peak_db <= -1.0 and meta.loudness_lufs <= -16.0 + 0.05


def test_a_melody_only_score_still_gets_a_bass_and_the_stems_sum_to_the_mix() -> None:
    spec = band_spec(
        bars=1, stems=(StemSpec("lead", "melody", program=73), StemSpec("bass", "bass", program=32))
    )
    score = chorale_score(bars=1)
    tune_only = replace(score, notes=tuple(n for n in score.notes if n.track == "melody"))
    variant = Engine().render_scores(spec, [tune_only], state="s", seed=0).variants[0]
    assert np.any(variant.stems["bass"]) and np.any(variant.stems["lead"])
    np.testing.assert_allclose(
        variant.stems["lead"] + variant.stems["bass"], variant.mix, atol=1e-5
    )
