"""Meters beyond the trained three: 2/4, 12/8, 5/4 (3+2) and 7/8 (2+2+3).

Parsing and validation, the beat grid and loop lengths, the re-barring of host-meter
scores (`engine_core.model.rebar`), accents per beat group, the drum grooves of each meter
and what prompts infer. The engine-level checks (real model, real audio) are in
tests/test_meters_engine.py.
"""

from __future__ import annotations

import pytest

from engine_core.arrange.accents import accented, beat_accent
from engine_core.arrange.drums import _accent, choose_groove, drum_part
from engine_core.arrange.grooves import load_library
from engine_core.arrange.harmony import harmonic_slots
from engine_core.errors import InvalidSpecError
from engine_core.model.rebar import host_plan, to_host, to_meter
from engine_core.score import Score, ScoreNote
from engine_core.spec import METERS, SUPPORTED_METERS, Meter, loop_length_samples
from middleware.errors import PromptError
from middleware.prompt.parse import read_prompt
from tests.chorale_scores import band_spec

NEW = ("2/4", "12/8", "5/4", "7/8")


def test_the_new_meters_parse_with_their_beat_grid_and_groups() -> None:
    grid = {m: (Meter.parse(m).beats_per_bar, Meter.parse(m).steps_per_beat) for m in NEW}
    assert grid == {"2/4": (2, 4), "12/8": (4, 6), "5/4": (5, 4), "7/8": (7, 2)}
    assert [Meter.parse(m).steps_per_bar for m in NEW] == [8, 24, 20, 14]
    assert Meter.parse("5/4").group_starts == (0, 12)  # 3+2: beats 1 and 4
    assert Meter.parse("7/8").group_starts == (0, 4, 8)  # 2+2+3: eighths 1, 3 and 5
    assert Meter.parse("12/8").group_starts == (0, 12)  # dotted-quarter beats 1 and 3
    assert not any(Meter.parse(m).trained for m in NEW)
    assert all(Meter.parse(m).trained for m in METERS)
    assert METERS == ("4/4", "3/4", "6/8")  # the model's control token keeps its order


@pytest.mark.parametrize("meter", ["11/8", "9/8", "3/2", "4/4 ", "7/4"])
def test_a_meter_the_engine_does_not_play_is_a_clear_error(meter: str) -> None:
    with pytest.raises(InvalidSpecError) as caught:
        band_spec(meter=meter)
    error = caught.value
    assert error.code == "invalid_spec"
    assert error.detail["field"] == "meter" and error.detail["allowed"] == list(SUPPORTED_METERS)
    assert "unsupported meter" in error.message and "7/8" in error.message


@pytest.mark.parametrize(
    ("meter", "bpm", "rate", "samples"),
    [
        ("2/4", 120.0, 48000, 4 * 2 * 24000),  # 4 bars x 2 quarters
        ("12/8", 60.0, 48000, 4 * 4 * 48000),  # 4 bars x 4 dotted quarters
        ("5/4", 150.0, 44100, 4 * 5 * 17640),
        ("7/8", 280.0, 48000, 288000),  # 28 eighths at 280 a minute: exactly 6 s
    ],
)
def test_loop_length_in_samples_per_meter(meter: str, bpm: float, rate: int, samples: int) -> None:
    spec = band_spec(meter=meter, bpm=bpm, sample_rate=rate, bars=4)
    assert spec.loop_samples == loop_length_samples(4, Meter.parse(meter), bpm, rate) == samples


def _host_score(meter: str, bars: int, notes: list[tuple[int, int, int]]) -> Score:
    steps = Meter.parse(meter).steps_per_bar
    return Score(
        meter=meter,
        bars=bars,
        mode="major",
        notes=tuple(
            ScoreNote(o // steps, o % steps, "melody", p, d, 0.8) for o, d, p in sorted(notes)
        ),
    )


def _onsets(score: Score) -> list[tuple[int, int, int]]:
    return sorted((score.onset_step(n), n.duration_steps, n.pitch) for n in score.notes)


def test_two_four_is_a_four_four_bar_in_diminution() -> None:
    plan = host_plan("2/4", 2)
    assert (plan.host, plan.host_bars, plan.scale) == ("4/4", 2, 2)
    host = _host_score("4/4", 2, [(0, 4, 60), (6, 6, 62), (12, 8, 64), (24, 8, 65)])
    score = to_meter(host, plan)
    assert (score.meter, score.bars) == ("2/4", 2)
    # quarters become eighths: every onset and length halved, bar for bar
    assert _onsets(score) == [(0, 2, 60), (3, 3, 62), (6, 4, 64), (12, 4, 65)]
    assert to_host(score, plan) == host
    # a sixteenth off the eighth grid merges into the note before it (same pitch)
    busy = _host_score("4/4", 1, [(0, 1, 60), (1, 1, 60), (2, 2, 60), (3, 1, 64)])
    assert _onsets(to_meter(busy, host_plan("2/4", 1))) == [(0, 1, 60), (1, 1, 60), (1, 1, 64)]


def test_twelve_eight_is_two_six_eight_bars_a_bar() -> None:
    plan = host_plan("12/8", 2)
    assert (plan.host, plan.host_bars) == ("6/8", 4)
    host = _host_score("6/8", 4, [(0, 6, 60), (12, 6, 62), (30, 3, 64), (45, 3, 67)])
    score = to_meter(host, plan)
    assert _onsets(score) == _onsets(host)
    assert [(n.bar, n.step) for n in sorted(score.notes)] == [(0, 0), (0, 12), (1, 6), (1, 21)]
    assert to_host(score, plan) == host


def test_five_four_stretches_the_first_half_of_a_four_four_bar() -> None:
    """3+2: host beats 1, 2, 2 again | 3, 4."""
    plan = host_plan("5/4", 2)
    assert (plan.host, plan.host_bars) == ("4/4", 2)
    host = _host_score("4/4", 2, [(0, 4, 60), (4, 4, 62), (8, 8, 64), (16, 16, 65)])
    score = to_meter(host, plan)
    assert _onsets(score) == [
        (0, 4, 60),
        (4, 4, 62),  # host beat 2 ...
        (8, 4, 62),  # ... played again as beat 3
        (12, 8, 64),  # host beats 3-4: the group of two
        (20, 20, 65),  # a whole bar held: the next 5/4 bar, all five beats
    ]
    back = to_host(score, plan)  # the repeated beat is dropped on the way back
    assert [o[::2] for o in _onsets(back)] == [o[::2] for o in _onsets(host)]


def test_seven_eight_drops_the_last_eighth_and_cuts_held_notes() -> None:
    plan = host_plan("7/8", 2)
    host = _host_score("4/4", 2, [(0, 8, 60), (8, 8, 62), (14, 2, 64), (16, 4, 65)])
    score = to_meter(host, plan)
    assert score.bars == 2 and score.steps_per_bar == 14
    # the note on the dropped eighth is gone; one held into it ends at the bar line
    assert _onsets(score) == [(0, 8, 60), (8, 6, 62), (14, 4, 65)]
    assert all(n.step < 14 for n in score.notes)


def test_a_note_held_round_the_seam_keeps_its_length_and_voices_never_overlap() -> None:
    plan = host_plan("5/4", 1)
    host = _host_score("4/4", 1, [(12, 8, 67), (4, 12, 60)])  # wraps into the loop start
    score = to_meter(host, plan)
    by_pitch = {n.pitch: [] for n in score.notes}
    for n in sorted(score.notes):
        by_pitch[n.pitch].append((score.onset_step(n), n.duration_steps))
    assert by_pitch[67] == [(16, 8)]  # 4 steps to the seam, 4 after it
    assert by_pitch[60] == [(4, 4), (8, 12)]  # the first copy stops where the repeat starts


@pytest.mark.parametrize(
    ("meter", "strong", "middle", "weak"),
    [
        ("2/4", [0], [], [4]),
        ("12/8", [0], [12], [6, 18]),
        ("5/4", [0], [12], [4, 8, 16]),
        ("7/8", [0], [4, 8], [2, 6, 10, 12]),
    ],
)
def test_accents_follow_the_beat_groups(
    meter: str, strong: list[int], middle: list[int], weak: list[int]
) -> None:
    info = Meter.parse(meter)
    accents = {step: beat_accent(step, info) for step in range(info.steps_per_bar)}
    assert all(accents[s] == 1.0 for s in strong)
    assert all(accents[s] == 0.9 for s in middle)  # the other groups' first beats
    assert all(accents[s] == 0.8 for s in weak)  # the other beats
    off = [s for s in accents if s % info.steps_per_beat]
    assert off and max(accents[s] for s in off) < 0.8  # between beats: weaker still
    # drums: group starts get a boost, the rest of the beats none
    boosts = {s: _accent(s, info.steps_per_beat, info) for s in [*strong, *middle, *weak]}
    assert all(boosts[s] > boosts[w] for s in strong + middle for w in weak)


def test_two_four_phrases_swell_over_pairs_of_bars() -> None:
    info = Meter.parse("2/4")
    bars = [accented("melody", bar * 8, info, 8) for bar in range(8)]
    assert bars[0] == bars[1] and bars[2] == bars[3]  # an arc step is two short bars
    assert bars[4] > bars[2] > bars[0]  # rising to the third step of the arc ...
    assert bars[6] == bars[7] < bars[4]  # ... relaxing in the last two bars, into the seam


def test_the_second_chord_of_a_split_bar_lands_on_the_last_group() -> None:
    for meter, middle in (("5/4", 12), ("7/8", 8), ("2/4", 4), ("12/8", 12)):
        slots = harmonic_slots(Meter.parse(meter), 1, 0.5)
        assert slots[0][1] == middle, meter


@pytest.mark.parametrize(
    ("meter", "tags", "groove", "hits"),
    [
        ("2/4", ("march", "heroic"), "march_two", {"bass_drum": [0, 4]}),
        ("2/4", ("folk", "happy"), "polka_two", {"kick": [0, 4], "snare": [2, 6]}),
        ("12/8", ("jazz", "melancholic"), "shuffle_twelve", {"kick": [0, 10, 12]}),
        ("5/4", ("rock", "tense"), "odd_five", {"kick": [0, 10, 12], "snare": [8, 16]}),
        ("5/4", ("orchestral", "epic"), "battle_five", {"bass_drum": [0, 12]}),
        ("7/8", ("rock", "tense"), "odd_seven", {"kick": [0, 8, 12], "snare": [4]}),
        ("7/8", ("folk", "happy"), "folk_seven", {"tom_low": [0, 4, 8]}),
    ],
)
def test_each_meter_has_its_own_groove_on_its_beat_groups(
    meter: str, tags: tuple[str, ...], groove: str, hits: dict[str, list[int]]
) -> None:
    library = load_library()
    spec = band_spec(meter=meter, tags=tags, energy=0.5, variance=0.0, bars=4)
    drums = next(s for s in spec.stems if s.role == "drums")
    main, _, _ = choose_groove(library, spec, drums)
    assert (main.name, main.meter) == (groove, meter)
    steps = Meter.parse(meter).steps_per_bar
    for level in main.levels.values():
        assert all(len(p) == steps for p in level.values())
    mid = main.levels["mid"]
    for instrument, steps_hit in hits.items():
        assert [i for i, c in enumerate(mid[instrument]) if c != "."] == steps_hit
    part = drum_part(spec, drums, library=library, energy=0.5, seed=1, variant_index=0,
                     stem_index=0)  # fmt: skip
    assert part.groove == groove
    onsets = {round(n[0]) % steps for n in part.notes}
    assert set(Meter.parse(meter).group_starts) <= onsets  # every group is marked


@pytest.mark.parametrize("meter", NEW)
def test_every_role_has_a_groove_in_every_new_meter(meter: str) -> None:
    library = load_library()
    for role in ("drums", "percussion", "pitched"):
        assert [g for g in library if g.meter == meter and g.role == role], (meter, role)


@pytest.mark.parametrize(
    ("text", "meter"),
    [
        ("a village polka with accordion", "2/4"),
        ("a brisk 2/4 march", "2/4"),
        ("slow blues shuffle on a smoky piano", "12/8"),
        ("an epic ballad in 12/8", "12/8"),
        ("boss fight in 5/4", "5/4"),
        ("odd meter battle cue", "7/8"),
        ("a balkan dance", "7/8"),
        ("prog rock in seven-eight", "7/8"),
    ],
)
def test_prompts_name_the_new_meters(text: str, meter: str) -> None:
    assert read_prompt(text).meter.value == meter


def test_a_prompt_in_eleven_eight_is_refused_with_the_meters_the_engine_plays() -> None:
    with pytest.raises(PromptError) as caught:
        read_prompt("a folk dance in 11/8")
    assert caught.value.detail["allowed"] == list(SUPPORTED_METERS)


def test_the_bake_manifest_schema_takes_every_meter() -> None:
    import json
    from pathlib import Path

    schema = Path(__file__).resolve().parents[1] / "middleware" / "schemas"
    data = json.loads((schema / "manifest.schema.json").read_text())
    enums = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            meter = node.get("properties", {}).get("meter", {})
            if "enum" in meter:
                enums.append(meter["enum"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    assert enums and all(e == list(SUPPORTED_METERS) for e in enums)


@pytest.mark.parametrize(
    ("text", "bpm", "evidence"),
    [
        ("a balkan wedding dance in 7/8, 150 bpm", 300.0, "quarter notes"),
        ("a 7/8 dance, eighth = 280", 280.0, "'eighth = 280'"),
        ("a 7/8 dance at 200 bpm", 200.0, "taken as eighths"),
        ("a waltz at 150 bpm", 150.0, "'150 bpm'"),
    ],
)
def test_a_stated_tempo_in_seven_eight_counts_quarters_unless_it_says_eighths(
    text: str, bpm: float, evidence: str
) -> None:
    from middleware.prompt import infer_state

    inference = infer_state(text)
    assert inference.bpm == bpm
    assert evidence in inference.value("bpm").evidence
