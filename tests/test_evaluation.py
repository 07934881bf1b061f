"""Model evaluation: each metric on hand-built loops with known answers, then the command.

The end-to-end test runs `ostinato eval-model` on the installed weights over the tiny
corpus and checks the report's shape and the baselines, never the model's scores (the
weights are replaced by better ones; the checks must hold for any sane checkpoint).
"""

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from engine_core.data.corpus import PieceBars, piece_split
from engine_core.data.dataset import TINY_COLLECTIONS, pieces_from_list
from engine_core.data.pianoroll import TRACK_LOW, TrackNote, notes_to_bars
from engine_core.evaluation.adherence import control_sweep, mode_rate
from engine_core.evaluation.baselines import heldout_windows, shuffled
from engine_core.evaluation.diversity import diversity_check, note_overlap, set_overlap
from engine_core.evaluation.joins import BarFeatures, join_parts, loop_joins, seam_check
from engine_core.evaluation.metrics import (
    empty_beat_rate,
    groove_consistency,
    notes_per_bar,
    pitch_class_entropy,
    polyphony,
    scale_consistency,
)
from engine_core.evaluation.originality import CopyIndex, originality_check
from engine_core.score import TRACKS, Score, ScoreNote
from middleware.cli import cli, main

C_MAJOR = (60, 62, 64, 65, 67, 69, 71, 72)


def loop(notes: list[ScoreNote], bars: int = 2, meter: str = "4/4", mode: str = "major") -> Score:
    return Score(meter=meter, bars=bars, mode=mode, notes=tuple(sorted(notes)))


def note(bar: int, step: int, pitch: int, steps: int = 2, track: str = "melody") -> ScoreNote:
    return ScoreNote(bar=bar, step=step, track=track, pitch=pitch, duration_steps=steps)


def scale_loop(pitches: tuple[int, ...] = C_MAJOR) -> Score:
    """Eighth notes, one pitch each, eight to a bar."""
    notes = [note(i // 8, (i % 8) * 2, p) for i, p in enumerate(pitches)]
    return loop(notes, bars=max(1, math.ceil(len(pitches) / 8)))


# ------------------------------------------------------------------ MusPy descriptors


def test_pitch_class_entropy_counts_notes_in_bits() -> None:
    # C twice, six other classes once: -(1/4·log2 1/4 + 6·1/8·log2 1/8) = 0.5 + 2.25
    assert pitch_class_entropy(scale_loop()) == pytest.approx(2.75)
    assert pitch_class_entropy(scale_loop((60, 72, 48, 84))) == 0.0
    assert pitch_class_entropy(scale_loop(tuple(range(60, 72)))) == pytest.approx(math.log2(12))
    assert math.isnan(pitch_class_entropy(loop([])))


def test_a_major_scale_is_fully_scale_consistent_and_chromatic_notes_are_not() -> None:
    assert scale_consistency(scale_loop()) == 1.0
    assert scale_consistency(scale_loop(tuple(p + 3 for p in C_MAJOR))) == 1.0  # E-flat major
    assert scale_consistency(scale_loop(tuple(range(60, 72)))) == pytest.approx(7 / 12)
    assert math.isnan(scale_consistency(loop([])))


def test_polyphony_counts_pitches_sounding_together() -> None:
    triad = [note(0, 0, p, steps=16, track="harmony") for p in (60, 64, 67)]
    assert polyphony(loop(triad, bars=1)) == 3.0
    assert polyphony(scale_loop()) == 1.0
    # the triad for one bar, a single note for the next: (3·16 + 1·16) / 32
    assert polyphony(loop([*triad, note(1, 0, 72, steps=16)])) == 2.0


def test_an_empty_bar_has_empty_beat_rate_one() -> None:
    assert empty_beat_rate(loop([], bars=1)) == 1.0
    assert empty_beat_rate(loop([note(0, 0, 60, steps=16)], bars=2)) == 0.5
    assert empty_beat_rate(loop([note(0, 0, 60, steps=1)], bars=1)) == 0.75
    assert empty_beat_rate(loop([], bars=1, meter="3/4")) == 1.0


def test_a_note_past_the_loop_end_sounds_in_bar_zero() -> None:
    held = loop([note(1, 0, 60, steps=32)], bars=2)  # fills bar 1, wraps round into bar 0
    assert empty_beat_rate(held) == 0.0


def test_groove_consistency_compares_neighbouring_bars() -> None:
    same = [note(bar, step, 60) for bar in range(4) for step in (0, 4, 8, 12)]
    assert groove_consistency(loop(same, bars=4)) == 1.0
    # bar 1 moves all four onsets: 8 of 16 steps differ on each of 3 joins
    moved = [
        note(bar, step + (2 if bar == 1 else 0), 60) for bar in range(4) for step in (0, 4, 8, 12)
    ]
    assert groove_consistency(loop(moved, bars=4)) == pytest.approx(1 - 16 / 48)
    assert math.isnan(groove_consistency(loop(same[:4], bars=1)))


def test_notes_per_bar_counts_every_track() -> None:
    notes = [note(0, 0, 60), note(0, 0, 48, track="bass"), note(1, 4, 64, track="harmony")]
    assert notes_per_bar(loop(notes, bars=2)) == 1.5


# ------------------------------------------------------------------ joins and the seam


def phrase(bars: int = 4) -> list[ScoreNote]:
    """A stepwise line, the same rhythm in every bar."""
    return [
        note(bar, step, 60 + bar * 2 + step // 4) for bar in range(bars) for step in (0, 4, 8, 12)
    ]


def test_a_held_note_across_a_join_is_no_leap_and_a_fifth_is_seven_twelfths() -> None:
    tied = loop([note(0, 0, 67, steps=32)], bars=2)
    assert join_parts(BarFeatures.of(tied), 0, 1)["melody_leap"] == 0.0
    fifth = loop([note(0, 12, 60, steps=4), note(1, 0, 67, steps=4)], bars=2)
    parts = join_parts(BarFeatures.of(fifth), 0, 1)
    assert parts["melody_leap"] == pytest.approx(7 / 12)
    assert parts["rhythm"] == pytest.approx(2 / 16)
    assert parts["harmony"] == 1.0  # G against C: no pitch class in common


def test_repeated_bars_join_at_distance_zero_seam_included() -> None:
    bars = [note(bar, step, 60) for bar in range(4) for step in (0, 8)]
    bars += [note(bar, 0, 43, steps=16, track="bass") for bar in range(4)]
    inner, seam = loop_joins(loop(bars, bars=4))
    assert inner == [0.0, 0.0, 0.0]
    assert seam == 0.0


def test_the_seam_of_rotated_loops_is_a_typical_join() -> None:
    notes = phrase()
    rotations = [
        loop([replace(n, bar=(n.bar + shift) % 4) for n in notes], bars=4) for shift in range(4)
    ]
    check = seam_check(rotations)
    assert check.passed
    assert check.loops == 4 and check.inner_joins == 12


def test_a_seam_that_leaps_and_changes_rhythm_fails_the_check() -> None:
    rough = []
    for shift in range(4):
        notes = phrase()
        notes[-1] = replace(notes[-1], pitch=60 + 23 + shift, step=14)  # a jump before the seam
        rough.append(loop(notes, bars=4))
    check = seam_check(rough)
    assert check.seam_median > check.inner_q3
    assert not check.passed


# ------------------------------------------------------------------ diversity


def test_note_overlap_is_the_jaccard_index_of_onsets() -> None:
    a = scale_loop()
    assert note_overlap(a, a) == 1.0
    assert note_overlap(a, scale_loop(tuple(p + 1 for p in C_MAJOR))) == 0.0
    half = scale_loop((*C_MAJOR[:4], 61, 63, 66, 68))  # 4 shared of 12 distinct
    assert note_overlap(a, half) == pytest.approx(4 / 12)
    assert set_overlap([a, a, half]) == pytest.approx((1 + 2 * 4 / 12) / 3)


def test_diversity_passes_in_range_and_falling_with_variance() -> None:
    a, b, c = scale_loop(), scale_loop((*C_MAJOR[:4], 61, 63, 66, 68)), scale_loop((61,) * 8)
    check = diversity_check(0.35, [[a, b]], {0.2: [[a, a]], 0.5: [[a, b]], 0.9: [[a, c]]})
    assert check.default_overlap == pytest.approx(1 / 3)
    assert check.in_range and check.follows_variance and check.passed
    assert not diversity_check(0.35, [[a, a]], {0.2: [[a, b]], 0.9: [[a, a]]}).passed


# ------------------------------------------------------------------ adherence


def test_mode_rate_uses_the_heard_mode_and_counts_empty_loops_as_misses() -> None:
    major = scale_loop((60, 64, 67, 72, 60, 64, 67, 65))
    minor = scale_loop((60, 63, 67, 72, 60, 63, 67, 68))
    assert mode_rate([major, minor], ["major", "minor"]) == 1.0
    assert mode_rate([major, minor], ["minor", "minor"]) == 0.5
    assert mode_rate([loop([])], ["major"]) == 0.0


def test_a_control_sweep_reports_its_measure_per_level() -> None:
    def register_loop(pitch: int) -> Score:
        return loop([note(bar, 0, pitch) for bar in range(2)])

    sweep = control_sweep("register", {0.1: [register_loop(60)], 0.9: [register_loop(72)]})
    assert sweep.measured == (60.0, 72.0)
    assert sweep.monotonic
    flat = control_sweep("register", {0.1: [register_loop(64)], 0.9: [register_loop(64)]})
    assert not flat.monotonic  # equal is not "moves"


# ------------------------------------------------------------------ originality


def _piece(piece_id: str, melody: list[int], bass: list[int]) -> PieceBars:
    """Quarter notes: four melody and one bass note per bar."""
    notes = [TrackNote(0, p, i * 4, 4) for i, p in enumerate(melody)]
    notes += [TrackNote(2, p, i * 16, 16) for i, p in enumerate(bass)]
    bars = len(bass)
    return PieceBars(piece_id, "bach", "chorale", "4/4", "major", 0, notes_to_bars(notes, bars, 16))


TRAIN_ID, TEST_ID = "bach/p0", "bach/p5"
MELODY = [67, 69, 71, 72, 74, 72, 71, 69, 67, 65, 64, 62, 60, 62, 64, 65]
BASS = [48, 43, 45, 41]


def _corpus():
    assert piece_split(TRAIN_ID) == "train" and piece_split(TEST_ID) == "test"
    test_melody = [60, 60, 67, 67, 69, 69, 67, 65, 65, 64, 64, 62, 62, 60, 62, 60]
    return pieces_from_list(
        [_piece(TRAIN_ID, MELODY, BASS), _piece(TEST_ID, test_melody, [36, 41, 43, 36])]
    )


def _loop_with(bars_notes: list[tuple[list[int], int]], shift: int = 0) -> Score:
    notes = []
    for bar, (melody, bass) in enumerate(bars_notes):
        notes += [note(bar, i * 4, p + shift, steps=4) for i, p in enumerate(melody)]
        notes.append(note(bar, 0, bass + shift, steps=16, track="bass"))
    return loop(notes, bars=len(bars_notes))


def _bars(first: int, count: int) -> list[tuple[list[int], int]]:
    return [(MELODY[4 * b : 4 * b + 4], BASS[b]) for b in range(first, first + count)]


FRESH = [([72, 71, 72, 74], 38), ([76, 74, 72, 71], 43)]


def test_a_copied_training_window_is_flagged() -> None:
    index = CopyIndex.of(_corpus())
    copied = _loop_with([*_bars(1, 2), *FRESH])
    assert [bar for bar, _ in index.copies(copied)] == [0]
    assert index.copies(copied)[0][1] == TRAIN_ID


def test_a_transposed_copy_is_flagged_too() -> None:
    index = CopyIndex.of(_corpus())
    assert index.copies(_loop_with([*FRESH, *_bars(2, 2)], shift=3))
    assert index.copies(_loop_with([*FRESH, *_bars(2, 2)], shift=-5))


def test_a_copy_across_the_seam_is_flagged() -> None:
    index = CopyIndex.of(_corpus())
    bars = _bars(0, 2)
    wrapped = _loop_with([bars[1], *FRESH, bars[0]])  # bar 3 -> bar 0 is the training pair
    assert [bar for bar, _ in index.copies(wrapped)] == [3]


def test_one_bar_or_a_changed_note_is_not_a_copy() -> None:
    index = CopyIndex.of(_corpus())
    one_bar = _loop_with([_bars(0, 1)[0], *FRESH])
    (m0, b0), (m1, b1) = _bars(0, 2)
    changed = _loop_with([(m0, b0), ([*m1[:3], m1[3] + 1], b1), *FRESH])
    check = originality_check(index, [one_bar, changed])
    assert check.passed and check.loops_copying == 0


def test_held_out_pieces_are_not_in_the_index_and_trivial_windows_are_skipped() -> None:
    dataset = _corpus()
    index = CopyIndex.of(dataset)
    assert index.windows == 3  # the training piece's 4 bars, 3 two-bar windows
    test_copy = _loop_with([([60, 60, 67, 67], 36), ([69, 69, 67, 65], 41)])
    assert not index.copies(test_copy)
    held_chord = loop([note(b, 0, p, steps=16) for b in range(2) for p in (60, 64)], bars=2)
    assert not index.copies(held_chord)


# ------------------------------------------------------------------ baselines


def test_held_out_windows_come_from_test_pieces() -> None:
    dataset = _corpus()
    windows = heldout_windows(dataset, [4, 2], np.random.default_rng(0))
    assert [w.bars for w in windows] == [4, 2]
    assert {n.pitch for n in windows[0].notes if n.track == "bass"} == {36, 41, 43}


def test_shuffled_notes_keep_count_durations_and_track_ranges() -> None:
    original = _loop_with(_bars(0, 4))
    mixed = shuffled(original, np.random.default_rng(1))
    assert len(mixed.notes) == len(original.notes)
    assert sorted(n.duration_steps for n in mixed.notes) == sorted(
        n.duration_steps for n in original.notes
    )
    for moved in mixed.notes:
        low = TRACK_LOW[TRACKS.index(moved.track)]
        assert low <= moved.pitch < low + 36
    assert {(n.bar, n.step, n.pitch) for n in mixed.notes} != {
        (n.bar, n.step, n.pitch) for n in original.notes
    }


# ------------------------------------------------------------------ the commands


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return int(info.value.code or 0)


def test_eval_model_without_weights_fails_with_a_checkpoint_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code(["eval-model", "--weights", str(tmp_path / "none")]) == 4
    error = capsys.readouterr().err
    assert "checkpoint_error" in error and "make train" in error


def test_build_data_rejects_two_corpora(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["build-data", "--tiny", "--data", str(tmp_path)]) == 2
    assert "--data and --tiny" in capsys.readouterr().err


@pytest.mark.slow
def test_build_data_prints_the_manifest_of_the_cached_corpus() -> None:
    result = CliRunner().invoke(cli, ["build-data", "--tiny"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert set(manifest["files"]) == set(TINY_COLLECTIONS)
    assert manifest["bars"] == sum(manifest["bars_by_split"].values())
    assert len(manifest["hash"]) == 16


@pytest.mark.slow
def test_eval_model_reports_every_column_and_check_as_json() -> None:
    result = CliRunner().invoke(cli, ["eval-model", "--loops", "8", "--json", "--tiny"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    columns = report["columns"]
    assert list(columns) == ["model", "held-out", "untrained", "shuffled"]
    for name, column in columns.items():
        assert column["loops"] == 8, name
        metrics = column["metrics"]
        assert 0.0 <= metrics["empty_beat_rate"]["mean"] <= 1.0
        if metrics["scale_consistency"]["n"]:
            assert 0.0 <= metrics["pitch_class_entropy"]["mean"] <= math.log2(12)
            assert 7 / 12 - 1e-9 <= metrics["scale_consistency"]["mean"] <= 1.0
    # the baselines bracket real music: shuffled pitches leave the scale, real music does not
    real, noise = columns["held-out"]["metrics"], columns["shuffled"]["metrics"]
    assert real["scale_consistency"]["mean"] > noise["scale_consistency"]["mean"]
    assert real["notes_per_bar"]["mean"] == noise["notes_per_bar"]["mean"]
    assert set(report["checks"]) == {"seam", "adherence", "diversity", "originality"}
    assert all(isinstance(v, bool) for v in report["checks"].values())
    sweeps = report["adherence"]["controls"]
    assert set(sweeps) == {"energy", "density", "register"}
    assert all(len(s["measured"]) == 5 for s in sweeps.values())
    assert len(report["diversity"]["by_variance"]) == 4
    assert report["info"]["generated_loops"] >= 16
