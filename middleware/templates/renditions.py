"""Stinger renditions: a generated stinger remade for each state it can play over.

A rendition takes the host state's tempo, meter (so its beat grid is the host's) and, unless
the stinger pins its own key (`key = ...` in its table), the host's key and mode; its bar
count, prompt, tags, stems and seed stay the stinger's. Its spec also asks the engine for
a diatonic arrangement (`engine_core.arrange.diatonic`): no note outside the key's scale.
The host's name is part of the spec (`extra`), so two hosts sharing key and tempo still
have a set each (one cache entry, one scheduler request, one bake job per pair).

A rendition is a one-variant, one-shot set named `"<stinger>@<state>"`; the cache, the
scheduler, the service's library and the bake treat it like a stinger. A stinger made
from a designer's `file` has no renditions: it plays as it is over every state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine_core.arrange.diatonic import DIATONIC
from engine_core.spec import GenerationSpec
from middleware.templates.model import StateTemplate, StingerTemplate, TemplatePack

#: Separates the stinger's and the host's names in a rendition's set name.
SEPARATOR = "@"


def rendition_name(stinger: str, state: str) -> str:
    """The set name of `stinger`'s rendition over `state` (`"level_up@battle"`)."""
    return f"{stinger}{SEPARATOR}{state}"


def split_rendition_name(name: str) -> tuple[str, str] | None:
    """(stinger, state) of a rendition's set name, None for any other name."""
    stinger, sep, state = name.partition(SEPARATOR)
    return (stinger, state) if sep and stinger and state else None


@dataclass(frozen=True)
class StingerRendition:
    """One stinger made for one host state: a one-variant set (cache `StateLike`)."""

    name: str
    spec: GenerationSpec
    seed: int
    stinger: str
    host: str
    variants: int = 1


def rendition_spec(stinger: StingerTemplate, state: StateTemplate) -> GenerationSpec:
    """The stinger's spec in `state`'s tempo and meter (and key and mode, unless pinned)."""
    if stinger.spec is None:
        raise ValueError(f"stinger {stinger.name!r} is a file: it has no renditions")
    base, host = stinger.spec, state.spec
    extra = tuple(item for item in base.extra if item[0] not in ("scale", "host"))
    return replace(
        base,
        bpm=host.bpm,
        meter=host.meter,
        key=base.key if stinger.key_pinned else host.key,
        sample_rate=host.sample_rate,
        extra=(*extra, DIATONIC, ("host", state.name)),
    )


def rendition(pack: TemplatePack, stinger: str, state: str) -> StingerRendition | None:
    """`stinger`'s rendition over `state`; None for a file stinger (unknown names raise)."""
    template = pack.stinger(stinger)
    host = pack.state(state)
    if template.spec is None:
        return None
    return StingerRendition(
        rendition_name(stinger, state),
        rendition_spec(template, host),
        template.seed,
        stinger,
        state,
    )


def pack_renditions(pack: TemplatePack) -> tuple[StingerRendition, ...]:
    """Every rendition of the pack, host by host (pack order), stingers in name order."""
    found = []
    for state in pack.states:
        for stinger in pack.stingers:
            made = rendition(pack, stinger, state)
            if made is not None:
                found.append(made)
    return tuple(found)


def find(pack: TemplatePack, name: str) -> StingerRendition | None:
    """The rendition a set name stands for, None when it is not one of the pack's."""
    parts = split_rendition_name(name)
    if parts is None or parts[0] not in pack.stingers or parts[1] not in pack.states:
        return None
    return rendition(pack, *parts)
