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
    """Per grid step, whether some note of `parts` sounds there: each note covers the
    steps from its onset's floor to its end's ceiling (at least one), round the seam."""
    notes = [note for part in parts for note in part]
    if not notes or total <= 0:
        return np.zeros(max(total, 0), dtype=bool)
    onset = np.array([n[0] for n in notes], dtype=np.float64)
    duration = np.array([n[1] for n in notes], dtype=np.float64)
    first = np.floor(onset).astype(np.int64)
    length = np.maximum(1, np.ceil(onset + duration).astype(np.int64) - first)
    start = first % total
    stop = start + np.minimum(length, total)  # at most once round the loop
    # +1 where a run starts, -1 where it stops (runs past the loop end go on from step 0)
    edges = np.zeros(2 * total + 1, dtype=np.int64)
    np.add.at(edges, start, 1)
    np.add.at(edges, stop, -1)
    depth = np.cumsum(edges)[: 2 * total]
    return (depth[:total] + depth[total:]) > 0


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
