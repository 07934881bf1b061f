"""No accidental holes: bridge any stretch over a beat in which no pitched stem sounds.

The arranger's parts are laid over the loop (round the seam); wherever no pitched note
sounds for more than `MAX_GAP_BEATS`, the last note before the gap in the most sustaining
stem (pad, then harmony, counter, bass, melody, arp) is held on to the end of the gap.
Drum hits do not count as sound here: they decay within the beat.

A state that wants silence asks for it with the texture tag ``space`` (documented in
docs/templates.md); its parts are left as written.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_GAP_BEATS = 0.75  # below one beat, so renderer releases never open a hole either
SPACE_TAG = "space"
SUSTAIN_ORDER: tuple[str, ...] = ("pad", "harmony", "counter", "bass", "melody", "arp")

PartNote = tuple[float, float, int, float]


def _sounding(parts: Sequence[Sequence[PartNote]], total: int) -> np.ndarray:
    covered = np.zeros(total, dtype=bool)
    for part in parts:
        for onset, duration, _, _ in part:
            first = int(np.floor(onset))
            steps = (first + np.arange(max(1, int(np.ceil(onset + duration)) - first))) % total
            covered[steps] = True
    return covered


def gaps(parts: Sequence[Sequence[PartNote]], total: int) -> list[tuple[int, int]]:
    """(start, length) of silent runs, round the seam, in grid steps."""
    covered = _sounding(parts, total)
    if covered.all():
        return []
    if not covered.any():
        return [(0, total)]
    shift = int(np.argmax(covered))  # start scanning at a sounding step
    rolled = np.roll(covered, -shift)
    found, start = [], None
    for step, busy in enumerate([*list(rolled), True]):
        if not busy and start is None:
            start = step
        elif busy and start is not None:
            found.append(((start + shift) % total, step - start))
            start = None
    return found


def fill_holes(
    parts: dict[int, list[PartNote]],
    roles: dict[int, str],
    total: int,
    steps_per_beat: int,
) -> None:
    """Hold notes over the gaps of the pitched `parts` (stem index -> part), in place."""
    limit = MAX_GAP_BEATS * steps_per_beat
    order = sorted(
        parts, key=lambda i: SUSTAIN_ORDER.index(roles[i]) if roles[i] in SUSTAIN_ORDER else 99
    )
    for start, length in gaps(list(parts.values()), total):
        if length <= limit:
            continue
        for index in order:
            part = parts[index]
            if not part:
                continue

            # the note sounding last before the gap (its end nearest the gap start)
            def distance(note: PartNote, gap_start: int = start) -> float:
                return (gap_start - (note[0] + note[1])) % total

            before = min(part, key=distance)
            extra = distance(before) + length
            position = part.index(before)
            part[position] = (before[0], before[1] + extra, before[2], before[3])
            break
