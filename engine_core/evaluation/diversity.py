"""Variant diversity: how many notes the loops of one variant set share.

The note overlap of two loops is the Jaccard index of their note onsets, a note being
(track, bar, step, pitch): 1.0 for identical loops, 0.0 for loops without a common note.
A set's overlap is the mean over its pairs. Variants should be related (same mode, meter,
shape) but not copies: the target at the default variance is an overlap in
`DEFAULT_RANGE`, and the overlap should fall as the variance knob rises.

Pure numpy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine_core.score import Score

DEFAULT_RANGE: tuple[float, float] = (0.2, 0.8)


def note_set(score: Score) -> frozenset[tuple[str, int, int, int]]:
    return frozenset((n.track, n.bar, n.step, n.pitch) for n in score.notes)


def note_overlap(a: Score, b: Score) -> float:
    """Jaccard index of the two loops' note onsets; 1.0 when both are empty."""
    notes_a, notes_b = note_set(a), note_set(b)
    union = len(notes_a | notes_b)
    return 1.0 if union == 0 else len(notes_a & notes_b) / union


def set_overlap(variants: Sequence[Score]) -> float:
    """Mean pairwise note overlap inside one variant set (NaN for fewer than two loops)."""
    pairs = [note_overlap(a, b) for a, b in itertools.combinations(variants, 2)]
    return float(np.mean(pairs)) if pairs else math.nan


@dataclass(frozen=True)
class DiversityCheck:
    default_variance: float
    default_overlap: float  # mean set overlap at the default variance
    by_variance: dict[float, float]  # variance -> mean set overlap
    sets_per_level: int

    @property
    def in_range(self) -> bool:
        low, high = DEFAULT_RANGE
        return low <= self.default_overlap <= high

    @property
    def follows_variance(self) -> bool:
        """Overlap strictly falls as the variance rises."""
        levels = [self.by_variance[v] for v in sorted(self.by_variance)]
        return len(levels) >= 2 and all(b < a for a, b in itertools.pairwise(levels))

    @property
    def passed(self) -> bool:
        return self.in_range and self.follows_variance

    def to_json(self) -> dict[str, object]:
        return {
            "default_variance": self.default_variance,
            "default_overlap": self.default_overlap,
            "range": list(DEFAULT_RANGE),
            "by_variance": {str(k): v for k, v in sorted(self.by_variance.items())},
            "sets_per_level": self.sets_per_level,
            "in_range": self.in_range,
            "follows_variance": self.follows_variance,
            "passed": self.passed,
        }


def diversity_check(
    default_variance: float,
    default_sets: Sequence[Sequence[Score]],
    sets_by_variance: Mapping[float, Sequence[Sequence[Score]]],
) -> DiversityCheck:
    """Mean set overlap at the default variance and at each level of the variance sweep."""

    def mean_overlap(sets: Sequence[Sequence[Score]]) -> float:
        values = [set_overlap(s) for s in sets if len(s) >= 2]
        return float(np.mean(values)) if values else math.nan

    return DiversityCheck(
        default_variance=default_variance,
        default_overlap=mean_overlap(default_sets),
        by_variance={float(v): mean_overlap(s) for v, s in sets_by_variance.items()},
        sets_per_level=min((len(s) for s in sets_by_variance.values()), default=0),
    )
