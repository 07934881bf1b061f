"""Keeping a quoted motif whole in the parts that play it.

The arranger moves lines by octaves into each stem's register and folds stray notes;
a motif quote moves as one block instead (the octave that keeps all its notes inside the
register, nearest the line around it), so its intervals survive. A motif quoted in the
bass replaces the bass pattern for the span of the quote.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine_core.score import MotifQuote

PartNote = tuple[float, float, int, float]  # (onset step, duration steps, pitch, velocity)
LineNote = tuple[int, int, int, float]


def block_octave(pitches: Sequence[int], target: float, low: int, high: int) -> int:
    """The octave shift (semitones) that keeps most of `pitches` inside [low, high],
    then puts their median nearest `target`."""

    def cost(shift: int) -> tuple[int, float]:
        outside = sum(1 for p in pitches if not low <= p + shift <= high)
        return outside, abs(float(np.median(pitches)) + shift - target)

    return min((12 * k for k in range(-10, 11)), key=cost)


def keep_quotes_whole(
    line: Sequence[LineNote],
    fitted: Sequence[int],
    quotes: Sequence[MotifQuote],
    low: int,
    high: int,
) -> list[int]:
    """`fitted` (the line's pitches after register fitting) with each quote's notes moved
    back into their written shape, as one block, inside [low, high]."""
    result = list(fitted)
    groups = []
    for quote in quotes:
        onsets = set(quote.onsets)
        indices = [i for i, note in enumerate(line) if note[0] in onsets]
        if indices:
            groups.append(indices)
    if not groups:
        return result
    # one octave for every quote when one fits them all: a sequence stays a step above
    # the motif it answers instead of jumping to another octave
    together = [i for group in groups for i in group]
    written = [line[i][2] for i in together]
    shift = block_octave(written, float(np.median([fitted[i] for i in together])), low, high)
    if all(low <= p + shift <= high for p in written):
        groups = [together]
    for indices in groups:
        written = [line[i][2] for i in indices]
        target = float(np.median([fitted[i] for i in indices]))
        shift = block_octave(written, target, low, high)
        for i, pitch in zip(indices, written, strict=True):
            result[i] = pitch + shift
    return result


def bass_with_quotes(
    part: Sequence[PartNote],
    bass_track: Sequence[LineNote],
    quotes: Sequence[MotifQuote],
    register: tuple[int, int],
) -> list[PartNote]:
    """The bass part with each quote's span played by the quoted motif."""
    low, high = register
    velocity = float(np.median([n[3] for n in part])) if part else 0.8
    spans = [(q.start, q.end) for q in quotes]
    kept: list[PartNote] = []
    for onset, duration, pitch, vel in part:
        if any(a <= onset < b for a, b in spans):
            continue
        following = [a for a, _ in spans if a > onset]
        if following and onset + duration > min(following):
            duration = min(following) - onset
        kept.append((onset, duration, pitch, vel))
    around = float(np.median([n[2] for n in part])) if part else (low + high) / 2
    for quote in quotes:
        onsets = set(quote.onsets)
        notes = sorted(n for n in bass_track if n[0] in onsets)
        if not notes:
            continue
        shift = block_octave([n[2] for n in notes], around, low, high)
        kept += [(float(o), float(d), p + shift, velocity) for o, d, p, _ in notes]
    return sorted(kept)
