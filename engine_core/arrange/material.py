"""What each role plays from, and where it comes from when the score lacks it.

| role | material | when the score lacks it |
|---|---|---|
| melody | the score's melody (after the melody pass) | a line on the chords' upper tones |
| counter | the melody's rests and the chords | chords inferred over the melody |
| harmony | the score's harmony track | chords voiced in a comping pattern |
| pad, arp | the chords | chords inferred over the melody |
| bass | the chords' roots in a bass pattern | chords inferred over the melody |

The chords (`harmony.Progression`) are always built: from the score's harmony and bass
tracks where the model wrote them, from the melody where it did not (the folk style family
writes melody only). So every pitched role has material for every score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine_core.arrange.harmony import Chord, Progression, infer_progression
from engine_core.arrange.melody_line import LineNote, singable
from engine_core.score import MotifQuote
from engine_core.spec import Key, Meter

#: role -> the material it needs (documentation and warnings)
ROLE_MATERIAL: dict[str, tuple[str, ...]] = {
    "melody": ("melody",),
    "counter": ("melody", "chords"),
    "harmony": ("chords",),
    "pad": ("chords",),
    "arp": ("chords",),
    "bass": ("chords",),
}


@dataclass(frozen=True)
class Material:
    key: Key
    meter: Meter
    bars: int
    melody: tuple[LineNote, ...]  # in the key, one note per onset, after the melody pass
    harmony: tuple[LineNote, ...]  # the score's harmony track in the key (may be empty)
    bass: tuple[LineNote, ...]  # the score's bass track in the key (may be empty)
    progression: Progression
    energy: float
    density: float
    melody_supplied: bool = False  # True when the score had no melody
    #: the score's motif quotes (melody notes at their onsets keep their pitches)
    motif_quotes: tuple[MotifQuote, ...] = ()

    @property
    def total(self) -> int:
        return self.bars * self.meter.steps_per_bar

    def melody_sounding(self) -> np.ndarray:
        """Boolean per grid step: some melody note sounds (wrapping round the seam)."""
        sounding = np.zeros(self.total, dtype=bool)
        for onset, duration, _, _ in self.melody:
            steps = (onset + np.arange(max(1, min(duration, self.total)))) % self.total
            sounding[steps] = True
        return sounding

    def melody_at(self, step: int) -> int | None:
        """Pitch of the melody note sounding at `step` (the latest onset), if any."""
        found = None
        for onset, duration, pitch, _ in self.melody:
            end = onset + duration
            if onset <= step < end or (end > self.total and step < end - self.total):
                found = pitch
        return found


def _supplied_melody(progression: Progression, meter: Meter) -> list[LineNote]:
    """A plain line on the chords' thirds and fifths, two notes a bar."""
    line: list[LineNote] = []
    half = meter.steps_per_bar // 2 if meter.numerator != 3 else 2 * meter.steps_per_beat
    for start in range(0, progression.total, meter.steps_per_bar):
        for offset, tone in ((0, 1), (half, 2)):
            chord = progression.at(start + offset).chord
            pitch = 72 + (chord.tones[tone] - 72) % 12
            length = half if offset == 0 else meter.steps_per_bar - half
            line.append((start + offset, length, pitch, 0.8))
    return line


def build_material(
    key: Key,
    meter: Meter,
    bars: int,
    *,
    melody: Sequence[LineNote],
    harmony: Sequence[LineNote],
    bass: Sequence[LineNote],
    energy: float,
    density: float,
    rng: np.random.Generator,
    fixed_chords: dict[int, Chord] | None = None,
    motif_quotes: Sequence[MotifQuote] = (),
) -> Material:
    total = bars * meter.steps_per_bar
    fixed = frozenset(o for q in motif_quotes if q.track == "melody" for o in q.onsets)
    spans = tuple((q.start, q.end) for q in motif_quotes if q.track == "melody")
    line = singable(melody, key, meter, total, fixed, spans) if melody else []
    progression = infer_progression(
        key,
        meter,
        bars,
        melody=line,
        harmony=list(harmony) + list(bass),
        density=density,
        rng=rng,
        fixed=fixed_chords,
    )
    supplied = not line
    if supplied:
        line = _supplied_melody(progression, meter)
    return Material(
        key=key,
        meter=meter,
        bars=bars,
        melody=tuple(line),
        harmony=tuple(harmony),
        bass=tuple(bass),
        progression=progression,
        energy=energy,
        density=density,
        melody_supplied=supplied,
        motif_quotes=tuple(motif_quotes),
    )
