"""Plucked and struck instruments cannot hold a chord: they strike it again on the beat.

A chord the score's harmony track holds for bars sounds on an organ or a string section,
but on pizzicato strings, a guitar, a banjo or a marimba it is one pluck followed by
silence while the written note goes on. A player re-strikes it in time, so a held harmony
note of such an instrument (`PLUCKED`) is split at every pulse of the meter it spans: the
beat in simple meters and 6/8 or 12/8 (a dotted quarter), the beat group in 7/8 whose
beat (an eighth) is too quick to comp on. Each strike takes the metric accent of its
place (`accents.accented`), so the pattern keeps the meter's strong beats.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine_core.arrange.accents import accented
from engine_core.spec import Meter

#: General MIDI programs (0-based) whose notes die away within a beat or two: harpsichord,
#: celesta, glockenspiel, music box, marimba, xylophone, dulcimer, the unsustained
#: guitars, pizzicato strings, sitar, banjo, shamisen, koto, kalimba, tinkle bell, agogo,
#: steel drums, woodblock
PLUCKED: frozenset[int] = frozenset(
    {6, 8, 9, 10, 12, 13, 15, 24, 25, 26, 27, 28, 45, 104, 105, 106, 107, 108, 112, 113, 114, 115}
)
#: a beat shorter than this many grid steps (an eighth) is too quick: strike per group
SHORTEST_PULSE = 4

PartNote = tuple[float, float, int, float]


def plucked(program: int) -> bool:
    return program in PLUCKED


def pulses(meter: Meter) -> tuple[int, ...]:
    """Grid steps inside the bar where a held chord is struck again."""
    if meter.steps_per_beat < SHORTEST_PULSE:
        return meter.group_starts
    return tuple(range(0, meter.steps_per_bar, meter.steps_per_beat))


def restruck(
    part: Sequence[PartNote], meter: Meter, bars: int, role: str = "harmony"
) -> list[PartNote]:
    """`part` with each note that spans a later pulse split into strikes at the pulses
    (a note held over the seam is struck again at the loop's start)."""
    bar = meter.steps_per_bar
    total = bar * bars
    inside = pulses(meter)
    result: list[PartNote] = []
    for onset, duration, pitch, velocity in part:
        end = onset + duration
        first_bar = int(onset // bar)
        strikes = [
            float(b * bar + p)
            for b in range(first_bar, int(end // bar) + 1)
            for p in inside
            if onset < b * bar + p < end
        ]
        if not strikes:
            result.append((onset, duration, pitch, velocity))
            continue
        starts = [onset, *strikes]
        stops = [*strikes, end]
        result.append((onset, stops[0] - onset, pitch, velocity))
        for start, stop in zip(starts[1:], stops[1:], strict=True):
            at = start % total
            result.append((at, stop - start, pitch, accented(role, at, meter, bars)))
    return result
