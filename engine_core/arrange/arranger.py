"""From a tonic-C `Score` to an `Arrangement`: per-stem notes in the template's key.

Steps: a later variant of a set takes the set's theme (variant 0's score) in some bars
(`theme`); move the score into the spec's key and mode (scale degrees of the score's mode map
onto the target mode's); build the material every role plays from (`material`: the melody
after the singable pass, the chord progression read from the score or inferred over the
melody); write each stem's part for its role (`melody` line, `counter`, harmony comping or
the score's harmony track, `pads`, arp `figures`, `bassline`, drums and percussion from
the groove library) with metric accents, phrase arcs and articulation (`accents`); bridge
accidental holes (`holes`); set velocities from the energy (and the intensity at which the
stem joins), then humanise: a seeded jitter of at most `HUMANISE_MS` on timing (never
before the loop start, never past the loop end) and of `HUMANISE_VELOCITY` on velocity.
Same inputs and seed, same arrangement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from engine_core.arrange.accents import accented, legato
from engine_core.arrange.bassline import bass_part
from engine_core.arrange.choices import Choices
from engine_core.arrange.counter import counter_part
from engine_core.arrange.drone import drone_part
from engine_core.arrange.drums import drum_part
from engine_core.arrange.figures import arp_part, comping_part
from engine_core.arrange.grooves import Groove
from engine_core.arrange.harmony import MODE_INTERVALS, Chord, harmonic_slots
from engine_core.arrange.holes import SPACE_TAG, fill_holes, gaps
from engine_core.arrange.material import Material, build_material
from engine_core.arrange.melody_line import hold_inner_rests
from engine_core.arrange.motif_parts import bass_with_quotes, keep_quotes_whole
from engine_core.arrange.pads import pad_part
from engine_core.arrange.restrikes import plucked, restruck
from engine_core.arrange.theme import theme_bars, with_theme
from engine_core.arrange.walking import walking_part
from engine_core.score import Score, ScoreNote
from engine_core.spec import GenerationSpec, Key, Meter, StemSpec

#: Largest timing jitter in milliseconds.
HUMANISE_MS = 4.0
#: Largest velocity jitter in MIDI velocity units.
HUMANISE_VELOCITY = 5
#: Themes whose material is kept (`_theme`): a few sets arranged side by side.
THEMES_KEPT = 8


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


@lru_cache(maxsize=4096, typed=True)
def map_pitch(pitch: int, source_mode: str, key: Key) -> int:
    """A tonic-C pitch moved to `key`: scale degrees keep their function, accidentals ride
    (kept per pitch, mode and key: a score repeats a few dozen pitches)."""
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


def fit_register(
    pitches: Sequence[int], low: int, high: int, reference: Sequence[int] = ()
) -> list[int]:
    """Move a line by whole octaves so its median (or `reference`'s: the set's theme, so
    every variant takes the same octave, unless that leaves clearly more of the line, over a
    sixth of it, outside the register) sits mid-register, then fold stragglers."""
    if not pitches:
        return []

    def shift(centre: float) -> int:
        return round(((low + high) / 2 - centre) / 12)

    def outside(octaves: int) -> int:
        return sum(1 for p in pitches if not low <= p + 12 * octaves <= high)

    octaves = shift(float(np.median(pitches)))
    if len(reference):  # the theme's octave, unless it folds more of this line's notes
        theirs = shift(float(np.median(reference)))
        if outside(theirs) <= outside(octaves) + max(2, len(pitches) // 6):
            octaves = theirs
    return [fold_into(p + 12 * octaves, low, high) for p in pitches]


# A part note before humanisation: (onset step, duration steps, pitch, velocity 0-1).
PartNote = tuple[float, float, int, float]


class _Context:
    """The score moved to the key, with chord look-ups by grid span."""

    def __init__(self, score: Score, key: Key) -> None:
        self.score = score
        self.total = score.total_steps
        self.steps_per_beat = score.meter_info.steps_per_beat
        self.material: Material | None = None  # set by `arrange` (chords, melody line)
        # the set's theme per track: every variant's lines take the theme's octave
        self.reference: dict[str, Sequence[tuple[int, int, int, float]]] = {}
        self.mapped: dict[str, list[tuple[int, int, int, float]]] = {}
        steps_per_bar = score.steps_per_bar
        for track in ("melody", "harmony", "bass"):
            notes: Sequence[ScoreNote] = score.track(track)
            self.mapped[track] = sorted(
                (
                    n.bar * steps_per_bar + n.step,  # score.onset_step(n)
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
    reference = [p for _, _, p, _ in context.reference.get(track, ())]
    fitted = fit_register([p for _, _, p, _ in notes], low, high, reference)
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


#: a harmony track the model wrote is played as written when it sounds in this share of bars
HARMONY_COVERAGE = 0.75
#: roles written by `drums.drum_part` (timpani too: a pitched percussion stem)
DRUM_ROLES = ("drums", "percussion")


def _progression_tones(material: Material | None):  # -> drums.ChordTones | None
    """The chord sounding at a grid span, root first, from the loop's progression."""
    if material is None:
        return None
    progression = material.progression

    def tones(start: int, end: int) -> list[int]:
        return list(progression.at(start).chord.tones)

    return tones


def _fit_line(
    pitches: Sequence[int], low: int, high: int, reference: Sequence[int] = ()
) -> list[int]:
    """The line inside [low, high]: `fit_register`'s octave for the line (the theme's when
    it has one), then, where notes must move, the octaves chosen for the whole line at once
    (`_octave_path`: fewest places where an interval changes, at leaps rather than steps,
    none over an octave), and a note left a seventh or more from both neighbours becomes
    the line's nearest pitch class inside the register instead."""
    fitted = fit_register(pitches, low, high, reference)
    moves = Counter(f - p for f, p in zip(fitted, pitches, strict=True))
    shift = moves.most_common(1)[0][0] if moves else 0  # the whole line's octave move
    if any(f != p + shift for f, p in zip(fitted, pitches, strict=True)):
        fitted = _octave_path(pitches, shift, low, high)
    classes = {p % 12 for p in pitches}
    for i, pitch in enumerate(fitted):
        wanted = pitches[i] + shift
        if pitch == wanted or low <= wanted <= high:
            continue  # not folded
        neighbours = [fitted[j] for j in (i - 1, i + 1) if 0 <= j < len(fitted)]
        if neighbours and all(abs(pitch - n) >= 10 for n in neighbours):
            options = [q for q in range(low, high + 1) if q % 12 in classes]
            if options:
                fitted[i] = min(options, key=lambda q: (abs(q - wanted), q))
    return fitted


def _octave_path(pitches: Sequence[int], shift: int, low: int, high: int) -> list[int]:
    """Each note's octave inside [low, high] (cheapest path, Viterbi): a note off the
    line's octave `shift` costs 0.3; an interval that changes costs 1 at a skip or leap,
    3 at a step or repeat; one wider than an octave 10."""
    options = []
    for pitch in pitches:
        here = [pitch + 12 * k for k in range(-4, 5) if low <= pitch + 12 * k <= high]
        options.append(here or [fold_into(pitch + shift, low, high)])
    costs = [0.0 if o == pitches[0] + shift else 0.3 for o in options[0]]
    back: list[list[int]] = []
    for i in range(1, len(pitches)):
        written = pitches[i] - pitches[i - 1]
        changed = 3.0 if abs(written) <= 2 else 1.0
        row, links = [], []
        for option in options[i]:
            best, link = None, 0
            for j, before in enumerate(options[i - 1]):
                move = option - before
                cost = costs[j] + (changed if move != written else 0.0)
                cost += 10.0 if abs(move) > 12 else 0.0
                if best is None or cost < best:
                    best, link = cost, j
            row.append(best + (0.0 if option == pitches[i] + shift else 0.3))
            links.append(link)
        costs, back = row, [*back, links]
    index = min(range(len(costs)), key=costs.__getitem__)
    path = [options[-1][index]]
    for i in range(len(pitches) - 1, 0, -1):
        index = back[i - 1][index]
        path.append(options[i - 1][index])
    return path[::-1]


def _melody_part(
    material: Material, stem: StemSpec, reference: Sequence[int] = (), answered: bool = False
) -> list[PartNote]:
    line = sorted(material.melody)
    low, high = stem.register
    fitted = _fit_line([p for _, _, p, _ in line], low, high, reference)
    quotes = [q for q in material.motif_quotes if q.track == "melody"]
    fitted = keep_quotes_whole(line, fitted, quotes, low, high)
    meter = material.meter
    part = [
        (float(o), float(d), p, accented("melody", o, meter, material.bars))
        for (o, d, _, _), p in zip(line, fitted, strict=True)
    ]
    beat = meter.steps_per_beat
    if not answered:  # no counter-line answers its rests: a long one inside a phrase is a gap
        part = hold_inner_rests(part, meter, material.total)
    return legato(part, material.total, beat / 2, clipped=(2.0, float(beat)))


def _harmony_covers(context: _Context) -> bool:
    bar = context.score.steps_per_bar
    bars = {o // bar for o, _, _, _ in context.mapped["harmony"]}
    return len(bars) >= HARMONY_COVERAGE * context.score.bars


def _harmony_part(
    context: _Context, material: Material, stem: StemSpec, choices: Choices
) -> list[PartNote]:
    """The score's harmony track when the model wrote one, else comping on the chords;
    a plucked or struck instrument strikes held chords again on the beat (`restrikes`)."""
    meter = material.meter
    if not _harmony_covers(context):
        part = comping_part(material, stem, choices)
    else:
        part = [
            (o, d, p, accented("harmony", o, meter, material.bars))
            for o, d, p, _ in _track_part(context, "harmony", stem)
        ]
        part += _comping_in_gaps(part, material, stem, choices)
    return restruck(part, meter, material.bars) if plucked(stem.program) else part


#: a pause of the score's harmony track this long (beats) is filled by comping
HARMONY_PAUSE_BEATS = 2


def _comping_in_gaps(
    part: Sequence[PartNote], material: Material, stem: StemSpec, choices: Choices
) -> list[PartNote]:
    """Comping chords (cut at the pause's end) wherever the score's harmony track pauses
    for `HARMONY_PAUSE_BEATS` beats or more: a left hand that stops for bars is a hole."""
    beat = material.meter.steps_per_beat
    found = [g for g in gaps([part], material.total) if g[1] >= HARMONY_PAUSE_BEATS * beat]
    added: list[PartNote] = []
    for onset, duration, pitch, velocity in comping_part(material, stem, choices):
        for start, length in found:
            inside = (onset - start) % material.total
            if inside < length:
                added.append((onset, min(duration, length - inside), pitch, velocity))
    return added


def _pitched_part(
    context: _Context, material: Material, stem: StemSpec, choices: Choices, answered: bool = False
) -> list[PartNote]:
    if stem.role == "melody":
        reference = [p for _, _, p, _ in context.reference.get("melody", ())]
        return _melody_part(material, stem, reference, answered)
    if stem.role == "harmony":
        return _harmony_part(context, material, stem, choices)
    if stem.role == "bass":
        named = {"walking": walking_part, "drone": drone_part}.get(stem.pattern or "", bass_part)
        part = named(material, stem, choices)
        quotes = [q for q in material.motif_quotes if q.track == "bass"]
        if quotes:
            return bass_with_quotes(part, context.mapped["bass"], quotes, stem.register)
        return part
    if stem.role == "pad":
        if stem.pattern == "drone":
            return drone_part(material, stem, choices)
        return pad_part(material, stem, choices)
    if stem.role == "arp":
        return arp_part(material, stem, choices)
    return counter_part(material, stem, choices)


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
    latest = loop_beats - jitter_beats
    # Louder with energy; layers that join at high intensity play a little harder.
    loudness = (0.55 + 0.45 * energy) * (1.0 + 0.15 * entry_intensity)
    uniform, integers = rng.uniform, rng.integers  # drawn note by note, in this order
    notes: list[_Timed] = []
    for onset, duration, pitch, velocity in sorted(part):
        start = onset / steps_per_beat + float(uniform(-jitter_beats, jitter_beats))
        start = min(max(start, 0.0), latest)
        midi_velocity = round(127 * velocity * loudness) + int(
            integers(-HUMANISE_VELOCITY, HUMANISE_VELOCITY + 1)
        )
        length = max(duration / steps_per_beat * 0.98, 0.05)
        notes.append((start, length, int(pitch), min(max(midi_velocity, 1), 127)))
    return _untangle(notes, loop_beats)


#: A humanised note before untangling: (start beats, duration beats, pitch, velocity).
_Timed = tuple[float, float, int, int]


def _untangle(notes: Sequence[_Timed], loop_beats: float) -> tuple[ArrangedNote, ...]:
    """End each note before the next onset of its pitch (round the seam too)."""
    by_pitch: dict[int, list[_Timed]] = {}
    for note in notes:
        by_pitch.setdefault(note[2], []).append(note)
    result: list[_Timed] = []
    for same in by_pitch.values():
        same.sort(key=_start_of)
        following = [n[0] for n in same[1:]] + [same[0][0] + loop_beats]
        for (start, duration, pitch, velocity), after in zip(same, following, strict=True):
            room = after - start - 1e-3
            if room <= 0:
                continue  # a duplicate onset of the same pitch
            result.append((start, min(duration, room), pitch, velocity))
    result.sort(key=_start_and_pitch)
    return tuple(ArrangedNote(*note) for note in result)


def _start_of(note: _Timed) -> float:
    return note[0]


def _start_and_pitch(note: _Timed) -> tuple[float, int]:
    return note[0], note[2]


def _material(
    context: _Context,
    key: Key,
    energy: float,
    density: float,
    seed: int,
    fixed: dict[int, Chord] | None = None,
) -> Material:
    """What the roles of `context`'s score play from (`material.build_material`), with the
    set's generator for the chords' tie-breaks."""
    return build_material(
        key,
        context.score.meter_info,
        context.score.bars,
        melody=context.mapped["melody"],
        harmony=context.mapped["harmony"],
        bass=context.mapped["bass"],
        energy=energy,
        density=density,
        rng=np.random.default_rng([seed & 0xFFFFFFFF, 7919]),  # the set's
        fixed_chords=fixed,
        motif_quotes=context.score.motif_quotes,
    )


@lru_cache(maxsize=THEMES_KEPT, typed=True)
def _theme(
    score: Score, key: Key, energy: float, density: float, seed: int
) -> tuple[Material, tuple[tuple[int, int, int, float], ...]]:
    """A score's own material (no fixed chords) and its harmony track in the key.

    A pure function of its arguments (the chords' generator is seeded here), kept for
    the last few scores: every variant of a set asks for its theme's (variant 0's score,
    which variant 0 plays whole), so a set builds it once rather than once per variant.
    """
    context = _Context(score, key)
    return _material(context, key, energy, density, seed), tuple(context.mapped["harmony"])


def arrange(
    score: Score,
    spec: GenerationSpec,
    *,
    seed: int,
    variant_index: int = 0,
    grooves: Sequence[Groove] | None = None,
    theme: Score | None = None,
) -> Arrangement:
    """Arrange `score` for the stems of `spec`; deterministic for (score, spec, seed, index).

    `theme` is the set's centre (variant 0's score): a later variant plays its bars in some
    bars (`theme.theme_bars`), so the variants of a set stay one piece.
    """
    from engine_core.arrange.grooves import load_library

    library = tuple(grooves) if grooves is not None else load_library()
    shared = theme_bars(score.bars, variance=spec.variance, seed=seed, variant_index=variant_index)
    themed = with_theme(score, theme, shared)
    key = spec.key_info
    energy = spec_energy(spec)
    density = spec_density(spec)

    fixed = None
    reference: dict[str, Sequence[tuple[int, int, int, float]]] = {}
    if themed is not score and theme is not None:  # the theme's chords in its bars
        theme_material, theme_harmony = _theme(theme, key, energy, density, seed)
        progression = theme_material.progression
        reference = {"melody": theme_material.melody, "harmony": theme_harmony}
        bar = score.steps_per_bar
        fixed = {
            start: progression.at(start).chord
            for start, _ in harmonic_slots(score.meter_info, score.bars, density)
            if shared[start // bar]
        }
    score = themed
    context = _Context(score, key)
    if fixed is None:  # the score's own chords: the theme's material when it is the theme
        context.material = _theme(score, key, energy, density, seed)[0]
    else:
        context.material = _material(context, key, energy, density, seed, fixed)
    context.reference = reference
    parts: dict[int, list[PartNote]] = {}
    grooves_used: dict[int, str] = {}
    for stem_index, stem in enumerate(spec.stems):
        if stem.role not in DRUM_ROLES:
            choices = Choices.of(seed, variant_index, stem_index, spec.variance)
            answered = any(s.role == "counter" for s in spec.stems)
            part = _pitched_part(context, context.material, stem, choices, answered)
        else:  # drums, percussion, pitched percussion: engine_core/arrange/drums.py
            drums = drum_part(
                spec,
                stem,
                library=library,
                energy=energy,
                seed=seed,
                variant_index=variant_index,
                stem_index=stem_index,
                chord_tones=_progression_tones(context.material),
            )
            part = list(drums.notes)
            grooves_used[stem_index] = drums.groove
        parts[stem_index] = part
    if SPACE_TAG not in spec.tags:
        pitched = {i: p for i, p in parts.items() if spec.stems[i].role not in DRUM_ROLES}
        roles = {i: spec.stems[i].role for i in pitched}
        fill_holes(pitched, roles, context.total, context.steps_per_beat)
        parts.update(pitched)
    stems: list[ArrangedStem] = []
    for stem_index, stem in enumerate(spec.stems):
        groove = grooves_used.get(stem_index)
        rng = np.random.default_rng([seed & 0xFFFFFFFF, variant_index, stem_index])
        notes = _humanise(
            parts[stem_index],
            context=context,
            bpm=spec.bpm,
            energy=energy,
            entry_intensity=stem.intensity[0],
            rng=rng,
        )
        stems.append(ArrangedStem(stem, notes, groove))
    return Arrangement(spec.bpm, spec.meter, spec.key, spec.bars, tuple(stems))
