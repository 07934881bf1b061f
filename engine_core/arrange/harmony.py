"""A chord progression for every loop: read from the score's harmony, or inferred over the
melody in the key.

The harmonic rhythm fits the meter and length (a chord a bar; half bars in busy 4/4; a
one-bar loop splits in two). Each slot scores the key's diatonic triads (plus the major
dominant in minor) by how well they fit the notes sounding there: melody notes weighted by
length and metric position, the score's harmony and bass tracks twice as much when the model
wrote them. A Viterbi pass adds the pull of common progressions (roots falling by a fifth,
rising by a step, falling by a third). The first slot is always the tonic and the last
bar's second half always the mode's cadence chord (V; bVII in mixolydian, IV in dorian,
bII in phrygian), so the loop's last bar leads back to bar 0. A seeded generator (the set's)
nudges near-ties, so different seeds may harmonise the same passage differently. A later
variant of a set keeps the theme's chords in the bars it shares with the theme (`fixed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine_core.spec import Key, Meter

MODE_INTERVALS: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}
#: cadence chords (scale degree 0-6 of the root) leading back to the tonic, best first
CADENCE_DEGREES: dict[str, tuple[int, ...]] = {
    "major": (4, 3),
    "minor": (4, 6),
    "dorian": (3, 4),
    "phrygian": (1, 6),
    "lydian": (4, 1),
    "mixolydian": (6, 4),
}
#: how idiomatic a chord is on its own, by degree
DEGREE_PRIOR: tuple[float, ...] = (0.6, 0.25, 0.05, 0.4, 0.4, 0.3, 0.1)
TONIC_BONUS = 100.0  # the loop starts on the tonic chord
CADENCE_BONUS = (2.5, 1.6)
CADENCE_FORCE = 100.0  # the loop's last half bar is always a cadence chord
NUDGE = 0.12  # size of the seeded tie-breaking noise


@dataclass(frozen=True)
class Chord:
    root: int  # pitch class
    tones: tuple[int, ...]  # pitch classes, root, third, fifth
    degree: int  # scale degree of the root, 0-6

    @property
    def third(self) -> int:
        return self.tones[1]

    @property
    def fifth(self) -> int:
        return self.tones[2]


@dataclass(frozen=True)
class ChordSpan:
    start: int  # grid step from the loop start
    end: int
    chord: Chord


@dataclass(frozen=True)
class Progression:
    spans: tuple[ChordSpan, ...]
    total: int  # loop length in grid steps

    def at(self, step: float) -> ChordSpan:
        position = int(step) % self.total
        for span in self.spans:
            if span.start <= position < span.end:
                return span
        return self.spans[-1]

    def next_after(self, span: ChordSpan) -> ChordSpan:
        index = self.spans.index(span)
        return self.spans[(index + 1) % len(self.spans)]


def scale_of(key: Key) -> tuple[int, ...]:
    """The key's seven pitch classes, tonic first."""
    return tuple((key.tonic + i) % 12 for i in MODE_INTERVALS[key.mode])


def diatonic_chords(key: Key) -> list[Chord]:
    """Major and minor triads on the key's degrees (no diminished), plus V major in minor."""
    scale = scale_of(key)
    chords = []
    for degree in range(7):
        tones = (scale[degree], scale[(degree + 2) % 7], scale[(degree + 4) % 7])
        third = (tones[1] - tones[0]) % 12
        fifth = (tones[2] - tones[0]) % 12
        if fifth == 7 and third in (3, 4):
            chords.append(Chord(tones[0], tones, degree))
    if key.mode == "minor":
        root = scale[4]
        chords.append(Chord(root, (root, (root + 4) % 12, (root + 7) % 12), 4))
    return chords


def harmonic_slots(meter: Meter, bars: int, density: float) -> list[tuple[int, int]]:
    """Grid spans of one chord each: a bar, half bars in busy 4/4, halves of a 1-bar loop."""
    bar = meter.steps_per_bar
    halves = bars == 1 or (meter.numerator == 4 and density >= 0.65 and bars <= 8)
    slots = []
    for index in range(bars):
        start = index * bar
        if halves or index == bars - 1:  # the last bar's second half is the cadence
            middle = start + _middle(meter)
            slots += [(start, middle), (middle, start + bar)]
        else:
            slots.append((start, start + bar))
    return slots


def _middle(meter: Meter) -> int:
    """Where a bar's second chord starts: half way, 3/4 on beat 3, a re-barred meter of
    several beat groups on its last group (5/4 = 3+2 on beat 4, 7/8 = 2+2+3 on eighth 5)."""
    if not meter.trained and len(meter.groups) > 1:
        return meter.group_starts[-1]
    return meter.steps_per_bar // 2 if meter.numerator != 3 else 2 * meter.steps_per_beat


def metric_weight(step: int, meter: Meter) -> float:
    """How strong a grid position is: 1 on the downbeat, less on other beats and between."""
    inside = step % meter.steps_per_bar
    per_beat = meter.steps_per_beat
    if inside == 0:
        return 1.0
    if not meter.trained and inside in meter.group_starts:
        return 0.8
    if inside % per_beat == 0:
        return 0.8 if (meter.numerator == 4 and inside == 2 * per_beat) else 0.65
    return 0.4


Evidence = Sequence[tuple[int, int, int, float]]  # (onset, duration, pitch, weight)


def _bar_weights(meter: Meter) -> np.ndarray:
    """`metric_weight` of every grid step inside one bar."""
    return np.array([metric_weight(step, meter) for step in range(meter.steps_per_bar)])


def _slot_fits(
    chords: Sequence[Chord],
    slots: Sequence[tuple[int, int]],
    notes: Evidence,
    meter: Meter,
    total: int,
) -> np.ndarray:
    """How well each chord fits the notes sounding in each slot, shape (slots, chords):
    per note, its length in the slot times its weight times (0.5 + the metric strength of
    its onset, 0.6 when it began before the slot), added for a chord tone and -0.7 times
    that for another tone.

    A note's amount in a slot does not depend on the chord, so it is computed once per
    slot and note with numpy; each chord's fit is the notes' signed amounts added in note
    order (`np.add.accumulate` adds left to right, as a loop over the notes would; notes
    that do not sound in the slot add an exact zero), so the sums are the same to the bit
    as the note-by-note loop's."""
    fits = np.zeros((len(slots), len(chords)))
    if not notes or not slots or not chords:
        return fits
    onset = np.array([n[0] for n in notes], dtype=np.int64)
    stop = onset + np.array([n[1] for n in notes], dtype=np.int64)
    pitch_class = np.array([n[2] for n in notes], dtype=np.int64) % 12
    weight = np.array([n[3] for n in notes], dtype=np.float64)
    start = np.array([a for a, _ in slots], dtype=np.int64)[:, None]
    end = np.array([b for _, b in slots], dtype=np.int64)[:, None]
    overlap = np.maximum(0, np.minimum(stop, end) - np.maximum(onset, start))
    wrapped = stop - total  # the part of a note past the loop end, from bar 0
    overlap += np.where(
        (stop > total) & (start < wrapped), np.maximum(0, np.minimum(wrapped, end) - start), 0
    )
    onset_weight = _bar_weights(meter)[onset % meter.steps_per_bar]
    strength = np.where(onset >= start, onset_weight, 0.6)
    amount = np.where(overlap > 0, weight * overlap * (0.5 + strength), 0.0)
    tones = np.array([[pc in chord.tones for pc in range(12)] for chord in chords])
    member = tones[:, pitch_class]  # (chords, notes)
    signed = np.where(member[None, :, :], amount[:, None, :], -0.7 * amount[:, None, :])
    return np.add.accumulate(signed, axis=2)[:, :, -1]


def _motion(a: Chord, b: Chord) -> float:
    """Preference for moving from chord a to chord b."""
    step = (b.degree - a.degree) % 7
    if a.root == b.root:
        return 0.1
    return {3: 1.0, 1: 0.5, 5: 0.6, 4: 0.3, 6: 0.3, 2: 0.2}.get(step, 0.0)


def infer_progression(
    key: Key,
    meter: Meter,
    bars: int,
    *,
    melody: Evidence,
    harmony: Evidence,
    density: float,
    rng: np.random.Generator,
    fixed: dict[int, Chord] | None = None,
) -> Progression:
    """The loop's chords (see the module docstring); `fixed` holds chords some slots must
    take (by the slot's start step: a variant keeps its set's theme chords there)."""
    total = bars * meter.steps_per_bar
    slots = harmonic_slots(meter, bars, density)
    chords = diatonic_chords(key)
    notes = list(melody) + [(o, d, p, 2.0 * w) for o, d, p, w in harmony]
    scale_in_use = max((sum(d for _, d, _, _ in notes) / max(total, 1)), 1e-6)
    cadence = CADENCE_DEGREES[key.mode]
    fits = _slot_fits(chords, slots, notes, meter, total).tolist()
    local = np.zeros((len(slots), len(chords)))
    for s, (start, _) in enumerate(slots):
        for c, chord in enumerate(chords):
            fit = fits[s][c] / scale_in_use
            local[s, c] = fit + DEGREE_PRIOR[chord.degree] + rng.uniform(-NUDGE, NUDGE)
            if s == 0 and chord.degree == 0:
                local[s, c] += TONIC_BONUS
            if fixed and start in fixed and fixed[start] == chord:
                local[s, c] += 2 * CADENCE_FORCE
            if s == len(slots) - 1 and len(slots) > 1:
                for rank, degree in enumerate(cadence):
                    if chord.degree == degree and chord.root != chords[0].root:
                        local[s, c] += CADENCE_BONUS[rank] + CADENCE_FORCE
    # Viterbi over the slots; the wrap-round move (last -> first) counts too
    best = local[0].copy()
    back = np.zeros((len(slots), len(chords)), dtype=int)
    moves = np.array([[_motion(a, b) for b in chords] for a in chords])
    for s in range(1, len(slots)):
        candidates = best[:, None] + moves
        back[s] = candidates.argmax(axis=0)
        best = candidates.max(axis=0) + local[s]
    first_guess = int(local[0].argmax())
    wrap = np.array([_motion(c, chords[first_guess]) for c in chords])
    path = [int((best + wrap).argmax())]
    for s in range(len(slots) - 1, 0, -1):
        path.append(int(back[s][path[-1]]))
    path.reverse()
    spans = [ChordSpan(a, b, chords[c]) for (a, b), c in zip(slots, path, strict=True)]
    return Progression(tuple(_merge(spans)), total)


def _merge(spans: list[ChordSpan]) -> list[ChordSpan]:
    """Join neighbouring slots that hold the same chord."""
    merged: list[ChordSpan] = []
    for span in spans:
        if merged and merged[-1].chord == span.chord:
            merged[-1] = ChordSpan(merged[-1].start, span.end, span.chord)
        else:
            merged.append(span)
    return merged
