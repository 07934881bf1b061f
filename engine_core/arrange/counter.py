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
"""

from __future__ import annotations

import numpy as np

from engine_core.arrange.accents import accented
from engine_core.arrange.choices import Choices
from engine_core.arrange.harmony import scale_of
from engine_core.arrange.material import Material
from engine_core.arrange.voicing import nearest
from engine_core.spec import StemSpec

HELD_WEIGHT = 1.0
#: the line starts afresh (from the set's home pitch) every phrase of this many bars
PHRASE_BARS = 4
ANSWER_WEIGHT = 0.92


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


def counter_part(material: Material, stem: StemSpec, choices: Choices):
    """(onset step, duration steps, pitch, velocity) notes of a counter-line."""
    meter = material.meter
    low, high = stem.register
    centre = low + (high - low) * 0.45
    per_beat = meter.steps_per_beat
    pulse = per_beat // 2 if meter.compound else max(1, per_beat // 2)
    sounding = material.melody_sounding()
    rests = _rests(sounding, max(1, per_beat // 2))
    scale = scale_of(material.key)
    notes: list[tuple[float, float, int, float]] = []
    home = centre + float(choices.pick(9) - 4)
    phrase = PHRASE_BARS * meter.steps_per_bar
    previous, phrase_index = home, 0
    in_rest = np.zeros(material.total, dtype=bool)
    swaps = choices.alternate_bars(material.bars)

    for start, end in rests:
        in_rest[start:end] = True
        if start // phrase != phrase_index:  # each phrase starts afresh from home
            previous, phrase_index = home, start // phrase
        melody_before = material.melody_at((start - 1) % material.total)
        count = max(1, min(4, (end - start) // pulse))
        chord = material.progression.at(start).chord
        alternate = swaps[start // meter.steps_per_bar]
        tone = choices.pick_at(3, start) if not alternate else int(choices.own.integers(3))
        first = nearest(chord.tones[tone], previous, low, high)
        direction = -1 if melody_before is not None and melody_before > previous else 1
        walk = _scale_walk(first, direction, count, scale)
        if walk[-1] > high or walk[-1] < low:
            walk = _scale_walk(first, -direction, count, scale)
        step_length = (end - start) // count
        for index, pitch in enumerate(walk):
            onset = start + index * step_length
            length = step_length if index < count - 1 else end - onset
            if index == count - 1:  # land on a chord tone
                landing = material.progression.at(onset).chord
                pitch = nearest(
                    min(landing.tones, key=lambda pc: abs(pc - pitch % 12)), pitch, low, high
                )
            velocity = accented("counter", onset, meter, material.bars, ANSWER_WEIGHT)
            notes.append((float(onset), float(length), int(pitch), velocity))
            previous = pitch

    half = meter.steps_per_bar // 2 if meter.numerator != 3 else meter.steps_per_bar
    for segment in range(0, material.total, half):
        if segment % phrase == 0:
            previous = home
        busy = [s for s in range(segment, segment + half) if not in_rest[s]]
        if not busy:
            continue
        onset = busy[0]
        chord = material.progression.at(onset).chord
        tune = material.melody_at(onset)
        options = [pc for pc in chord.tones if tune is None or pc != tune % 12]
        if tune is not None:
            preferred = [pc for pc in options if (tune - pc) % 12 in (3, 4, 8, 9)]
            options = preferred or options
        pitches = sorted({nearest(pc, previous, low, high) for pc in options})
        moving = [p for p in pitches if p != previous] or pitches
        moving.sort(key=lambda p: (abs(p - previous), p))
        # a later variant's alternative bars without an answer (where the melody never
        # rests) hold the next nearest chord tone instead
        bar = onset // meter.steps_per_bar
        answered = in_rest[bar * meter.steps_per_bar : (bar + 1) * meter.steps_per_bar].any()
        pitch = moving[1] if swaps[bar] and not answered and len(moving) > 1 else moving[0]
        stop = onset
        while stop < segment + half and not in_rest[stop]:
            stop += 1
        velocity = accented("counter", onset, meter, material.bars, HELD_WEIGHT)
        notes.append((float(onset), float(stop - onset), int(pitch), velocity))
        previous = moving[0]  # the shared line goes on from its own note (a local change)
    return sorted(notes)
