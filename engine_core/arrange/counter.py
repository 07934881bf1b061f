"""Counter-lines: answer the melody in its rests, sustain quietly under (or over) it.

Where the melody rests for half a beat or more, the counter-line answers: a short run of
notes at the melody's own pulse, starting on a chord tone near its last note and moving by
scale steps against the direction the melody last moved, landing on a chord tone. Where the
melody sounds, it holds a chord tone per half bar (a bar in 3/4): the nearest to its
previous note that moves, is not the melody's pitch class and is a third or sixth from it
where possible, so the two lines do not compete. The set shares where answers start (a
choice per rest, tied to its place in the loop) and the line starts each 4-bar phrase from
the same pitch, so variants play the same counter-line where the melody is the same; later
variants start some answers from another chord tone and, in alternative bars without an answer
(the melody never rests), hold the next nearest chord tone under the melody.

The line keeps to the instrument's comfortable range inside the stem's register
(`ranges.comfortable_range`: a tin whistle's second octave is left alone) and is written in
one pass in time order, so answers and held notes lead into each other: a held note takes
the chord tone cheapest to reach (a step before a skip, a kept note tied over rather than
struck again, a pull back once it roams `ROAM` semitones from home, a third or sixth from the
melody preferred), and an answer whose chord tone lies a skip away sets off a scale step
toward it. So the line moves mostly by steps and skips, never leaps over an octave and
does not climb out of the range over a loop.
"""

from __future__ import annotations

import numpy as np

from engine_core.arrange.accents import accented
from engine_core.arrange.choices import Choices
from engine_core.arrange.harmony import scale_of
from engine_core.arrange.material import Material
from engine_core.arrange.ranges import comfortable_range
from engine_core.arrange.voicing import nearest
from engine_core.spec import StemSpec

HELD_WEIGHT = 1.0
#: the line starts afresh (from the set's home pitch) every phrase of this many bars
PHRASE_BARS = 4
ANSWER_WEIGHT = 0.92
#: the line roams this many semitones round its home freely; further costs `PULL` a semitone
ROAM = 4
PULL = 1.5
#: an answer's first note lies at most this far from the note before (else the nearest tone)
LARGEST_MOVE = 4
#: a held note that keeps the note before costs this (a step is cheaper, a leap dearer)
HOLD = 2.5
#: ... plus this for every segment the note has already been held
HOLD_GROWTH = 1.5
#: a held note that is not a third or sixth from the melody costs this
APART = 1.5
#: the widest move a variant's alternative held note may make
SKIP = 4


def _rests(sounding: np.ndarray, minimum: int) -> list[tuple[int, int]]:
    """Runs of silent steps of at least `minimum`, wrap-round runs split at the seam."""
    runs, start = [], None
    for step, busy in enumerate([*list(sounding), True]):
        if not busy and start is None:
            start = step
        elif busy and start is not None:
            if step - start >= minimum:
                runs.append((start, step))
            start = None
    return runs


def _scale_walk(start: int, direction: int, count: int, scale: tuple[int, ...]) -> list[int]:
    pitches, pitch = [start], start
    for _ in range(count - 1):
        pitch += direction
        while pitch % 12 not in scale:
            pitch += direction
        pitches.append(pitch)
    return pitches


def _pull(pitch: int, home: float) -> float:
    """Cost of sitting away from the line's home: nothing within `ROAM` semitones."""
    return PULL * max(0.0, abs(pitch - home) - ROAM)


def _tone_near(
    tones: tuple[int, ...], previous: float, home: float, low: int, high: int
) -> list[int]:
    """The chord's tones inside [low, high] nearest `previous`, cheapest first (distance
    plus the pull home)."""
    pitches = {nearest(pc, previous, low, high) for pc in tones}
    return sorted(pitches, key=lambda p: (abs(p - previous) + _pull(p, home), p))


def _held_choices(
    tones: tuple[int, ...],
    tune: int | None,
    previous: float,
    home: float,
    low: int,
    high: int,
    kept: int = 0,
) -> list[int]:
    """The chord tones a held note may take, cheapest first: the move from the note before
    (a step is cheapest; holding the same note costs `HOLD`, more for each segment it has
    already been `kept`, so the line does not turn into a drone), the pull home, and `APART`
    unless a third or sixth from the melody; never the melody's pitch class if avoidable."""
    classes = [pc for pc in tones if tune is None or pc != tune % 12] or list(tones)
    pitches = {nearest(pc, previous, low, high) for pc in classes}
    for pc in classes:  # the octave on the other side too, so a step down can win
        for pitch in (nearest(pc, previous - 6, low, high), nearest(pc, previous + 6, low, high)):
            pitches.add(pitch)

    def cost(pitch: int) -> float:
        move = abs(pitch - previous)
        apart = 0.0 if tune is None or (tune - pitch) % 12 in (3, 4, 8, 9) else APART
        hold = HOLD + HOLD_GROWTH * kept if move == 0 else 0.0
        return move + hold + _pull(pitch, home) + apart

    return sorted(pitches, key=lambda p: (cost(p), p))


def _events(
    rests: list[tuple[int, int]], in_rest: np.ndarray, half: int, total: int
) -> list[tuple[int, str, int, int]]:
    """(onset, kind, start, end) in time order: "answer" over a melody rest [start, end),
    "held" from the first busy step of a segment to the next rest or the segment's end."""
    found = [(start, "answer", start, end) for start, end in rests]
    for segment in range(0, total, half):
        busy = [s for s in range(segment, min(segment + half, total)) if not in_rest[s]]
        if not busy:
            continue
        onset = stop = busy[0]
        while stop < min(segment + half, total) and not in_rest[stop]:
            stop += 1
        found.append((onset, "held", onset, stop))
    return sorted(found)


def counter_part(material: Material, stem: StemSpec, choices: Choices):
    """(onset step, duration steps, pitch, velocity) notes of a counter-line."""
    meter = material.meter
    low, high = comfortable_range(stem.program, stem.register)
    centre = low + (high - low) * 0.45
    per_beat = meter.steps_per_beat
    pulse = per_beat // 2 if meter.compound else max(1, per_beat // 2)
    sounding = material.melody_sounding()
    rests = _rests(sounding, max(1, per_beat // 2))
    scale = scale_of(material.key)
    notes: list[tuple[float, float, int, float]] = []
    home = centre + float(choices.pick(9) - 4)
    phrase = PHRASE_BARS * meter.steps_per_bar
    in_rest = np.zeros(material.total, dtype=bool)
    for start, end in rests:
        in_rest[start:end] = True
    swaps = choices.alternate_bars(material.bars)
    half = meter.steps_per_bar // 2 if meter.numerator != 3 else meter.steps_per_bar
    previous, phrase_index = home, -1
    tied = False  # the last note is a held one (a held note that keeps it is tied to it)
    kept = 0  # segments the last held note has been tied over

    for onset, kind, start, end in _events(rests, in_rest, half, material.total):
        if onset // phrase != phrase_index:  # each phrase starts afresh from home
            previous, phrase_index = home, onset // phrase
        bar = onset // meter.steps_per_bar
        if kind == "answer":
            melody_before = material.melody_at((start - 1) % material.total)
            count = max(1, min(4, (end - start) // pulse))
            chord = material.progression.at(start).chord
            tone = choices.pick_at(3, start) if not swaps[bar] else int(choices.own.integers(3))
            first = nearest(chord.tones[tone], previous, low, high)
            if first == previous or abs(first - previous) > LARGEST_MOVE:
                # that tone repeats the note before or lies far: the nearest that moves
                near = _tone_near(chord.tones, previous, home, low, high)
                first = next((p for p in near if 0 < abs(p - previous) <= LARGEST_MOVE), first)
            if 2 < abs(first - previous) <= LARGEST_MOVE and low <= previous <= high:
                # a skip away: the answer sets off a scale step toward that tone instead
                toward = 1 if first > previous else -1
                first = _scale_walk(int(previous), toward, 2, scale)[1]
            direction = -1 if melody_before is not None and melody_before > previous else 1
            if abs(first + direction * 2 * count - home) > abs(first - home) + ROAM:
                direction = -direction  # run back toward home rather than away from it
            walk = _scale_walk(first, direction, count, scale)
            if walk[-1] > high or walk[-1] < low:
                walk = _scale_walk(first, -direction, count, scale)
            step_length = (end - start) // count
            for index, pitch in enumerate(walk):
                at = start + index * step_length
                length = step_length if index < count - 1 else end - at
                if index == count - 1:  # land on the chord tone nearest the walk
                    landing = material.progression.at(at).chord
                    before = notes[-1][2] if notes else None  # the note the answer follows
                    pitch = min(
                        (nearest(pc, pitch, low, high) for pc in landing.tones),
                        key=lambda p, walked=pitch, b=before: (p == b, abs(p - walked), p),
                    )  # a one-note answer that repeats the held note is no answer
                velocity = accented("counter", at, meter, material.bars, ANSWER_WEIGHT)
                notes.append((float(at), float(length), int(pitch), velocity))
                previous = pitch
            tied, kept = False, 0
            continue
        chord = material.progression.at(onset).chord
        tune = material.melody_at(onset)
        ranked = _held_choices(chord.tones, tune, previous, home, low, high, kept)
        # a later variant's alternative bars without an answer (where the melody never
        # rests) hold the next cheapest chord tone instead, when it lies as near
        answered = in_rest[bar * meter.steps_per_bar : (bar + 1) * meter.steps_per_bar].any()
        pitch = ranked[0]
        alternative = swaps[bar] and not answered and len(ranked) > 1
        heard = notes[-1][2] if notes else previous  # the note sounding before, this variant's
        if alternative and abs(ranked[1] - heard) <= SKIP and abs(ranked[1] - ranked[0]) <= SKIP:
            pitch = ranked[1]  # near the note before and the shared line it goes back to
        velocity = accented("counter", onset, meter, material.bars, HELD_WEIGHT)
        last = notes[-1] if notes else None
        if last is not None and last[2] == pitch and last[0] + last[1] == onset and tied:
            notes[-1] = (last[0], float(end - last[0]), last[2], last[3])  # held on, tied
            kept += 1
        else:
            notes.append((float(onset), float(end - onset), int(pitch), velocity))
            kept = 0
        tied = True
        previous = ranked[0]  # the shared line goes on from its own note (a local change)
    return sorted(notes)
