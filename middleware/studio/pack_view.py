"""JSON views of a served pack for the page: states and their fields, stingers, the rules.

Read-only summaries of authored data (`TemplatePack`) plus how many variants are ready;
playback state never comes from here (the page hears and sees it on the WebSocket).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine_core.spec import StemSpec
from middleware.director.intensity import STEM_EDGE
from middleware.templates.model import StateTemplate, TemplatePack, TransitionRule

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(midi: int) -> str:
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def stem_view(stem: StemSpec) -> dict[str, Any]:
    from engine_core.arrange.instruments import program_names

    kit = stem.role in ("drums", "percussion") and not getattr(stem, "pitched", False)
    return {
        "name": stem.name,
        "role": stem.role,
        "program": stem.program,
        "instrument": None if kit else program_names()[stem.program],
        "register": [note_name(stem.register[0]), note_name(stem.register[1])],
        "intensity": [float(stem.intensity[0]), float(stem.intensity[1])],
        "gain_db": float(stem.gain_db),
        "optional": stem.optional,
        **({"pattern": stem.pattern} if stem.pattern is not None else {}),
    }


def state_view(state: StateTemplate, ready: int) -> dict[str, Any]:
    spec = state.spec
    return {
        "name": state.name,
        "file": Path(state.source_file).name,
        "description": state.description,
        "prompt": spec.prompt.strip(),
        "tags": list(spec.tags),
        "bpm": float(spec.bpm),
        "key": spec.key,
        "meter": spec.meter,
        "bars": spec.bars,
        "energy": spec.energy,
        "one_shot": spec.one_shot,
        "intensity": float(state.intensity),
        "seed": state.seed,
        "variants": state.variants,
        "ready_variants": ready,
        "generation_hash": state.generation_hash,
        "stems": [stem_view(stem) for stem in spec.stems],
    }


def length_text(value: float, unit: str) -> str:
    """`1 bar`, `2 beats`, `0.5 seconds`: as a designer writes a length."""
    return f"{value:g} {unit[:-1] if value == 1 and unit.endswith('s') else unit}"


def rule_view(rule: TransitionRule) -> dict[str, Any]:
    filler = None
    if rule.filler is not None:
        filler = (
            {"stinger": rule.filler.stinger}
            if rule.filler.stinger
            else {"bridge_bars": rule.filler.bridge_bars}
        )
    return {
        "from": rule.source,
        "to": rule.target,
        "leave_at": str(rule.leave_at),
        "enter_at": str(rule.enter_at),
        "fade": str(rule.fade),
        "fade_length": length_text(rule.fade_length.value, str(rule.fade_length.unit)),
        "filler": filler,
        "origin": rule.origin,
    }


def pack_view(pack: TemplatePack, ready: Callable[[str], int]) -> dict[str, Any]:
    """Everything the page draws its controls from; `ready(name)` counts ready variants."""
    names = list(pack.states)
    return {
        "pack": pack.name,
        "description": pack.description,
        "start_state": pack.start_state,
        "sample_rate": pack.defaults.sample_rate,
        "stem_edge": STEM_EDGE,
        "states": [state_view(state, ready(name)) for name, state in pack.states.items()],
        "stingers": [
            {"name": name, "sync": str(stinger.sync), "ready": ready(name) > 0}
            for name, stinger in pack.stingers.items()
        ],
        "transitions": [
            [rule_view(pack.transition(source, target)) for target in names] for source in names
        ],
    }
