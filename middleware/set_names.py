"""Every name a variant set of a pack goes by, resolved to the item that makes it.

A pack's sets are its states (`battle`), its stingers (`level_up`), each generated
stinger's rendition over each state (`level_up@battle`, see
`middleware.templates.renditions`) and each bridge a transition rule asks for
(`bridge:explore->battle`, see `middleware.bridges.requests`). Everything that names a set
(`ostinato generate --state`, `ostinato pregen --state`, the service's `fetch`, the Python
client) resolves it here,
so all accept the same names and refuse the same ones with the same structured error:
`UnknownStateError` (code `unknown_state`) whose detail says what kind of name it was and
why it is not one of the pack's (`detail.problem`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from middleware.errors import UnknownStateError
from middleware.templates.model import TemplatePack
from middleware.templates.renditions import SEPARATOR, rendition, split_rendition_name

BRIDGE_PREFIX = "bridge:"
BRIDGE_ARROW = "->"

#: `kind` of a resolved set (and of the name in an `unknown_state` error's detail).
KINDS = ("state", "stinger", "rendition", "bridge")


@dataclass(frozen=True)
class NamedSet:
    """A set name of a pack and the cacheable item that makes it (name, spec, seed,
    variants; a bridge's item also has `bridge`)."""

    name: str
    kind: str
    item: Any

    @property
    def generated(self) -> bool:
        """False for a stinger made from a designer's file (nothing to generate)."""
        return self.item.spec is not None


def split_bridge_name(name: str) -> tuple[str, str] | None:
    """(source, target) of `bridge:<source>-><target>`, None for any other name."""
    if not name.startswith(BRIDGE_PREFIX):
        return None
    source, arrow, target = name.removeprefix(BRIDGE_PREFIX).partition(BRIDGE_ARROW)
    return (source, target) if arrow and source and target else None


def resolve_set(pack: TemplatePack, name: str) -> NamedSet:
    """The set `name` stands for in `pack`; `UnknownStateError` when it is none of its."""
    if name in pack.states:
        return NamedSet(name, "state", pack.states[name])
    if name in pack.stingers:  # a designer's file too (its item has no spec)
        return NamedSet(name, "stinger", pack.stingers[name])
    if name.startswith(BRIDGE_PREFIX):
        return _bridge(pack, name)
    if SEPARATOR in name:
        return _rendition(pack, name)
    raise _unknown(
        pack, name, "state",
        f"unknown state {name!r} in pack {pack.name!r} (states: {', '.join(sorted(pack.states))};"
        f" stingers: {', '.join(sorted(pack.stingers)) or 'none'}; renditions are named"
        " '<stinger>@<state>', bridges 'bridge:<source>-><target>')",
    )  # fmt: skip


def pack_set_names(pack: TemplatePack) -> list[str]:
    """Every set name of `pack`: states, stingers, renditions, bridges."""
    from middleware.bridges.requests import bridge_pairs
    from middleware.templates.renditions import pack_renditions

    names = [*pack.states]
    names += [*pack.stingers]
    names += [r.name for r in pack_renditions(pack)]
    names += [f"{BRIDGE_PREFIX}{a}{BRIDGE_ARROW}{b}" for a, b, _ in bridge_pairs(pack)]
    return names


def _rendition(pack: TemplatePack, name: str) -> NamedSet:
    parts = split_rendition_name(name)
    if parts is None:
        raise _unknown(pack, name, "rendition", "a rendition is named '<stinger>@<state>'")
    stinger, host = parts
    if stinger not in pack.stingers:
        raise _unknown(
            pack, name, "rendition", f"no stinger {stinger!r} in pack {pack.name!r}",
            stingers=sorted(pack.stingers),
        )  # fmt: skip
    if host not in pack.states:
        raise _unknown(pack, name, "rendition", f"no state {host!r} in pack {pack.name!r}")
    made = rendition(pack, stinger, host)
    if made is None:
        raise _unknown(
            pack, name, "rendition",
            f"stinger {stinger!r} is a designer's file: it plays as it is, with no renditions",
        )  # fmt: skip
    return NamedSet(name, "rendition", made)


def _bridge(pack: TemplatePack, name: str) -> NamedSet:
    from middleware.bridges.requests import BridgeRequest, bridge_pairs

    pairs = bridge_pairs(pack)
    bridges = [f"{BRIDGE_PREFIX}{a}{BRIDGE_ARROW}{b}" for a, b, _ in pairs]
    parts = split_bridge_name(name)
    if parts is None:
        raise _unknown(
            pack, name, "bridge", "a bridge is named 'bridge:<source>-><target>'",
            bridges=bridges,
        )  # fmt: skip
    source, target = parts
    for end in (source, target):
        if end not in pack.states:
            raise _unknown(
                pack, name, "bridge", f"no state {end!r} in pack {pack.name!r}", bridges=bridges
            )
    for a, b, bars in pairs:
        if (a, b) == (source, target):
            return NamedSet(name, "bridge", BridgeRequest(pack.states[a], pack.states[b], bars))
    raise _unknown(
        pack, name, "bridge",
        f"the rule for {source!r} -> {target!r} has no `filler = {{ bridge_bars = N }}`",
        bridges=bridges,
    )  # fmt: skip


def _unknown(
    pack: TemplatePack, name: str, kind: str, problem: str, **more: list[str]
) -> UnknownStateError:
    detail: dict[str, Any] = {
        "state": name,
        "states": sorted([*pack.states, *pack.stingers]),
        "kind": kind,
        "problem": problem,
        **more,
    }
    if kind == "state":
        return UnknownStateError(problem, detail)
    return UnknownStateError(f"{name!r} is not a set of pack {pack.name!r}: {problem}", detail)
