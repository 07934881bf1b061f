"""The drum groove library: well-formed data, choice by tags and name, fills at phrase ends."""

import pytest

from engine_core.arrange.grooves import (
    DRUM_NOTES,
    LEVELS,
    choose_groove,
    fill_bars,
    groove_hits,
    level_for,
    load_library,
    parse_library,
)
from engine_core.errors import InvalidSpecError
from engine_core.spec import METERS


def test_library_covers_every_meter_and_drum_role() -> None:
    library = load_library()
    for meter in METERS:
        for role in ("drums", "percussion"):
            assert any(g.meter == meter and g.role == role for g in library), (meter, role)
    assert len({g.name for g in library}) == len(library)


def test_tags_choose_the_best_matching_groove() -> None:
    library = load_library()
    assert choose_groove(library, role="drums", meter="4/4", tags=["synthwave"]).name == (
        "four_on_the_floor"
    )
    assert choose_groove(library, role="drums", meter="6/8", tags=["celtic"]).name == "jig"
    assert choose_groove(library, role="drums", meter="3/4", tags=[]).name == "waltz"


def test_named_groove_must_exist_in_the_meter() -> None:
    library = load_library()
    assert choose_groove(library, role="drums", meter="4/4", tags=[], name="lofi_swing")
    with pytest.raises(InvalidSpecError, match="lofi_swing"):
        choose_groove(library, role="drums", meter="3/4", tags=[], name="lofi_swing")


def test_levels_follow_energy() -> None:
    assert [level_for(e) for e in (0.0, 0.3, 0.5, 0.7, 1.0)] == [
        "low", "low", "mid", "high", "high"
    ]  # fmt: skip
    assert LEVELS == ("low", "mid", "high")


def test_fills_end_each_four_bar_phrase() -> None:
    assert fill_bars(1) == frozenset()
    assert fill_bars(2) == {1}
    assert fill_bars(8) == {3, 7}
    library = load_library()
    rock = choose_groove(library, role="drums", meter="4/4", tags=[], name="rock_backbeat")
    hits = groove_hits(rock, "mid", 4, 4)
    toms = [h for h in hits if h.note == DRUM_NOTES["tom_high"]]
    assert toms and all(48 <= h.step < 64 for h in toms)  # only in bar 3, the fill
    crashes = [h for h in groove_hits(rock, "high", 8, 4) if h.note == DRUM_NOTES["crash"]]
    assert [h.step for h in crashes] == [0, 64]


def test_swing_delays_the_off_beat_eighths() -> None:
    library = load_library()
    lofi = choose_groove(library, role="drums", meter="4/4", tags=[], name="lofi_swing")
    hats = [h for h in groove_hits(lofi, "mid", 1, 4) if h.note == DRUM_NOTES["hat"]]
    delays = {h.step: h.delay_steps for h in hats}
    assert delays[0] == 0.0 and delays[2] == pytest.approx(0.66)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("x... x...", "must be 16"), ("x... x... x... x..Z", "must be 16")],
)
def test_malformed_patterns_are_refused(pattern: str, message: str) -> None:
    text = f"""
[[groove]]
name = "broken"
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


def test_unknown_drum_instrument_is_refused() -> None:
    text = """
[[groove]]
name = "broken"
role = "drums"
meter = "3/4"
[groove.levels.low]
cannon = "x... .... ...."
[groove.levels.mid]
[groove.levels.high]
"""
    with pytest.raises(InvalidSpecError, match="cannon"):
        parse_library(text)
