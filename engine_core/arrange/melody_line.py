"""The melody pass: make the model's line singable while keeping its rhythm and contour.

On the melody moved to the key (one note per onset, the top one), in the order 1, 4, 5
(the rhythm), then 2, 3 (the pitches):

1. Octaves: a leap wider than an octave takes the note an octave nearer the previous one.
2. Steps: while steps (1-2 semitones) are fewer than `TARGET_STEPS` of the intervals, the
   weakest note reached by a skip or leap (off the strong beats, short first) becomes the
   scale tone a step from the previous note in the same direction, as long as that does not
   widen the move to the next note beyond a fourth. At most `MAX_CHANGED` of the notes
   change; notes on beat 1 that last a beat or more never do. If steps are still short,
   repeated notes off beat 1 become the upper or lower neighbour note, whichever adds
   more steps to the line (and no leaps).
3. Leading tones resolve: the note a semitone below the tonic moves to the tonic next, or
   the leading tone itself becomes the scale tone below it, whichever keeps more steps
   and fewer leaps (always the latter when the next note is on beat 1); a leading tone
   that passes down by step in a descending scale stays.
4. Downbeats: a bar whose beat 1 is silent (no onset, nothing held over the bar line)
   takes the bar's first note onto beat 1 when it starts within half a beat (a beat in
   3/4); in 3/4 a note held over the bar line sounds again on beat 1.
5. Metric weight (`DOWNBEAT_SHARE`: the corpus's quartiles of the share of onsets on
   beat 1, per meter). A line whose beat-1 share is below the range (a busy waltz tune)
   gives its downbeats more weight: weak notes merge into the note before them in the
   same bar (repeated notes first — notes between two steps first when steps are already
   plentiful — then other off-beat notes; inside beat 1 and short first; never a
   downbeat). A line above the range (a sparse 6/8 tune of dotted quarters) gets
   the compound meter's long-short lilt: a note held a whole dotted-quarter beat or more
   becomes a quarter and an eighth, the eighth a passing tone toward the next note (an
   upper neighbour when the next note is the same; an anticipation of the next note when
   that is a step away; the same note again when the line already has plenty of steps).
   Either stops at the middle of the range. (Splitting quarters as well brought sparse
   6/8 lines nearer the corpus only by turning a lullaby into running repeated eighths.)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from engine_core.spec import Key, Meter

TARGET_STEPS = 0.58
#: beat-1 onset share of corpus melodies in 8-bar windows, (lower quartile, median, upper
#: quartile): engine_core/evaluation/music_reference.json (3/4: 510 windows of 219 pieces,
#: 6/8: 275 windows of 137 pieces)
DOWNBEAT_SHARE: dict[str, tuple[float, float, float]] = {
    "3/4": (0.213, 0.276, 0.400),
    "6/8": (0.163, 0.182, 0.206),
}
MAX_LEAPS = 0.26
MAX_CHANGED = 0.5

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

    # 4, 5. rhythm first: beat 1 sounds, the meter's weight (the pitch passes follow)
    line = [(o, d, p, v) for (o, d, _, v), p in zip(line, pitches, strict=True)]
    line = _anchor_downbeats(line, meter, total, fixed)
    line = metric_weight(line, key, meter, total, fixed)
    pitches = [n[2] for n in line]
    held = {i for i, n in enumerate(line) if n[0] in fixed}

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
    for i in order:
        steps, leaps = _shares(pitches)
        if steps >= TARGET_STEPS - 0.06 or changed >= limit:
            break
        if pitches[i] != pitches[i - 1] or strength(i)[0] > 1 or i in held:
            continue
        best, best_steps = None, steps
        for direction in (1, -1):  # the upper or lower neighbour, whichever adds steps
            trial = list(pitches)
            trial[i] = _step_from(pitches[i - 1], direction, scale)
            trial_steps, trial_leaps = _shares(trial)
            if trial_steps > best_steps and trial_leaps <= max(leaps, MAX_LEAPS):
                best, best_steps = trial[i], trial_steps
        if best is not None:
            pitches[i] = best
            changed += 1

    # 3. leading tones resolve to the tonic
    leading = (key.tonic - 1) % 12
    if leading in scale:
        for i in range(len(pitches) - 1):
            if pitches[i] % 12 != leading or pitches[i + 1] % 12 == key.tonic:
                continue
            if i in held or i + 1 in held:
                continue
            if 1 <= pitches[i] - pitches[i + 1] <= 2:
                continue  # a descending scale passes through the leading tone
            below = list(pitches)
            below[i] = _step_from(pitches[i], -1, [p for p in scale if p != leading])
            if strength(i + 1)[0] < 2:
                up = list(pitches)
                up[i + 1] = pitches[i] + 1
                pitches = max((up, below), key=lambda t: _shares(t)[0] - _shares(t)[1])
            else:
                pitches = below

    return [(o, d, p, v) for (o, d, _, v), p in zip(line, pitches, strict=True)]


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


def downbeat_share(line: Sequence[LineNote], meter: Meter) -> float:
    """Share of the line's onsets on beat 1 (1.0 for an empty line)."""
    if not line:
        return 1.0
    return sum(1 for n in line if n[0] % meter.steps_per_bar == 0) / len(line)


def metric_weight(
    line: list[LineNote],
    key: Key,
    meter: Meter,
    total: int,
    fixed: frozenset[int] = frozenset(),
) -> list[LineNote]:
    """Step 5 of the pass (see the module docstring); notes whose onset is in `fixed` (a
    quoted motif) are neither merged, extended nor split."""
    band = DOWNBEAT_SHARE.get(meter.text)
    if band is None or len(line) < 4:
        return line
    low, middle, high = band
    share = downbeat_share(line, meter)
    if share < low:
        return _weigh_downbeats(list(line), meter, middle, fixed)
    if share > high and meter.compound:
        return _lilt(list(line), key, meter, total, middle, fixed)
    return line


def _weigh_downbeats(
    line: list[LineNote], meter: Meter, target: float, fixed: frozenset[int] = frozenset()
) -> list[LineNote]:
    """Merge weak notes into the note before them in the same bar (see step 5)."""
    bar, beat = meter.steps_per_bar, meter.steps_per_beat

    def candidates(notes: list[LineNote]) -> list[int]:
        found = []
        steps_high = _shares([n[2] for n in notes])[0] >= TARGET_STEPS + 0.04
        for i in range(1, len(notes)):
            onset = notes[i][0]
            inside = onset % bar
            if inside == 0 or notes[i - 1][0] < onset - inside:
                continue  # never a downbeat, never into the previous bar
            if onset in fixed or notes[i - 1][0] in fixed:
                continue  # a quoted motif keeps its rhythm
            before = notes[i - 1][2]
            after = notes[i + 1][2] if i + 1 < len(notes) else before
            kind = 0 if notes[i][2] == before else 1 if abs(after - before) <= 2 else 2
            if kind < 2 and steps_high:
                kind = 1 - kind  # enough steps already: passing notes go before repeats
            on_beat = inside % beat == 0
            if kind == 2 and on_beat:
                continue  # a note on the beat that shapes the line stays
            found.append((kind, on_beat, inside >= beat, notes[i][1], onset, i))
        return [i for *_, i in sorted(found)]

    while downbeat_share(line, meter) < target:
        options = candidates(line)
        if not options:
            break
        i = options[0]
        onset, _, pitch, velocity = line[i - 1]
        line[i - 1] = (onset, line[i][0] + line[i][1] - onset, pitch, velocity)
        del line[i]
    return line


def _lilt(
    line: list[LineNote],
    key: Key,
    meter: Meter,
    total: int,
    target: float,
    fixed: frozenset[int] = frozenset(),
) -> list[LineNote]:
    """Long beat notes become quarter + eighth, the eighth leading on to the next note."""
    beat = meter.steps_per_beat  # a dotted quarter
    eighth = beat // 3
    scale = _scale(key)
    for shortest in (beat,):
        for note in sorted(line, key=lambda n: (-n[1], n[0])):
            if downbeat_share(line, meter) <= target:
                return sorted(line)
            onset, duration, pitch, velocity = note
            if onset % beat or duration < shortest or note not in line or onset in fixed:
                continue
            index = line.index(note)
            following = line[(index + 1) % len(line)][2]
            move = following - pitch
            if _shares([n[2] for n in line])[0] >= TARGET_STEPS + 0.08:
                passing = pitch  # steps are plentiful: the note sounds again
            elif 1 <= abs(move) <= 2:
                passing = following  # an anticipation of the next note
            else:
                passing = _step_from(pitch, move if move else 1, scale)
            split = onset + min(duration, beat) - eighth
            line[index] = (onset, split - onset, pitch, velocity)
            line.insert(index + 1, (split, onset + duration - split, passing, velocity * 0.9))
    return sorted(line)
