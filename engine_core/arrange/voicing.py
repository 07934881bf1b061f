"""Chord voicings inside a register, led smoothly from the previous one.

`voicings` lists every close or open position of a chord's pitch classes inside a register;
`lead` picks the one nearest the previous voicing (total voice movement), with a penalty
for keeping the same top note, so upper lines move.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache


def nearest(pitch_class: int, target: float, low: int, high: int) -> int:
    """The pitch of `pitch_class` inside [low, high] closest to `target` (folded if none)."""
    options = [p for p in range(low, high + 1) if p % 12 == pitch_class]
    if not options:
        pitch = pitch_class + 12 * round((target - pitch_class) / 12)
        while pitch < low:
            pitch += 12
        while pitch > high and pitch - 12 >= low:
            pitch -= 12
        return pitch
    return min(options, key=lambda p: (abs(p - target), p))


def voicings(
    tones: Sequence[int], low: int, high: int, size: int, span: int = 19
) -> list[tuple[int, ...]]:
    """Voicings of `size` notes: every chord tone present (doubling the root when size > 3),
    within `span` semitones, inside [low, high]."""
    return list(_voicings(tuple(tones), low, high, size, span))


@lru_cache(maxsize=1024)
def _voicings(
    tones: tuple[int, ...], low: int, high: int, size: int, span: int
) -> tuple[tuple[int, ...], ...]:
    """`voicings`, kept per chord and register: a loop asks for the same few chords in
    every bar and every variant."""
    pool = list(tones) + ([tones[0]] if size > len(tones) else [])
    pool = pool[:size]
    found: set[tuple[int, ...]] = set()
    for bass in range(low, min(high, low + 24) + 1):
        if bass % 12 not in pool:
            continue
        rest = list(pool)
        rest.remove(bass % 12)
        for order in itertools.permutations(rest):
            chord = [bass]
            for pc in order:
                nxt = chord[-1] + 1
                while nxt % 12 != pc:
                    nxt += 1
                chord.append(nxt)
            if chord[-1] <= high and chord[-1] - chord[0] <= span:
                found.add(tuple(chord))
    return tuple(sorted(found))


def lead(
    previous: Sequence[int] | None,
    options: Sequence[tuple[int, ...]],
    *,
    centre: float,
    held_top: dict[int, int] | None = None,
    top_weight: float = 3.0,
) -> tuple[int, ...]:
    """The option closest to `previous` (or to `centre` for the first chord).

    `held_top` counts how often each top note was used; reusing the previous top note or an
    overused one costs `top_weight` per use, so the top line keeps moving.
    """
    if not options:
        return ()

    def cost(option: tuple[int, ...]) -> float:
        middle = sum(option) / len(option)
        if previous:
            movement = sum(min(abs(p - q) for q in previous) for p in option)
            value = movement + 0.15 * abs(middle - centre)
            if option[-1] == previous[-1]:
                value += top_weight
        else:
            value = abs(middle - centre)
        if held_top:
            value += top_weight * 0.5 * held_top.get(option[-1], 0)
        return value

    return min(options, key=lambda o: (cost(o), o))
