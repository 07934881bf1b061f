"""Which stems would come out empty: the checks behind the validate/generate/bake warnings.

`empty_stem_warnings(spec)` arranges two probe scores without the model: a melody-only
score (what the folk style family writes) and an empty score (the worst case). A stem that
is not `optional` and gets no notes from either is reported; so is a pitched stem whose
register is too narrow to hold a chord for its role. `silent_stem_warnings` checks rendered
audio: a stem that never rises above `SILENCE_DBFS` and is not optional.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from engine_core.score import Score, ScoreNote
from engine_core.spec import GenerationSpec

SILENCE_DBFS = -60.0
#: roles that voice chords need at least this many semitones of register
CHORD_ROLES_MIN_RANGE = 7
#: a C-major stepwise tune (tonic-C frame), one note a beat
PROBE_TUNE = (72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 74)


def probe_scores(spec: GenerationSpec) -> tuple[Score, Score]:
    """A melody-only score and an empty score with the spec's meter and length."""
    meter = spec.meter_info
    notes = []
    for beat in range(spec.bars * meter.beats_per_bar):
        bar, inside = divmod(beat, meter.beats_per_bar)
        notes.append(
            ScoreNote(
                bar=bar,
                step=inside * meter.steps_per_beat,
                track="melody",
                pitch=PROBE_TUNE[beat % len(PROBE_TUNE)],
                duration_steps=meter.steps_per_beat,
            )
        )
    mode = "minor" if spec.key_info.is_minor else "major"
    return (
        Score(spec.meter, spec.bars, mode, tuple(notes)),
        Score(spec.meter, spec.bars, mode, ()),
    )


def empty_stem_warnings(spec: GenerationSpec) -> list[str]:
    """Warnings for stems that would come out empty (optional stems are never reported)."""
    from engine_core.arrange.arranger import arrange

    warnings: list[str] = []
    empty: dict[str, int] = {}
    for score in probe_scores(spec):
        for stem in arrange(score, spec, seed=0).stems:
            if not stem.notes:
                empty[stem.stem.name] = empty.get(stem.stem.name, 0) + 1
    for stem in spec.stems:
        if stem.optional:
            continue
        if stem.name in empty:
            warnings.append(
                f"stem {stem.name!r} ({stem.role}) would come out silent: nothing for its role "
                "in a melody-only score; mark it `optional = true` if that is intended"
            )
        low, high = stem.register
        if stem.role in ("harmony", "pad", "arp") and high - low < CHORD_ROLES_MIN_RANGE:
            warnings.append(
                f"stem {stem.name!r} ({stem.role}): register {low}-{high} is narrower than "
                f"{CHORD_ROLES_MIN_RANGE} semitones; its chords will be thin"
            )
    return warnings


def silent_stem_warnings(
    spec: GenerationSpec, variant_index: int, stems: Mapping[str, np.ndarray]
) -> list[str]:
    """Warnings for rendered stems that stay below `SILENCE_DBFS` (optional ones allowed)."""
    threshold = 10 ** (SILENCE_DBFS / 20)
    warnings = []
    for stem in spec.stems:
        audio = stems.get(stem.name)
        if stem.optional or audio is None:
            continue
        if audio.size == 0 or float(np.max(np.abs(audio))) < threshold:
            warnings.append(
                f"variant {variant_index}: stem {stem.name!r} ({stem.role}) is silent "
                f"(below {SILENCE_DBFS:g} dBFS)"
            )
    return warnings
