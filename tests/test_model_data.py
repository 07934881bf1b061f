"""The data pipeline on a studio's own folder: MIDI files -> bars -> split by piece -> manifest."""

import json
from pathlib import Path

import numpy as np
import pytest

from engine_core.data.corpus import folder_files, parse_file, piece_split
from engine_core.data.dataset import DatasetError, build_dataset, load_dataset, pieces_from_list
from engine_core.data.pianoroll import (
    ACTIVE,
    BAR_SHAPE,
    ONSET,
    TrackNote,
    bars_to_notes,
    notes_to_bars,
    score_to_bars,
)
from engine_core.score import Score, ScoreNote
from tests.test_model_support import write_midi

MAJOR = (0, 2, 4, 5, 7, 9, 11)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three pieces: 4/4 in D major, 3/4 in C major (in a subfolder), 4/4 in F major.
    "2.mid" hashes into the held-out split; the others train."""
    root = tmp_path_factory.mktemp("studio")
    (root / "waltzes").mkdir()
    write_midi(str(root / "2.mid"), numerator=4, bars=8, scale=MAJOR, tonic=2)
    write_midi(str(root / "waltzes" / "c.mid"), numerator=3, bars=6, scale=MAJOR)
    write_midi(str(root / "b.midi"), numerator=4, bars=5, scale=MAJOR, tonic=5)
    (root / "notes.txt").write_text("not a score")
    return root


def test_a_folder_lists_every_score_file_as_the_custom_collection(studio: Path) -> None:
    files = folder_files(studio)
    assert [f.piece_id for f in files] == ["custom/2.mid", "custom/b.midi", "custom/waltzes/c.mid"]
    assert {f.collection for f in files} == {"custom"}


def test_a_midi_file_becomes_bars_in_the_tonic_c_frame(studio: Path) -> None:
    (piece,), skipped = parse_file(folder_files(studio)[0])
    assert skipped == {}
    assert (piece.meter, piece.mode, piece.tonic, piece.family) == ("4/4", "major", 2, "custom")
    assert piece.bars.shape == (8, *BAR_SHAPE) and piece.bars.dtype == np.uint8
    onsets = piece.bars[:, :, ONSET]
    assert all(onsets[:, track].any() for track in range(3))  # melody, harmony, bass
    assert onsets[:, 0].sum() == 8 * 16 // 4  # the melody's quarter notes
    pitch_classes = {int(p) % 12 for p in np.nonzero(onsets[:, 0].any(axis=(0, 1)))[0] + 53}
    assert pitch_classes <= set(MAJOR)  # D major moved to C
    assert not (piece.bars[:, :, ONSET] & ~piece.bars[:, :, ACTIVE]).any()


def test_a_three_four_piece_fills_twelve_steps_a_bar(studio: Path) -> None:
    (piece,), _ = parse_file(folder_files(studio)[2])
    assert piece.meter == "3/4" and len(piece.bars) == 6
    assert not piece.bars[:, :, :, 12:].any() and piece.bars[:, :, :, :12].any()


def test_an_unreadable_file_is_counted_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "broken.musicxml").write_text("<score-partwise><part")
    pieces, skipped = parse_file(folder_files(tmp_path)[0])
    assert pieces == [] and skipped == {"unreadable": 1}


def test_the_dataset_has_a_manifest_with_counts_and_a_hash(studio: Path, tmp_path: Path) -> None:
    dataset = build_dataset(data_dir=studio, workers=1, cache_dir=tmp_path)
    manifest = dataset.manifest
    assert manifest["files"] == {"custom": 3} and manifest["pieces"] == 3
    assert manifest["bars"] == 8 + 6 + 5 == len(dataset.bars) == int(dataset.piece_length.sum())
    assert manifest["bars_by_meter"] == {"4/4": 13, "3/4": 6}
    assert manifest["bars_by_family"] == {"custom": 19}
    assert manifest["bars_by_split"] == {"test": 8, "train": 11}
    assert manifest["source"] == str(studio)
    assert len(manifest["hash"]) == 16 and dataset.manifest_hash == manifest["hash"]
    on_disk = json.loads(next(tmp_path.glob("*/manifest.json")).read_text())
    assert on_disk == manifest


def test_the_split_is_by_piece_and_covers_every_bar_once(studio: Path, tmp_path: Path) -> None:
    dataset = build_dataset(data_dir=studio, workers=1, cache_dir=tmp_path)
    train, test = dataset.bar_indices("train"), dataset.bar_indices("test")
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(dataset.bars)))
    assert [dataset.piece_ids[i] for i in dataset.pieces("test")] == ["custom/2.mid"]
    assert piece_split("custom/2.mid") == "test" and piece_split("custom/b.midi") == "train"
    assert piece_split("custom/2.mid") == piece_split("custom/2.mid")


def test_a_second_build_reads_the_cache_and_a_forced_one_gives_the_same_hash(
    studio: Path, tmp_path: Path
) -> None:
    first = build_dataset(data_dir=studio, workers=1, cache_dir=tmp_path)
    cached = build_dataset(data_dir=studio, workers=1, cache_dir=tmp_path)
    assert cached.manifest == first.manifest  # parse_seconds too: nothing was parsed again
    rebuilt = build_dataset(data_dir=studio, workers=1, cache_dir=tmp_path, force=True)
    assert rebuilt.manifest_hash == first.manifest_hash
    assert np.array_equal(rebuilt.bars, first.bars)


@pytest.mark.slow
def test_two_worker_processes_build_the_same_dataset(studio: Path, tmp_path: Path) -> None:
    one = build_dataset(data_dir=studio, workers=1, cache_dir=tmp_path / "one")
    two = build_dataset(data_dir=studio, workers=2, cache_dir=tmp_path / "two")
    assert two.manifest["workers"] == 2
    assert two.manifest_hash == one.manifest_hash and np.array_equal(two.bars, one.bars)


def test_a_tampered_cache_is_a_dataset_error(studio: Path, tmp_path: Path) -> None:
    build_dataset(data_dir=studio, workers=1, cache_dir=tmp_path)
    manifest_path = next(tmp_path.glob("*/manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    manifest["hash"] = "0" * 16
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match="does not match its manifest hash"):
        load_dataset(manifest_path.parent)
    (manifest_path.parent / "bars.npz").write_bytes(b"not an npz")
    with pytest.raises(DatasetError, match="cannot read"):
        load_dataset(manifest_path.parent)


def test_a_folder_without_scores_or_a_missing_folder_is_a_dataset_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no score files"):
        build_dataset(data_dir=tmp_path / "empty", cache_dir=tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        build_dataset(data_dir=tmp_path / "missing", cache_dir=tmp_path)


def test_notes_round_trip_through_bar_rolls_round_the_loop() -> None:
    notes = [
        TrackNote(0, 60, 0, 4),
        TrackNote(1, 64, 6, 10),  # across the bar line
        TrackNote(2, 36, 28, 2),
    ]
    rolls = notes_to_bars(notes, bars=2, steps_per_bar=16)
    assert rolls.shape == (2, *BAR_SHAPE)
    back = bars_to_notes(rolls, 16)
    assert [(n.bar, n.step, n.track, n.pitch, n.duration_steps) for n in back] == [
        (0, 0, "melody", 60, 4),
        (0, 6, "harmony", 64, 10),
        (1, 12, "bass", 36, 2),
    ]


def test_a_note_over_the_loop_end_wraps_into_bar_zero() -> None:
    score = Score(
        meter="4/4",
        bars=2,
        mode="major",
        notes=(ScoreNote(bar=1, step=14, track="melody", pitch=67, duration_steps=6),),
    )
    rolls = score_to_bars(score)
    assert rolls[0, 0, ACTIVE, :4, 67 - 53].all() and not rolls[0, 0, ONSET].any()
    (note,) = bars_to_notes(rolls, 16)
    assert (note.bar, note.step, note.duration_steps) == (1, 14, 6)


def test_an_in_memory_dataset_keeps_pieces_in_order() -> None:
    from engine_core.data.corpus import PieceBars

    pieces = [
        PieceBars(
            f"custom/{i}",
            "custom",
            "custom",
            "4/4",
            "major",
            0,
            np.zeros((n, *BAR_SHAPE), np.uint8),
        )
        for i, n in ((0, 4), (1, 6))
    ]
    dataset = pieces_from_list(pieces)
    assert list(dataset.piece_start) == [0, 4] and list(dataset.piece_length) == [4, 6]
    assert dataset.bars.shape == (10, *BAR_SHAPE)
