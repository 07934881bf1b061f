"""Synthetic variant sets with a known beat grid, for auditioning the director without a
model, for its tests and for the mixer benchmark.

Each stem is a sine (its own pitch per stem and variant) with a short click on every beat,
so sample positions are easy to check by ear and by code. Timing comes from
`LoopGrid.from_tempo`, i.e. the same `beat_to_sample` the engine uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from engine_core.variant import Variant, VariantMeta, VariantSet
from middleware.director.timing import LoopGrid

#: stem index, variant index, frames, beat samples -> float32 (frames, 2)
StemFill = Callable[[int, int, int, tuple[int, ...]], np.ndarray]

DEFAULT_STEMS: Mapping[str, tuple[float, float]] = {
    "pad": (0.0, 1.0),
    "bass": (0.0, 1.0),
    "melody": (0.3, 1.0),
    "drums": (0.6, 1.0),
}


def sine_and_clicks(
    sample_rate: int, level: float = 0.1
) -> Callable[[int, int, int, tuple[int, ...]], np.ndarray]:
    """A fill: stem `s` of variant `v` is a sine at 110 * (s + 1) * (1 + v / 12) Hz plus a
    20-sample click on every beat."""

    def fill(stem: int, variant: int, frames: int, beats: tuple[int, ...]) -> np.ndarray:
        t = np.arange(frames, dtype=np.float64) / sample_rate
        freq = 110.0 * (stem + 1) * (1.0 + variant / 12.0)
        mono = level * np.sin(2 * np.pi * freq * t)
        for beat in beats:
            mono[beat : beat + 20] += level
        return np.stack([mono, mono], axis=1).astype(np.float32)

    return fill


def synthetic_variant_set(
    state: str,
    *,
    bpm: float,
    meter: str,
    bars: int,
    variants: int = 3,
    sample_rate: int = 48000,
    stems: Mapping[str, tuple[float, float]] = DEFAULT_STEMS,
    fill: StemFill | None = None,
    one_shot: bool = False,
    tail_samples: int = 0,
) -> VariantSet:
    """A variant set whose loops are exactly as long as the engine's would be."""
    grid = LoopGrid.from_tempo(bpm, meter, bars, sample_rate)
    fill = fill or sine_and_clicks(sample_rate)
    loop = grid.loop_samples
    frames = loop + (tail_samples if one_shot else 0)
    made = []
    for index in range(variants):
        audio = {
            name: np.ascontiguousarray(fill(s, index, frames, grid.beat_samples), np.float32)
            for s, name in enumerate(stems)
        }
        mix = np.sum(list(audio.values()), axis=0).astype(np.float32)
        meta = VariantMeta(
            state=state,
            index=index,
            sample_rate=sample_rate,
            bpm=float(bpm),
            meter=meter,
            key="C major",
            bars=bars,
            is_loop=not one_shot,
            loop_start=0,
            loop_end=frames,
            beat_samples=grid.beat_samples,
            bar_samples=(*grid.bar_samples, loop),
            stem_intensity={name: tuple(r) for name, r in stems.items()},
            loudness_lufs=-16.0,
            true_peak_db=-1.0,
            generation_hash=f"synthetic-{state}",
            seed=index,
            engine_version="synthetic",
            weights_version="none",
        )
        made.append(Variant(meta=meta, stems=audio, mix=mix, midi=b""))
    return VariantSet(
        state=state, generation_hash=f"synthetic-{state}", seed=0, variants=tuple(made)
    )
