"""The drum groove library: named patterns per role and meter, by intensity level.

The grooves are data (`grooves.toml` beside this module, format described at its top and
in docs/engine.md). `choose_groove` picks one for a stem from the spec's tags (or by
name), `groove_hits` lays it out over a loop's bars with fills at phrase ends.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine_core.errors import InvalidSpecError
from engine_core.spec import Meter

LIBRARY_PATH = Path(__file__).with_name("grooves.toml")
LEVELS: tuple[str, ...] = ("low", "mid", "high")
PHRASE_BARS = 4

#: Groove instrument names -> General MIDI percussion key numbers.
DRUM_NOTES: dict[str, int] = {
    "kick": 36,
    "rim": 37,
    "snare": 38,
    "clap": 39,
    "floor_tom": 41,
    "hat": 42,
    "pedal_hat": 44,
    "tom_low": 45,
    "open_hat": 46,
    "tom_mid": 47,
    "crash": 49,
    "tom_high": 50,
    "ride": 51,
    "tamb": 54,
    "cowbell": 56,
    "bongo_high": 60,
    "bongo_low": 61,
    "conga_high": 63,
    "conga_low": 64,
    "shaker": 70,
    "claves": 75,
    "woodblock": 76,
    "triangle": 81,
}

#: Pattern characters -> velocity (0-1); "." is a rest.
HIT_VELOCITY: dict[str, float] = {"X": 1.0, "x": 0.8, "o": 0.6, "g": 0.35}


@dataclass(frozen=True)
class Groove:
    name: str
    role: str
    meter: str
    tags: tuple[str, ...]
    levels: dict[str, dict[str, str]]  # level -> instrument -> pattern (cleaned)
    fill: dict[str, str]
    swing: float = 0.0
    crash: bool = False


@dataclass(frozen=True)
class DrumHit:
    step: int  # grid step from the loop start
    note: int  # General MIDI percussion key
    velocity: float  # 0-1
    delay_steps: float = 0.0  # swing delay, in grid steps


def _clean(pattern: str) -> str:
    return pattern.replace("|", "").replace(" ", "")


def _check_pattern(name: str, where: str, instrument: str, pattern: str, steps: int) -> None:
    if instrument not in DRUM_NOTES:
        raise InvalidSpecError(
            f"groove {name!r} ({where}): unknown instrument {instrument!r}",
            {"allowed": sorted(DRUM_NOTES)},
        )
    if len(pattern) != steps or any(c not in HIT_VELOCITY and c != "." for c in pattern):
        raise InvalidSpecError(
            f"groove {name!r} ({where}) {instrument}: pattern {pattern!r} must be {steps} "
            "of 'X', 'x', 'o', 'g', '.'"
        )


def parse_library(text: str) -> tuple[Groove, ...]:
    """Grooves from TOML text, checked (instrument names, pattern lengths, levels)."""
    grooves: list[Groove] = []
    for entry in tomllib.loads(text).get("groove", []):
        name = entry["name"]
        meter = Meter.parse(entry["meter"])
        steps = meter.steps_per_bar
        levels = {
            level: {k: _clean(v) for k, v in entry["levels"][level].items()} for level in LEVELS
        }
        fill = {k: _clean(v) for k, v in entry.get("fill", {}).items()}
        for level, patterns in [*levels.items(), ("fill", fill)]:
            for instrument, pattern in patterns.items():
                _check_pattern(name, level, instrument, pattern, steps)
        grooves.append(
            Groove(
                name=name,
                role=entry["role"],
                meter=meter.text,
                tags=tuple(entry.get("tags", ())),
                levels=levels,
                fill=fill,
                swing=float(entry.get("swing", 0.0)),
                crash=bool(entry.get("crash", False)),
            )
        )
    return tuple(grooves)


def load_library(path: Path = LIBRARY_PATH) -> tuple[Groove, ...]:
    return parse_library(path.read_text(encoding="utf-8"))


def level_for(energy: float) -> str:
    """Intensity level of an energy (0-1): below 1/3 low, below 2/3 mid, else high."""
    return LEVELS[min(int(energy * 3), 2)]


def choose_groove(
    library: Sequence[Groove],
    *,
    role: str,
    meter: str,
    tags: Sequence[str],
    name: str | None = None,
) -> Groove:
    """The named groove, or the one whose tags overlap most (ties: library order)."""
    if name is not None:
        for groove in library:
            if groove.name == name and groove.meter == meter:
                return groove
        known = sorted({g.name for g in library if g.meter == meter})
        raise InvalidSpecError(
            f"no groove named {name!r} in {meter}", {"field": "groove", "allowed": known}
        )
    candidates = [g for g in library if g.role == role and g.meter == meter]
    if not candidates:
        raise InvalidSpecError(f"the groove library has no {role} groove in {meter}")
    wanted = set(tags)
    return max(candidates, key=lambda g: (len(wanted & set(g.tags)), -candidates.index(g)))


def fill_bars(bars: int) -> frozenset[int]:
    """Bars (0-based) that end a phrase: every 4th, and the last bar of 2-bar loops."""
    if bars < 2:
        return frozenset()
    ends = {b for b in range(bars) if (b + 1) % PHRASE_BARS == 0}
    if bars < PHRASE_BARS:
        ends.add(bars - 1)
    return frozenset(ends)


def groove_hits(groove: Groove, level: str, bars: int, steps_per_beat: int) -> list[DrumHit]:
    """Every hit of `groove` at `level` over `bars` bars, fills and crashes included."""
    if level not in LEVELS:
        raise InvalidSpecError(f"unknown groove level {level!r}", {"allowed": list(LEVELS)})
    steps = len(next(iter(groove.levels[level].values()), "")) or steps_per_beat
    fills = fill_bars(bars) if level != "low" else frozenset()
    swing_unit = 1 if steps_per_beat % 3 == 0 else 2  # sixteenths in 6/8, else eighths
    hits: list[DrumHit] = []
    for bar in range(bars):
        patterns = groove.fill if bar in fills and groove.fill else groove.levels[level]
        for instrument, pattern in sorted(patterns.items()):
            for index, char in enumerate(pattern):
                if char == ".":
                    continue
                delay = groove.swing * swing_unit if (index // swing_unit) % 2 == 1 else 0.0
                if index % swing_unit:
                    delay = 0.0
                hits.append(
                    DrumHit(bar * steps + index, DRUM_NOTES[instrument], HIT_VELOCITY[char], delay)
                )
        if groove.crash and level == "high" and bar % PHRASE_BARS == 0:
            hits.append(DrumHit(bar * steps, DRUM_NOTES["crash"], 0.9))
    return hits
