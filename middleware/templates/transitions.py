"""The ``[transitions."<from> -> <to>"]`` tables of pack.toml, as `TransitionRule`s.

Rules are keyed by source and target state, either of which may be ``*``; the lookup order
(exact, from->*, *->to, *->*, default) lives in `TemplatePack.transition`. Every value is
checked and every problem recorded, as in the rest of the loader.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from middleware.templates import fields as f
from middleware.templates.fields import INVALID, FileProblems
from middleware.templates.model import WILDCARD, EnterAt, Fade, Filler, LeaveAt, TransitionRule

TRANSITION_KEYS = (
    "leave_at", "enter_at", "fade", "fade_length", "phrase_bars", "filler", "hold_previous",
)  # fmt: skip
FILLER_KEYS = ("stinger", "bridge_bars")
#: A loop's grid: bpm, meter, bars. Same-position switches need equal grids.
Grid = tuple[float, str, int]
_TRANSITION_KEY = re.compile(r"^\s*(\S+)\s*->\s*(\S+)\s*$")


def read_transitions(
    problems: FileProblems,
    section: Mapping[str, Any],
    state_names: Collection[str],
    stinger_names: Collection[str],
    origin: str,
    grids: Mapping[str, Grid] | None = None,
) -> list[TransitionRule]:
    """Every valid rule of a ``[transitions]`` section; problems go to `problems`.

    `grids` (state -> (bpm, meter, bars)) lets a rule between two named states that enters
    at the same position be checked: that only lines up when both loops share one grid.
    """
    rules: list[TransitionRule] = []
    seen: dict[tuple[str, str], str] = {}
    for key, raw in section.items():
        path = ("transitions", key)
        data = f.table(problems, path, raw)
        if data is INVALID:
            continue
        match = _TRANSITION_KEY.match(key)
        if match is None:
            problems.add(
                path,
                f"{key!r} is not a transition key",
                value=key,
                allowed="'<from> -> <to>' with state names or '*', e.g. \"explore -> battle\"",
            )
            continue
        source, target = match.groups()
        ends_ok = True
        for end, role in ((source, "from"), (target, "to")):
            if end != WILDCARD and end not in state_names:
                ends_ok = False
                problems.add(
                    path,
                    f"unknown {role} state {end!r}{f.suggest(end, state_names)}",
                    value=end,
                    allowed=", ".join(["*", *sorted(state_names)]),
                )
        if (source, target) in seen:
            problems.add(path, f"duplicates the rule {seen[(source, target)]!r}", value=key)
        seen[(source, target)] = key
        rule = _rule(problems, path, data, source, target, stinger_names, origin)
        if rule is not None and ends_ok:
            if grids is not None and not _same_grid(problems, path, rule, grids):
                continue
            rules.append(rule)
    return rules


def _same_grid(
    problems: FileProblems, path: tuple[str, ...], rule: TransitionRule, grids: Mapping[str, Grid]
) -> bool:
    """False (and a problem) for a same-position switch between loops on different grids."""
    if rule.enter_at is not EnterAt.SAME_POSITION:
        return True
    source, target = grids.get(rule.source), grids.get(rule.target)
    if source is None or target is None or source == target:
        return True  # a wildcard end, an invalid state (already reported), or a match

    def show(grid: Grid) -> str:
        return f"{grid[0]:g} bpm, {grid[1]}, {grid[2]} bars"

    problems.add(
        (*path, "enter_at"),
        f"'same_position' needs both loops on one grid, but {rule.source} is "
        f"{show(source)} and {rule.target} is {show(target)}",
        value="same_position",
        allowed="'start', or give both states the same bpm, meter and bars",
    )
    return False


def _rule(
    problems: FileProblems,
    path: tuple[str, ...],
    data: Mapping[str, Any],
    source: str,
    target: str,
    stinger_names: Collection[str],
    origin: str,
) -> TransitionRule | None:
    start = len(problems.problems)
    problems.check_keys(data, TRANSITION_KEYS, path)
    fields: dict[str, Any] = {}
    for key, enum in (("leave_at", LeaveAt), ("enter_at", EnterAt), ("fade", Fade)):
        if key in data:
            fields[key] = f.choice(problems, (*path, key), data[key], enum)
    if "fade_length" in data:
        fields["fade_length"] = f.fade_length(problems, (*path, "fade_length"), data["fade_length"])
    if "phrase_bars" in data:
        fields["phrase_bars"] = f.in_range(
            problems, (*path, "phrase_bars"), data["phrase_bars"], int, *f.PHRASE_BARS_RANGE
        )
    if "hold_previous" in data:
        fields["hold_previous"] = f.typed(
            problems, (*path, "hold_previous"), data["hold_previous"], bool
        )
    if "filler" in data:
        fields["filler"] = _filler(problems, (*path, "filler"), data["filler"], stinger_names)
    if len(problems.problems) > start:
        return None
    return TransitionRule(source, target, origin=origin, **fields)


def _filler(
    problems: FileProblems, path: tuple[str, ...], raw: Any, stinger_names: Collection[str]
) -> Filler | Any:
    """``"<stinger>"``, ``{ stinger = "<stinger>" }`` or ``{ bridge_bars = N }``."""
    names = sorted(stinger_names)
    if isinstance(raw, str):
        raw = {"stinger": raw}
    data = f.table(problems, path, raw)
    if data is INVALID:
        return INVALID
    problems.check_keys(data, FILLER_KEYS, path)
    if ("stinger" in data) == ("bridge_bars" in data):
        return problems.add(
            path,
            "give exactly one of 'stinger' or 'bridge_bars'",
            value=dict(data),
            allowed='filler = "<stinger>", { stinger = "<stinger>" } or { bridge_bars = 2 }',
        )
    if "stinger" in data:
        name = data["stinger"]
        if not isinstance(name, str) or name not in stinger_names:
            hint = f.suggest(name, names) if isinstance(name, str) else ""
            return problems.add(
                path,
                f"unknown stinger {name!r}{hint}",
                value=name,
                allowed=", ".join(names) or "(no stingers defined)",
            )
        return Filler(stinger=name)
    bars = data["bridge_bars"]
    if not isinstance(bars, int) or isinstance(bars, bool) or bars not in f.BRIDGE_BARS:
        return problems.add(
            (*path, "bridge_bars"),
            f"{bars!r} is not a bridge length",
            value=bars,
            allowed=", ".join(str(b) for b in f.BRIDGE_BARS),
        )
    return Filler(bridge_bars=bars)
