"""Read scores (music21's corpus or a folder of MIDI/MusicXML/ABC/Humdrum) into bar rolls.

Each parsed piece becomes a `PieceBars`: its bars as piano rolls in the tonic-C frame
(`engine_core.data.pianoroll`), its meter, its mode label (Krumhansl-Schmuckler key
finding), its source collection and style family. Parts map to tracks by position: the
top part is the melody, the bottom part the bass, the parts between are the harmony.
Single-line tunes whose source carries chord symbols get those symbols realised as a
harmony track (chord tones) and a bass track (the root); tunes without them keep a
melody only.

music21 is imported inside the worker functions only.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine_core.data.pianoroll import BAR_SHAPE, TrackNote, find_key, notes_to_bars

#: time signature -> (model meter, quarter-length scale applied to offsets/durations)
METER_MAP: dict[str, tuple[str, float]] = {
    "4/4": ("4/4", 1.0),
    "2/2": ("4/4", 1.0),
    "3/4": ("3/4", 1.0),
    "6/8": ("6/8", 1.0),
    "4/2": ("4/4", 0.5),  # renaissance breves: a 4/2 bar is felt as a bar of 4/4
    "3/2": ("3/4", 0.5),
}
STEPS_PER_QUARTER = 4
MIN_BARS = 4

#: corpus collection -> style family
FAMILIES: dict[str, str] = {
    "bach": "chorale",
    "ryansMammoth": "folk",
    "essenFolksong": "folk",
    "oneills1850": "folk",
    "airdsAirs": "folk",
    "miscFolk": "folk",
    "monteverdi": "renaissance",
    "palestrina": "renaissance",
    "trecento": "renaissance",
    "josquin": "renaissance",
    "custom": "custom",
}
STYLE_FAMILIES: tuple[str, ...] = ("chorale", "folk", "renaissance", "custom")
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".mid", ".midi", ".abc", ".krn")


@dataclass(frozen=True)
class PieceBars:
    piece_id: str  # collection/file[#index]
    collection: str
    family: str
    meter: str
    mode: str
    tonic: int  # the original tonic pitch class (the piece was moved to C)
    bars: np.ndarray  # (n_bars, *BAR_SHAPE) uint8

    @property
    def split(self) -> str:
        return piece_split(self.piece_id)


def piece_split(piece_id: str) -> str:
    """Held-out split by piece: one piece in ten (by a hash of its id) is `test`."""
    digest = hashlib.sha1(piece_id.encode()).digest()
    return "test" if digest[0] % 10 == 0 else "train"


@dataclass(frozen=True)
class SourceFile:
    path: str
    collection: str
    piece_id: str


def corpus_files(collections: dict[str, int | None]) -> list[SourceFile]:
    """Files of music21's corpus per collection, the first `limit` in sorted order."""
    from music21 import corpus

    by_collection: dict[str, list[str]] = {name: [] for name in collections}
    for path in sorted(str(p) for p in corpus.getPaths()):
        if not path.endswith(SCORE_SUFFIXES):
            continue
        name = path.split("/corpus/")[-1].split("/")[0]
        if name in by_collection and "/test" not in path:
            by_collection[name].append(path)
    files: list[SourceFile] = []
    for name, paths in by_collection.items():
        limit = collections[name]
        for path in paths[:limit]:
            rel = path.split("/corpus/")[-1]
            files.append(SourceFile(path, name, rel))
    return files


def corpus_collections() -> list[str]:
    """Every collection (top-level folder) of music21's corpus."""
    import music21

    root = Path(music21.__file__).resolve().parent / "corpus"
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
    )


def folder_files(root: Path) -> list[SourceFile]:
    """Every score file under a studio's folder (collection "custom")."""
    files = [p for p in sorted(root.rglob("*")) if p.suffix.lower() in SCORE_SUFFIXES]
    return [SourceFile(str(p), "custom", f"custom/{p.relative_to(root)}") for p in files]


def parse_file(source: SourceFile) -> tuple[list[PieceBars], dict[str, int]]:
    """Parse one file (an opus gives several pieces). Returns pieces and skip reasons."""
    import warnings

    from music21 import converter, stream

    skipped: dict[str, int] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # from the source file: the bar dataset is the cache; music21's own pickle
            # cache leaves a file open on every read (a ResourceWarning at collection)
            parsed = converter.parse(source.path, forceSource=True)
    except Exception:  # music21 raises many types on malformed files
        return [], {"unreadable": 1}
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    pieces: list[PieceBars] = []
    for index, score in enumerate(scores):
        piece_id = source.piece_id if len(scores) == 1 else f"{source.piece_id}#{index}"
        try:
            piece, reason = _score_to_piece(score, piece_id, source.collection)
        except Exception:  # a malformed score inside an otherwise readable file
            piece, reason = None, "malformed"
        if piece is None:
            skipped[reason] = skipped.get(reason, 0) + 1
        else:
            pieces.append(piece)
    return pieces, skipped


def _score_to_piece(score: Any, piece_id: str, collection: str) -> tuple[PieceBars | None, str]:
    from music21 import harmony, meter, stream

    signatures = list(score.recurse().getElementsByClass(meter.TimeSignature))
    ratios = {ts.ratioString for ts in signatures}
    if len(ratios) != 1:
        return None, "meter_changes" if ratios else "no_meter"
    ratio = ratios.pop()
    if ratio not in METER_MAP:
        return None, f"meter_{ratio}"
    meter_text, scale = METER_MAP[ratio]
    bar_ql = signatures[0].barDuration.quarterLength * scale
    steps_per_bar = round(bar_ql * STEPS_PER_QUARTER)

    parts = list(score.parts) or [score]
    first_measure = parts[0].getElementsByClass(stream.Measure).first()
    shift_ql = 0.0
    if first_measure is not None:
        first_ql = float(first_measure.duration.quarterLength) * scale
        if 0 < first_ql < bar_ql - 1e-6:
            shift_ql = bar_ql - first_ql  # a pickup bar: align the next bar line to the grid

    def steps(offset_ql: float) -> int:
        return round((float(offset_ql) * scale + shift_ql) * STEPS_PER_QUARTER)

    part_notes: list[list[tuple[int, int, int]]] = []  # (pitch, start, duration)
    symbols: list[tuple[int, list[int]]] = []
    for part in parts:
        notes: list[tuple[int, int, int]] = []
        for element in part.flatten().notesAndRests:
            if isinstance(element, harmony.ChordSymbol):
                if len(parts) == 1 and element.pitches:
                    symbols.append((steps(element.offset), [p.midi for p in element.pitches]))
                continue
            if element.isRest or element.duration.quarterLength == 0:
                continue
            start = steps(element.offset)
            duration = max(1, steps(element.offset + element.duration.quarterLength) - start)
            for pitch in element.pitches:
                notes.append((pitch.midi, start, duration))
        if notes:
            part_notes.append(notes)
    if not part_notes:
        return None, "empty"

    track_notes = _assign_tracks(part_notes)
    if symbols:
        end = max(s + d for _, s, d in part_notes[0])
        track_notes.extend(_realise_symbols(symbols, end))
    hist = np.zeros(12)
    for note in track_notes:
        hist[note.pitch % 12] += note.duration_steps
    tonic, mode, _ = find_key(hist)
    transpose = -tonic if tonic <= 6 else 12 - tonic
    moved = [
        TrackNote(n.track, n.pitch + transpose, n.start_step, n.duration_steps) for n in track_notes
    ]
    last = max(n.start_step + n.duration_steps for n in moved)
    n_bars = math.ceil(last / steps_per_bar)
    if n_bars < MIN_BARS:
        return None, "too_short"
    rolls = notes_to_bars(moved, n_bars, steps_per_bar)
    family = FAMILIES.get(collection, "custom")
    return PieceBars(piece_id, collection, family, meter_text, mode, tonic, rolls), ""


def _assign_tracks(part_notes: list[list[tuple[int, int, int]]]) -> list[TrackNote]:
    """Top part -> melody, bottom part -> bass, parts between -> harmony (by mean pitch)."""
    order = sorted(range(len(part_notes)), key=lambda i: -np.mean([p for p, _, _ in part_notes[i]]))
    result: list[TrackNote] = []
    for rank, index in enumerate(order):
        if len(order) == 1:
            notes = part_notes[index]
            # a single part with chords: the top note of each onset is the melody
            tops: dict[int, int] = {}
            for pitch, start, _ in notes:
                tops[start] = max(tops.get(start, 0), pitch)
            for pitch, start, duration in notes:
                track = 0 if pitch == tops[start] else 1
                result.append(TrackNote(track, pitch, start, duration))
            continue
        if rank == 0:
            track = 0
        elif rank == len(order) - 1:
            track = 2
        else:
            track = 1
        result.extend(TrackNote(track, p, s, d) for p, s, d in part_notes[index])
    return result


def _realise_symbols(symbols: list[tuple[int, list[int]]], end_step: int) -> list[TrackNote]:
    """Chord symbols as sustained chord tones (harmony) and the root (bass)."""
    symbols = sorted(symbols)
    notes: list[TrackNote] = []
    for index, (start, pitches) in enumerate(symbols):
        stop = symbols[index + 1][0] if index + 1 < len(symbols) else end_step
        duration = stop - start
        if duration <= 0:
            continue
        root = pitches[0]
        notes.append(TrackNote(2, 36 + (root % 12), start, duration))
        for pitch in sorted({p % 12 for p in pitches}):
            notes.append(TrackNote(1, 55 + ((pitch - 7) % 12), start, duration))
    return notes


def iter_parsed(
    files: list[SourceFile], workers: int
) -> Iterator[tuple[SourceFile, list[PieceBars], dict[str, int]]]:
    """Parse files with `workers` processes (1 = in this process), in completion order."""
    if workers <= 1:
        for source in files:
            pieces, skipped = parse_file(source)
            yield source, pieces, skipped
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    # big files first, so the pool does not end on one long straggler
    ordered = sorted(files, key=lambda f: -Path(f.path).stat().st_size)
    with context.Pool(workers) as pool:
        for source, (pieces, skipped) in zip(
            ordered, pool.imap(parse_file, ordered, chunksize=1), strict=True
        ):
            yield source, pieces, skipped


def empty_bars(count: int) -> np.ndarray:
    return np.zeros((count, *BAR_SHAPE), dtype=np.uint8)
