"""Per-stem variant overlap of arranged loops: how many notes two variants' stems share.

The same definition as `diversity.note_overlap` (a Jaccard index of note onsets), applied
to one arranged stem: a note is (grid step, pitch), the step being the onset rounded to
the sixteenth grid (so the humanisation jitter does not count as a difference). 1.0 for
identical stems, 0.0 for stems without a common note; a set's overlap is the mean over
its pairs of variants.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np


class _Note(Protocol):
    start_beats: float
    pitch: int


def stem_note_set(notes: Sequence[_Note], steps_per_beat: int) -> frozenset[tuple[int, int]]:
    return frozenset((round(n.start_beats * steps_per_beat), n.pitch) for n in notes)


def stem_overlap(a: Sequence[_Note], b: Sequence[_Note], steps_per_beat: int) -> float:
    """Jaccard index of two stems' (step, pitch) onsets; 1.0 when both are empty."""
    notes_a, notes_b = stem_note_set(a, steps_per_beat), stem_note_set(b, steps_per_beat)
    union = len(notes_a | notes_b)
    return 1.0 if union == 0 else len(notes_a & notes_b) / union


def set_stem_overlap(variants: Sequence[Sequence[_Note]], steps_per_beat: int) -> float:
    """Mean pairwise overlap of one stem across a variant set (NaN for fewer than two)."""
    pairs = [stem_overlap(a, b, steps_per_beat) for a, b in itertools.combinations(variants, 2)]
    return float(np.mean(pairs)) if pairs else math.nan
