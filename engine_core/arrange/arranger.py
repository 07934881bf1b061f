"""From a tonic-C `Score` to an `Arrangement`: per-stem notes in the template's key.

Steps, per stem: move the score into the spec's key and mode (scale degrees of the
score's mode map onto the target mode's), write the stem's part for its role (melody,
counter-line, harmony, pad, arpeggio, bass, drums, percussion), fold it into the stem's
register, set velocities from the energy (and the intensity at which the stem joins),
then humanise: a seeded jitter of at most `HUMANISE_MS` on timing (never before the loop
start, never past the loop end) and of `HUMANISE_VELOCITY` on velocity. Same inputs and
seed, same arrangement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine_core.arrange.drums import drum_part
from engine_core.arrange.grooves import Groove
from engine_core.score import Score, ScoreNote
from engine_core.spec import GenerationSpec, Key, Meter, StemSpec

#: Largest timing jitter in milliseconds.
HUMANISE_MS = 4.0
#: Largest velocity jitter in MIDI velocity units.
HUMANISE_VELOCITY = 5

MODE_INTERVALS: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}

#: Energy implied by mood and texture tags when the spec leaves it open (mean of matches).
TAG_ENERGY: dict[str, float] = {
    "calm": 0.25, "peaceful": 0.2, "sad": 0.3, "melancholic": 0.3, "dreamy": 0.3,
    "nostalgic": 0.35, "mysterious": 0.4, "sparse": 0.3, "sustained": 0.35, "legato": 0.4,
    "happy": 0.6, "playful": 0.6, "flowing": 0.5, "tense": 0.65, "dark": 0.55,
    "ominous": 0.55, "heroic": 0.75, "triumphant": 0.8, "epic": 0.85, "driving": 0.8,
    "dense": 0.75, "staccato": 0.6, "aggressive": 0.9, "urgent": 0.9,
}  # fmt: skip


@dataclass(frozen=True)
class ArrangedNote:
    start_beats: float  # from the loop start, 0 <= start < loop length
    duration_beats: float  # may run past the loop end (it wraps round the seam)
    pitch: int
    velocity: int  # MIDI 1-127


@dataclass(frozen=True)
class ArrangedStem:
    stem: StemSpec
    notes: tuple[ArrangedNote, ...]
    groove: str | None = None  # the groove used by drum stems

    @property
    def is_drum(self) -> bool:
        return self.stem.is_drums


@dataclass(frozen=True)
class Arrangement:
    bpm: float
    meter: str
    key: str
    bars: int
    stems: tuple[ArrangedStem, ...]

    @property
    def meter_info(self) -> Meter:
        return Meter.parse(self.meter)

    @property
    def loop_beats(self) -> int:
        return self.bars * self.meter_info.beats_per_bar


def spec_energy(spec: GenerationSpec) -> float:
    """The spec's energy, or the mean energy its tags imply (0.5 without such tags)."""
    if spec.energy is not None:
        return spec.energy
    values = [TAG_ENERGY[t] for t in spec.tags if t in TAG_ENERGY]
    return float(np.mean(values)) if values else 0.5


def spec_density(spec: GenerationSpec) -> float:
    if spec.density is not None:
        return spec.density
    tags = set(spec.tags)
    return 0.7 if tags & {"dense", "driving", "urgent"} else 0.3 if "sparse" in tags else 0.5


def map_pitch(pitch: int, source_mode: str, key: Key) -> int:
    """A tonic-C pitch moved to `key`: scale degrees keep their function, accidentals ride."""
    source = MODE_INTERVALS.get(source_mode, MODE_INTERVALS["major"])
    target = MODE_INTERVALS[key.mode]
    pitch_class = pitch % 12
    degree = max(i for i, interval in enumerate(source) if interval <= pitch_class)
    shift = key.tonic if key.tonic <= 6 else key.tonic - 12
    return pitch - pitch_class + target[degree] + (pitch_class - source[degree]) + shift


def fold_into(pitch: int, low: int, high: int) -> int:
    while pitch < low:
        pitch += 12
    while pitch > high and pitch - 12 >= low:
        pitch -= 12
    return pitch


def fit_register(pitches: Sequence[int], low: int, high: int) -> list[int]:
    """Move a line by whole octaves so its median sits mid-register, then fold stragglers."""
    if not pitches:
        return []
    octaves = round(((low + high) / 2 - float(np.median(pitches))) / 12)
    return [fold_into(p + 12 * octaves, low, high) for p in pitches]


# A part note before humanisation: (onset step, duration steps, pitch, velocity 0-1).
PartNote = tuple[float, float, int, float]


class _Context:
    """The score moved to the key, with chord look-ups by grid span."""

    def __init__(self, score: Score, key: Key) -> None:
        self.score = score
        self.total = score.total_steps
        self.steps_per_beat = score.meter_info.steps_per_beat
        self.mapped: dict[str, list[tuple[int, int, int, float]]] = {}
        for track in ("melody", "harmony", "bass"):
            notes: Sequence[ScoreNote] = score.track(track)
            self.mapped[track] = sorted(
                (
                    score.onset_step(n),
                    max(1, n.duration_steps),
                    map_pitch(n.pitch, score.mode, key),
                    n.velocity,
                )
                for n in notes
            )

    def _spans(self, onset: int, duration: int) -> list[tuple[int, int]]:
        stop = onset + duration
        spans = [(onset, min(stop, self.total))]
        if stop > self.total:
            spans.append((0, stop - self.total))  # wraps round the seam
        return spans

    def sounding(self, tracks: Sequence[str], start: int, end: int) -> list[int]:
        """Pitches of `tracks` sounding in [start, end), wrap-round notes included."""
        found: list[int] = []
        for track in tracks:
            for onset, duration, pitch, _ in self.mapped[track]:
                if any(a < end and b > start for a, b in self._spans(onset, duration)):
                    found.append(pitch)
        return found

    def chord(self, start: int, end: int, size: int = 4) -> list[int]:
        """Up to `size` pitch classes of harmony and bass in a span, bass first.

        Pitch classes are ranked by how long they sound in the span (bass counts 1.5x);
        one a semitone from a better-ranked one is a passing note and is left out.
        """
        weights: dict[int, float] = {}
        lowest: tuple[int, int] | None = None  # (onset, pitch) of the first bass note
        for track, factor in (("bass", 1.5), ("harmony", 1.0)):
            for onset, duration, pitch, _ in self.mapped[track]:
                overlap = sum(
                    max(0, min(b, end) - max(a, start)) for a, b in self._spans(onset, duration)
                )
                if overlap <= 0:
                    continue
                weights[pitch % 12] = weights.get(pitch % 12, 0.0) + factor * overlap
                if track == "bass" and (lowest is None or (onset % self.total, pitch) < lowest):
                    lowest = (onset % self.total, pitch)
        ranked = sorted(weights, key=lambda pc: (-weights[pc], pc))
        if lowest is not None:
            ranked.remove(lowest[1] % 12)
            ranked.insert(0, lowest[1] % 12)
        chosen: list[int] = []
        for pc in ranked:
            if all(min((pc - c) % 12, (c - pc) % 12) > 1 for c in chosen):
                chosen.append(pc)
            if len(chosen) == size:
                break
        return chosen


def _track_part(context: _Context, track: str, stem: StemSpec) -> list[PartNote]:
    notes = context.mapped[track]
    low, high = stem.register
    fitted = fit_register([p for _, _, p, _ in notes], low, high)
    part = {
        (o, p): (float(o), float(d), p, v) for (o, d, _, v), p in zip(notes, fitted, strict=True)
    }
    return list(part.values())


def _slots(context: _Context, length: int) -> list[tuple[int, int]]:
    return [(s, min(s + length, context.total)) for s in range(0, context.total, length)]


def _nearest(pitch_class: int, target: float, low: int, high: int) -> int:
    options = [p for p in range(low, high + 1) if p % 12 == pitch_class]
    if not options:
        return fold_into(pitch_class + 12 * round(target / 12), low, high)
    return min(options, key=lambda p: (abs(p - target), p))


def _pad_part(context: _Context, stem: StemSpec, density: float) -> list[PartNote]:
    low, high = stem.register
    bar = context.score.steps_per_bar
    length = bar // 2 if density >= 0.6 and bar % 2 == 0 else bar
    centre = low + (high - low) * 0.4
    part: list[PartNote] = []
    for start, end in _slots(context, length):
        pcs = context.chord(start, end)
        voicing = sorted({_nearest(pc, centre, low, high) for pc in pcs})
        if voicing:
            centre = 0.5 * centre + 0.5 * float(np.mean(voicing))
        part.extend((float(start), float(end - start), p, 0.6) for p in voicing)
    return part


def _arp_part(context: _Context, stem: StemSpec, density: float) -> list[PartNote]:
    low, high = stem.register
    rate = 1 if density >= 0.6 else 2
    centre = low + (high - low) * 0.35
    part: list[PartNote] = []
    for start, end in _slots(context, context.steps_per_beat):
        pcs = context.chord(start, end)
        tones = sorted({_nearest(pc, centre, low, high) for pc in pcs})
        if not tones:
            continue
        for index, step in enumerate(range(start, end, rate)):
            accent = 0.75 if step == start else 0.6
            part.append((float(step), float(rate), tones[index % len(tones)], accent))
    return part


def _counter_part(context: _Context, stem: StemSpec) -> list[PartNote]:
    low, high = stem.register
    preference = (4, 3, 8, 9, 5, 7)  # thirds, sixths, then fourth/fifth below the tune
    lines: list[tuple[int, int]] = []
    for start, end in _slots(context, context.steps_per_beat):
        tune = context.sounding(("melody",), start, start + 1)
        pcs = context.chord(start, end)
        if not tune or not pcs:
            continue
        top = max(tune)
        below = [top - i for i in preference if (top - i) % 12 in pcs]
        if below:
            lines.append((start, below[0]))
    fitted = fit_register([p for _, p in lines], low, high)
    part: list[PartNote] = []
    for (start, _), pitch in zip(lines, fitted, strict=True):
        if part and part[-1][2] == pitch and part[-1][0] + part[-1][1] == start:
            onset, duration, _, velocity = part[-1]
            part[-1] = (onset, duration + context.steps_per_beat, pitch, velocity)
        else:
            part.append((float(start), float(context.steps_per_beat), pitch, 0.65))
    return part


def _bass_part(context: _Context, stem: StemSpec) -> list[PartNote]:
    if context.mapped["bass"]:
        return _track_part(context, "bass", stem)
    bar = context.score.steps_per_bar
    roots = [(s, e, context.chord(s, e)) for s, e in _slots(context, bar)]
    lines = [(s, e, pcs[0]) for s, e, pcs in roots if pcs]
    fitted = fit_register([pc + 36 for _, _, pc in lines], *stem.register)
    return [(float(s), float(e - s), p, 0.75) for (s, e, _), p in zip(lines, fitted, strict=True)]


def _humanise(
    part: Sequence[PartNote],
    *,
    context: _Context,
    bpm: float,
    energy: float,
    entry_intensity: float,
    rng: np.random.Generator,
) -> tuple[ArrangedNote, ...]:
    steps_per_beat = context.steps_per_beat
    loop_beats = context.total / steps_per_beat
    jitter_beats = HUMANISE_MS / 1000.0 * bpm / 60.0
    # Louder with energy; layers that join at high intensity play a little harder.
    loudness = (0.55 + 0.45 * energy) * (1.0 + 0.15 * entry_intensity)
    notes: list[ArrangedNote] = []
    for onset, duration, pitch, velocity in sorted(part):
        start = onset / steps_per_beat + float(rng.uniform(-jitter_beats, jitter_beats))
        start = min(max(start, 0.0), loop_beats - jitter_beats)
        midi_velocity = round(127 * velocity * loudness) + int(
            rng.integers(-HUMANISE_VELOCITY, HUMANISE_VELOCITY + 1)
        )
        notes.append(
            ArrangedNote(
                start_beats=start,
                duration_beats=max(duration / steps_per_beat * 0.98, 0.05),
                pitch=int(pitch),
                velocity=int(np.clip(midi_velocity, 1, 127)),
            )
        )
    return _untangle(notes, loop_beats)


def _untangle(notes: Sequence[ArrangedNote], loop_beats: float) -> tuple[ArrangedNote, ...]:
    """End each note before the next onset of its pitch (round the seam too)."""
    by_pitch: dict[int, list[ArrangedNote]] = {}
    for note in notes:
        by_pitch.setdefault(note.pitch, []).append(note)
    result: list[ArrangedNote] = []
    for same in by_pitch.values():
        same.sort(key=lambda n: n.start_beats)
        for index, note in enumerate(same):
            following = same[(index + 1) % len(same)].start_beats
            if index + 1 == len(same):
                following += loop_beats
            room = following - note.start_beats - 1e-3
            if room <= 0:
                continue  # a duplicate onset of the same pitch
            duration = min(note.duration_beats, room)
            result.append(ArrangedNote(note.start_beats, duration, note.pitch, note.velocity))
    return tuple(sorted(result, key=lambda n: (n.start_beats, n.pitch)))


def arrange(
    score: Score,
    spec: GenerationSpec,
    *,
    seed: int,
    variant_index: int = 0,
    grooves: Sequence[Groove] | None = None,
) -> Arrangement:
    """Arrange `score` for the stems of `spec`; deterministic for (score, spec, seed, index)."""
    from engine_core.arrange.grooves import load_library

    library = tuple(grooves) if grooves is not None else load_library()
    key = spec.key_info
    context = _Context(score, key)
    energy = spec_energy(spec)
    density = spec_density(spec)
    stems: list[ArrangedStem] = []
    for stem_index, stem in enumerate(spec.stems):
        groove: str | None = None
        if stem.role in ("melody", "harmony"):
            part = _track_part(context, stem.role, stem)
        elif stem.role == "bass":
            part = _bass_part(context, stem)
        elif stem.role == "pad":
            part = _pad_part(context, stem, density)
        elif stem.role == "arp":
            part = _arp_part(context, stem, density)
        elif stem.role == "counter":
            part = _counter_part(context, stem)
        else:  # drums, percussion, pitched percussion: engine_core/arrange/drums.py
            drums = drum_part(
                spec,
                stem,
                library=library,
                energy=energy,
                seed=seed,
                variant_index=variant_index,
                stem_index=stem_index,
                chord_tones=context.chord,
            )
            part, groove = list(drums.notes), drums.groove
        rng = np.random.default_rng([seed & 0xFFFFFFFF, variant_index, stem_index])
        notes = _humanise(
            part,
            context=context,
            bpm=spec.bpm,
            energy=energy,
            entry_intensity=stem.intensity[0],
            rng=rng,
        )
        stems.append(ArrangedStem(stem, notes, groove))
    return Arrangement(spec.bpm, spec.meter, spec.key, spec.bars, tuple(stems))
