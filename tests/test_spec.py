"""The generation spec: vocabularies, exact timing maths, and the generation hash."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_core.errors import InvalidSpecError
from engine_core.spec import (
    GenerationSpec,
    Key,
    Meter,
    StemSpec,
    beat_to_sample,
    loop_length_samples,
    samples_per_beat,
)


def make_spec(**changes: object) -> GenerationSpec:
    fields: dict[str, object] = {
        "prompt": "a calm village theme",
        "tags": ("folk", "calm"),
        "bpm": 96.0,
        "meter": "3/4",
        "key": "D minor",
        "bars": 8,
        "stems": (StemSpec("lead", "melody", program=73), StemSpec("bass", "bass", program=32)),
    }
    fields.update(changes)
    return GenerationSpec(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "beats", "steps"), [("4/4", 4, 16), ("3/4", 3, 12), ("6/8", 2, 12)]
)
def test_meter_beats_and_grid(text: str, beats: int, steps: int) -> None:
    meter = Meter.parse(text)
    assert (meter.beats_per_bar, meter.steps_per_bar) == (beats, steps)


def test_unknown_meter_names_allowed_values() -> None:
    with pytest.raises(InvalidSpecError, match="11/8") as info:
        Meter.parse("11/8")
    assert info.value.detail["allowed"] == ["4/4", "3/4", "6/8", "2/4", "12/8", "5/4", "7/8"]


def test_key_parses_tonic_and_mode() -> None:
    key = Key.parse("F# dorian")
    assert (key.tonic, key.mode, key.is_minor) == (6, "dorian", True)
    with pytest.raises(InvalidSpecError):
        Key.parse("H major")


def test_loop_length_is_bars_times_beats_times_sixty_over_bpm() -> None:
    # 8 bars of 3/4 at 96 bpm, 48 kHz: 24 beats * 30000 samples
    assert loop_length_samples(8, Meter.parse("3/4"), 96, 48000) == 720000


@given(
    bpm=st.floats(min_value=20, max_value=300, allow_nan=False),
    beat=st.integers(min_value=0, max_value=10_000),
    rate=st.sampled_from([22050, 44100, 48000]),
)
def test_beat_to_sample_is_exact_rounding_of_the_rational_position(
    bpm: float, beat: int, rate: int
) -> None:
    exact = beat * samples_per_beat(bpm, rate)
    sample = beat_to_sample(beat, bpm, rate)
    assert abs(Fraction(sample) - exact) <= Fraction(1, 2)
    assert beat_to_sample(beat + 1, bpm, rate) >= sample


def test_hash_ignores_tag_order_and_changes_with_music() -> None:
    base = make_spec()
    assert base.generation_hash() == make_spec(tags=("calm", "folk")).generation_hash()
    for change in ({"bpm": 97.0}, {"key": "D major"}, {"prompt": "x"}, {"bars": 4}):
        assert make_spec(**change).generation_hash() != base.generation_hash(), change


@pytest.mark.parametrize(
    "change",
    [
        {"bpm": 400.0},
        {"bars": 3},
        {"energy": 1.5},
        {"stems": ()},
        {"stems": (StemSpec("a", "kazoo"),)},
        {"stems": (StemSpec("a", "bass"), StemSpec("a", "melody"))},
        {"stems": (StemSpec("a", "bass", intensity=(0.8, 0.2)),)},
    ],
)
def test_invalid_specs_raise_typed_errors(change: dict[str, object]) -> None:
    with pytest.raises(InvalidSpecError):
        make_spec(**change)
