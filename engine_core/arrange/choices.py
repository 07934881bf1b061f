"""Seeded choices for one stem: what the variants of a set share and what each varies.

A part's main choice (its bass pattern, figure shape, pad centre) comes from the set's
generator (seed and stem), so variants of a set are related; each variant after the first
also draws an alternative and plays it in some bars (figures and bass patterns in pairs of
bars), with a probability that grows with the spec's retake variance (`alternate`:
``ALTERNATE_SLOPE`` x variance, 0.28 at the default 0.35). The variants of a set also
share the theme's bars (`theme`), so their parts differ where the score differs as well.
Choices tied to a place in the loop (`pick_at`) do not depend on what came before, so a
difference in one bar does not shift every later choice. So variants differ in every stem
without becoming unrelated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: probability of a variant's alternative in a bar, per unit of retake variance
ALTERNATE_SLOPE = 0.8


@dataclass
class Choices:
    shared: np.random.Generator  # from (seed, stem): the same for every variant of a set
    own: np.random.Generator  # from (seed, variant, stem)
    variant: int
    variance: float
    seed: int = 0
    stem: int = 0

    @classmethod
    def of(cls, seed: int, variant: int, stem: int, variance: float) -> Choices:
        return cls(
            np.random.default_rng([seed & 0xFFFFFFFF, stem, 31]),
            np.random.default_rng([seed & 0xFFFFFFFF, variant, stem, 37]),
            variant,
            variance,
            seed & 0xFFFFFFFF,
            stem,
        )

    def pick(self, count: int) -> int:
        """The set's choice among `count` options."""
        return int(self.shared.integers(count))

    def pick_at(self, count: int, place: int) -> int:
        """The set's choice among `count` options at grid step `place` (order-free)."""
        return int(np.random.default_rng([self.seed, self.stem, 41, place]).integers(count))

    def alternative(self, base: int, count: int) -> int:
        """This variant's alternative to option `base` (itself when there is no other)."""
        if count < 2:
            return base
        return (base + 1 + int(self.own.integers(count - 1))) % count

    def alternate(self) -> bool:
        """Whether this bar plays the variant's alternative (never in the first variant)."""
        return self.variant > 0 and self.own.random() < self.alternate_share

    @property
    def alternate_share(self) -> float:
        return min(0.9, ALTERNATE_SLOPE * self.variance)

    def alternate_bars(self, bars: int) -> list[bool]:
        """Which bars play the variant's alternative: a fixed share of them
        (`alternate_share`, at least one when the variance is above 0), the variant's own
        draw deciding which, so every later variant varies and none varies everywhere."""
        if self.variant == 0 or self.variance <= 0 or bars <= 0:
            return [False] * bars
        count = max(1, round(self.alternate_share * bars))
        draws = self.own.random(bars)
        chosen = set(np.argsort(draws, kind="stable")[:count].tolist())
        return [bar in chosen for bar in range(bars)]

    def alternate_pairs(self, bars: int) -> list[bool]:
        """`alternate_bars` decided per pair of bars, so a figure holds for two bars."""
        pairs = self.alternate_bars((bars + 1) // 2)
        return [pairs[bar // 2] for bar in range(bars)]
