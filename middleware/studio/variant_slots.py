"""Pinned and re-rolled variants: which seed each variant slot of a state comes from.

A state's set is made from its file's seed. In the studio the designer may keep (pin) a
variant they like and re-roll one variant, or all unpinned ones, with a new seed. What
each slot came from is written to a sidecar file beside the pack's templates,
``<pack>/studio-variants.json`` (JSON, so the template loader, which reads every
``*.toml`` of the pack, ignores it; keep it under version control with the templates):

    {"format": 1,
     "states": {"battle": {"generation_hash": "3f...",
                           "variants": {"1": {"seed": 81723, "pinned": true},
                                        "3": {"seed": 5521, "pinned": false}}}}}

Slot ``i`` plays variant ``i`` of the state's set generated with that slot's seed (made
and cached by the scheduler like any set: same spec, another seed, so another cache
key); the other slots play the file seed's set. A state's entry counts only while its
generation hash is the state's: an edit that changes the music (prompt, bpm, stems...)
makes the pins meaningless, so they are dropped. Rewritten atomically (temporary file,
rename); a damaged or unreadable file is reported and treated as empty, never half-read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine_core.variant import VariantSet
from middleware.studio.errors import StudioError

SIDECAR_NAME = "studio-variants.json"
FORMAT = 1


class VariantSlotsFileError(StudioError):
    """The sidecar exists but cannot be read as slots (damaged, edited by hand badly)."""

    code = "bad_sidecar"
    exit_code = 2


@dataclass(frozen=True)
class Slot:
    seed: int
    pinned: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "pinned": self.pinned}


@dataclass
class StateSlots:
    generation_hash: str
    slots: dict[int, Slot] = field(default_factory=dict)

    def seeds(self) -> set[int]:
        return {slot.seed for slot in self.slots.values()}

    def pinned(self) -> list[int]:
        return sorted(index for index, slot in self.slots.items() if slot.pinned)


@dataclass
class VariantSlots:
    """Every state's slots of one pack, as read from / written to its sidecar."""

    path: Path
    states: dict[str, StateSlots] = field(default_factory=dict)

    @classmethod
    def for_pack(cls, pack_root: Path) -> VariantSlots:
        return cls.read(Path(pack_root) / SIDECAR_NAME)

    @classmethod
    def read(cls, path: Path) -> VariantSlots:
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            states = {
                str(name): StateSlots(
                    str(entry["generation_hash"]),
                    {
                        int(index): Slot(int(slot["seed"]), bool(slot.get("pinned", False)))
                        for index, slot in entry.get("variants", {}).items()
                    },
                )
                for name, entry in data.get("states", {}).items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise VariantSlotsFileError(
                f"cannot read the studio's variant choices in {path}: {error}",
                {"file": str(path)},
            ) from None
        return cls(path, states)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "states": {
                name: {
                    "generation_hash": entry.generation_hash,
                    "variants": {
                        str(index): slot.to_json() for index, slot in sorted(entry.slots.items())
                    },
                }
                for name, entry in sorted(self.states.items())
                if entry.slots
            },
        }

    def write(self) -> None:
        temp = self.path.with_name(f".{self.path.name}.studio-tmp")
        temp.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        os.replace(temp, self.path)

    # -- one state's slots --------------------------------------------------------------

    def current(self, name: str, generation_hash: str) -> StateSlots:
        """The state's slots, emptied first if they were chosen for other music."""
        entry = self.states.get(name)
        if entry is None or entry.generation_hash != generation_hash:
            entry = StateSlots(generation_hash)
            self.states[name] = entry
        return entry

    def pin(self, name: str, generation_hash: str, index: int, seed: int, pinned: bool) -> None:
        """Pin (or unpin) slot `index`, which plays a variant of `seed`'s set now."""
        entry = self.current(name, generation_hash)
        old = entry.slots.get(index)
        seed = old.seed if old is not None else seed
        entry.slots[index] = Slot(seed, pinned)

    def reroll_one(self, name: str, generation_hash: str, index: int, seed: int) -> None:
        self.current(name, generation_hash).slots[index] = Slot(seed, False)

    def keep_pinned(self, name: str, generation_hash: str) -> None:
        """A re-roll of the whole state: only the pinned slots keep their seeds."""
        entry = self.current(name, generation_hash)
        entry.slots = {index: slot for index, slot in entry.slots.items() if slot.pinned}

    def tidy(self, name: str, generation_hash: str, file_seed: int, count: int) -> None:
        """Drop slots that change nothing (unpinned on the file seed) or no longer exist."""
        entry = self.current(name, generation_hash)
        entry.slots = {
            index: slot
            for index, slot in entry.slots.items()
            if index < count and (slot.pinned or slot.seed != file_seed)
        }


def compose(base: VariantSet, slots: StateSlots, sets: Mapping[int, VariantSet]) -> VariantSet:
    """The set a state plays: `base` (its file seed's set) with each slot's variant taken
    from the set of that slot's seed (`sets`: seed -> set). Slot `i` takes variant `i`,
    so every variant keeps its index."""
    variants = list(base.variants)
    for index, slot in slots.slots.items():
        chosen = sets.get(slot.seed, base if slot.seed == base.seed else None)
        if chosen is None or index >= len(variants) or index >= len(chosen.variants):
            continue
        variants[index] = chosen.variants[index]
    return VariantSet(base.state, base.generation_hash, base.seed, tuple(variants))


def slots_view(slots: StateSlots | None, count: int) -> list[dict[str, Any]]:
    """Per variant index: whether it is pinned and whether it was re-rolled alone."""
    view = []
    for index in range(count):
        slot = slots.slots.get(index) if slots is not None else None
        view.append(
            {
                "pinned": bool(slot and slot.pinned),
                "seed": slot.seed if slot is not None else None,
            }
        )
    return view
