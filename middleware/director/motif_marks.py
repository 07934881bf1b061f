"""Where a rendered session quotes its states' motifs: marks for the timeline.

Each variant's metadata lists its motif entries (bar, step, form; `VariantMeta.motif_entries`).
From the director's `state` and `variant` events (a variant's loop starts at the event's
sample) every loop pass of the playing variant is walked and each entry becomes a session
sample. Pure bookkeeping: no audio is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from engine_core.spec import Meter, beat_to_sample
from engine_core.variant import VariantMeta
from middleware.director import events as ev
from middleware.director.director import VariantLookup
from middleware.director.events import DirectorEvent


@dataclass(frozen=True)
class MotifMark:
    sample: int  # session sample where the quote's first note starts
    state: str
    variant: int
    bar: int  # bar of the variant's loop
    step: int  # sixteenth step inside that bar
    form: str  # original, sequence, inversion, augmentation


def entry_offset(meta: VariantMeta, bar: int, step: int) -> int:
    """Sample of (bar, step) from the start of the variant's loop."""
    meter = Meter.parse(meta.meter)
    beat = Fraction(bar * meter.beats_per_bar) + Fraction(step, meter.steps_per_beat)
    return beat_to_sample(beat, meta.bpm, meta.sample_rate)


def motif_marks(
    events: Sequence[DirectorEvent], variants: VariantLookup, end_sample: int
) -> list[MotifMark]:
    """The motif entries heard between the first event and `end_sample`."""
    segments: list[tuple[int, str, int]] = []
    for event in events:
        if event.kind in (ev.STATE, ev.VARIANT) and "variant" in event.data:
            segments.append((event.sample, str(event.data["state"]), int(event.data["variant"])))
    segments.sort(key=lambda s: s[0])
    marks: list[MotifMark] = []
    for index, (start, state, variant) in enumerate(segments):
        stop = segments[index + 1][0] if index + 1 < len(segments) else end_sample
        found = variants(state)
        if found is None or not 0 <= variant < len(found.variants):
            continue
        meta = found.variants[variant].meta
        if not meta.motif_entries or meta.loop_end <= 0:
            continue
        offsets = [(entry_offset(meta, b, s), b, s, form) for b, s, form in meta.motif_entries]
        loop_start = start
        while loop_start < stop:
            for offset, bar, step, form in offsets:
                if loop_start + offset < stop:
                    marks.append(MotifMark(loop_start + offset, state, variant, bar, step, form))
            if not meta.is_loop:
                break
            loop_start += meta.loop_end
    return marks
