"""What the engine returns and the middleware plays: variants with stems, mix, MIDI, timing.

Audio is numpy float32, shape (frames, 2), with the sample rate in the metadata. All
positions are sample indices from the loop's first sample. The loop region is
[loop_start, loop_end); for a loop `loop_start == 0` and `loop_end == frames` (the tail is
already folded onto the head). A one-shot variant has `loop_end == frames` too, but `is_loop`
is False and it may ring past its last bar line (`bar_samples[-1]`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine_core.score import Score


@dataclass(frozen=True)
class VariantMeta:
    state: str  # the template state (or stinger) this variant belongs to
    index: int  # 0-based index inside its variant set
    sample_rate: int
    bpm: float
    meter: str
    key: str
    bars: int
    is_loop: bool
    loop_start: int
    loop_end: int
    beat_samples: tuple[int, ...]  # sample of every beat, from beat 0 to the last beat
    bar_samples: tuple[int, ...]  # sample of every bar line, bar 0 .. bars (end included)
    stem_intensity: dict[str, tuple[float, float]]  # stem name -> [low, high) intensity range
    loudness_lufs: float  # integrated loudness of the mix
    true_peak_db: float
    generation_hash: str
    seed: int
    engine_version: str
    weights_version: str
    #: where the loop quotes its motif: (bar, step in the bar, form), in playing order
    motif_entries: tuple[tuple[int, int, str], ...] = ()

    @property
    def frames(self) -> int:
        return self.loop_end

    @property
    def beats_per_bar(self) -> int:
        return (len(self.beat_samples)) // self.bars

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["beat_samples"] = list(self.beat_samples)
        data["bar_samples"] = list(self.bar_samples)
        data["stem_intensity"] = {k: list(v) for k, v in self.stem_intensity.items()}
        data["motif_entries"] = [list(entry) for entry in self.motif_entries]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VariantMeta:
        fields = dict(data)
        fields["beat_samples"] = tuple(fields["beat_samples"])
        fields["bar_samples"] = tuple(fields["bar_samples"])
        fields["stem_intensity"] = {k: tuple(v) for k, v in fields["stem_intensity"].items()}
        fields["motif_entries"] = tuple(tuple(e) for e in fields.get("motif_entries", ()))
        return cls(**fields)


@dataclass(frozen=True)
class Variant:
    meta: VariantMeta
    stems: dict[str, np.ndarray]  # stem name -> float32 (frames, 2)
    mix: np.ndarray  # float32 (frames, 2): the stems summed at unity intensity, normalised
    midi: bytes  # a Standard MIDI File of the arranged loop (one track per stem)
    #: the composer's score it was arranged from (tonic-C frame), when the engine knows it;
    #: the cache keeps it beside the audio so a bridge reads its states' scores back
    score: Score | None = None


@dataclass(frozen=True)
class VariantSet:
    state: str
    generation_hash: str
    seed: int
    variants: tuple[Variant, ...] = field(default=())
