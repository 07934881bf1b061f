"""Make any cacheable item's variant set with an engine: a state, a stinger, or a bridge.

One place for the choice every generating caller makes (scheduler worker, bake job,
`render-session`): a bridge (an item with a `bridge` attribute) is written by
`engine_core.bridge.generate_bridge` when the engine has a composer and renders scores
(`Engine`); an engine that only generates from specs (an audio backend, the tests' tone
engine) renders the bridge's spec as a plain one-shot of its bars instead. Anything else
is `engine.generate`.
"""

from __future__ import annotations

from typing import Any

from engine_core.composer import ProgressCallback
from engine_core.variant import VariantSet


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
) -> VariantSet:
    """`item`'s variant set (named `name`, default the item's name)."""
    label = name or item.name
    count = variants if variants is not None else getattr(item, "variants", 1)
    bridge = getattr(item, "bridge", None)
    if bridge is not None and writes_bridges(engine):
        from engine_core.bridge import generate_bridge

        source, target, bars = bridge
        variant_set, _ = generate_bridge(
            engine, source, target, bars, name=label, seed=item.seed, progress=progress
        )
        return variant_set
    return engine.generate(
        item.spec, state=label, seed=item.seed, variants=count, progress=progress
    )
