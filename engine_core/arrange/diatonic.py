"""Keep an arrangement inside its key's scale: every pitched note on one of the seven degrees.

The arranger lets accidentals ride (a modal mixture, the raised leading tone of a minor
dominant), which a loop can carry. A stinger laid over another state's music cannot: a
C sharp from the stinger against the host's C natural is a clash. Specs that ask for it
(`extra` holds `("scale", "diatonic")`, set for stinger renditions) have every pitched
note moved to the nearest scale tone (a tie goes down: the leading tone falls back to the
natural seventh); drum kits are left alone. A note that lands on a pitch already sounding
at the same onset in the same stem is dropped rather than doubled.
"""

from __future__ import annotations

from dataclasses import replace

from engine_core.arrange.arranger import Arrangement
from engine_core.arrange.harmony import scale_of
from engine_core.spec import GenerationSpec, Key

#: The `GenerationSpec.extra` entry that asks for a diatonic arrangement.
DIATONIC = ("scale", "diatonic")


def wants_diatonic(spec: GenerationSpec) -> bool:
    return any(tuple(item) == DIATONIC for item in spec.extra)


def nearest_in_scale(pitch: int, scale: tuple[int, ...]) -> int:
    """`pitch` if its class is in `scale`, else the nearest scale pitch (ties: below)."""
    members = set(scale)
    if pitch % 12 in members:
        return pitch
    for distance in range(1, 7):
        if (pitch - distance) % 12 in members:
            return pitch - distance
        if (pitch + distance) % 12 in members:
            return pitch + distance
    return pitch  # unreachable with a seven-note scale


def keep_in_scale(arrangement: Arrangement, key: Key) -> Arrangement:
    """The arrangement with every pitched note in `key`'s scale (see the module doc)."""
    scale = scale_of(key)
    stems = []
    for stem in arrangement.stems:
        if stem.is_drum:
            stems.append(stem)
            continue
        seen: set[tuple[float, int]] = set()
        notes = []
        for note in stem.notes:
            pitch = nearest_in_scale(note.pitch, scale)
            if (note.start_beats, pitch) in seen:
                continue
            seen.add((note.start_beats, pitch))
            notes.append(note if pitch == note.pitch else replace(note, pitch=pitch))
        stems.append(replace(stem, notes=tuple(notes)))
    return replace(arrangement, stems=tuple(stems))
