"""The explicit prompt reader: numbers, keys, modes, meters, instruments, negations, errors."""

from __future__ import annotations

import pytest

from engine_core.spec import ALL_TAGS, SUPPORTED_METERS
from middleware.errors import PromptError
from middleware.prompt.parse import descriptive_text, read_prompt
from middleware.prompt.words import INSTRUMENTS, WORDS


@pytest.mark.parametrize(
    ("text", "bpm"),
    [
        ("a march at 85 BPM", 85.0),
        ("tempo 140, driving synths", 140.0),
        ("slow blues, 60 beats per minute", 60.0),
        ("bpm: 92.5 lo-fi", 92.5),
    ],
)
def test_an_explicit_tempo_is_read(text: str, bpm: float) -> None:
    assert read_prompt(text).bpm.value == bpm


def test_two_different_tempos_are_a_contradiction() -> None:
    with pytest.raises(PromptError, match="two tempos"):
        read_prompt("90 BPM ballad that races at 140 bpm")


def test_a_tempo_outside_the_engine_range_is_refused() -> None:
    with pytest.raises(PromptError, match="outside 20-300"):
        read_prompt("blast beats at 400 BPM")


@pytest.mark.parametrize(
    ("text", "tonic", "mode"),
    [
        ("a lament in G minor", "G", "minor"),
        ("in F# dorian, misty", "F#", "dorian"),
        ("Bb major brass chorale", "Bb", "major"),
        ("in the key of E-flat major", "Eb", "major"),
        ("in a minor key, slow", "A", "minor"),
        ("in c sharp minor", "C#", "minor"),
    ],
)
def test_a_stated_key_is_read(text: str, tonic: str, mode: str) -> None:
    reading = read_prompt(text)
    assert (reading.tonic.value, reading.mode.value) == (tonic, mode)


def test_a_lower_case_letter_is_not_a_key_without_in() -> None:
    reading = read_prompt("a minor role for the flute")
    assert reading.tonic is None and reading.mode is None


@pytest.mark.parametrize("mode", ["dorian", "phrygian", "lydian", "mixolydian"])
def test_a_mode_named_alone_is_read_without_a_tonic(mode: str) -> None:
    reading = read_prompt(f"desert caravan with a {mode} flavour")
    assert reading.mode.value == mode and reading.tonic is None


def test_aeolian_is_minor_and_locrian_is_refused() -> None:
    assert read_prompt("aeolian sea").mode.value == "minor"
    with pytest.raises(PromptError, match="locrian"):
        read_prompt("a locrian nightmare")


def test_two_keys_are_a_contradiction() -> None:
    with pytest.raises(PromptError, match="two keys"):
        read_prompt("in D minor, then in F major")


@pytest.mark.parametrize(
    ("text", "meter"),
    [
        ("a waltz for the ballroom", "3/4"),
        ("a jig in the tavern", "6/8"),
        ("sea shanty for the crew", "6/8"),
        ("a tarantella", "6/8"),
        ("military march", "4/4"),
        ("piano piece in 3/4", "3/4"),
        ("a 6/8 lullaby", "6/8"),
        ("in common time", "4/4"),
    ],
)
def test_meters_come_from_signatures_and_dance_words(text: str, meter: str) -> None:
    assert read_prompt(text).meter.value == meter


def test_a_two_four_march_is_played_in_two_four() -> None:
    reading = read_prompt("a brisk 2/4 march")
    assert reading.meter.value == "2/4"


def test_cut_time_is_played_in_four_four_and_says_so() -> None:
    reading = read_prompt("a brisk march in 2/2")
    assert reading.meter.value == "4/4"
    assert "2/2" in reading.meter_note and "4/4" in reading.meter_note


def test_a_stated_meter_wins_over_a_dance_word_with_a_note() -> None:
    reading = read_prompt("a waltz in 4/4, oddly")
    assert reading.meter.value == "4/4" and "waltz" in reading.meter_note


def test_two_stated_meters_are_a_contradiction() -> None:
    with pytest.raises(PromptError, match="contradictory meters"):
        read_prompt("3/4 march in 6/8")


def test_a_meter_the_engine_does_not_play_is_refused_with_the_list() -> None:
    with pytest.raises(PromptError) as caught:
        read_prompt("prog rock in 11/8")
    assert caught.value.detail["allowed"] == list(SUPPORTED_METERS)


def test_bars_are_read_and_checked() -> None:
    assert read_prompt("an 8-bar loop").bars.value == 8
    with pytest.raises(PromptError, match="bars long"):
        read_prompt("a 12 bar blues")


@pytest.mark.parametrize(
    ("text", "word", "program"),
    [
        ("a music box melody", "music box", 10),
        ("sad cello", "cello", 42),
        ("oud and darbuka", "oud", 106),
        ("an accordion in the harbour", "accordion", 21),
        ("timpani rolls", "timpani", 47),
        ("a gentle harp", "harp", 46),
        ("choir", "choir", 52),
        ("french horns over strings", "french horn", 60),
    ],
)
def test_instrument_names_map_to_general_midi_programs(text: str, word: str, program: int) -> None:
    mention = next(m for m in read_prompt(text).mentions if m.word == word)
    assert mention.instrument.program == program and not mention.negated


def test_role_words_beside_an_instrument_give_its_role() -> None:
    reading = read_prompt("harp arpeggios under a flute melody, piano chords, string pads")
    roles = {m.word: m.role for m in reading.mentions}
    assert roles == {"harp": "arp", "flute": "melody", "piano": "harmony", "string": "pad"}


@pytest.mark.parametrize(
    "text",
    ["calm ambient pads, no drums", "without drums", "no percussion or drums", "drumless"],
)
def test_negated_drums_rule_drums_out(text: str) -> None:
    reading = read_prompt(text)
    assert reading.no_drums
    assert not any(m.instrument.family == "drums" for m in reading.wanted)


def test_a_negation_ends_at_but_and_with() -> None:
    reading = read_prompt("no drums, but a harp and a cello")
    assert {m.word for m in reading.wanted} == {"harp", "cello"}
    reading = read_prompt("no piano with soft drums")
    assert {m.word for m in reading.wanted} == {"drums"}


def test_negated_words_do_not_count() -> None:
    reading = read_prompt("not slow, a flute tune")
    assert "slow" not in [w for w, _ in reading.words]


def test_empty_or_wordless_prompts_are_refused() -> None:
    for text in ("", "   ", "!!! 42"):
        with pytest.raises(PromptError) as caught:
            read_prompt(text)
        assert caught.value.code == "bad_prompt" and caught.value.detail["field"] == "prompt"


def test_every_word_tag_is_in_the_tag_vocabulary() -> None:
    for word, effect in WORDS.items():
        assert set(effect.tags) <= ALL_TAGS, word


def test_every_instrument_range_is_playable() -> None:
    for word, instrument in INSTRUMENTS.items():
        assert 0 <= instrument.program <= 127 and instrument.low < instrument.high, word
        assert instrument.roles, word


@pytest.mark.parametrize(
    ("text", "description"),
    [
        (
            "slow waltz in G minor at 84 BPM, a cello melody over a music box, no drums",
            "slow waltz, a cello melody over a music box",
        ),
        (
            "calm underwater cave, marimba and kalimba, no drums",
            "calm underwater cave, marimba and kalimba",
        ),
        ("ambient pads without any heavy drums, just a harp", "ambient pads, just a harp"),
        (
            "tense stealth mission in 6/8, pizzicato strings",
            "tense stealth mission, pizzicato strings",
        ),
        ("120 BPM in C major", "120 BPM in C major"),  # nothing left: the whole prompt
    ],
)
def test_the_description_drops_what_the_parser_read_and_negated_phrases(
    text: str, description: str
) -> None:
    assert descriptive_text(read_prompt(text)) == description
