"""Make any cacheable item's variant set with an engine: a state, a stinger, or a bridge.

One place for the choice every generating caller makes (scheduler worker, bake job,
`render-session`): a bridge (an item with a `bridge` attribute) is written by
`engine_core.bridge.generate_bridge` when the engine has a composer and renders scores
(`Engine`); an engine that only generates from specs (an audio backend, the tests' tone
engine) renders the bridge's spec as a plain one-shot of its bars instead. Anything else
is `engine.generate`.

A bridge needs the composer's scores of both sets it joins. Callers that hold a cache pass
`scores=cached_scores(cache, engine_key)`: the scores kept beside each variant's audio are
read back (the bridge is then mostly its inpainting and rendering); a set cached without
them (an older cache) has its scores composed again, which makes the same bridge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine_core.bridge import BridgeEnd
from engine_core.composer import ProgressCallback
from engine_core.score import Score
from engine_core.spec import GenerationSpec
from engine_core.variant import VariantSet

#: a set's composer scores (every variant, by index), or None when they are not at hand
ScoreLookup = Callable[[BridgeEnd], Sequence[Score] | None]


@dataclass(frozen=True)
class _EndSet:
    """A bridge end as the cache keys a set (name only for messages)."""

    spec: GenerationSpec
    seed: int
    variants: int
    name: str = "bridge end"


def cached_scores(cache: Any, engine_key: Any) -> ScoreLookup:
    """A `ScoreLookup` reading `VariantCache.get_scores` under `engine_key`."""

    def lookup(end: BridgeEnd) -> Sequence[Score] | None:
        found: Sequence[Score] | None = cache.get_scores(
            _EndSet(end.spec, end.seed, end.variants), engine_key, variants=end.variants
        )
        return found

    return lookup


def writes_bridges(engine: Any) -> bool:
    """Whether `engine` can inpaint and render a bridge from scores."""
    return hasattr(engine, "render_scores") and hasattr(engine, "composer")


def generate_item(
    engine: Any,
    item: Any,
    *,
    variants: int | None = None,
    progress: ProgressCallback | None = None,
    name: str | None = None,
    scores: ScoreLookup | None = None,
) -> VariantSet:
    """`item`'s variant set (named `name`, default the item's name); a bridge reads its
    states' scores from `scores` when both are there (else composes them again)."""
    label = name or item.name
    count = variants if variants is not None else getattr(item, "variants", 1)
    bridge = getattr(item, "bridge", None)
    if bridge is not None and writes_bridges(engine):
        from engine_core.bridge import generate_bridge

        source, target, bars = bridge
        loops = None
        if scores is not None:
            source_scores, target_scores = scores(source), scores(target)
            if source_scores is not None and target_scores is not None:
                loops = (source_scores, target_scores)
        variant_set, _ = generate_bridge(
            engine, source, target, bars, name=label, seed=item.seed, loops=loops,
            progress=progress,
        )  # fmt: skip
        return variant_set
    return engine.generate(
        item.spec, state=label, seed=item.seed, variants=count, progress=progress
    )
