"""Motifs: reading them (TOML note lists, MIDI files), their errors, modal transposition,
placement and development per variant, quoting into scores, the hash, timeline marks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pretty_midi
import pytest

from engine_core.arrange.motif import (
    develop,
    from_degree,
    plan_quotes,
    quote_bars,
    quote_score,
    to_degree,
    transpose,
)
from engine_core.arrange.motif_parts import bass_with_quotes, keep_quotes_whole
from engine_core.errors import InvalidSpecError
from engine_core.evaluation.motifs import contains, degree_steps, motif_steps
from engine_core.motif import (
    MotifError,
    MotifUse,
    fit_meter,
    motif_from_midi,
    motif_from_text,
    notes_from_text,
    parse_pitch,
)
from engine_core.score import MotifQuote, Score, ScoreNote
from engine_core.spec import GenerationSpec, Key, StemSpec
from engine_core.variant import VariantMeta

HERO = ["C4 q", "E4 e", "G4 e", "C5 q.", "B4 s", "r s", "G4 h"]


def hero():
    return motif_from_text("hero", HERO, "C major")


def make_spec(**changes: object) -> GenerationSpec:
    fields: dict[str, object] = {
        "prompt": "a heroic theme",
        "tags": ("orchestral",),
        "bpm": 120.0,
        "meter": "4/4",
        "key": "D dorian",
        "bars": 4,
        "stems": (
            StemSpec("lead", "melody", program=73, register=(62, 86)),
            StemSpec("bass", "bass", program=32, register=(28, 52)),
        ),
    }
    fields.update(changes)
    return GenerationSpec(**fields)  # type: ignore[arg-type]


def write_midi(path: Path, notes: list[tuple[int, float, float]], *, key: int | None = None):
    midi = pretty_midi.PrettyMIDI(initial_tempo=100)
    lead = pretty_midi.Instrument(program=73)
    for pitch, start, end in notes:
        lead.notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=start, end=end))
    midi.instruments.append(lead)
    drums = pretty_midi.Instrument(program=0, is_drum=True)  # ignored: drums
    drums.notes += [pretty_midi.Note(100, 36, i * 0.3, i * 0.3 + 0.1) for i in range(20)]
    midi.instruments.append(drums)
    if key is not None:
        midi.key_signature_changes.append(pretty_midi.KeySignature(key, 0.0))
    midi.write(str(path))
    return path


# -- reading ------------------------------------------------------------------------------


def test_note_list_reads_pitches_durations_and_rests_on_the_sixteenth_grid() -> None:
    assert notes_from_text(HERO) == (
        (0, 4, 60), (4, 2, 64), (6, 2, 67), (8, 6, 72), (14, 1, 71), (16, 8, 67),
    )  # fmt: skip
    motif = hero()
    assert motif.length_steps == 24 and motif.span == 12 and motif.bars(16) == 2


def test_pitch_names_follow_scientific_octaves() -> None:
    assert [parse_pitch(t) for t in ("C4", "Bb3", "F#5", "c-1", "G9")] == [60, 58, 78, 0, 127]


def test_key_is_inferred_when_not_written() -> None:
    assert motif_from_text("m", ["A3 q", "C4 q", "E4 q", "A4 h"]).key == "A minor"
    assert motif_from_text("m", ["G4 q", "B4 q", "D5 q", "G5 h"]).key == "G major"


def test_midi_sketch_is_read_quantised_top_voice_without_drums(tmp_path: Path) -> None:
    beat = 0.6  # 100 bpm
    path = write_midi(
        tmp_path / "sketch.mid",
        [
            (62, 0.0, beat * 0.98),  # D4 quarter, a little short: still a quarter
            (50, 0.0, beat),  # a lower note on the same onset: the top voice wins
            (69, beat * 1.01, beat * 2.5),  # A4 dotted quarter, onset slightly late
            (67, beat * 2.5, beat * 3),
            (65, beat * 3, beat * 4),
        ],
        key=14,  # D minor
    )
    motif = motif_from_midi("sketch", path)
    assert motif.key == "D minor"
    assert motif.notes == ((0, 4, 62), (4, 6, 69), (10, 2, 67), (12, 4, 65))


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ([], "empty_motif"),
        (["r q", "r h"], "empty_motif"),
        (["C4 q", "D4 q"], "motif_too_short"),
        (["C4 q", "H4 q", "E4 q"], "bad_motif_note"),
        (["C4 q", "D4 x", "E4 q"], "bad_motif_note"),
        (["C4", "D4 q", "E4 q"], "bad_motif_note"),
        (["C4 q", "D4 q", "A9 q"], "motif_out_of_range"),
        (["C4 s" for _ in range(40)], "motif_too_long"),
    ],
)
def test_bad_motifs_raise_structured_errors(entries: list[str], problem: str) -> None:
    with pytest.raises(MotifError) as caught:
        motif_from_text("bad", entries)
    assert caught.value.problem == problem
    assert caught.value.to_wire()["code"] == "bad_motif"
    assert caught.value.to_wire()["detail"]["problem"] == problem


def test_unreadable_and_empty_midi_files_are_structured_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"MThd this is not a MIDI file")
    with pytest.raises(MotifError) as caught:
        motif_from_midi("junk", junk)
    assert caught.value.problem == "unreadable_midi"
    empty = tmp_path / "drums_only.mid"
    midi = pretty_midi.PrettyMIDI()
    midi.instruments.append(pretty_midi.Instrument(0, is_drum=True))
    midi.instruments[0].notes.append(pretty_midi.Note(100, 36, 0, 0.1))
    midi.write(str(empty))
    with pytest.raises(MotifError) as caught:
        motif_from_midi("empty", empty)
    assert caught.value.problem == "empty_motif"


# -- fitting a spec -------------------------------------------------------------------------


def test_a_motif_longer_than_the_loop_is_refused() -> None:
    long = motif_from_text("long", ["C4 w", "D4 w", "E4 w"], "C major")
    with pytest.raises(MotifError) as caught:
        make_spec(bars=2, motif=MotifUse(long))
    assert caught.value.problem == "motif_too_long"
    make_spec(bars=4, motif=MotifUse(long))  # three bars fit in four


def test_every_bars_must_hold_the_motif_and_divide_the_loop() -> None:
    with pytest.raises(MotifError) as caught:
        make_spec(bars=4, motif=MotifUse(hero(), every_bars=1))
    assert caught.value.problem == "motif_too_long"
    with pytest.raises(MotifError) as caught:
        make_spec(bars=4, motif=MotifUse(hero(), every_bars=3))
    assert caught.value.problem == "bad_motif_use"


def test_a_motif_wider_than_the_voice_register_is_out_of_range() -> None:
    narrow = (StemSpec("lead", "melody", register=(60, 67)), StemSpec("bass", "bass"))
    with pytest.raises(MotifError) as caught:
        make_spec(stems=narrow, motif=MotifUse(hero()))
    assert caught.value.problem == "motif_out_of_range"


def test_the_voice_needs_a_stem_of_that_role() -> None:
    only_melody = (StemSpec("lead", "melody", register=(55, 84)),)
    with pytest.raises(MotifError) as caught:
        make_spec(stems=only_melody, motif=MotifUse(hero(), voice="bass"))
    assert caught.value.problem == "bad_motif_use"
    assert isinstance(caught.value, InvalidSpecError)  # callers that catch spec errors see it


def test_the_generation_hash_changes_with_the_motif_and_not_without_one() -> None:
    plain = make_spec()
    quoted = make_spec(motif=MotifUse(hero()))
    other_note = make_spec(motif=MotifUse(motif_from_text("hero", [*HERO[:-1], "A4 h"], "C major")))
    bass = make_spec(motif=MotifUse(hero(), voice="bass"))
    hashes = {s.generation_hash() for s in (plain, quoted, other_note, bass)}
    assert len(hashes) == 4
    renamed = make_spec(motif=MotifUse(replace(hero(), name="theme")))
    assert renamed.generation_hash() == quoted.generation_hash()  # the name is not music
    assert "motif" not in plain.canonical()  # specs without a motif keep their old hash


# -- modal transposition ----------------------------------------------------------------------


def test_a_major_motif_moves_into_d_dorian_by_scale_degree() -> None:
    motif = motif_from_text("m", ["C4 q", "D4 q", "E4 q", "F4 q", "G4 q", "A4 q", "B4 q"])
    moved = [p for _, _, p in transpose(motif, Key.parse("D dorian"))]
    # D dorian: D E F G A B C -- the third is F (a semitone shift would give F#)
    assert moved == [62, 64, 65, 67, 69, 71, 72]


def test_a_minor_motif_moves_into_major_and_phrygian() -> None:
    motif = motif_from_text("m", ["A3 q", "C4 q", "E4 q", "G4 q"], "A minor")
    # the tonic keeps its octave: A3 (tonic of A minor) becomes C3 (tonic of C major)
    assert [p for _, _, p in transpose(motif, Key.parse("C major"))] == [48, 52, 55, 59]
    assert [p for _, _, p in transpose(motif, Key.parse("E phrygian"), octave=1)] == [
        64, 67, 71, 74,
    ]  # fmt: skip


def test_chromatic_notes_keep_their_inflection() -> None:
    key = Key.parse("C major")
    assert to_degree(66, key) == (5 * 7 + 3, 1)  # F#4: raised fourth
    assert from_degree((5 * 7 + 3, 1), Key.parse("D minor")) == 68  # G#4


def test_development_forms_in_degree_space() -> None:
    notes = [(0, 4, (0, 0)), (4, 4, (2, 0)), (8, 4, (4, 0))]
    assert develop(notes, "sequence") == [(0, 4, (1, 0)), (4, 4, (3, 0)), (8, 4, (5, 0))]
    assert develop(notes, "inversion") == [(0, 4, (0, 0)), (4, 4, (-2, 0)), (8, 4, (-4, 0))]
    assert develop(notes, "augmentation") == [(0, 8, (0, 0)), (8, 8, (2, 0)), (16, 8, (4, 0))]


# -- placement ----------------------------------------------------------------------------------


def test_variants_place_and_develop_the_motif_differently() -> None:
    use = MotifUse(hero())
    plans = [plan_quotes(use, bars=8, steps_per_bar=16, variant_index=v) for v in range(5)]
    assert [(q.start, q.form) for q in plans[0]] == [(0, "original")]
    assert [(q.start, q.form) for q in plans[1]] == [(64, "original")]
    assert [(q.start, q.form) for q in plans[2]] == [(0, "original"), (32, "sequence")]
    assert [(q.start, q.form) for q in plans[3]] == [(0, "original"), (32, "inversion")]
    assert [(q.start, q.form) for q in plans[4]] == [(0, "original"), (32, "augmentation")]
    # every variant states the original at least once
    assert all(any(q.form == "original" for q in plan) for plan in plans)


def test_every_bars_returns_and_vary_false_repeats_it_plainly() -> None:
    use = MotifUse(hero(), every_bars=4)
    plan = plan_quotes(use, bars=16, steps_per_bar=16, variant_index=2)
    assert [(q.start, q.form) for q in plan] == [
        (0, "original"), (64, "inversion"), (128, "original"), (192, "inversion"),
    ]  # fmt: skip
    plain = MotifUse(hero(), vary=False)
    assert {
        tuple(plan_quotes(plain, bars=8, steps_per_bar=16, variant_index=v)) for v in range(4)
    } == {tuple(plan_quotes(plain, bars=8, steps_per_bar=16, variant_index=0))}


def test_quote_score_writes_the_motif_in_the_score_frame_and_clears_its_span() -> None:
    score = Score(
        "4/4",
        4,
        "minor",
        (
            ScoreNote(0, 0, "melody", 79, 8),  # inside the quote: gives way
            ScoreNote(3, 0, "melody", 72, 4),  # after it: stays
            ScoreNote(0, 0, "bass", 48, 16),  # other track: stays
        ),
    )
    quoted = quote_score(score, MotifUse(hero()), variant_index=0)
    melody = sorted((quoted.onset_step(n), n.pitch) for n in quoted.track("melody"))
    # C major's C E G C B G as degrees of C minor: C Eb G C Bb G, near the line's median
    assert melody == [(0, 72), (4, 75), (6, 79), (8, 84), (14, 82), (16, 79), (48, 72)]
    assert quoted.track("bass") == score.track("bass")
    assert quoted.motif_quotes == (MotifQuote(0, 24, (0, 4, 6, 8, 14, 16), "original", "melody"),)
    assert quote_bars(quoted) == [0, 1]


def test_the_arranger_moves_a_quote_as_one_block_into_the_register() -> None:
    line = [(0, 4, 64, 0.8), (4, 4, 80, 0.8), (8, 4, 67, 0.8), (16, 4, 65, 0.8)]
    quote = MotifQuote(0, 12, (0, 4, 8), "original", "melody")
    # register fitting folded the quote's first note up an octave: its intervals broke
    kept = keep_quotes_whole(line, [76, 80, 79, 77], [quote], 62, 86)
    assert kept == [64, 80, 67, 77]  # the quote as written, the rest as fitted


def test_a_bass_quote_replaces_the_bass_pattern_in_its_span() -> None:
    part = [(0.0, 8.0, 38, 0.7), (8.0, 8.0, 45, 0.7), (16.0, 16.0, 38, 0.7)]
    track = [(0, 4, 62, 0.8), (4, 4, 66, 0.8), (8, 8, 69, 0.8)]
    quote = MotifQuote(0, 16, (0, 4, 8), "original", "bass")
    played = bass_with_quotes(part, track, [quote], (28, 52))
    assert [(o, p) for o, _, p, _ in played] == [(0.0, 38), (4.0, 42), (8.0, 45), (16.0, 38)]


# -- evaluation helpers -------------------------------------------------------------------------


def test_the_search_is_transposition_invariant_and_rhythm_tolerant() -> None:
    motif = hero()
    wanted = motif_steps(motif)
    assert wanted == [2, 2, 3, -1, -2]
    dorian = Key.parse("D dorian")
    moved = [p for _, _, p in transpose(motif, dorian, octave=1)]
    # repeated notes (a re-struck rhythm) and other notes around do not hide it
    line = [50, 53, moved[0], moved[0], *moved[1:3], moved[3], moved[3], *moved[4:], 60]
    assert contains(degree_steps(line, dorian), wanted, circular=False)
    assert not contains(degree_steps(line[:6], dorian), wanted, circular=False)
    # round the seam: the quote's tail at the loop's start
    wrapped = [*moved[3:], 57, *moved[:3]]
    assert contains(degree_steps(wrapped, dorian, circular=True), wanted, circular=True)


# -- metadata -----------------------------------------------------------------------------------


def test_variant_meta_carries_motif_entries_through_json() -> None:
    meta = VariantMeta(
        state="menu", index=0, sample_rate=48000, bpm=120.0, meter="4/4", key="D major",
        bars=4, is_loop=True, loop_start=0, loop_end=384000,
        beat_samples=tuple(i * 24000 for i in range(16)),
        bar_samples=tuple(i * 96000 for i in range(5)), stem_intensity={"a": (0.0, 1.0)},
        loudness_lufs=-16.0, true_peak_db=-1.0, generation_hash="x", seed=1,
        engine_version="e", weights_version="w",
        motif_entries=((0, 0, "original"), (2, 4, "sequence")),
    )  # fmt: skip
    again = VariantMeta.from_json(meta.to_json())
    assert again == meta
    old = meta.to_json()
    del old["motif_entries"]  # metadata written before motifs existed still loads
    assert VariantMeta.from_json(old).motif_entries == ()
    assert replace(meta, motif_entries=()).to_json()["motif_entries"] == []


def test_a_simple_meter_motif_walks_in_dotted_quarters_in_6_8() -> None:
    motif = motif_from_text("m", ["D4 q", "A4 q.", "G4 e", "F#4 q"], "D major")
    fitted = fit_meter(motif, "6/8")
    assert fitted.meter == "6/8"
    assert fitted.notes == ((0, 6, 62), (6, 9, 69), (15, 3, 67), (18, 6, 66))
    assert fit_meter(motif, "3/4").notes == motif.notes  # simple to simple: same rhythm
    jig = motif_from_text("j", ["D4 e", "E4 e", "F#4 e", "G4 q."], "D major", "6/8")
    assert [o for o, _, _ in fit_meter(jig, "4/4").notes] == [0, 1, 3, 4]  # onsets stay apart


def test_the_spec_checks_the_fitted_length() -> None:
    three_beats = motif_from_text("m", ["C4 q", "E4 q", "G4 q", "C5 w"], "C major")
    make_spec(bars=2, motif=MotifUse(three_beats))  # 28 sixteenths fit 2 bars of 4/4 (32)
    with pytest.raises(MotifError) as caught:  # x 1.5 in 6/8: 42 sixteenths, 2 bars hold 24
        make_spec(bars=2, meter="6/8", motif=MotifUse(three_beats))
    assert caught.value.problem == "motif_too_long"
