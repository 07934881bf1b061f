"""The requests the model is evaluated on, and the specs that carry them.

The main spread is a list of variant sets (4 loops each at the default variance) cycling
through every meter, both modes, 4- and 8-bar loops and the three corpus style families,
with energy, density and register drawn uniformly in [0.1, 0.9] from the evaluation seed.
The prompt is empty: the text model is not part of what is measured (tags and fields are).

Control sweeps hold everything else fixed (4/4, 8 bars, chorale style, each mode half the
time) and draw the same noise at every level of the swept control, so the level is the
only thing that changes between them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from engine_core.spec import METERS, GenerationSpec, StemSpec

MODES: tuple[str, ...] = ("major", "minor")
LOOP_LENGTHS: tuple[int, ...] = (4, 8)
STYLE_TAGS: tuple[str, ...] = ("chorale", "folk", "renaissance")
SET_SIZE = 4
#: stems never reach the model; a spec needs one
_STEMS = (StemSpec("melody", "melody"), StemSpec("harmony", "pad"), StemSpec("bass", "bass"))


def default_variance() -> float:
    """GenerationSpec's default retake variance."""
    return float(next(f.default for f in fields(GenerationSpec) if f.name == "variance"))


@dataclass(frozen=True)
class Request:
    """One compose call: a spec's controls, a seed and how many variants."""

    meter: str
    mode: str
    bars: int
    style: str | None
    seed: int
    variants: int
    variance: float
    energy: float | None = None
    density: float | None = None
    register: float | None = None

    def spec(self) -> GenerationSpec:
        return GenerationSpec(
            prompt="",
            tags=(self.style,) if self.style else (),
            bpm=120.0,
            meter=self.meter,
            key=f"C {self.mode}",
            bars=self.bars,
            stems=_STEMS,
            energy=self.energy,
            density=self.density,
            brightness=self.register,
            variance=self.variance,
        )


def main_spread(loops: int, seed: int) -> list[Request]:
    """Variant sets covering meters, modes, lengths and styles, `loops` loops in all."""
    rng = np.random.default_rng([seed, 1])
    requests: list[Request] = []
    remaining, index = loops, 0
    while remaining > 0:
        scalars = rng.uniform(0.1, 0.9, size=3).round(2)
        requests.append(
            Request(
                meter=METERS[index % len(METERS)],
                mode=MODES[(index // len(METERS)) % len(MODES)],
                bars=LOOP_LENGTHS[(index // 6) % len(LOOP_LENGTHS)],
                style=STYLE_TAGS[(index // 12) % len(STYLE_TAGS)],
                seed=seed * 100_003 + index,
                variants=min(SET_SIZE, remaining),
                variance=default_variance(),
                energy=float(scalars[0]),
                density=float(scalars[1]),
                register=float(scalars[2]),
            )
        )
        remaining -= SET_SIZE
        index += 1
    return requests


def control_requests(control: str, level: float, loops: int, seed: int) -> list[Request]:
    """`loops` independent loops (variance 1) with only `control` set to `level`,
    half in major, half in minor; the same seeds at every level."""
    requests = []
    for number, mode in enumerate(MODES):
        count = (loops + 1 - number) // 2
        if count:
            requests.append(
                Request(
                    meter="4/4",
                    mode=mode,
                    bars=8,
                    style="chorale",
                    seed=seed * 100_003 + 50_000 + number,
                    variants=count,
                    variance=1.0,
                    **{control: level},
                )
            )
    return requests


def variance_requests(variance: float, sets: int, seed: int) -> list[Request]:
    """The first `sets` requests of the main spread at another variance (same seeds)."""
    base = main_spread(sets * SET_SIZE, seed)
    return [replace(r, variance=variance, variants=SET_SIZE) for r in base]
