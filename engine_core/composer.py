"""The boundary between the generative model and the arranger.

A `Composer` turns a `GenerationSpec` and a seed into N related `Score`s (a variant set),
and can inpaint bars (bridges, extensions). The default implementation is the latent
diffusion model in `engine_core.model` (`engine_core.model.composer.DiffusionComposer`);
audio backends that write audio directly plug in one level up, at `generate`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from engine_core.score import Score
from engine_core.spec import GenerationSpec

#: progress(stage, done, total)
ProgressCallback = Callable[[str, int, int], None]


class Composer(Protocol):
    @property
    def weights_version(self) -> str:
        """Identifies the weights (and data) that made a score; part of every cache key."""
        ...

    def compose(
        self,
        spec: GenerationSpec,
        *,
        seed: int,
        variants: int,
        variance: float | None = None,
        steps: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[Score]:
        """`variants` seamless loops of `spec.bars` bars, deterministic per seed."""
        ...

    def inpaint(
        self,
        spec: GenerationSpec,
        *,
        fixed: Score,
        keep_bars: Sequence[int],
        seed: int,
        steps: int | None = None,
    ) -> Score:
        """A score of `fixed.bars` bars that keeps `keep_bars` of `fixed` and writes the rest."""
        ...
