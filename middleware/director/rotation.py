"""Variant rotation: which variant of a state plays next (shuffle, never the same twice).

Deterministic: each state has its own random stream seeded from the session seed and the
state name, so the order depends only on the seed and on how many loops were played.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


class VariantRotation:
    """Picks variant indices for one state: weighted, without immediate repeats."""

    def __init__(self, seed: int, state: str, weights: Sequence[float] | None = None) -> None:
        self._random = random.Random(f"{seed}/{state}")
        self._weights = tuple(weights) if weights else None
        self.last: int | None = None
        self._draws = 0  # choices made: with the seed, they name the random state
        self._saved: tuple[int, object] | None = None  # (draws, state) last asked for

    def random_state(self) -> tuple[int, object]:
        """The rotation's random state, for the director's snapshots. Taken once per
        choice made: snapshots between two choices share one state object."""
        if self._saved is None or self._saved[0] != self._draws:
            self._saved = (self._draws, self._random.getstate())
        return self._saved

    def set_random_state(self, saved: tuple[int, object]) -> None:
        self._draws = saved[0]
        self._random.setstate(saved[1])  # type: ignore[arg-type]
        self._saved = saved

    def _weight(self, index: int) -> float:
        if self._weights is None or index >= len(self._weights):
            return 1.0
        return max(0.0, float(self._weights[index]))

    def next(self, count: int) -> int:
        """The next variant out of `count` (0-based); differs from the last unless count == 1."""
        if count < 1:
            raise ValueError("a variant set needs at least one variant")
        candidates = [i for i in range(count) if i != self.last] or [0]
        weights = [self._weight(i) for i in candidates]
        if sum(weights) <= 0.0:
            weights = [1.0] * len(candidates)
        choice = self._random.choices(candidates, weights=weights)[0]
        self._draws += 1
        self.last = choice
        return choice
