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
   more steps to the line (and no leaps). A line that only runs up and down the scale
   (steps over `STEP_CEILING`) turns weak passing notes into repeats of the note before
   them until it is back under it (a step and a step become a repeat and a skip).
3. Leading tones resolve: the note a semitone below the tonic moves to the tonic next, or
   the leading tone itself becomes the scale tone below it, whichever keeps more steps
   and fewer leaps (always the latter when the next note is on beat 1); a leading tone
   that passes down by step in a descending scale stays (the ceiling of 2 runs after it).
4. Downbeats: a bar whose beat 1 is silent (no onset, nothing held over the bar line)
   takes the bar's first note onto beat 1 when it starts within half a beat (a beat in
   3/4); in 3/4 a note held over the bar line sounds again on beat 1.
5. Metric weight (`DOWNBEAT_SHARE`: the corpus's quartiles of the share of onsets on
   beat 1, per meter). Below the range — a busy line: in 3/4 (a busy waltz tune) weak
   notes merge into the note before them in the same bar (repeated notes first — notes
   between two steps first when steps are already plentiful — then other off-beat notes;
   inside beat 1 and short first; never a downbeat), up to the median; in 4/4 (a reel,
   a synth lead) only notes that repeat the note before them merge, up to `INSIDE` of
   the range above its bottom; a busy 6/8 line is left alone. Above the range — a line
   with too few notes for its bars (a lullaby, a march call, a shanty of dotted
   quarters), each stage until the share is `INSIDE` of the range below its top:
   a. 6/8, the compound meter's long-short lilt: a note heard for a whole beat from a
      beat (its rest included when the legato pass would close it) becomes a quarter and
      an eighth, the eighth a passing tone toward the next note (an anticipation when
      that is a step away; the same note again when the line already has plenty of
      steps; an upper neighbour and the note again on the next beat when it was held
      past the beat). Up to the median.
   b. Rests of a beat or more, longest first, lead into the note after them: a note on
      the beat before it, a scale step away on the side the line comes from (6/8: a
      quarter and an eighth, two steps and one step away; a pickup eighth when that beat
      is a bar line; a third away when steps are plentiful). A rest still a beat long
      before the approach gets one too, so a long rest walks to the note.
   c. 6/8: the lilt again, then a beat of quarter + eighth becomes three eighths, the
      middle one passing (the second beat of the bar first, thirds to fill first).
   d. Held notes, longest first, sound again on the beats they hold over (6/8: beat 4).
   No stage ever adds a downbeat, splits a quoted note or adds a note inside a quote.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from engine_core.spec import Key, Meter

TARGET_STEPS = 0.58
#: the top of the corpus's inner range of the step share (issue 17: 0.48-0.71)
STEP_CEILING = 0.71
#: beat-1 onset share of corpus melodies in 8-bar windows, (lower quartile, median, upper
#: quartile): engine_core/evaluation/music_reference.json (3/4: 510 windows of 219 pieces,
#: 6/8: 275 windows of 137 pieces)
DOWNBEAT_SHARE: dict[str, tuple[float, float, float]] = {
    "4/4": (0.143, 0.205, 0.280),
    "3/4": (0.213, 0.276, 0.400),
    "6/8": (0.163, 0.182, 0.206),
    # whole folk tunes of music21's ABC corpora (benchmarks/eval_meters.py): 2/4 160 tunes,
    # 12/8 only 6 (a thin baseline); 5/4 and 7/8 have none (their lines are not moved)
    "2/4": (0.162, 0.246, 0.279),
    "12/8": (0.101, 0.116, 0.123),
}
#: how far inside the quartiles a line moved into them is aimed (share of the range)
INSIDE = 0.25
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
    spans: Sequence[tuple[int, int]] = (),
) -> list[LineNote]:
    """The melody after the pass (see the module docstring). Notes whose onset is in
    `fixed` (a quoted motif) keep their pitch and onset; no note is added inside `spans`
    (the quotes' (start, end) grid steps)."""
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
    line = metric_weight(line, key, meter, total, fixed, spans)
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

    # 2c. a line that only runs up and down the scale: weak passing notes repeat the note
    # before them (a step and a step become a repeat and a skip)
    for i in order:
        if _shares(pitches)[0] <= STEP_CEILING - 0.02 or i + 1 >= len(pitches):
            break
        before, after = pitches[i] - pitches[i - 1], pitches[i + 1] - pitches[i]
        if not (1 <= abs(before) <= 2 and 1 <= abs(after) <= 2) or before * after < 0:
            continue
        if strength(i)[0] > 1 or i in held or pitches[i - 1] % 12 == leading:
            continue
        pitches[i] = pitches[i - 1]

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
    spans: Sequence[tuple[int, int]] = (),
) -> list[LineNote]:
    """Step 5 of the pass (see the module docstring); notes whose onset is in `fixed` (a
    quoted motif) are neither merged, extended nor split, and nothing is added inside
    `spans`."""
    band = DOWNBEAT_SHARE.get(meter.text)
    if band is None or len(line) < 4:
        return line
    low, middle, high = band
    inside = INSIDE * (high - low)
    share = downbeat_share(line, meter)
    if share < low:
        if meter.compound:
            return line
        if meter.numerator == 3:
            return _weigh_downbeats(list(line), meter, middle, fixed)
        # 4/4: a busy line (a reel, a synth lead) keeps its runs; only re-struck notes merge
        return _weigh_downbeats(list(line), meter, low + inside, fixed, repeats_only=True)
    if share <= high:
        return line
    aim = high - inside
    line = list(line)
    if meter.compound:
        line = _lilt(line, key, meter, total, middle, fixed)
    line = _approach_rests(line, key, meter, total, aim, fixed, spans)
    if meter.compound:  # notes the approaches left a beat long lilt too, then run
        line = _lilt(line, key, meter, total, aim, fixed)
        line = _running_eighths(line, key, meter, total, aim, fixed, spans)
    return _restrike(line, meter, total, aim, fixed, spans)


def _guarded(spans: Sequence[tuple[int, int]], start: int, end: int, total: int) -> bool:
    """Whether [start, end) touches a quote's span (round the seam too)."""
    return any(
        a < e and s < b for a, b in spans for s, e in ((start, end), (start + total, end + total))
    )


def _span(line: Sequence[LineNote], index: int, total: int, legato: int) -> int:
    """How long the note at `index` is heard: to the next onset when the gap after it is at
    most `legato` steps (the arranger's legato pass closes it), else its own length."""
    onset, duration = line[index][0], line[index][1]
    following = line[index + 1][0] if index + 1 < len(line) else line[0][0] + total
    gap = following - (onset + duration)
    return following - onset if 0 <= gap <= legato else duration


def _weigh_downbeats(
    line: list[LineNote],
    meter: Meter,
    target: float,
    fixed: frozenset[int] = frozenset(),
    *,
    repeats_only: bool = False,
) -> list[LineNote]:
    """Merge weak notes into the note before them in the same bar (see step 5); with
    `repeats_only`, only notes that repeat the note before them."""
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
            if repeats_only and notes[i][2] != before:
                continue
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
    """A note heard for a whole beat or more from a beat becomes a quarter + an eighth, the
    eighth leading on to the next note; a note held past its beat sounds again on the next
    beat after an upper neighbour (unless that beat is a bar line)."""
    beat = meter.steps_per_beat  # a dotted quarter
    eighth = beat // 3
    bar = meter.steps_per_bar
    scale = _scale(key)
    line = sorted(line)
    spans = {n: _span(line, i, total, beat // 2) for i, n in enumerate(line)}
    for note in sorted(line, key=lambda n: (-spans[n], n[0])):
        if downbeat_share(line, meter) <= target:
            break
        onset, duration, pitch, velocity = note
        heard = spans[note]
        if onset % beat or heard < beat or note not in line or onset in fixed:
            continue
        index = line.index(note)
        following = line[(index + 1) % len(line)][2]
        move = following - pitch
        rest = onset + duration - (onset + beat)  # held past the beat
        again = rest >= eighth and (onset + beat) % bar != 0
        if again:
            passing = _step_from(pitch, 1, scale)  # a neighbour, then the note again
        elif _shares([n[2] for n in line])[0] >= TARGET_STEPS + 0.08:
            passing = pitch  # steps are plentiful: the note sounds again
        elif 1 <= abs(move) <= 2:
            passing = following  # an anticipation of the next note
        else:
            passing = _step_from(pitch, move if move else 1, scale)
        split = onset + beat - eighth
        line[index] = (onset, min(duration, split - onset), pitch, velocity)
        if again:
            line.insert(index + 1, (split, eighth, passing, velocity * 0.9))
            line.insert(index + 2, (onset + beat, rest, pitch, velocity * 0.9))
        else:
            length = max(eighth, onset + duration - split)
            line.insert(index + 1, (split, length, passing, velocity * 0.9))
    return sorted(line)


def _approach_rests(
    line: list[LineNote],
    key: Key,
    meter: Meter,
    total: int,
    target: float,
    fixed: frozenset[int] = frozenset(),
    spans: Sequence[tuple[int, int]] = (),
) -> list[LineNote]:
    """Rests of a beat or more, longest first, lead into the note after them: a note on
    the beat before it a scale step away on the side the line comes from (6/8: a quarter
    and an eighth, two steps and one step away; a pickup eighth when that beat is a bar
    line). A skip of a third instead when the line already has plenty of steps. Never a
    downbeat. A rest still a beat long before an approach gets one too, so a long rest
    walks to the note after it."""
    bar, beat, eighth = meter.steps_per_bar, meter.steps_per_beat, 2
    scale = _scale(key)
    line = sorted(line)
    while downbeat_share(line, meter) > target:
        best = None
        for index, note in enumerate(line):
            previous = line[index - 1]
            end = previous[0] + previous[1] - (total if index == 0 else 0)
            arrival = note[0]
            if arrival - end < beat or arrival in fixed:
                continue
            start = (arrival - eighth) // beat * beat  # the beat before the note
            figure: list[tuple[int, int]]
            if start % bar and start >= end:
                if meter.compound and arrival - start >= beat:
                    figure = [(start, arrival - start - eighth), (arrival - eighth, eighth)]
                else:
                    figure = [(start, arrival - start)]
            elif (arrival - eighth) % bar and arrival - eighth >= end:
                figure = [(arrival - eighth, eighth)]  # a pickup eighth
            else:
                continue
            if _guarded(spans, figure[0][0], arrival, total):
                continue
            if best is None or arrival - end > best[0]:
                best = (arrival - end, index, figure)
        if best is None:
            break
        _, index, figure = best
        note, previous = line[index], line[index - 1]
        side = 1 if previous[2] >= note[2] else -1
        plenty = _shares([n[2] for n in line])[0] >= TARGET_STEPS + 0.08
        for number, (start, length) in enumerate(figure):
            pitch = note[2]
            for _ in range(2 if plenty else len(figure) - number):
                pitch = _step_from(pitch, side, scale)
            line.append((start % total, length, pitch, note[3] * 0.9))
        line.sort()
    return line


def _running_eighths(
    line: list[LineNote],
    key: Key,
    meter: Meter,
    total: int,
    target: float,
    fixed: frozenset[int] = frozenset(),
    spans: Sequence[tuple[int, int]] = (),
) -> list[LineNote]:
    """6/8: a beat of quarter + eighth becomes three eighths, the middle one passing from
    the quarter's note to the eighth's (a neighbour when they are the same or a step
    apart). The second beat of the bar first, thirds to fill first."""
    beat, eighth = meter.steps_per_beat, meter.steps_per_beat // 3
    scale = _scale(key)
    line = sorted(line)
    while downbeat_share(line, meter) > target:
        options = []
        for index in range(len(line) - 1):
            (onset, _, pitch, _), after = line[index], line[index + 1]
            heard = _span(line, index, total, beat // 2)
            if onset % beat or heard != beat - eighth or after[0] != onset + beat - eighth:
                continue
            if _span(line, index + 1, total, beat // 2) != eighth or onset in fixed:
                continue
            if after[0] in fixed or _guarded(spans, onset, onset + beat, total):
                continue
            move = abs(after[2] - pitch)
            second_beat = onset % meter.steps_per_bar != 0
            options.append((not second_beat, not 3 <= move <= 4, onset, index))
        if not options:
            break
        *_, index = min(options)
        onset, _, pitch, velocity = line[index]
        following = line[index + 1][2]
        if following == pitch:
            middle = _step_from(pitch, 1, scale)
        else:
            middle = _step_from(pitch, following - pitch, scale)
            if middle == following:  # a step apart: the neighbour on the other side
                middle = _step_from(pitch, pitch - following, scale)
        line[index] = (onset, eighth, pitch, velocity)
        line.insert(index + 1, (onset + eighth, eighth, middle, velocity * 0.9))
    return line


def _restrike(
    line: list[LineNote],
    meter: Meter,
    total: int,
    target: float,
    fixed: frozenset[int] = frozenset(),
    spans: Sequence[tuple[int, int]] = (),
) -> list[LineNote]:
    """Held notes, longest first, sound again on the beats they hold over (6/8: the
    second beat). Never on a downbeat."""
    bar, beat, eighth = meter.steps_per_bar, meter.steps_per_beat, 2
    pulses = [beat] if meter.compound else list(range(beat, bar, beat))
    line = sorted(line)
    while downbeat_share(line, meter) > target:
        best = None
        for index, (onset, duration, _, _) in enumerate(line):
            if onset in fixed:
                continue
            for pulse in pulses:
                first = onset // bar * bar + pulse
                for place in (first, first + bar):
                    inside = onset + eighth <= place <= onset + duration - eighth
                    if not inside or place >= total or _guarded(spans, place, place + 1, total):
                        continue
                    if best is None or duration > best[0]:
                        best = (duration, index, place)
        if best is None:
            break
        _, index, place = best
        onset, duration, pitch, velocity = line[index]
        line[index] = (onset, place - onset, pitch, velocity)
        line.append((place, onset + duration - place, pitch, velocity * 0.9))
        line.sort()
    return line


#: the longest rest (beats) a melody keeps inside a phrase: the corpus's median of the
#: longest rest inside a phrase per 8-bar window (music_reference.json
#: `longest_inner_rest_beats`: 4/4 2.0, 3/4 0.0, 6/8 0.33), never under one beat
INNER_REST_BEATS: dict[str, float] = {"4/4": 2.0, "3/4": 1.0, "6/8": 1.0}
#: bars per phrase: a rest that reaches into a phrase's last bar is a breath, and stays
PHRASE_BARS = 4
#: a rest up to a quarter note always stays (grid steps)
QUARTER_STEPS = 4


def hold_inner_rests(
    part: Sequence[tuple[float, float, int, float]], meter: Meter, total: int
) -> list[tuple[float, float, int, float]]:
    """Hold a melody note over the rest after it when that rest lies inside a phrase (no
    step of it in the last bar of a 4-bar phrase, round the seam) and is longer than
    `INNER_REST_BEATS` for the meter (one beat for a meter without a figure, and never
    less than a quarter note): a rest of a
    beat and a half after a short note in the middle of a waltz phrase sounds like a gap,
    not a breath. Onsets and pitches never change."""
    if not part:
        return []
    beats = INNER_REST_BEATS.get(meter.text, 1.0) * meter.steps_per_beat
    limit = max(beats, QUARTER_STEPS)  # 7/8 counts eighths: never hold over a quarter rest
    bar = meter.steps_per_bar
    notes = sorted(part)
    onsets = sorted({n[0] for n in notes})
    out = []
    for onset, duration, pitch, velocity in notes:
        later = [o for o in onsets if o > onset]
        following = later[0] if later else onsets[0] + total
        end = onset + duration
        steps = range(round(end), round(following))
        inside = all((int(s % total) // bar) % PHRASE_BARS != PHRASE_BARS - 1 for s in steps)
        if following - end > limit and inside:
            duration = following - onset
        out.append((onset, duration, pitch, velocity))
    return out
