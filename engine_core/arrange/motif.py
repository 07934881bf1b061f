"""Quoting a motif: modal transposition, placement per variant, development.

Modal transposition works on scale degrees, not semitones: each motif pitch is read as a
degree of the motif's own key (plus an octave and any chromatic inflection) and written as
the same degree of the target key and mode. "E4" in C major is the third degree; in D dorian
it becomes F4 (the dorian third), where a semitone shift would give F#4.

The composer's scores live in a tonic-C frame with the model's mode (major or minor);
`quote_score` writes the motif there as degrees of that mode, and the arranger's
`map_pitch` carries the degrees on into the state's key and mode, like every other note.

Placement (`plan_quotes`): the original motif always sounds once per loop at least, so a
listener can recognise it in every variant. With ``every_bars = N`` it returns every N bars.
When variants vary (`MotifUse.vary`), variant 1 enters in the loop's second half, variants 2,
3 and 4 answer the motif in the next phrase with a sequence (one degree higher), an
inversion (mirrored around its first note) or an augmentation (twice as slow), cycling on;
with ``every_bars`` the odd-numbered returns take those forms instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine_core.arrange.harmony import MODE_INTERVALS
from engine_core.motif import Motif, MotifNote, MotifUse, fit_meter
from engine_core.score import MotifQuote, Score, ScoreNote
from engine_core.spec import Key

FORMS: tuple[str, ...] = ("original", "sequence", "inversion", "augmentation")
#: developed forms by variant index (variants 2, 3, 4, then again)
_ANSWERS: tuple[str, ...] = ("sequence", "inversion", "augmentation")

Degree = tuple[int, int]  # (degree position: octave * 7 + degree, chromatic offset)


@dataclass(frozen=True)
class PlannedQuote:
    start: int  # grid step
    form: str


# ---------------------------------------------------------------------------------------
# Modal transposition
# ---------------------------------------------------------------------------------------


def to_degree(pitch: int, key: Key) -> Degree:
    """`pitch` as (octave * 7 + scale degree, chromatic offset) of `key`, from its tonic
    in octave 0 (MIDI tonic pitch class + 0)."""
    scale = MODE_INTERVALS[key.mode]
    octave, pitch_class = divmod(pitch - key.tonic, 12)
    degree = max(i for i, interval in enumerate(scale) if interval <= pitch_class)
    return octave * 7 + degree, pitch_class - scale[degree]


def from_degree(degree: Degree, key: Key) -> int:
    """The MIDI pitch of a (position, offset) degree of `key` (inverse of `to_degree`)."""
    scale = MODE_INTERVALS[key.mode]
    octave, index = divmod(degree[0], 7)
    return key.tonic + 12 * octave + scale[index] + degree[1]


def transpose(motif: Motif, key: Key, *, octave: int = 0) -> tuple[MotifNote, ...]:
    """The motif's notes moved into `key` by scale degree, `octave` octaves up or down."""
    source = Key.parse(motif.key)
    moved = []
    for onset, duration, pitch in motif.notes:
        position, offset = to_degree(pitch, source)
        moved.append((onset, duration, from_degree((position, offset), key) + 12 * octave))
    return tuple(moved)


# ---------------------------------------------------------------------------------------
# Development
# ---------------------------------------------------------------------------------------


def develop(notes: Sequence[tuple[int, int, Degree]], form: str) -> list[tuple[int, int, Degree]]:
    """A form of the motif in degree space (see the module docstring)."""
    if form == "original":
        return list(notes)
    if form == "sequence":
        return [(o, d, (p + 1, a)) for o, d, (p, a) in notes]
    if form == "inversion":
        axis = notes[0][2][0]
        return [(o, d, (2 * axis - p, -a)) for o, d, (p, a) in notes]
    if form == "augmentation":
        return [(2 * o, 2 * d, degree) for o, d, degree in notes]
    raise ValueError(f"unknown motif form {form!r}")


def form_length(motif: Motif, form: str) -> int:
    return motif.length_steps * (2 if form == "augmentation" else 1)


def plan_quotes(
    use: MotifUse, *, bars: int, steps_per_bar: int, variant_index: int
) -> list[PlannedQuote]:
    """Where and in which form a variant quotes the motif (see the module docstring)."""
    total = bars * steps_per_bar
    motif = use.motif
    length = motif.length_steps
    motif_bars = motif.bars(steps_per_bar)
    if use.every_bars:
        period = use.every_bars * steps_per_bar
        quotes = []
        for index, start in enumerate(range(0, total, period)):
            form = "original"
            if use.vary and variant_index > 0 and index % 2 == 1:
                form = _ANSWERS[(variant_index - 1) % len(_ANSWERS)]
                if start + form_length(motif, form) > min(total, start + period):
                    form = "sequence"
            quotes.append(PlannedQuote(start, form))
        return quotes
    if not use.vary or variant_index == 0:
        return [PlannedQuote(0, "original")]
    if variant_index == 1:
        half = (bars // 2) * steps_per_bar
        if half > 0 and half + length <= total:
            return [PlannedQuote(half, "original")]
        return [PlannedQuote(0, "original")]
    # the answer enters in the next phrase: after the motif's bars, on an even bar
    answer_bar = motif_bars + (motif_bars % 2 if motif_bars > 1 else 0)
    answer = answer_bar * steps_per_bar
    form = _ANSWERS[(variant_index - 2) % len(_ANSWERS)]
    if answer + form_length(motif, form) > total:
        form = "sequence"
    if answer + form_length(motif, form) > total:
        return [PlannedQuote(0, "original")]
    return [PlannedQuote(0, "original"), PlannedQuote(answer, form)]


# ---------------------------------------------------------------------------------------
# Writing quotes into a score
# ---------------------------------------------------------------------------------------


def _frame_octave(motif_pitches: Sequence[int], around: float) -> int:
    """Octave shift putting the motif's median nearest `around`."""
    return round((around - float(np.median(motif_pitches))) / 12)


def quote_score(score: Score, use: MotifUse, *, variant_index: int) -> Score:
    """`score` with the motif written into its melody (or bass) track where the variant's
    plan puts it; the track's own notes in those spans give way. The quotes are recorded
    in `Score.motif_quotes` so the arranger keeps them note for note."""
    steps_per_bar = score.steps_per_bar
    total = score.total_steps
    use = MotifUse(fit_meter(use.motif, score.meter), use.voice, use.every_bars, use.vary)
    frame = Key(0, score.mode if score.mode in MODE_INTERVALS else "major", "C")
    source = Key.parse(use.motif.key)
    degrees = [(o, d, to_degree(p, source)) for o, d, p in use.motif.notes]
    track = use.voice
    own = [n for n in score.notes if n.track == track]
    default = 72.0 if track == "melody" else 48.0
    around = float(np.median([n.pitch for n in own])) if own else default
    plain = [from_degree(degree, frame) for _, _, degree in degrees]
    shift = 12 * _frame_octave(plain, around)

    quotes: list[MotifQuote] = []
    written: list[ScoreNote] = []
    velocity = float(np.median([n.velocity for n in own])) if own else 0.8
    for planned in plan_quotes(
        use, bars=score.bars, steps_per_bar=steps_per_bar, variant_index=variant_index
    ):
        form_notes = develop(degrees, planned.form)
        onsets = []
        for onset, duration, degree in form_notes:
            step = planned.start + onset
            if step >= total:
                break
            pitch = from_degree(degree, frame) + shift
            written.append(
                ScoreNote(
                    bar=step // steps_per_bar,
                    step=step % steps_per_bar,
                    track=track,
                    pitch=int(np.clip(pitch, 0, 127)),
                    duration_steps=max(1, duration),
                    velocity=velocity,
                )
            )
            onsets.append(step)
        end = min(planned.start + max(o + d for o, d, _ in form_notes), total)
        quotes.append(MotifQuote(planned.start, end, tuple(onsets), planned.form, track))
    quoted = Score(
        meter=score.meter,
        bars=score.bars,
        mode=score.mode,
        notes=tuple(sorted(score.notes)),
        motif_quotes=tuple(quotes),
    )
    return make_room(quoted, written)


def make_room(score: Score, quote_notes: Sequence[ScoreNote]) -> Score:
    """`score` with `quote_notes` added: notes of the quoted track that start inside a quote
    give way, and those held into one stop where it begins."""
    spans = [(q.start, q.end, q.track) for q in score.motif_quotes]
    quoted = set(quote_notes)
    kept: list[ScoreNote] = []
    for note in score.notes:
        if note in quoted:
            continue
        onset = score.onset_step(note)
        mine = [(a, b) for a, b, track in spans if track == note.track]
        if any(a <= onset < b for a, b in mine):
            continue
        following = [a for a, _ in mine if a > onset]
        if following and onset + note.duration_steps > min(following):
            note = ScoreNote(
                note.bar, note.step, note.track, note.pitch, min(following) - onset, note.velocity
            )
        kept.append(note)
    return Score(
        meter=score.meter,
        bars=score.bars,
        mode=score.mode,
        notes=tuple(sorted(kept + list(quote_notes))),
        motif_quotes=score.motif_quotes,
    )


def quote_notes(score: Score) -> list[ScoreNote]:
    """The notes of `score` that its quotes put there."""
    onsets = {(q.track, o) for q in score.motif_quotes for o in q.onsets}
    return [n for n in score.notes if (n.track, score.onset_step(n)) in onsets]


def quote_bars(score: Score) -> list[int]:
    """Bars touched by a score's quotes (what inpainting keeps)."""
    bars: set[int] = set()
    per_bar = score.steps_per_bar
    for quote in score.motif_quotes:
        for onset in quote.onsets:
            bars.add(onset // per_bar)
    return sorted(bars)
