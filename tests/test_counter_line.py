"""Counter-lines keep to the instrument's comfortable range and move by steps and skips;
bass lines never leap over an octave;
melodies hold over a long rest inside a phrase; the eval-music measures behind both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine_core.arrange.arranger import ArrangedNote, arrange
from engine_core.arrange.melody_line import hold_inner_rests
from engine_core.arrange.ranges import COMFORTABLE, comfortable_range, outside_share
from engine_core.evaluation.music import (
    bar_repetition,
    interval_shares,
    line_of,
    longest_rests_beats,
)
from engine_core.evaluation.music_reference import load_reference, rests_of
from engine_core.score import Score, ScoreNote
from engine_core.spec import GenerationSpec, Meter, StemSpec

WHISTLE = 78
#: the bundled town's band: a fiddle melody and a tin whistle counter-line (D5-B6)
TOWN_BAND = (
    StemSpec("fiddle", "melody", program=110, register=(67, 86)),
    StemSpec("whistle", "counter", program=WHISTLE, register=(74, 95)),
    StemSpec("guitar", "harmony", program=24, register=(52, 76)),
    StemSpec("bass", "bass", program=32, register=(28, 55)),
)


def _spec(meter: str, stems: tuple[StemSpec, ...], key: str = "G major") -> GenerationSpec:
    return GenerationSpec(
        prompt="", tags=("folk",), bpm=112.0, meter=meter, key=key, bars=8, stems=stems,
        energy=0.6,
    )  # fmt: skip


def _rising_tune(meter: str, bars: int = 8) -> Score:
    """A tune that climbs through the loop with a rest in every bar (the counter answers)."""
    info = Meter.parse(meter)
    notes = []
    for bar in range(bars):
        for beat in range(info.beats_per_bar - 1):
            pitch = 60 + 2 * bar + (0, 4, 7)[beat % 3]
            notes.append(ScoreNote(bar, beat * info.steps_per_beat, "melody", pitch, 3))
    return Score(meter, bars, "major", tuple(notes))


def _stem(arrangement, role: str):
    return next(s for s in arrangement.stems if s.stem.role == role)


def test_comfortable_ranges() -> None:
    assert comfortable_range(WHISTLE, (74, 95)) == (74, 91)  # a whistle's top third left out
    assert comfortable_range(0, (21, 108)) == (21, 108)  # a piano: the register as given
    assert comfortable_range(WHISTLE, (55, 70)) == (55, 70)  # another range asked: kept
    assert outside_share([74, 80, 95, 96], WHISTLE) == 0.5
    assert all(low + 12 <= high for low, high in COMFORTABLE.values())


@pytest.mark.parametrize("meter", ["6/8", "3/4", "4/4"])
@pytest.mark.parametrize("seed", [3, 11, 1701])
def test_a_counter_line_keeps_to_the_comfortable_range_and_moves_by_steps(
    meter: str, seed: int
) -> None:
    spec = _spec(meter, TOWN_BAND)
    score = _rising_tune(meter)
    for variant in range(3):
        counter = _stem(arrange(score, spec, seed=seed, variant_index=variant), "counter")
        pitches = [n.pitch for n in counter.notes]
        assert pitches
        assert min(pitches) >= 74 and max(pitches) <= 91, (meter, seed, variant, pitches)
        shares = interval_shares(line_of(counter.notes))
        assert shares.over_octave == 0
        assert shares.leaps <= 0.3, (meter, seed, variant, shares)


def test_a_held_counter_note_that_keeps_its_pitch_is_tied_not_struck_again() -> None:
    spec = _spec("4/4", TOWN_BAND)
    score = Score(
        "4/4", 8, "major",
        tuple(ScoreNote(bar, 0, "melody", 72, 16) for bar in range(8)),  # whole notes on C
    )  # fmt: skip
    counter = _stem(arrange(score, spec, seed=5), "counter")
    onsets = sorted(round(n.start_beats * 4) for n in counter.notes)
    same = [
        (a, b)
        for a, b in zip(counter.notes, counter.notes[1:], strict=False)
        if a.pitch == b.pitch and abs(a.start_beats + a.duration_beats - b.start_beats) < 0.1
    ]
    assert onsets and not same


def _waltz_with_a_gap(bars: int = 8) -> Score:
    """3/4: the third bar of each phrase has a quarter on beat 1, a rest of a beat and a
    half and an eighth pickup (the gap of the title's flute); beat 1 carries 4 of 11
    onsets, inside the corpus's quartiles, so the melody pass adds no note."""
    notes = []
    for bar in range(bars):
        if bar % 4 == 2:
            notes += [ScoreNote(bar, 0, "melody", 69, 4), ScoreNote(bar, 10, "melody", 71, 2)]
        elif bar % 4 == 3:
            notes.append(ScoreNote(bar, 0, "melody", 67, 8))  # the phrase ends: a breath
        else:  # a quarter, two eighths, a quarter
            notes += [
                ScoreNote(bar, 0, "melody", 72, 4),
                ScoreNote(bar, 4, "melody", 74, 2),
                ScoreNote(bar, 6, "melody", 76, 2),
                ScoreNote(bar, 8, "melody", 74, 4),
            ]
    return Score("3/4", bars, "major", tuple(notes))


WALTZ = (
    StemSpec("flute", "melody", program=73, register=(62, 93)),
    StemSpec("harp", "arp", program=46, register=(50, 81)),
    StemSpec("cello", "bass", program=42, register=(38, 62)),
)


def test_a_waltz_melody_holds_over_a_long_rest_inside_a_phrase() -> None:
    spec = _spec("3/4", WALTZ, key="D major")
    melody = _stem(arrange(_waltz_with_a_gap(), spec, seed=9), "melody")
    longest, inner = longest_rests_beats(melody.notes, Meter.parse("3/4"), 8)
    assert inner <= 1.0, inner
    assert longest >= 1.0  # the phrase ends keep their breath
    # with a counter-line to answer it, the rest stays (the counter fills it)
    answered = _spec("3/4", (*WALTZ, TOWN_BAND[1]), key="D major")
    melody = _stem(arrange(_waltz_with_a_gap(), answered, seed=9), "melody")
    assert longest_rests_beats(melody.notes, Meter.parse("3/4"), 8)[1] >= 1.5


def test_hold_inner_rests_changes_durations_only_and_keeps_phrase_end_breaths() -> None:
    meter = Meter.parse("3/4")
    total = 8 * meter.steps_per_bar
    part = [(0.0, 4.0, 72, 0.8), (10.0, 2.0, 74, 0.8), (36.0, 4.0, 67, 0.8), (48.0, 4.0, 72, 0.8)]
    held = hold_inner_rests(part, meter, total)
    assert [n[0] for n in held] == [n[0] for n in part]
    assert [n[2] for n in held] == [n[2] for n in part]
    assert held[0][1] == 10.0  # the 1.5-beat rest in bar 1 is held over
    assert held[2][1] == 4.0  # the rest from bar 4 (a phrase's last bar) stays a breath


def _note(beat: float, pitch: int, length: float = 1.0) -> ArrangedNote:
    return ArrangedNote(beat, length, pitch, 80)


def test_bar_repetition_and_rests() -> None:
    four = Meter.parse("4/4")
    bar = [(0, 60), (1, 62), (2, 64), (3, 65)]
    notes = [_note(4 * b + beat, pitch) for b in range(4) for beat, pitch in bar]
    assert bar_repetition(notes, four, 4) == 0.75
    moved = [_note(4 * b + beat, pitch + 2 * b) for b in range(4) for beat, pitch in bar]
    assert bar_repetition(moved, four, 4) == 0.0
    assert bar_repetition(moved, four, 4, transposed=True) == 0.75
    # a 3-beat rest in bar 2 (inside the phrase) and a 2-beat one at the loop's end
    line = [_note(0, 60, 4), _note(4, 62, 1), _note(8, 64, 4), _note(12, 65, 2)]
    assert longest_rests_beats(line, four, 4) == (3.0, 3.0)
    line = [_note(0, 60, 4), _note(4, 62, 4), _note(8, 64, 4), _note(12, 65, 2)]
    assert longest_rests_beats(line, four, 4) == (2.0, 0.0)  # bar 4's rest: a breath
    sounding = np.array([True, False, False, True, False, False, False, False])
    assert rests_of(sounding, 2, wrap=True) == (4, 2)
    assert rests_of(sounding, 2, wrap=False) == (4, 2)


def test_the_corpus_reference_has_the_new_figures() -> None:
    reference = load_reference()
    assert reference is not None
    for table in ("bar_repetition", "figure_repetition", "longest_inner_rest_beats"):
        for meter in ("4/4", "3/4", "6/8"):
            row = reference[table][meter]
            assert row["windows"] >= 200 and row["p10"] <= row["median"] <= row["p90"]


# --- with the shipped weights ---------------------------------------------------------


@pytest.mark.slow
def test_the_bundled_towns_whistle_stays_below_g6_and_the_menu_flute_has_no_gap() -> None:
    from engine_core.model.composer import DiffusionComposer
    from middleware.templates.loader import load_pack

    pack = load_pack(Path(__file__).resolve().parents[1] / "templates" / "fantasy_rpg")
    composer = DiffusionComposer.load()
    town = pack.states["town"]
    scores = composer.compose(town.spec, seed=town.seed, variants=4)
    for index, score in enumerate(scores):
        arrangement = arrange(
            score, town.spec, seed=town.seed, variant_index=index, theme=scores[0]
        )
        whistle = next(s for s in arrangement.stems if s.stem.name == "whistle")
        assert max(n.pitch for n in whistle.notes) <= 91  # G6 (it climbed to B6)
        assert interval_shares(line_of(whistle.notes)).over_octave == 0
    menu = pack.states["menu"]
    scores = composer.compose(menu.spec, seed=menu.seed, variants=3)
    for index, score in enumerate(scores):
        arrangement = arrange(
            score, menu.spec, seed=menu.seed, variant_index=index, theme=scores[0]
        )
        flute = next(s for s in arrangement.stems if s.stem.name == "flute")
        _, inner = longest_rests_beats(flute.notes, arrangement.meter_info, arrangement.bars)
        assert inner <= 1.0, (index, inner)  # it had a rest of 1.5-3 beats mid-phrase


@pytest.mark.slow
@pytest.mark.parametrize("label", ["tavern_jig", "siege", "caravan"])
def test_dev_bass_lines_never_leap_over_an_octave(label: str) -> None:
    from engine_core.evaluation.music_sweep import spec_lists
    from engine_core.model.composer import DiffusionComposer

    item = next(i for i in spec_lists(3)["dev"] if i.label == label)
    scores = DiffusionComposer.load().compose(item.spec, seed=item.seed, variants=3)
    for index, score in enumerate(scores):
        arrangement = arrange(
            score, item.spec, seed=item.seed, variant_index=index, theme=scores[0]
        )
        bass = next(s for s in arrangement.stems if s.stem.role == "bass")
        # each of these leapt 14-15 semitones into a phrase's first bar before
        assert interval_shares(line_of(bass.notes)).over_octave == 0, (label, index)
