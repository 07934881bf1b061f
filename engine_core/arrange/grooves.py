"""The drum groove library: named patterns per family, role and meter, by intensity level.

The grooves are data (`grooves.toml` beside this module, format described at its top and
in docs/engine.md). This module reads and checks them and maps their instrument names to
General MIDI percussion keys for a kit; `drums` chooses a groove for a stem and lays it
out over a loop with per-variant variation.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from engine_core.errors import InvalidSpecError
from engine_core.spec import Meter

LIBRARY_PATH = Path(__file__).with_name("grooves.toml")
LEVELS: tuple[str, ...] = ("low", "mid", "high")
PHRASE_BARS = 4

#: Groove families, in the order a spec's genre tags are read (see `drums.groove_family`).
FAMILIES: tuple[str, ...] = (
    "waltz", "march", "jig", "horror", "tribal", "ambient", "electronic", "rock", "jazz",
    "orchestral", "folk",
)  # fmt: skip

#: Groove roles: a drum kit, a hand/auxiliary percussion kit layer, pitched percussion.
GROOVE_ROLES: tuple[str, ...] = ("drums", "percussion", "pitched")

#: Groove instrument names -> General MIDI percussion keys (standard kit layout).
DRUM_NOTES: dict[str, int] = {
    "bass_drum": 35,  # acoustic bass drum (the orchestra kit's concert bass drum)
    "kick": 36,
    "rim": 37,
    "snare": 38,
    "clap": 39,
    "floor_tom": 41,
    "hat": 42,
    "tom_floor_high": 43,
    "pedal_hat": 44,
    "tom_low": 45,
    "open_hat": 46,
    "tom_mid": 47,
    "crash": 49,
    "tom_high": 50,
    "ride": 51,
    "ride_bell": 53,
    "tamb": 54,
    "cowbell": 56,
    "cymbal": 57,  # crash 2; the orchestra kit's concert cymbal
    "vibraslap": 58,
    "bongo_high": 60,
    "bongo_low": 61,
    "conga_mute": 62,
    "conga_high": 63,
    "conga_low": 64,
    "timbale_high": 65,
    "timbale_low": 66,
    "cabasa": 69,
    "shaker": 70,
    "claves": 75,
    "woodblock": 76,
    "woodblock_low": 77,
    "triangle_mute": 80,
    "triangle": 81,
    # Timpani on the tonic and dominant of the key: the orchestra kit's chromatic
    # timpani (keys 41-53, F2-F3); other kits play the floor and low toms instead.
    "timp_root": 41,
    "timp_fifth": 45,
}

#: Instruments whose key depends on the kit and the key (see `kit_note`).
TIMPANI: frozenset[str] = frozenset({"timp_root", "timp_fifth"})
#: The General MIDI orchestra kit (program 48): keys 41-53 are chromatic timpani there.
ORCHESTRA_KIT = 48
ORCHESTRA_TIMPANI_LOW = 41  # F2
#: On the orchestra kit, the standard kit's toms, hats and ride (keys 41-53) would be
#: timpani at fixed pitches: they are replaced by what the orchestra plays instead.
ORCHESTRA_KIT_SUBSTITUTES: dict[str, str] = {
    "floor_tom": "timp_root",
    "tom_floor_high": "timp_root",
    "tom_low": "timp_fifth",
    "tom_mid": "timp_fifth",
    "tom_high": "timp_root",
    "hat": "rim",
    "pedal_hat": "rim",
    "open_hat": "cymbal",
    "ride": "cymbal",
    "ride_bell": "triangle",
    "crash": "cymbal",
}

#: Pattern characters -> velocity (0-1); "." is a rest; "r" is a roll stroke (two strokes
#: per step; a run of "r" swells from soft to loud).
HIT_VELOCITY: dict[str, float] = {"X": 1.0, "x": 0.8, "o": 0.6, "g": 0.35, "r": 0.5}
ROLL = "r"


@dataclass(frozen=True)
class Groove:
    name: str
    families: tuple[str, ...]  # the style families it serves, the first one its own
    role: str
    meter: str
    tags: tuple[str, ...]
    levels: dict[str, dict[str, str]]  # level -> instrument -> pattern (cleaned)
    fill: dict[str, str]
    swing: float = 0.0
    crash: bool = False
    gain: float = 1.0  # velocity scale (soft textures)

    @property
    def family(self) -> str:
        return self.families[0]

    @property
    def instruments(self) -> frozenset[str]:
        names = {i for patterns in self.levels.values() for i in patterns}
        return frozenset(names | set(self.fill))


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
            "of 'X', 'x', 'o', 'g', 'r', '.'"
        )


def _choice(name: str, field: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidSpecError(
            f"groove {name!r}: {field} {value!r} is not one of {', '.join(allowed)}",
            {"field": field, "allowed": list(allowed)},
        )
    return str(value)


def _families(name: str, value: object) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise InvalidSpecError(f"groove {name!r}: family must name at least one family")
    return tuple(_choice(name, "family", v, FAMILIES) for v in values)


def parse_library(text: str) -> tuple[Groove, ...]:
    """Grooves from TOML text, checked (family, role, instruments, pattern lengths, levels)."""
    grooves: list[Groove] = []
    for entry in tomllib.loads(text).get("groove", []):
        name = entry["name"]
        meter = Meter.parse(entry["meter"])
        steps = meter.steps_per_bar
        missing = [level for level in LEVELS if level not in entry.get("levels", {})]
        if missing:
            raise InvalidSpecError(f"groove {name!r}: missing levels {', '.join(missing)}")
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
                families=_families(name, entry.get("family")),
                role=_choice(name, "role", entry.get("role"), GROOVE_ROLES),
                meter=meter.text,
                tags=tuple(entry.get("tags", ())),
                levels=levels,
                fill=fill,
                swing=float(entry.get("swing", 0.0)),
                crash=bool(entry.get("crash", False)),
                gain=float(entry.get("gain", 1.0)),
            )
        )
    names = [g.name for g in grooves]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidSpecError(f"duplicate groove names: {', '.join(duplicates)}")
    return tuple(grooves)


def load_library(path: Path = LIBRARY_PATH) -> tuple[Groove, ...]:
    return parse_library(path.read_text(encoding="utf-8"))


def level_for(energy: float) -> str:
    """Intensity level of an energy (0-1): below 1/3 low, below 2/3 mid, else high."""
    return LEVELS[min(int(energy * 3), 2)]


def named_groove(library: tuple[Groove, ...], name: str, meter: str) -> Groove:
    """The groove called `name` in `meter`; `InvalidSpecError` listing that meter's grooves."""
    for groove in library:
        if groove.name == name and groove.meter == meter:
            return groove
    known = sorted({g.name for g in library if g.meter == meter and g.role == "drums"})
    raise InvalidSpecError(
        f"no groove named {name!r} in {meter}", {"field": "groove", "allowed": known}
    )


def fill_bars(bars: int) -> frozenset[int]:
    """Bars (0-based) that end a phrase: every 4th, and the last bar of 2-bar loops."""
    if bars < 2:
        return frozenset()
    ends = {b for b in range(bars) if (b + 1) % PHRASE_BARS == 0}
    if bars < PHRASE_BARS:
        ends.add(bars - 1)
    return frozenset(ends)


def kit_note(instrument: str, program: int, tonic: int, *, exact: bool = False) -> int:
    """The percussion key `instrument` plays on kit `program` in a key on `tonic` (0-11).

    On the orchestra kit (48) the timpani sit on the key's tonic and dominant (with
    `exact`, `tonic` is the timpani's own pitch class, whichever instrument), and the
    standard kit's toms, hats and ride become timpani and cymbals (see
    `ORCHESTRA_KIT_SUBSTITUTES`); every other kit uses the standard layout.
    """
    if program != ORCHESTRA_KIT:
        return DRUM_NOTES[instrument]
    instrument = ORCHESTRA_KIT_SUBSTITUTES.get(instrument, instrument)
    if instrument in TIMPANI:
        fifth = 7 if instrument == "timp_fifth" and not exact else 0
        return ORCHESTRA_TIMPANI_LOW + (tonic + fifth - 5) % 12  # F2 .. E3
    return DRUM_NOTES[instrument]
