"""A walking bass: a note on every beat, from chord root to chord root by steps and chord tones.

The line a jazz, swing, saloon or noir bassist plays (a stem with `pattern = "walking"`,
or "walking bass" in a prompt). Every pulse of the meter gets a note (the beat; the dotted
quarter in 6/8 and 12/8; the 2+2+3 group in 7/8). Within each chord:

- the first pulse plays the root, taken near the note before (kept in the lower part of
  the register, never over an octave from the note before);
- the last pulse before the next chord approaches that chord's root from a semitone below
  or above (chromatic) or from the scale step next to it (diatonic), from the side the
  line comes from; under a chord that does not change, the fifth or a scale step leads
  back;
- the pulses between walk toward that approach note, each the chord tone or scale tone
  nearest the straight path there (a chord tone preferred on the bar's strong beats), never
  repeating the note before; when root and target lie close, the line arcs up through the
  chord's third and fifth and comes back down.

The set shares where chromatic and diatonic approaches fall (a choice per chord, tied to
its place in the loop); later variants swap the kind of approach in some bars.
"""

from __future__ import annotations

from engine_core.arrange.accents import accented
from engine_core.arrange.bassline import ROOT_REACH, _within_octave
from engine_core.arrange.choices import Choices
from engine_core.arrange.harmony import Chord, scale_of
from engine_core.arrange.material import Material
from engine_core.arrange.restrikes import pulses
from engine_core.arrange.voicing import nearest
from engine_core.spec import StemSpec

#: when root and target lie within this many semitones, the line arcs up and back
ARC_BELOW = 3
#: how far up the arc goes: a fifth with two notes or more between, a third with one
ARC = 7
SHORT_ARC = 4
#: a walking bass is played legato but each note is plucked: this much of the gap sounds
LEGATO = 0.95


def _root(chord: Chord, previous: float, home: float, low: int, high: int) -> int:
    """The chord's root near `previous`, low in the register, within an octave of it."""
    root = nearest(chord.root, previous, low, high)
    if root > home + ROOT_REACH and root - 12 >= low:
        root -= 12
    if root < low:
        root += 12
    return _within_octave(root, previous, low, high)


def _approach(
    target: int, previous: int, scale: tuple[int, ...], chromatic: bool, *, flip: bool = False
) -> int:
    """The note before `target`, from the side of `previous` (from below when equal; from
    the other side when `flip`): a semitone away when `chromatic`, else the scale step."""
    direction = -1 if target >= previous else 1
    if flip:
        direction = -direction
    if chromatic:
        return target + direction
    pitch = target + direction
    while pitch % 12 not in scale:
        pitch += direction
    return pitch


def _lead_in(target: int, root: int, scale: tuple[int, ...], chromatic: bool) -> int | None:
    """The approach to `target` after `root`: the chosen kind from the side the line comes
    from, else the other kind, else from the other side; None if each is `root` itself
    (roots a semitone apart leave no note between)."""
    for kind, flip in ((chromatic, False), (not chromatic, False), (chromatic, True),
                       (not chromatic, True)):  # fmt: skip
        pitch = _approach(target, root, scale, kind, flip=flip)
        if pitch != root:
            return pitch
    return None


def _walk(
    start: int, goal: int, count: int, chord: Chord, scale: tuple[int, ...], strong: list[bool]
) -> list[int]:
    """The `count` notes between `start` and `goal` (both excluded): on the straight path (or
    the arc), chord tones on strong beats, else chord or scale tones, no note repeated."""
    notes: list[int] = []
    previous = start
    arc = abs(goal - start) <= ARC_BELOW
    height = ARC if count >= 2 else SHORT_ARC
    for index in range(count):
        share = (index + 1) / (count + 1)
        if arc:  # up through the chord and back down
            ideal = start + height * (1 - abs(2 * share - 1)) + (goal - start) * share
        else:
            ideal = start + (goal - start) * share
        classes = chord.tones if strong[index] else tuple(set(scale) | set(chord.tones))
        options = [
            p
            for p in range(round(ideal) - 6, round(ideal) + 7)
            if p % 12 in classes and p != previous and p != goal
        ]
        pitch = min(options, key=lambda p, i=ideal: (abs(p - i), p)) if options else previous
        notes.append(pitch)
        previous = pitch
    return notes


def walking_part(material: Material, stem: StemSpec, choices: Choices):
    """(onset step, duration steps, pitch, velocity) notes of a walking bass."""
    meter = material.meter
    bar = meter.steps_per_bar
    low, high = stem.register
    home = low + (high - low) * 0.35
    scale = scale_of(material.key)
    progression = material.progression
    total = material.total
    inside = pulses(meter)
    onsets = [b + p for b in range(0, total, bar) for p in inside]
    swaps = choices.alternate_bars(material.bars)

    # the pulses under each chord in each bar, in time order
    runs: list[list[int]] = []
    for onset in onsets:
        span = progression.at(onset)
        if runs and onset % bar != 0 and progression.at(runs[-1][0]) == span:
            runs[-1].append(onset)
        else:
            runs.append([onset])

    notes: list[tuple[float, float, int, float]] = []
    previous: float = home
    for index, run in enumerate(runs):
        chord = progression.at(run[0]).chord
        following = progression.at(runs[(index + 1) % len(runs)][0]).chord
        root = _root(chord, previous, home, low, high)
        pitches = [root]
        if len(run) > 1:
            target = _root(following, root, home, low, high)
            chromatic = choices.pick_at(2, run[0]) == 0
            if swaps[(run[-1] // bar) % material.bars]:
                chromatic = not chromatic
            if following == chord:  # no change: lead back through the fifth or a step
                fifth = nearest(chord.fifth, root + 5, low, high)
                last = fifth if chromatic else _approach(target, root + 3, scale, False)
            else:
                last = _lead_in(target, root, scale, chromatic) or root
            if last == root:
                last = nearest(chord.fifth, root + 5, low, high)
            strong = [(o % bar) in meter.group_starts for o in run[1:-1]]
            pitches += [*_walk(root, last, len(run) - 2, chord, scale, strong), last]
        for onset, pitch in zip(run, pitches, strict=True):
            pitch = max(low, min(high, pitch))
            step = onsets.index(onset)
            following_onset = onsets[step + 1] if step + 1 < len(onsets) else total + onsets[0]
            length = (following_onset - onset) * LEGATO
            velocity = accented("bass", onset, meter, material.bars)
            notes.append((float(onset), float(length), int(pitch), velocity))
            previous = pitch
    return notes
