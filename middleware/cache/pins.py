"""The designer's variant choices (`<pack>/studio-variants.json`) outside the studio.

Ostinato Studio writes, per state, which seed each variant slot plays: a slot the
designer kept (pinned) or re-rolled alone plays variant *i* of the set generated with
that slot's seed (`middleware.studio.variant_slots`). `ostinato serve` and `ostinato bake`
ship the same choice: each state plays the set the studio plays, every pinned and
re-rolled slot included (a pin means "ship this one"; the other slots ship as they sound
in the studio). A state's choices count only while their generation hash is the state's
(an edit that changes the music drops them), exactly as in the studio.

This module only reads the file and picks the seeds; making or finding each seed's set is
the caller's (bake runs the engine or reads the cache; serve reads the cache).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from engine_core.variant import VariantSet
from middleware.studio.variant_slots import (
    SIDECAR_NAME,
    Slot,
    StateSlots,
    VariantSlots,
    compose,
)
from middleware.templates.model import StateTemplate

__all__ = ["SIDECAR_NAME", "chosen_seeds", "read_choices", "with_choices"]


def read_choices(pack_root: Path) -> VariantSlots:
    """The pack's choices (empty when it has no sidecar). A damaged sidecar raises
    `VariantSlotsFileError` (code `bad_sidecar`): shipping is refused until it is fixed."""
    return VariantSlots.for_pack(Path(pack_root))


def chosen_seeds(choices: VariantSlots, state: StateTemplate) -> tuple[tuple[int, int], ...]:
    """(slot, seed) for each slot of `state` that plays another seed than the file's,
    in slot order; () when the state has no current choices."""
    entry = choices.states.get(state.name)
    if entry is None or entry.generation_hash != state.generation_hash:
        return ()
    return tuple(
        (index, slot.seed)
        for index, slot in sorted(entry.slots.items())
        if index < state.variants and slot.seed != state.seed
    )


def with_choices(
    base: VariantSet, slots: tuple[tuple[int, int], ...], sets: Mapping[int, VariantSet]
) -> VariantSet:
    """`base` (the file seed's set) with slot *i* taken from `sets[seed]`'s variant *i*."""
    chosen = StateSlots(base.generation_hash)
    for index, seed in slots:
        chosen.slots[index] = Slot(seed, True)
    return compose(base, chosen, sets)
