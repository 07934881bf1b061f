"""The melody pass: make the model's line singable while keeping its rhythm and contour.

On the melody moved to the key (one note per onset, the top one):

1. Octaves: a leap wider than an octave takes the note an octave nearer the previous one.
2. Steps: while steps (1-2 semitones) are fewer than `TARGET_STEPS` of the intervals, the
   weakest note reached by a skip or leap (off the strong beats, short first) becomes the
   scale tone a step from the previous note in the same direction, as long as that does not
   widen the move to the next note beyond a fourth. At most `MAX_CHANGED` of the notes
   change; notes on beat 1 that last a beat or more never do. If steps are still short,
   repeated notes off the beat become neighbour notes (a repeat before a repeat becomes an
   upper or lower neighbour in turn; before a move, a step toward it).
3. Leading tones resolve: the note a semitone below the tonic moves to the tonic next; when
   the next note is strong, the leading tone itself becomes the scale tone below it.
4. Downbeats: a bar whose beat 1 is silent (no onset, nothing held over the bar line)
   takes the bar's first note onto beat 1 when it starts within half a beat (a beat in
   3/4); in 3/4 a note held over the bar line sounds again on beat 1.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from engine_core.spec import Key, Meter

TARGET_STEPS = 0.58
MAX_LEAPS = 0.26
MAX_CHANGED = 0.4

LineNote = tuple[int, int, int, float]  # (onset step, duration steps, pitch, velocity)


def _scale(key: Key) -> list[int]:
    from engine_core.arrange.harmony import scale_of

    return list(scale_of(key))


def _step_from(previous: int, direction: int, scale: Sequence[int]) -> int:
    """The next scale tone above (direction > 0) or below `previous`."""
    pitch = previous
    for _ in range(3):
        pitch += 1 if direction > 0 else -1
        if pitch % 12 in scale:
            return pitch
    return previous + (2 if direction > 0 else -2)


def _shares(pitches: Sequence[int]) -> tuple[float, float]:
    moves = [abs(b - a) for a, b in itertools.pairwise(pitches)]
    if not moves:
        return 1.0, 0.0
    steps = sum(1 for m in moves if 1 <= m <= 2) / len(moves)
    leaps = sum(1 for m in moves if m >= 5) / len(moves)
    return steps, leaps


def singable(
    notes: Sequence[LineNote],
    key: Key,
    meter: Meter,
    total: int,
    fixed: frozenset[int] = frozenset(),
) -> list[LineNote]:
    """The melody after the pass (see the module docstring). Notes whose onset is in
    `fixed` (a quoted motif) keep their pitch and onset."""
    tops: dict[int, LineNote] = {}
    for note in sorted(notes):
        if note[0] not in tops or note[2] > tops[note[0]][2]:
            tops[note[0]] = note
    line = [tops[o] for o in sorted(tops)]
    if len(line) < 2:
        return line
    scale = _scale(key)
    pitches = [n[2] for n in line]
    held = {i for i, n in enumerate(line) if n[0] in fixed}

    # 1. no leap over an octave
    for i in range(1, len(pitches)):
        while i not in held and abs(pitches[i] - pitches[i - 1]) > 12:
            pitches[i] += -12 if pitches[i] > pitches[i - 1] else 12

    # 2. more steps, fewer leaps, on the weakest notes first
    def strength(i: int) -> tuple[int, int]:
        onset, duration = line[i][0], line[i][1]
        on_beat = onset % meter.steps_per_beat == 0
        downbeat = onset % meter.steps_per_bar == 0
        return (2 if downbeat else 1 if on_beat else 0, duration)

    changed = 0
    limit = int(MAX_CHANGED * len(line))
    order = sorted(range(1, len(line)), key=strength)
    for i in order:
        steps, leaps = _shares(pitches)
        if (steps >= TARGET_STEPS and leaps <= MAX_LEAPS) or changed >= limit:
            break
        move = pitches[i] - pitches[i - 1]
        if abs(move) < 3 or i in held:
            continue
        onset, duration = line[i][0], line[i][1]
        if onset % meter.steps_per_bar == 0 and duration >= meter.steps_per_beat:
            continue
        candidate = _step_from(pitches[i - 1], move, scale)
        if i + 1 < len(pitches):
            after_old = abs(pitches[i + 1] - pitches[i])
            after_new = abs(pitches[i + 1] - candidate)
            if after_new > max(after_old, 5):
                continue
        pitches[i] = candidate
        changed += 1

    # 2b. still short of steps: weak repeated notes become neighbour notes
    direction = 1
    for i in order:
        steps, _ = _shares(pitches)
        if steps >= TARGET_STEPS - 0.06 or changed >= limit:
            break
        if pitches[i] != pitches[i - 1] or strength(i)[0] > 0 or i in held:
            continue
        if i + 1 < len(pitches) and pitches[i + 1] == pitches[i]:
            candidate = _step_from(pitches[i - 1], direction, scale)
        elif i + 1 < len(pitches):
            candidate = _step_from(pitches[i - 1], 1 if pitches[i + 1] > pitches[i] else -1, scale)
        else:
            continue
        pitches[i] = candidate
        direction = -direction
        changed += 1

    # 3. leading tones resolve to the tonic
    leading = (key.tonic - 1) % 12
    if leading in scale:
        for i in range(len(pitches) - 1):
            if pitches[i] % 12 != leading or pitches[i + 1] % 12 == key.tonic:
                continue
            if i in held or i + 1 in held:
                continue
            if strength(i + 1)[0] < 2:
                pitches[i + 1] = pitches[i] + 1
            else:
                pitches[i] = _step_from(pitches[i], -1, [p for p in scale if p != leading])

    # 4. beat 1 sounds in every bar that has notes
    result = [(o, d, p, v) for (o, d, _, v), p in zip(line, pitches, strict=True)]
    return _anchor_downbeats(result, meter, total, fixed)


def _anchor_downbeats(
    line: list[LineNote], meter: Meter, total: int, fixed: frozenset[int] = frozenset()
) -> list[LineNote]:
    bar = meter.steps_per_bar
    # a waltz tune lands on beat 1: in 3/4 the first note within a beat moves there
    reach = meter.steps_per_beat if meter.numerator == 3 else max(1, meter.steps_per_beat // 2)
    out = list(line)
    for start in range(0, total, bar):
        if any(o == start for o, _, _, _ in out):
            continue
        held = [n for n in out if n[0] < start < n[0] + n[1]]
        if held and meter.numerator == 3 and held[0][0] not in fixed:
            note = held[0]  # a waltz re-sounds a held note on beat 1
            out[out.index(note)] = (note[0], start - note[0], note[2], note[3])
            out.append((start, note[0] + note[1] - start, note[2], note[3]))
            continue
        if held or any(o + d > total and o + d - total > start for o, d, _, _ in out):
            continue
        early = [n for n in out if start < n[0] <= start + reach]
        if not early:
            continue
        first = min(early)
        if first[0] in fixed:
            continue
        index = out.index(first)
        out[index] = (start, first[1] + (first[0] - start), first[2], first[3])
    return sorted(out)
