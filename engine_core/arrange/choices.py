"""Seeded choices for one stem: what the variants of a set share and what each varies.

A part's main choice (its bass pattern, figure shape, pad centre) comes from the set's
generator (seed and stem), so variants of a set are related; each variant after the first
also draws an alternative and plays it in some bars (figures and bass patterns in pairs of
bars), with a probability that grows with the spec's retake variance (`alternate`). So
variants differ in every stem without becoming unrelated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Choices:
    shared: np.random.Generator  # from (seed, stem): the same for every variant of a set
    own: np.random.Generator  # from (seed, variant, stem)
    variant: int
    variance: float

    @classmethod
    def of(cls, seed: int, variant: int, stem: int, variance: float) -> Choices:
        return cls(
            np.random.default_rng([seed & 0xFFFFFFFF, stem, 31]),
            np.random.default_rng([seed & 0xFFFFFFFF, variant, stem, 37]),
            variant,
            variance,
        )

    def pick(self, count: int) -> int:
        """The set's choice among `count` options."""
        return int(self.shared.integers(count))

    def alternative(self, base: int, count: int) -> int:
        """This variant's alternative to option `base` (itself when there is no other)."""
        if count < 2:
            return base
        return (base + 1 + int(self.own.integers(count - 1))) % count

    def alternate(self) -> bool:
        """Whether this bar plays the variant's alternative (never in the first variant)."""
        return self.variant > 0 and self.own.random() < min(0.9, 1.4 * self.variance)

    def alternate_pairs(self, bars: int) -> list[bool]:
        """`alternate` decided per pair of bars, so a figure holds for two bars at least."""
        pairs = [self.alternate() for _ in range((bars + 1) // 2)]
        return [pairs[bar // 2] for bar in range(bars)]
