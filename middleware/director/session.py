"""Scripted sessions: an event log in TOML played through a director, offline.

A script is what a game would send, with times:

    duration_s = 40          # how much to render
    seed = 0                 # variant rotation seed (optional)
    block_frames = 1024      # render block size (optional, 64..8192)
    start_state = "explore"  # optional; default: the pack's start state

    [[events]]
    at_s = 6.0
    intensity = 0.9          # intensity alone: a `set_intensity`

    [[events]]
    at_s = 9.5
    state = "battle"         # a `set_state` (with an optional `intensity`)

    [[events]]
    at_s = 12.0
    stinger = "level_up"     # a `play_stinger`

`render_session` returns the int16 audio, every director event and the intensity at each
block start; `middleware.director.timeline` draws them.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from middleware.director.director import Director, VariantLookup
from middleware.director.errors import SessionScriptError
from middleware.director.events import DirectorEvent
from middleware.director.motif_marks import MotifMark, motif_marks
from middleware.mixer import MAX_BLOCK_FRAMES, MIN_BLOCK_FRAMES
from middleware.templates.model import TemplatePack

ProgressCallback = Callable[[str, int, int], None]
_SCRIPT_KEYS = {"duration_s", "seed", "block_frames", "start_state", "events"}
_EVENT_KEYS = {"at_s", "state", "intensity", "stinger"}


@dataclass(frozen=True)
class ScriptEvent:
    at_s: float
    state: str | None = None
    intensity: float | None = None
    stinger: str | None = None


@dataclass(frozen=True)
class SessionScript:
    duration_s: float
    events: tuple[ScriptEvent, ...]
    seed: int = 0
    block_frames: int = 1024
    start_state: str | None = None

    def states(self, pack: TemplatePack) -> list[str]:
        """States the script can reach: start, requested, and one-shots' `next` states."""
        wanted = [self.start_state or pack.start_state]
        wanted += [e.state for e in self.events if e.state]
        seen: list[str] = []
        while wanted:
            name = wanted.pop(0)
            if name in seen:
                continue
            seen.append(name)
            follow = pack.state(name).next
            if follow:
                wanted.append(follow)
        return seen

    def stingers(self, pack: TemplatePack) -> list[str]:
        """Stingers the script plays, plus every filler stinger of the transition table."""
        names = [e.stinger for e in self.events if e.stinger]
        names += [r.filler.stinger for r in pack.transitions if r.filler and r.filler.stinger]
        return list(dict.fromkeys(n for n in names if n in pack.stingers))


def load_script(path: Path, pack: TemplatePack) -> SessionScript:
    """Read and check a session script; every problem is listed in one `SessionScriptError`."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise SessionScriptError(f"cannot read {path}: {error}", {"file": str(path)}) from None
    except tomllib.TOMLDecodeError as error:
        raise SessionScriptError(f"{path}: not valid TOML: {error}", {"file": str(path)}) from None
    return parse_script(data, pack, source=str(path))


def parse_script(data: dict[str, Any], pack: TemplatePack, source: str = "script") -> SessionScript:
    problems: list[str] = []

    def number(where: str, value: Any, low: float, high: float) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{where}: expected a number, got {value!r}")
            return None
        if not math.isfinite(value) or not low <= value <= high:
            problems.append(f"{where}: {value!r} outside {low:g}..{high:g}")
            return None
        return float(value)

    for key in sorted(set(data) - _SCRIPT_KEYS):
        problems.append(f"{key}: unknown key (allowed: {', '.join(sorted(_SCRIPT_KEYS))})")
    duration = number("duration_s", data.get("duration_s"), 0.01, 3600.0)
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        problems.append(f"seed: expected an integer, got {seed!r}")
    block = data.get("block_frames", 1024)
    if (
        isinstance(block, bool)
        or not isinstance(block, int)
        or not (MIN_BLOCK_FRAMES <= block <= MAX_BLOCK_FRAMES)
    ):
        problems.append(f"block_frames: expected {MIN_BLOCK_FRAMES}..{MAX_BLOCK_FRAMES}")
    start = data.get("start_state")
    if start is not None and start not in pack.states:
        problems.append(f"start_state: unknown state {start!r} (states: {sorted(pack.states)})")
    raw_events = data.get("events", [])
    if not isinstance(raw_events, list):
        problems.append("events: expected an array of tables ([[events]])")
        raw_events = []
    events: list[ScriptEvent] = []
    for i, raw in enumerate(raw_events):
        where = f"events[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a table")
            continue
        for key in sorted(set(raw) - _EVENT_KEYS):
            problems.append(
                f"{where}.{key}: unknown key (allowed: {', '.join(sorted(_EVENT_KEYS))})"
            )
        at_s = number(f"{where}.at_s", raw.get("at_s"), 0.0, duration or 3600.0)
        state, stinger = raw.get("state"), raw.get("stinger")
        intensity = raw.get("intensity")
        if intensity is not None:
            intensity = number(f"{where}.intensity", intensity, 0.0, 1.0)
        if state is not None and state not in pack.states:
            problems.append(
                f"{where}.state: unknown state {state!r} (states: {sorted(pack.states)})"
            )
        if stinger is not None and stinger not in pack.stingers:
            problems.append(
                f"{where}.stinger: unknown stinger {stinger!r} (stingers: {sorted(pack.stingers)})"
            )
        if stinger is not None and (state is not None or "intensity" in raw):
            problems.append(f"{where}: a stinger event takes no state or intensity")
        if state is None and stinger is None and "intensity" not in raw:
            problems.append(f"{where}: needs one of state, intensity, stinger")
        if at_s is not None:
            events.append(ScriptEvent(at_s, state, intensity, stinger))
    if problems:
        listed = "\n".join(f"  {source}: {p}" for p in problems)
        raise SessionScriptError(
            f"{len(problems)} problem(s) in session script:\n{listed}",
            {"file": source, "problems": problems},
        )
    return SessionScript(
        duration_s=float(duration or 0.0),
        events=tuple(sorted(events, key=lambda e: e.at_s)),
        seed=int(seed),
        block_frames=int(block),
        start_state=start,
    )


@dataclass(frozen=True)
class SessionRender:
    """A rendered session: audio, what the director reported, the intensity over time."""

    audio: np.ndarray  # int16 (frames, 2)
    sample_rate: int
    events: tuple[DirectorEvent, ...]
    block_starts: np.ndarray  # sample of each block's first frame
    intensity: np.ndarray  # intensity at each block start
    motif_marks: tuple[MotifMark, ...] = ()  # where a motif entry sounds (timeline marks)

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / self.sample_rate

    def of_kind(self, kind: str) -> list[DirectorEvent]:
        return [e for e in self.events if e.kind == kind]


def render_session(
    pack: TemplatePack,
    script: SessionScript,
    variants: VariantLookup,
    *,
    sample_rate: int | None = None,
    progress: ProgressCallback | None = None,
) -> SessionRender:
    """Play the script's events through a fresh director and render its duration."""
    rate = sample_rate or pack.defaults.sample_rate
    director = Director(
        pack, variants, sample_rate=rate, seed=script.seed, start_state=script.start_state
    )
    for event in script.events:
        at = round(event.at_s * rate)
        if event.stinger is not None:
            director.play_stinger(event.stinger, at_sample=at)
        elif event.state is not None:
            director.set_state(event.state, event.intensity, at_sample=at)
        else:
            director.set_intensity(float(event.intensity or 0.0), at_sample=at)
    block = script.block_frames
    blocks = max(1, math.ceil(script.duration_s * rate / block))
    audio = np.zeros((blocks * block, 2), dtype=np.int16)
    starts = np.zeros(blocks, dtype=np.int64)
    levels = np.zeros(blocks, dtype=np.float32)
    events: list[DirectorEvent] = []
    for index in range(blocks):
        clock = director.clock()
        starts[index], levels[index] = clock.sample, clock.intensity
        director.render_int16(audio[index * block : (index + 1) * block])
        events += director.drain_events()
        if progress is not None and (index % 64 == 0 or index == blocks - 1):
            progress("render", index + 1, blocks)
    marks = motif_marks(events, variants, audio.shape[0])
    return SessionRender(audio, rate, tuple(events), starts, levels, tuple(marks))
