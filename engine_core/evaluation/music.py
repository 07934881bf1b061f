"""Musical measures of arranged and rendered loops (`ostinato eval-music`).

Per variant and per stem, on the `Arrangement` (symbolic) and on the rendered audio:

- silence: a stem's rendered audio never rises above `SILENCE_DBFS`;
- holes: the longest stretch (round the seam) where the whole mix stays below
  `SILENCE_DBFS`, in beats; a hole is a stretch longer than one beat;
- accent: mean velocity of onsets on the bar's strong beat minus that of onsets on the
  weak beats (4/4: beat 1 vs beats 2 and 4; 3/4: beat 1 vs 2 and 3; 6/8: eighths 1 and 4
  vs the other eighths), and the share of onsets that fall on beat 1;
- melody intervals: shares of repeats (0), steps (1-2 semitones), skips (3-4) and leaps
  (5 and more) between successive melody onsets (the top note of a chord), and the count
  of leaps larger than an octave;
- figuration: bar-to-bar self-similarity of onset patterns (mean Jaccard index of the
  onset-step sets of every pair of bars), and figure recurrence (`figure_recurrence`: the
  tone order by rank inside each bar, compared bar to bar, so a figure that keeps its shape
  through chord changes scores 1);
- variant overlap: per stem, the mean Jaccard index over variant pairs of the sets of
  (grid step, pitch) onsets;
- counter-lines: the same interval shares as the melody's, and the share of notes outside
  the instrument's comfortable range (`engine_core.arrange.ranges`; every pitched stem);
- melody bar repetition: the share of non-empty bars whose onsets (step in the bar,
  pitch) equal an earlier bar's (`bar_repetition`), and the longest melody rest round the
  seam in beats (`longest_rest_beats`), both beside the corpus's figures per meter.

Pure numpy; nothing here imports torch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine_core.arrange.arranger import ArrangedNote, ArrangedStem, Arrangement
from engine_core.arrange.ranges import outside_share
from engine_core.spec import Meter

SILENCE_DBFS = -60.0
#: analysis window for holes (seconds)
HOLE_WINDOW_S = 0.01
#: onset grid for patterns and overlap: sixteenths (x/4) or eighths' halves (6/8)
GRID_PER_BEAT = {"4/4": 4, "3/4": 4, "6/8": 6}


def _db(value: float) -> float:
    return 20.0 * math.log10(max(value, 1e-12))


def peak_dbfs(audio: np.ndarray) -> float:
    return _db(float(np.max(np.abs(audio)))) if audio.size else -240.0


def longest_hole_beats(mix: np.ndarray, sample_rate: int, bpm: float) -> float:
    """Longest run (round the seam) of windows whose peak is below `SILENCE_DBFS`, in beats."""
    mono = np.max(np.abs(np.asarray(mix, dtype=np.float32)), axis=1) if mix.ndim == 2 else mix
    size = max(1, int(sample_rate * HOLE_WINDOW_S))
    count = mono.shape[0] // size
    if count == 0:
        return 0.0
    peaks = mono[: count * size].reshape(count, size).max(axis=1)
    quiet = peaks < 10 ** (SILENCE_DBFS / 20)
    if quiet.all():
        run = count
    else:
        doubled = np.concatenate([quiet, quiet])
        run, best = 0, 0
        for value in doubled:
            run = run + 1 if value else 0
            best = max(best, run)
        run = min(best, count)
    seconds = run * size / sample_rate
    return seconds * bpm / 60.0


def beat_class(position_beats: float, meter: Meter) -> str:
    """'strong', 'medium', 'weak' or 'off' for an onset at `position_beats` in the loop."""
    grid = 4 if not meter.compound else 6
    step = round(position_beats * grid)
    bar_steps = meter.beats_per_bar * grid
    inside = step % bar_steps
    if meter.compound:  # 6/8: eighths are 2 steps
        if inside % 2:
            return "off"
        return "strong" if inside // 2 in (0, 3) else "weak"  # 6/8: eighths 1 and 4
    if inside % grid:
        return "off"
    beat = inside // grid
    if beat == 0:
        return "strong"
    if meter.numerator == 4 and beat == 2:
        return "medium"
    return "weak"


def accent_gap(notes: Sequence[ArrangedNote], meter: Meter) -> float:
    """Mean strong-beat velocity minus mean weak-beat velocity (NaN without both)."""
    strong = [n.velocity for n in notes if beat_class(n.start_beats, meter) == "strong"]
    weak = [n.velocity for n in notes if beat_class(n.start_beats, meter) == "weak"]
    if not strong or not weak:
        return math.nan
    return float(np.mean(strong) - np.mean(weak))


def downbeat_share(notes: Sequence[ArrangedNote], meter: Meter) -> float:
    """Share of distinct onsets that fall on beat 1 of a bar."""
    onsets = {round(n.start_beats * 12) for n in notes}
    if not onsets:
        return math.nan
    bar = meter.beats_per_bar * 12
    return sum(1 for o in onsets if o % bar == 0) / len(onsets)


def line_of(notes: Sequence[ArrangedNote]) -> list[int]:
    """The top pitch at each distinct onset, in time order."""
    tops: dict[int, int] = {}
    for note in notes:
        key = round(note.start_beats * 12)
        tops[key] = max(tops.get(key, -1), note.pitch)
    return [tops[k] for k in sorted(tops)]


@dataclass(frozen=True)
class IntervalShares:
    repeats: float
    steps: float
    skips: float
    leaps: float
    over_octave: int
    count: int


def interval_shares(pitches: Sequence[int]) -> IntervalShares:
    moves = [abs(b - a) for a, b in itertools.pairwise(pitches)]
    if not moves:
        return IntervalShares(math.nan, math.nan, math.nan, math.nan, 0, 0)
    arr = np.array(moves)
    n = len(arr)
    return IntervalShares(
        repeats=float((arr == 0).sum() / n),
        steps=float(((arr >= 1) & (arr <= 2)).sum() / n),
        skips=float(((arr >= 3) & (arr <= 4)).sum() / n),
        leaps=float((arr >= 5).sum() / n),
        over_octave=int((arr > 12).sum()),
        count=n,
    )


def bar_patterns(notes: Sequence[ArrangedNote], meter: Meter, bars: int) -> list[frozenset[int]]:
    grid = GRID_PER_BEAT[meter.text]
    bar_steps = meter.beats_per_bar * grid
    patterns: list[set[int]] = [set() for _ in range(bars)]
    for note in notes:
        step = round(note.start_beats * grid)
        bar, inside = divmod(step, bar_steps)
        patterns[bar % bars].add(inside)
    return [frozenset(p) for p in patterns]


def _jaccard(a: frozenset, b: frozenset) -> float:
    union = len(a | b)
    return 1.0 if union == 0 else len(a & b) / union


def self_similarity(notes: Sequence[ArrangedNote], meter: Meter, bars: int) -> float:
    """Mean Jaccard index of onset patterns over every pair of non-empty bars."""
    patterns = [p for p in bar_patterns(notes, meter, bars) if p]
    pairs = list(itertools.combinations(patterns, 2))
    return float(np.mean([_jaccard(a, b) for a, b in pairs])) if pairs else math.nan


def figure_recurrence(notes: Sequence[ArrangedNote], meter: Meter, bars: int) -> float:
    """How exactly a bar's tone order comes back in the next bar (round the seam).

    Each bar becomes {grid step: rank of its top pitch among the bar's distinct pitches}
    (0 = lowest), so a figure that keeps its shape through chord changes still matches. The
    score of two bars is the share of steps (over both bars' steps) with the same rank;
    the mean over neighbouring bars. NaN with fewer than two non-empty bars.
    """
    grid = GRID_PER_BEAT[meter.text]
    bar_steps = meter.beats_per_bar * grid
    tops: list[dict[int, int]] = [{} for _ in range(bars)]
    for note in notes:
        step = round(note.start_beats * grid)
        bar, inside = divmod(step, bar_steps)
        slot = tops[bar % bars]
        slot[inside] = max(slot.get(inside, -1), note.pitch)
    ranked = []
    for slot in tops:
        order = sorted(set(slot.values()))
        ranked.append({step: order.index(pitch) for step, pitch in slot.items()})
    pairs = [(ranked[i], ranked[(i + 1) % bars]) for i in range(bars) if bars > 1]
    scores = []
    for a, b in pairs:
        if not a or not b:
            continue
        union = set(a) | set(b)
        scores.append(sum(1 for s in union if a.get(s) == b.get(s) is not None) / len(union))
    return float(np.mean(scores)) if scores else math.nan


def onset_set(notes: Sequence[ArrangedNote], meter: Meter) -> frozenset[tuple[int, int]]:
    grid = GRID_PER_BEAT[meter.text]
    return frozenset((round(n.start_beats * grid), n.pitch) for n in notes)


def stem_overlap(stems: Sequence[ArrangedStem], meter: Meter) -> float:
    """Mean pairwise Jaccard index of one stem's onsets across variants (NaN if < 2)."""
    sets = [onset_set(s.notes, meter) for s in stems]
    pairs = [_jaccard(a, b) for a, b in itertools.combinations(sets, 2)]
    return float(np.mean(pairs)) if pairs else math.nan


def bar_repetition(
    notes: Sequence[ArrangedNote], meter: Meter, bars: int, *, transposed: bool = False
) -> float:
    """Share of non-empty bars whose (step in the bar, top pitch) onsets equal an earlier
    bar's (NaN without a non-empty bar); a loop that plays one bar four times scores 0.75.
    `transposed`: the figure counts, not the pitch (pitches relative to the bar's first),
    so a bar played again a step higher repeats too."""
    from engine_core.evaluation.music_reference import repeated_share

    grid = meter.steps_per_beat
    bar_steps = meter.steps_per_bar
    found: list[dict[int, int]] = [{} for _ in range(bars)]
    for note in notes:
        bar, inside = divmod(round(note.start_beats * grid), bar_steps)
        slot = found[bar % bars]
        slot[inside] = max(slot.get(inside, -1), note.pitch)
    share = repeated_share([sorted(b.items()) for b in found], transposed=transposed)
    return math.nan if share is None else share


def longest_rests_beats(
    notes: Sequence[ArrangedNote], meter: Meter, bars: int
) -> tuple[float, float]:
    """(longest, longest inside a phrase) stretch, round the seam, in which no note of
    `notes` sounds, in beats; a rest lies inside a phrase when none of it falls in the
    last bar of a 4-bar phrase (the corpus is measured by the same rule)."""
    from engine_core.evaluation.music_reference import rests_of

    grid = meter.steps_per_beat
    total = bars * meter.steps_per_bar
    sounding = np.zeros(total, dtype=bool)
    for note in notes:
        first = round(note.start_beats * grid)
        last = max(first + 1, round((note.start_beats + note.duration_beats) * grid))
        sounding[np.arange(first, last) % total] = True
    longest, inner = rests_of(sounding, meter.steps_per_bar, wrap=True)
    return longest / grid, inner / grid


@dataclass(frozen=True)
class StemMeasure:
    """One stem of one variant."""

    spec: str
    variant: int
    stem: str
    role: str
    optional: bool
    notes: int
    peak_dbfs: float
    accent_gap: float
    downbeat_share: float
    self_similarity: float
    figure_recurrence: float
    intervals: IntervalShares | None  # melody, counter and bass stems only
    outside_comfort: float = 0.0  # share of notes outside the instrument's comfort
    bar_repetition: float = math.nan  # melody stems only
    figure_repetition: float = math.nan  # melody stems only: the same, transposed
    longest_rest_beats: float = math.nan  # melody stems only
    inner_rest_beats: float = math.nan  # melody stems only: longest inside a phrase
    span: int = 0  # highest minus lowest pitch

    @property
    def silent(self) -> bool:
        return self.peak_dbfs < SILENCE_DBFS


@dataclass(frozen=True)
class VariantMeasure:
    spec: str
    variant: int
    meter: str
    family: str
    hole_beats: float
    stems: tuple[StemMeasure, ...]


def measure_variant(
    label: str,
    index: int,
    arrangement: Arrangement,
    stem_audio: dict[str, np.ndarray] | None,
    mix: np.ndarray | None,
    sample_rate: int,
    family: str,
) -> VariantMeasure:
    meter = arrangement.meter_info
    rows: list[StemMeasure] = []
    for stem in arrangement.stems:
        notes = stem.notes
        rests = (math.nan, math.nan)
        if stem.stem.role == "melody":
            rests = longest_rests_beats(notes, meter, arrangement.bars)
        audio = stem_audio.get(stem.stem.name) if stem_audio is not None else None
        peak = peak_dbfs(audio) if audio is not None else (0.0 if notes else -240.0)
        pitched = not stem.is_drum
        melody = stem.stem.role == "melody"
        rows.append(
            StemMeasure(
                spec=label,
                variant=index,
                stem=stem.stem.name,
                role=stem.stem.role,
                optional=stem.stem.optional,
                notes=len(notes),
                peak_dbfs=peak,
                accent_gap=accent_gap(notes, meter) if pitched else math.nan,
                downbeat_share=downbeat_share(notes, meter),
                self_similarity=self_similarity(notes, meter, arrangement.bars),
                figure_recurrence=figure_recurrence(notes, meter, arrangement.bars),
                intervals=(
                    interval_shares(line_of(notes))
                    if stem.stem.role in ("melody", "counter", "bass")
                    else None
                ),
                outside_comfort=(
                    outside_share([n.pitch for n in notes], stem.stem.program) if pitched else 0.0
                ),
                bar_repetition=(
                    bar_repetition(notes, meter, arrangement.bars) if melody else math.nan
                ),
                figure_repetition=(
                    bar_repetition(notes, meter, arrangement.bars, transposed=True)
                    if melody
                    else math.nan
                ),
                span=(max(n.pitch for n in notes) - min(n.pitch for n in notes)) if notes else 0,
                longest_rest_beats=rests[0],
                inner_rest_beats=rests[1],
            )
        )
    hole = longest_hole_beats(mix, sample_rate, arrangement.bpm) if mix is not None else math.nan
    return VariantMeasure(label, index, arrangement.meter, family, hole, tuple(rows))
