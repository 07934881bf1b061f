"""Plucked and struck harmony instruments strike held chords again on the beat."""

from __future__ import annotations

import itertools

import pytest

from engine_core.arrange.arranger import arrange
from engine_core.arrange.restrikes import plucked, pulses, restruck
from engine_core.score import Score, ScoreNote
from engine_core.spec import GenerationSpec, Meter, StemSpec


def test_a_held_note_is_struck_on_each_beat_with_the_meters_accents() -> None:
    four = Meter.parse("4/4")
    struck = restruck([(0.0, 16.0, 60, 0.7)], four, bars=4)
    assert [(o, d) for o, d, _, _ in struck] == [(0, 4), (4, 4), (8, 4), (12, 4)]
    velocities = [v for _, _, _, v in struck]
    assert velocities[0] == 0.7  # the written strike keeps its velocity
    assert velocities[2] > velocities[1] == velocities[3]  # beat 3 over beats 2 and 4


def test_pulses_per_meter() -> None:
    assert pulses(Meter.parse("3/4")) == (0, 4, 8)
    assert pulses(Meter.parse("6/8")) == (0, 6)  # dotted quarters
    assert pulses(Meter.parse("12/8")) == (0, 6, 12, 18)
    assert pulses(Meter.parse("5/4")) == (0, 4, 8, 12, 16)
    assert pulses(Meter.parse("7/8")) == (0, 4, 8)  # the 2+2+3 groups, not every eighth


def test_short_notes_stay_and_a_note_over_the_seam_is_struck_at_the_start() -> None:
    three = Meter.parse("3/4")
    assert restruck([(1.0, 2.0, 64, 0.5)], three, bars=2) == [(1.0, 2.0, 64, 0.5)]
    struck = restruck([(20.0, 8.0, 64, 0.5)], three, bars=2)  # bar 2, beat 3 -> bar 1, beat 2
    assert [(o, d) for o, d, _, _ in struck] == [(20.0, 4.0), (0.0, 4.0)]


def _held_chords(meter: str, bars: int) -> Score:
    """A melody over whole-bar chords in the harmony track (what a chorale-like score gives)."""
    info = Meter.parse(meter)
    notes = []
    for bar in range(bars):
        for beat in range(info.beats_per_bar):
            notes.append(ScoreNote(bar, beat * info.steps_per_beat, "melody", 72 + beat % 3, 4))
        for pitch in (55, 60, 64):
            notes.append(ScoreNote(bar, 0, "harmony", pitch, info.steps_per_bar))
        notes.append(ScoreNote(bar, 0, "bass", 48, info.steps_per_bar))
    return Score(meter, bars, "major", tuple(notes))


@pytest.mark.parametrize("meter", ["4/4", "6/8", "7/8"])
def test_pizzicato_chords_pulse_where_an_organ_holds_them(meter: str) -> None:
    info = Meter.parse(meter)
    stems = (
        StemSpec("tune", "melody", program=73, register=(60, 86)),
        StemSpec("pizz", "harmony", program=45, register=(48, 72)),
        StemSpec("organ", "harmony", program=19, register=(48, 72)),
        StemSpec("bass", "bass", program=32, register=(28, 52)),
    )
    spec = GenerationSpec(
        prompt="", tags=("calm",), bpm=90.0, meter=meter, key="C major", bars=4,
        stems=stems, energy=0.3,
    )  # fmt: skip
    arrangement = arrange(_held_chords(meter, 4), spec, seed=5)
    parts = {s.stem.name: s.notes for s in arrangement.stems}
    assert plucked(45) and not plucked(19)
    marks = [*pulses(info), info.steps_per_bar]
    beats_per_pulse = max(b - a for a, b in itertools.pairwise(marks)) / info.steps_per_beat
    longest_pizz = max(n.duration_beats for n in parts["pizz"])
    longest_organ = max(n.duration_beats for n in parts["organ"])
    assert longest_pizz <= beats_per_pulse + 1e-6, longest_pizz
    assert longest_organ > 1.5 * beats_per_pulse, longest_organ
    per_bar = len({round(n.start_beats, 3) for n in parts["pizz"]}) / 4
    assert per_bar >= len(pulses(info)), per_bar
