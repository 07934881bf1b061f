"""What the variants of a set share: the set's theme, varied bar by bar.

A composer keeps the variants of one state recognisably the same piece and varies the
rest. The set's centre (variant 0, the score the model writes from the set's base noise)
is its *theme*. Every later variant plays the theme's bars — melody, harmony and bass as
the theme has them — in some bars and its own score's bars (the model's retake) in the
others; everything the arranger derives from the score (chords, counter-line, pads, arps,
bass) follows. Which bars:

- the first bar of every 4-bar phrase states the theme (its motif) while the retake
  variance is below `MOTIF_VARIANCE`;
- of the other bars, the share ``1 - SHARE_SLOPE x variance`` (0.51 at the default 0.35,
  none from 0.71 up) plays the theme: the bars with the lowest draws of the variant's own
  generator, so a higher variance keeps a subset of the bars a lower one keeps (overlap
  falls monotonically as variance rises).

A note keeps its bar's source; one held past the end of its bar into a bar of the other
source is cut at the bar line (round the seam too), so the two never sound together. Bars
where the variant quotes the state's motif (`Score.motif_quotes`) stay its own; the
theme's quotes come along where they lie wholly in shared bars.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine_core.score import MotifQuote, Score, ScoreNote

PHRASE_BARS = 4
MOTIF_VARIANCE = 0.7
SHARE_SLOPE = 1.4


def theme_bars(bars: int, *, variance: float, seed: int, variant_index: int) -> tuple[bool, ...]:
    """Per bar, whether variant `variant_index` plays the theme there (all for variant 0)."""
    if variant_index == 0:
        return (True,) * bars
    rng = np.random.default_rng([seed & 0xFFFFFFFF, variant_index, 4099])
    draws = rng.random(bars)
    motif = variance < MOTIF_VARIANCE
    chosen = [motif and bar % PHRASE_BARS == 0 for bar in range(bars)]
    free = [bar for bar in range(bars) if not chosen[bar]]
    share = max(0.0, min(1.0, 1.0 - SHARE_SLOPE * variance))
    for bar in sorted(free, key=lambda b: draws[b])[: round(share * len(free))]:
        chosen[bar] = True
    return tuple(chosen)


def _cut(note: ScoreNote, sources: tuple[bool, ...], steps_per_bar: int) -> ScoreNote:
    """`note` ended at the first bar line into a bar of the other source."""
    bars = len(sources)
    own = sources[note.bar]
    end = note.step + note.duration_steps
    boundary = steps_per_bar
    while boundary < end:
        if sources[(note.bar + boundary // steps_per_bar) % bars] != own:
            return replace(note, duration_steps=max(1, boundary - note.step))
        boundary += steps_per_bar
    return note


def with_theme(score: Score, theme: Score | None, shared: tuple[bool, ...]) -> Score:
    """`score` with the theme's bars where `shared` says so (itself when they don't fit)."""
    if (
        theme is None
        or theme is score
        or theme.meter != score.meter
        or theme.bars != score.bars
        or theme.mode != score.mode
        or len(shared) != score.bars
        or not any(shared)
    ):
        return score
    steps = score.steps_per_bar

    def bars_of(quote: MotifQuote) -> range:
        return range(quote.start // steps, (max(quote.end, quote.start + 1) - 1) // steps + 1)

    # the variant's own motif quotes stay where it placed them; the theme's come along
    # where the whole quote lies in bars the variant shares
    own_bars = {b % score.bars for q in score.motif_quotes for b in bars_of(q)}
    shared = tuple(s and bar not in own_bars for bar, s in enumerate(shared))
    if not any(shared):
        return score
    quotes = score.motif_quotes + tuple(
        q for q in theme.motif_quotes if all(shared[b % score.bars] for b in bars_of(q))
    )
    notes = [n for n in theme.notes if shared[n.bar % score.bars]] + [
        n for n in score.notes if not shared[n.bar % score.bars]
    ]
    cut = tuple(sorted(_cut(n, shared, steps) for n in notes))
    return replace(score, notes=cut, motif_quotes=quotes)
