"""Which bridges a pack can play, as cacheable items the scheduler, cache and bake accept.

A pair (source, target) needs a bridge when the pack's rule for it (looked up as the
director does: exact, (source, *), (*, target), (*, *)) has `filler = { bridge_bars = N }`.
Each becomes a `BridgeRequest`: named `bridge:<source>-><target>` (the name the director
asks the variant lookup for), one variant, its spec `engine_core.bridge.bridge_spec` (the
target's, with both ends' identities in `extra`), so the cache keys it like any state and
a change to either state makes a new bridge.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from engine_core.bridge import BridgeEnd, bridge_spec
from engine_core.spec import GenerationSpec
from middleware.director.director import bridge_name
from middleware.templates.model import StateTemplate, TemplatePack

__all__ = ["BridgeRequest", "bridge_end", "bridge_name", "bridge_pairs", "bridge_requests"]


def bridge_end(state: StateTemplate) -> BridgeEnd:
    return BridgeEnd(state.spec, state.seed, state.variants)


@dataclass(frozen=True)
class BridgeRequest:
    """A bridge seen as a one-variant state: what the cache, scheduler and bake accept."""

    source: StateTemplate
    target: StateTemplate
    bars: int

    @property
    def name(self) -> str:
        return bridge_name(self.source.name, self.target.name)

    @cached_property
    def spec(self) -> GenerationSpec:
        return bridge_spec(bridge_end(self.source), bridge_end(self.target), self.bars)

    @property
    def seed(self) -> int:
        return int(self.target.seed)

    @property
    def bridge(self) -> tuple[BridgeEnd, BridgeEnd, int]:
        """(source end, target end, bars): how a worker generates it."""
        return bridge_end(self.source), bridge_end(self.target), self.bars

    @property
    def connects(self) -> tuple[str, str]:
        return self.source.name, self.target.name

    variants: int = 1


def bridge_pairs(pack: TemplatePack) -> list[tuple[str, str, int]]:
    """Every (source, target, bars) whose rule asks for a bridge, in pack order."""
    pairs = []
    for source in pack.states:
        for target in pack.states:
            if target == source:
                continue
            filler = pack.transition(source, target).filler
            if filler is not None and filler.bridge_bars > 0:
                pairs.append((source, target, filler.bridge_bars))
    return pairs


def bridge_requests(pack: TemplatePack) -> list[BridgeRequest]:
    return [
        BridgeRequest(pack.states[source], pack.states[target], bars)
        for source, target, bars in bridge_pairs(pack)
    ]
