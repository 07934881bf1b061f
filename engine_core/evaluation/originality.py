"""Originality: does a generated loop copy two consecutive bars of a training piece?

Every two-bar window of every training piece (split "train") is reduced to a canonical,
transposition-invariant key: its note onsets as (track, step in the window, pitch minus
the window's lowest pitch), sorted and hashed. A loop copies a piece when one of its
two-bar windows, the seam pair bar N-1 -> bar 0 included, has a key in that index. A
copy of three or more bars contains a copied two-bar window, so this finds those too.
Transposing a copy moves every pitch by the same interval and leaves the key unchanged.

Windows with fewer than `MIN_NOTES` onsets or fewer than `MIN_PITCHES` distinct pitches
are neither indexed nor checked: two bars of one held chord are not a quotation.

Building the index reads each training bar once (a few seconds for ~115k bars); a lookup
is a dict probe per window. Keys use Python's ``hash`` of the key bytes, so an index lives
in one process (it is rebuilt, never stored). Pure numpy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine_core.data.dataset import BarDataset
from engine_core.data.pianoroll import MAX_STEPS, ONSET, TRACK_LOW, score_to_bars
from engine_core.score import Score

WINDOW_BARS = 2
MIN_NOTES = 8
MIN_PITCHES = 3
_PITCH_SPAN = 128
_STEP_SPAN = WINDOW_BARS * MAX_STEPS


def _bar_notes(onsets: np.ndarray) -> list[np.ndarray]:
    """Per bar of ``(bars, tracks, steps, pitches)`` onsets: an (n, 3) array of
    (track, step, absolute MIDI pitch)."""
    bar, track, step, pitch = np.nonzero(onsets)
    absolute = pitch + np.asarray(TRACK_LOW)[track]
    notes = np.stack([track, step, absolute], axis=1)
    bounds = np.searchsorted(bar, np.arange(onsets.shape[0] + 1))
    return [notes[bounds[i] : bounds[i + 1]] for i in range(onsets.shape[0])]


def window_key(first: np.ndarray, second: np.ndarray) -> int | None:
    """The transposition-invariant key of two bars' notes, None for a trivial window."""
    if len(first) + len(second) < MIN_NOTES:
        return None
    shifted = second.copy()
    shifted[:, 1] += MAX_STEPS
    notes = np.concatenate([first, shifted])
    pitches = notes[:, 2]
    if len(np.unique(pitches)) < MIN_PITCHES:
        return None
    codes = (notes[:, 0] * _STEP_SPAN + notes[:, 1]) * _PITCH_SPAN + (pitches - pitches.min())
    return hash(np.sort(codes).astype(np.int64).tobytes())


def loop_windows(score: Score) -> Iterator[tuple[int, int | None]]:
    """(first bar, key) of every two-bar window of a loop, the seam window last."""
    if score.bars < WINDOW_BARS:
        return
    bars = _bar_notes(score_to_bars(score)[:, :, ONSET])
    for index in range(score.bars):
        yield index, window_key(bars[index], bars[(index + 1) % score.bars])


@dataclass
class CopyIndex:
    """Keys of the training pieces' two-bar windows -> the piece they come from."""

    keys: dict[int, int] = field(default_factory=dict)
    piece_ids: list[str] = field(default_factory=list)
    windows: int = 0  # windows read
    trivial: int = 0  # windows skipped as trivial

    @classmethod
    def of(cls, dataset: BarDataset, split: str = "train") -> CopyIndex:
        index = cls(piece_ids=list(dataset.piece_ids))
        for piece in dataset.pieces(split):
            start, length = int(dataset.piece_start[piece]), int(dataset.piece_length[piece])
            bars = _bar_notes(dataset.bars[start : start + length, :, ONSET])
            for offset in range(length - WINDOW_BARS + 1):
                index.windows += 1
                key = window_key(bars[offset], bars[offset + 1])
                if key is None:
                    index.trivial += 1
                else:
                    index.keys.setdefault(key, int(piece))
        return index

    def copies(self, score: Score) -> list[tuple[int, str]]:
        """(first bar of the loop's window, piece id) for every copied two-bar window."""
        found = []
        for bar, key in loop_windows(score):
            if key is not None and key in self.keys:
                found.append((bar, self.piece_ids[self.keys[key]]))
        return found


@dataclass(frozen=True)
class OriginalityCheck:
    loops: int
    loops_copying: int
    examples: tuple[tuple[int, int, str], ...]  # (loop, bar, piece id), a few
    indexed_windows: int
    trivial_windows: int

    @property
    def passed(self) -> bool:
        return self.loops_copying == 0

    def to_json(self) -> dict[str, object]:
        return {
            "loops": self.loops,
            "loops_copying": self.loops_copying,
            "examples": [list(e) for e in self.examples],
            "indexed_windows": self.indexed_windows,
            "trivial_windows": self.trivial_windows,
            "passed": self.passed,
        }


def originality_check(
    index: CopyIndex, scores: Sequence[Score], examples: int = 5
) -> OriginalityCheck:
    copying = 0
    found: list[tuple[int, int, str]] = []
    for number, score in enumerate(scores):
        copies = index.copies(score)
        if copies:
            copying += 1
            found.extend((number, bar, piece) for bar, piece in copies[:1])
    return OriginalityCheck(
        loops=len(scores),
        loops_copying=copying,
        examples=tuple(found[:examples]),
        indexed_windows=index.windows - index.trivial,
        trivial_windows=index.trivial,
    )
