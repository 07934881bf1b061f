"""General MIDI instruments by program number or by name.

Names are the 128 General MIDI program names (as `pretty_midi` spells them, matched
case-insensitively, e.g. ``"Acoustic Grand Piano"``, ``"String Ensemble 1"``) plus the
short aliases in `ALIASES`. Drum stems use General MIDI drum kits (program = kit number);
the default bank ships only the standard kit (0).
"""

from __future__ import annotations

from engine_core.errors import InvalidSpecError

#: Short names designers use, mapped to General MIDI programs (0-based).
ALIASES: dict[str, int] = {
    "piano": 0,
    "bright piano": 1,
    "electric piano": 4,
    "harpsichord": 6,
    "celesta": 8,
    "glockenspiel": 9,
    "music box": 10,
    "vibraphone": 11,
    "marimba": 12,
    "xylophone": 13,
    "bells": 14,
    "organ": 19,
    "church organ": 19,
    "accordion": 21,
    "harmonica": 22,
    "nylon guitar": 24,
    "guitar": 25,
    "clean guitar": 27,
    "overdriven guitar": 29,
    "distortion guitar": 30,
    "acoustic bass": 32,
    "bass": 33,
    "fingered bass": 33,
    "picked bass": 34,
    "fretless bass": 35,
    "slap bass": 36,
    "synth bass": 38,
    "violin": 40,
    "viola": 41,
    "cello": 42,
    "contrabass": 43,
    "tremolo strings": 44,
    "pizzicato strings": 45,
    "harp": 46,
    "timpani": 47,
    "strings": 48,
    "slow strings": 49,
    "synth strings": 50,
    "choir": 52,
    "voice": 53,
    "orchestra hit": 55,
    "trumpet": 56,
    "trombone": 57,
    "tuba": 58,
    "muted trumpet": 59,
    "french horn": 60,
    "horn": 60,
    "brass": 61,
    "synth brass": 62,
    "soprano sax": 64,
    "alto sax": 65,
    "tenor sax": 66,
    "oboe": 68,
    "english horn": 69,
    "bassoon": 70,
    "clarinet": 71,
    "piccolo": 72,
    "flute": 73,
    "recorder": 74,
    "pan flute": 75,
    "whistle": 78,
    "ocarina": 79,
    "square lead": 80,
    "saw lead": 81,
    "chiptune lead": 80,
    "synth lead": 81,
    "new age pad": 88,
    "warm pad": 89,
    "pad": 89,
    "polysynth": 90,
    "choir pad": 91,
    "halo pad": 94,
    "sweep pad": 95,
    "sitar": 104,
    "banjo": 105,
    "shamisen": 106,
    "koto": 107,
    "kalimba": 108,
    "bagpipe": 109,
    "fiddle": 110,
    "shanai": 111,
    "taiko": 116,
    "synth drum": 118,
}


def program_names() -> tuple[str, ...]:
    """The 128 General MIDI program names, index = program number."""
    import pretty_midi

    return tuple(pretty_midi.program_to_instrument_name(p) for p in range(128))


def resolve_program(instrument: int | str) -> int:
    """A General MIDI program (0-127) from a number, a GM name or an alias.

    Raises `InvalidSpecError` naming the value when it is neither.
    """
    if isinstance(instrument, bool):
        raise InvalidSpecError(f"instrument {instrument!r} is not a program or a name")
    if isinstance(instrument, int):
        if 0 <= instrument <= 127:
            return instrument
        raise InvalidSpecError(
            f"General MIDI program {instrument} outside 0-127", {"value": instrument}
        )
    text = " ".join(str(instrument).strip().lower().replace("_", " ").split())
    if text.isdigit():
        return resolve_program(int(text))
    if text in ALIASES:
        return ALIASES[text]
    for number, name in enumerate(program_names()):
        if name.lower() == text:
            return number
    raise InvalidSpecError(
        f"unknown instrument {instrument!r}: use a General MIDI program 0-127, a General "
        "MIDI name or an alias",
        {"value": str(instrument), "aliases": sorted(ALIASES)},
    )
