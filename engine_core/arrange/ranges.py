"""Where an instrument sounds comfortable: the part of its range a writer would lean on.

A stem's `register` is what the template allows; an instrument's comfortable range is
narrower than its whole compass (a tin whistle's second octave shrieks, a flute's top
fifth is thin and loud, a clarinet above C6 squeals). Lines that hold notes for long
(counter-lines) keep inside both; `eval-music` counts the notes outside.

Sounding MIDI pitches (C4 = 60) per General MIDI program, from orchestration practice
(Adler, *The Study of Orchestration*, ranges given as the comfortable "middle" of each
instrument's compass, rounded to whole notes). Programs without an entry (pianos,
mallets, harps, synth leads and pads) are comfortable across the register they are given.
"""

from __future__ import annotations

#: program -> (lowest, highest) comfortable sounding pitch
COMFORTABLE: dict[int, tuple[int, int]] = {
    24: (40, 79), 25: (40, 79), 26: (40, 81), 27: (40, 81),  # guitars E2-G5
    28: (40, 79), 29: (40, 84), 30: (40, 84), 31: (40, 79),
    32: (28, 55), 33: (28, 55), 34: (28, 55), 35: (28, 55),  # basses E1-G3
    36: (28, 55), 37: (28, 55), 38: (28, 60), 39: (28, 60),
    40: (55, 88), 41: (48, 81), 42: (36, 72), 43: (28, 55),  # violin G3-E6 .. contrabass
    44: (36, 88), 45: (36, 88), 48: (36, 91), 49: (36, 91),  # string sections
    50: (36, 91), 51: (36, 91),
    52: (48, 79), 53: (48, 79), 54: (48, 79),  # voices C3-G5
    56: (55, 81), 57: (40, 72), 58: (28, 58), 59: (55, 79),  # trumpet .. muted trumpet
    60: (41, 77), 61: (41, 79), 62: (36, 84), 63: (36, 84),  # horn F2-F5, brass
    64: (56, 86), 65: (49, 79), 66: (44, 74), 67: (36, 67),  # saxophones
    68: (60, 86), 69: (52, 79), 70: (34, 67), 71: (50, 84),  # oboe, cor, bassoon, clarinet
    72: (74, 98), 73: (60, 91), 74: (72, 91), 75: (60, 88),  # piccolo, flute, recorder, pan
    76: (60, 88), 77: (60, 86), 78: (74, 91), 79: (72, 88),  # bottle, shakuhachi, whistle D5-G6
    104: (48, 79), 105: (48, 79), 106: (48, 79), 107: (48, 84),  # sitar, banjo, shamisen, koto
    109: (57, 76), 110: (55, 88), 111: (60, 84),  # bagpipe, fiddle, shanai
}  # fmt: skip


def comfortable_range(program: int, register: tuple[int, int]) -> tuple[int, int]:
    """The register narrowed to the instrument's comfortable range (the register alone
    when the program has none, or when the two do not overlap by an octave)."""
    low, high = register
    if program not in COMFORTABLE:
        return low, high
    easy_low, easy_high = COMFORTABLE[program]
    narrowed = max(low, easy_low), min(high, easy_high)
    if narrowed[1] - narrowed[0] < 12:  # the template asks for another range: keep it
        return low, high
    return narrowed


def outside_share(pitches: list[int] | tuple[int, ...], program: int) -> float:
    """Share of `pitches` outside the program's comfortable range (0 without one)."""
    if not pitches or program not in COMFORTABLE:
        return 0.0
    low, high = COMFORTABLE[program]
    return sum(1 for p in pitches if not low <= p <= high) / len(pitches)
