"""The drum groove library: well-formed data, named grooves, kits, fills at phrase ends."""

import pytest

from engine_core.arrange.drums import drum_part
from engine_core.arrange.grooves import (
    DRUM_NOTES,
    FAMILIES,
    LEVELS,
    fill_bars,
    kit_note,
    level_for,
    load_library,
    named_groove,
    parse_library,
)
from engine_core.errors import InvalidSpecError
from engine_core.spec import METERS, GenerationSpec, StemSpec


def test_library_covers_every_meter_role_and_family() -> None:
    library = load_library()
    for meter in METERS:
        for role in ("drums", "percussion", "pitched"):
            assert any(g.meter == meter and g.role == role for g in library), (meter, role)
    assert {g.family for g in library} == set(FAMILIES)
    assert len({g.name for g in library}) == len(library)
    for groove in library:
        assert set(groove.levels) == set(LEVELS)


def test_named_groove_must_exist_in_the_meter() -> None:
    library = load_library()
    assert named_groove(library, "lofi_swing", "4/4").family == "jazz"
    with pytest.raises(InvalidSpecError, match="lofi_swing"):
        named_groove(library, "lofi_swing", "3/4")


def test_levels_follow_energy() -> None:
    assert [level_for(e) for e in (0.0, 0.3, 0.5, 0.7, 1.0)] == [
        "low", "low", "mid", "high", "high"
    ]  # fmt: skip


def test_fills_end_each_four_bar_phrase() -> None:
    assert fill_bars(1) == frozenset()
    assert fill_bars(2) == {1}
    assert fill_bars(8) == {3, 7}


def _part(groove: str, bars: int = 4, energy: float = 0.5, meter: str = "4/4"):  # -> DrumPart
    spec = GenerationSpec(
        prompt="", tags=(), bpm=120.0, meter=meter, key="C major", bars=bars,
        stems=(StemSpec("drums", "drums"),), groove=groove, variance=0.0,
    )  # fmt: skip
    return drum_part(
        spec, spec.stems[0], library=load_library(), energy=energy, seed=0, variant_index=0,
        stem_index=0,
    )  # fmt: skip


def test_the_written_fill_and_the_crash_after_it_without_variance() -> None:
    part = _part("rock_backbeat", bars=8, energy=0.9)
    toms = [s for s, _, key, _ in part.notes if key == DRUM_NOTES["tom_high"]]
    assert toms and all(48 <= s < 64 or 112 <= s < 128 for s in toms)  # bars 3 and 7
    crashes = [s for s, _, key, _ in part.notes if key == DRUM_NOTES["crash"]]
    assert crashes == [0.0, 64.0]  # after each fill (bar 0 follows the seam)


def test_swing_delays_the_off_beat_eighths() -> None:
    hats = {s for s, _, key, _ in _part("lofi_swing", bars=1).notes if key == DRUM_NOTES["hat"]}
    assert 0.0 in hats and any(h == pytest.approx(2.66) for h in hats)


def test_rolls_swell_in_double_strokes() -> None:
    part = _part("orchestral_pulse", bars=4, energy=0.5)
    roll = sorted((s, v) for s, d, _, v in part.notes if d == 0.5)
    assert len(roll) == 16  # eight roll steps, two strokes each
    assert roll[0][1] < roll[-1][1]


def test_the_orchestra_kit_tunes_its_timpani_and_replaces_hats() -> None:
    assert kit_note("timp_root", 48, tonic=2) == 50  # D3
    assert kit_note("timp_fifth", 48, tonic=2) == 45  # A2
    assert kit_note("timp_root", 48, tonic=5) == 41  # F2, the lowest timpano
    assert kit_note("hat", 48, tonic=0) == DRUM_NOTES["rim"]
    assert kit_note("crash", 48, tonic=0) == DRUM_NOTES["cymbal"]
    assert kit_note("timp_root", 0, tonic=2) == DRUM_NOTES["floor_tom"]
    assert kit_note("hat", 0, tonic=2) == 42


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("x... x...", "must be 16"), ("x... x... x... x..Z", "must be 16")],
)
def test_malformed_patterns_are_refused(pattern: str, message: str) -> None:
    text = f"""
[[groove]]
name = "broken"
family = "rock"
role = "drums"
meter = "4/4"
[groove.levels.low]
kick = "{pattern}"
[groove.levels.mid]
kick = "x... .... .... ...."
[groove.levels.high]
kick = "x... .... .... ...."
"""
    with pytest.raises(InvalidSpecError, match=message):
        parse_library(text)


@pytest.mark.parametrize(
    ("head", "levels", "message"),
    [
        ('family = "rock"', "", "missing levels"),
        ('family = "polka"', LEVELS, "family 'polka'"),
        ('family = "rock"\ncannon = 1', LEVELS, None),
    ],
)
def test_bad_entries_are_refused(head: str, levels: tuple, message: str | None) -> None:
    body = "".join(f'[groove.levels.{level}]\nkick = "x... .... ...."\n' for level in levels)
    text = f'[[groove]]\nname = "broken"\n{head}\nrole = "drums"\nmeter = "3/4"\n{body}'
    if message is None:
        assert parse_library(text)[0].family == "rock"
    else:
        with pytest.raises(InvalidSpecError, match=message):
            parse_library(text)


def test_unknown_drum_instrument_is_refused() -> None:
    text = """
[[groove]]
name = "broken"
family = "rock"
role = "drums"
meter = "3/4"
[groove.levels.low]
cannon = "x... .... ...."
[groove.levels.mid]
[groove.levels.high]
"""
    with pytest.raises(InvalidSpecError, match="cannon"):
        parse_library(text)
