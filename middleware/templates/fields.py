"""Checks for single template values, and the collector that gathers every problem of a file.

Each check returns the value in its resolved form (a MIDI program for an instrument name, a
`FadeLength` for ``"2 bars"``...) or records a `TemplateProblem` and returns `INVALID`, so
a file is read to the end and all of its problems are reported together.

Ranges the engine enforces (bpm, bars, meters, keys, sample rates, 0-1 controls, stem roles
and intensity ranges) are not restated here: a value is checked by building a small
`GenerationSpec` or `StemSpec` with it and turning the spec's own `InvalidSpecError` into a
problem, so the template language can never drift from what the engine accepts.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, Final

from engine_core.errors import InvalidSpecError
from engine_core.spec import (
    ALL_TAGS,
    LOOP_BARS,
    MODES,
    PITCH_CLASSES,
    STEM_PATTERNS,
    SUPPORTED_METERS,
    TAG_VOCABULARY,
    GenerationSpec,
    Key,
    Meter,
    StemSpec,
)
from middleware.errors import TemplateProblem
from middleware.templates.lines import KeyPath, index_key_lines, line_of
from middleware.templates.model import FadeLength, LengthUnit


class _Invalid:
    """Marker for a value that failed its check (its problem is already recorded)."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final = _Invalid()

VARIANTS_RANGE = (1, 16)
SEED_RANGE = (0, 2**32 - 1)
LOUDNESS_RANGE_LUFS = (-40.0, -6.0)
TRUE_PEAK_RANGE_DB = (-20.0, 0.0)
GAIN_RANGE_DB = (-60.0, 12.0)
DUCK_RANGE_DB = (-60.0, 0.0)
PHRASE_BARS_RANGE = (1, 32)
BRIDGE_BARS: tuple[int, ...] = (1, 2, 4)
_CANDIDATE_SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_FADE_LENGTH = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(beat|beats|bar|bars|second|seconds|s)\s*$", re.IGNORECASE
)
_UNITS = {
    "beat": LengthUnit.BEATS,
    "beats": LengthUnit.BEATS,
    "bar": LengthUnit.BARS,
    "bars": LengthUnit.BARS,
    "second": LengthUnit.SECONDS,
    "seconds": LengthUnit.SECONDS,
    "s": LengthUnit.SECONDS,
}


def display_key(path: KeyPath) -> str:
    """A key path as the designer would write it in TOML: ``transitions."a -> b".fade``."""
    if not path:
        return "(top level)"
    return ".".join(part if _BARE_KEY.match(part) else f'"{part}"' for part in path)


#: Words designers reach for that the format spells differently.
SYNONYMS: dict[str, str] = {
    "tempo": "bpm",
    "time_signature": "meter",
    "signature": "meter",
    "scale": "key",
    "length": "bars",
    "loop_bars": "bars",
    "instruments": "stems",
    "layers": "stems",
    "volume": "gain_db",
    "gain": "gain_db",
    "patch": "program",
    "range": "register",
    "count": "variants",
    "crossfade": "cross",
    "fade_time": "fade_length",
    "then": "next",
}


def suggest(word: str, choices: Iterable[str]) -> str:
    """``, did you mean 'x'?`` for the closest choice, or an empty string."""
    names = list(choices)
    alias = SYNONYMS.get(word.lower())
    if alias in names:
        return f", did you mean {alias!r}?"
    # a choice containing the word ("Piano" -> "Acoustic Grand Piano") beats spelling
    # likeness ("Piano" -> "Banjo")
    lowered = word.lower()
    containing = [n for n in names if lowered and lowered in n.lower()]
    if containing:
        return f", did you mean {containing[0]!r}?"
    match = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f", did you mean {match[0]!r}?" if match else ""


class FileProblems:
    """The problems of one TOML file, each placed on the line that defines its key."""

    def __init__(self, file: str, text: str = "") -> None:
        self.file = file
        self.problems: list[TemplateProblem] = []
        self._lines = index_key_lines(text)

    def add(
        self,
        path: KeyPath,
        message: str,
        *,
        value: object = None,
        allowed: str | None = None,
        line: int | None = None,
        code: str | None = None,
    ) -> _Invalid:
        self.problems.append(
            TemplateProblem(
                self.file,
                display_key(path),
                message,
                line=line if line is not None else line_of(self._lines, path),
                value=value,
                allowed=allowed,
                code=code,
            )
        )
        return INVALID

    def check_keys(self, table: Mapping[str, Any], allowed: Iterable[str], path: KeyPath) -> None:
        """Every key of `table` must be in `allowed`; unknown ones get a 'did you mean'."""
        names = sorted(allowed)
        for key in table:
            if key not in names:
                self.add(
                    (*path, key),
                    f"unknown key {key!r}{suggest(key, names)}",
                    value=key,
                    allowed=", ".join(names),
                )


# ---------------------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------------------

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def typed(problems: FileProblems, path: KeyPath, value: Any, kind: type) -> Any:
    """`value` if it has TOML type `kind` (int counts as float, bool never as a number)."""
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if ok:
        return value
    return problems.add(path, f"{value!r} is not {_TYPE_NAMES[kind]}", value=value)


def in_range(
    problems: FileProblems, path: KeyPath, value: Any, kind: type, low: float, high: float
) -> Any:
    value = typed(problems, path, value, kind)
    if value is INVALID:
        return INVALID
    if not low <= value <= high:
        return problems.add(
            path, f"{value!r} is out of range", value=value, allowed=f"{low} to {high}"
        )
    return value


def table(problems: FileProblems, path: KeyPath, value: Any) -> Mapping[str, Any] | _Invalid:
    if isinstance(value, dict):
        return value
    return problems.add(path, f"{value!r} is not a table", value=value)


# ---------------------------------------------------------------------------------------
# Values the engine validates (checked through GenerationSpec / StemSpec)
# ---------------------------------------------------------------------------------------

_PROBE_STEM = StemSpec("probe", "melody")
_PROBE: dict[str, Any] = {
    "prompt": "probe",
    "tags": (),
    "bpm": 120.0,
    "meter": "4/4",
    "key": "C major",
    "bars": 4,
    "stems": (_PROBE_STEM,),
}


def spec_error(**fields: Any) -> str | None:
    """The engine's complaint about these spec fields (all others valid), or None."""
    try:
        GenerationSpec(**{**_PROBE, **fields})
    except InvalidSpecError as error:
        return error.message
    return None


@cache
def supported_sample_rates() -> tuple[int, ...]:
    return tuple(r for r in _CANDIDATE_SAMPLE_RATES if spec_error(sample_rate=r) is None)


def _allowed_key_text() -> str:
    tonics = ", ".join(sorted(PITCH_CLASSES))
    return f"'<tonic> <mode>' with tonic one of {tonics} and mode one of {', '.join(MODES)}"


ALLOWED_TEXT: dict[str, str] = {
    "bpm": "20 to 300",
    "meter": ", ".join(SUPPORTED_METERS),
    "bars": ", ".join(str(b) for b in LOOP_BARS),
    "energy": "0.0 to 1.0",
    "density": "0.0 to 1.0",
    "brightness": "0.0 to 1.0",
    "variance": "0.0 to 1.0",
}


def spec_field(problems: FileProblems, path: KeyPath, name: str, value: Any) -> Any:
    """Check one `GenerationSpec` field (meter, key, bpm, bars, sample_rate, 0-1 controls)."""
    if name in ("meter", "key"):
        value = typed(problems, path, value, str)
        if value is INVALID:
            return INVALID
        try:
            Meter.parse(value) if name == "meter" else Key.parse(value)
        except InvalidSpecError:
            allowed = ALLOWED_TEXT["meter"] if name == "meter" else _allowed_key_text()
            return problems.add(
                path, f"{value!r} is not a valid {name}", value=value, allowed=allowed
            )
        return value if name == "meter" else Key.parse(value).name
    kind = int if name in ("bars", "sample_rate") else float
    value = typed(problems, path, value, kind)
    if value is INVALID:
        return INVALID
    message = spec_error(**{name: value})
    if message is not None:
        allowed = ALLOWED_TEXT.get(name) or ", ".join(str(r) for r in supported_sample_rates())
        return problems.add(
            path,
            f"{value!r} is not accepted by the engine ({message})",
            value=value,
            allowed=allowed,
        )
    return value


def tags(problems: FileProblems, path: KeyPath, value: Any) -> tuple[str, ...] | _Invalid:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        return problems.add(path, f"{value!r} is not a list of strings", value=value)
    result: list[str] = []
    for tag in value:
        if tag not in ALL_TAGS:
            problems.add(
                path,
                f"unknown tag {tag!r}{suggest(tag, ALL_TAGS)}",
                value=tag,
                allowed=_allowed_tags_text(),
            )
        elif tag not in result:
            result.append(tag)
    return tuple(result) if len(result) == len(set(value)) else INVALID


def _allowed_tags_text() -> str:
    return "; ".join(f"{group}: {', '.join(names)}" for group, names in TAG_VOCABULARY.items())


# ---------------------------------------------------------------------------------------
# Stems
# ---------------------------------------------------------------------------------------

STEM_KEYS = (
    "role", "program", "instrument", "register", "intensity", "gain_db", "pan", "optional",
    "pattern",
)  # fmt: skip
DRUM_ROLES = ("drums", "percussion")
#: Register of a pitched-percussion stem that gives none: F2-A3, the timpani's range.
PITCHED_PERCUSSION_REGISTER = (41, 57)
#: `instrument = "auto"`: the stem's program is inferred from the prompt.
AUTO_INSTRUMENT = "auto"


@cache
def _instrument_names() -> tuple[str, ...]:
    import pretty_midi  # imported here: it pulls in numpy and mido

    return tuple(pretty_midi.constants.INSTRUMENT_MAP)


def instrument_program(problems: FileProblems, path: KeyPath, value: Any) -> int | _Invalid:
    """A General MIDI instrument name ('String Ensemble 1') as its program number."""
    import pretty_midi

    value = typed(problems, path, value, str)
    if value is INVALID:
        return INVALID
    try:
        return int(pretty_midi.instrument_name_to_program(value))
    except ValueError:
        names = _instrument_names()
        return problems.add(
            path,
            f"{value!r} is not a General MIDI instrument name{suggest(value, names)}",
            value=value,
            allowed="the 128 General MIDI names listed in docs/templates.md",
        )


def midi_note(problems: FileProblems, path: KeyPath, value: Any) -> int | _Invalid:
    """A MIDI note number (0-127) or a note name such as 'C3' or 'F#5' (C4 = 60)."""
    if isinstance(value, str):
        import pretty_midi

        try:
            number = int(pretty_midi.note_name_to_number(value))
        except ValueError:
            return problems.add(
                path,
                f"{value!r} is not a note name",
                value=value,
                allowed="a note name such as 'C3' or 'F#5', or a MIDI number 0-127",
            )
        value = number
    return in_range(problems, path, value, int, 0, 127)


def _pair(problems: FileProblems, path: KeyPath, value: Any, what: str) -> list[Any] | _Invalid:
    if not isinstance(value, list) or len(value) != 2:
        return problems.add(path, f"{value!r} is not a pair [low, high] of {what}", value=value)
    return value


def stem(problems: FileProblems, path: KeyPath, name: str, raw: Any) -> StemSpec | _Invalid:
    """One ``[stems.<name>]`` table as a `StemSpec`."""
    data = table(problems, path, raw)
    if data is INVALID:
        return INVALID
    problems.check_keys(data, STEM_KEYS, path)
    start = len(problems.problems)
    fields: dict[str, Any] = {}
    role = data.get("role")
    if role is None:
        problems.add((*path, "role"), "missing", allowed=_stem_roles_text())
    else:
        role = typed(problems, (*path, "role"), role, str)
        if role is not INVALID:
            if spec_error(stems=(StemSpec(name, role),)) is None:
                fields["role"] = role
            else:
                problems.add(
                    (*path, "role"),
                    f"unknown role {role!r}{suggest(role, _stem_roles())}",
                    value=role,
                    allowed=_stem_roles_text(),
                )
    if "program" in data and "instrument" in data:
        problems.add(
            (*path, "instrument"),
            "give either 'program' or 'instrument', not both",
            value=data["instrument"],
        )
    elif data.get("instrument") == AUTO_INSTRUMENT:
        pass  # left to the prompt: middleware.prompt picks the program (and the register)
    elif "instrument" in data:
        if role == "percussion":  # pitched percussion (timpani): a melodic program
            fields["program"] = instrument_program(
                problems, (*path, "instrument"), data["instrument"]
            )
            fields["pitched"] = True
            fields["register"] = PITCHED_PERCUSSION_REGISTER
        elif role in DRUM_ROLES:
            problems.add(
                (*path, "instrument"),
                f"a {role} stem plays the General MIDI drum kit: give the kit as 'program' "
                "(pitched percussion such as timpani is a 'percussion' stem with an "
                "'instrument')",
                value=data["instrument"],
                allowed="program = 0 (standard kit), 8 (room), 16 (power), 24 (electronic), "
                "25 (TR-808), 32 (jazz), 40 (brush), 48 (orchestra)",
            )
        else:
            fields["program"] = instrument_program(
                problems, (*path, "instrument"), data["instrument"]
            )
    elif "program" in data:
        fields["program"] = in_range(problems, (*path, "program"), data["program"], int, 0, 127)
    elif role not in DRUM_ROLES:
        problems.add(
            (*path, "instrument"),
            "missing: give an 'instrument' name, a General MIDI 'program' number, or "
            'instrument = "auto" to let the prompt choose',
        )
    if "register" in data:
        pair = _pair(problems, (*path, "register"), data["register"], "notes")
        if pair is not INVALID:
            low, high = (midi_note(problems, (*path, "register"), note) for note in pair)
            if low is not INVALID and high is not INVALID:
                if low >= high:
                    problems.add(
                        (*path, "register"),
                        f"{data['register']!r}: the lowest note must be below the highest",
                        value=data["register"],
                    )
                fields["register"] = (low, high)
    if "intensity" in data:
        pair = _pair(problems, (*path, "intensity"), data["intensity"], "intensities")
        if pair is not INVALID:
            low, high = (in_range(problems, (*path, "intensity"), v, float, 0, 1) for v in pair)
            if low is not INVALID and high is not INVALID:
                if low >= high:
                    problems.add(
                        (*path, "intensity"),
                        f"{data['intensity']!r}: the stem would never sound "
                        "(the range is [low, high) with low < high)",
                        value=data["intensity"],
                        allowed="0.0 <= low < high <= 1.0",
                    )
                fields["intensity"] = (low, high)
    if "gain_db" in data:
        fields["gain_db"] = in_range(
            problems, (*path, "gain_db"), data["gain_db"], float, *GAIN_RANGE_DB
        )
    if "pan" in data:
        fields["pan"] = in_range(problems, (*path, "pan"), data["pan"], float, -1.0, 1.0)
    if "optional" in data:
        if isinstance(data["optional"], bool):
            fields["optional"] = data["optional"]
        else:
            problems.add(
                (*path, "optional"),
                f"{data['optional']!r} is not true or false",
                value=data["optional"],
                allowed="true or false",
            )
    if "pattern" in data:
        allowed = STEM_PATTERNS.get(role, ()) if isinstance(role, str) else ()
        if isinstance(data["pattern"], str) and data["pattern"] in allowed:
            fields["pattern"] = data["pattern"]
        else:
            problems.add(
                (*path, "pattern"),
                f"{data['pattern']!r} is not a pattern of a {role!r} stem",
                value=data["pattern"],
                allowed=", ".join(f"{name!r} ({r})" for r, names in STEM_PATTERNS.items()
                                  for name in names),
            )  # fmt: skip
    if len(problems.problems) > start:
        return INVALID
    return StemSpec(name=name, **fields)


def _stem_roles() -> tuple[str, ...]:
    from engine_core.spec import STEM_ROLES

    return STEM_ROLES


def _stem_roles_text() -> str:
    return ", ".join(_stem_roles())


# ---------------------------------------------------------------------------------------
# Transition values
# ---------------------------------------------------------------------------------------


def fade_length(problems: FileProblems, path: KeyPath, value: Any) -> FadeLength | _Invalid:
    """``"2 bars"``, ``"1 beat"``, ``"0.5 seconds"`` as a `FadeLength`."""
    match = _FADE_LENGTH.match(value) if isinstance(value, str) else None
    if match is None:
        return problems.add(
            path,
            f"{value!r} is not a length with a unit",
            value=value,
            allowed="a string such as '2 bars', '1 beat', '0.5 seconds'",
        )
    return FadeLength(float(match.group(1)), _UNITS[match.group(2).lower()])


def choice(problems: FileProblems, path: KeyPath, value: Any, enum: type) -> Any:
    """A value of a `StrEnum` (leave_at, enter_at, fade, sync)."""
    names = [member.value for member in enum]  # type: ignore[attr-defined]
    if isinstance(value, str) and value in names:
        return enum(value)
    hint = suggest(value, names) if isinstance(value, str) else ""
    return problems.add(
        path, f"{value!r} is not allowed{hint}", value=value, allowed=", ".join(names)
    )
