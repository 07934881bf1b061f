"""Real music for the render tests: Bach chorales from music21's corpus as `Score`s.

A chorale is transposed to the tonic-C frame the model writes in, quantised to the
sixteenth grid, and cut to whole bars (soprano -> melody, alto + tenor -> harmony,
bass -> bass). `ChoraleComposer` serves them through the `Composer` protocol, so the
engine's stages after the model run on real scores until (and beside) the real model.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from engine_core.composer import ProgressCallback
from engine_core.score import Score, ScoreNote
from engine_core.spec import GenerationSpec

CHORALES: tuple[str, ...] = ("bach/bwv66.6", "bach/bwv269", "bach/bwv347", "bach/bwv153.1")
PART_TRACKS: tuple[str, ...] = ("melody", "harmony", "harmony", "bass")


@lru_cache(maxsize=8)
def _parsed(name: str):  # -> (music21 score, tonic pitch class, mode)
    from music21 import corpus

    chorale = corpus.parse(name, forceSource=True)  # music21's pickle reader leaks a file
    key = chorale.analyze("key")
    return chorale, key.tonic.pitchClass, key.mode


@lru_cache(maxsize=32)
def chorale_score(name: str = CHORALES[0], *, bars: int = 4, start_bar: int = 1) -> Score:
    """`bars` bars of a 4/4 chorale from measure `start_bar`, in the tonic-C frame."""
    chorale, tonic, mode = _parsed(name)
    shift = -tonic if tonic <= 6 else 12 - tonic
    steps_per_bar = 16
    total = bars * steps_per_bar
    notes: list[ScoreNote] = []
    for part, track in zip(chorale.parts, PART_TRACKS, strict=False):
        start = part.measure(start_bar).offset
        for element in part.flatten().notes:
            step = round((float(element.offset) - float(start)) * 4)
            if not 0 <= step < total:
                continue
            duration = max(1, round(float(element.quarterLength) * 4))
            for pitch in element.pitches:
                notes.append(
                    ScoreNote(
                        bar=step // steps_per_bar,
                        step=step % steps_per_bar,
                        track=track,
                        pitch=pitch.midi + shift,
                        duration_steps=duration,
                        velocity=0.8,
                    )
                )
    return Score(
        meter="4/4",
        bars=bars,
        mode="minor" if mode == "minor" else "major",
        notes=tuple(sorted(notes)),
    )


class ChoraleComposer:
    """A `Composer` over real chorales: variant i is chorale (seed + i) of `CHORALES`."""

    weights_version = "chorales-music21"

    def __init__(self, chorales: Sequence[str] = CHORALES) -> None:
        self.chorales = tuple(chorales)

    def compose(
        self,
        spec: GenerationSpec,
        *,
        seed: int,
        variants: int,
        variance: float | None = None,
        steps: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[Score]:
        scores = []
        for index in range(variants):
            name = self.chorales[(seed + index) % len(self.chorales)]
            scores.append(chorale_score(name, bars=spec.bars))
            if progress is not None:
                progress("model", index + 1, variants)
        return scores

    def inpaint(self, spec, *, fixed, keep_bars, seed, steps=None):  # type: ignore[no-untyped-def]
        return fixed


def band_spec(**changes: object) -> GenerationSpec:
    """A four-stem spec (flute tune, string pad, bass, drums) for the chorale tests."""
    from engine_core.spec import StemSpec

    fields: dict[str, object] = {
        "prompt": "a steadfast march over a chorale",
        "tags": ("orchestral", "heroic"),
        "bpm": 120.0,
        "meter": "4/4",
        "key": "D minor",
        "bars": 4,
        "stems": (
            StemSpec("lead", "melody", program=73, register=(62, 86), intensity=(0.3, 1.0)),
            StemSpec("strings", "pad", program=48, register=(48, 72), gain_db=-3.0, pan=-0.3),
            StemSpec("bass", "bass", program=32, register=(28, 52)),
            StemSpec("drums", "drums", program=0, intensity=(0.6, 1.0)),
        ),
    }
    fields.update(changes)
    return GenerationSpec(**fields)  # type: ignore[arg-type]


@lru_cache(maxsize=4)
def band_variants(seed: int = 3, variants: int = 3):  # -> VariantSet
    """A variant set of `band_spec()` made once per test session (it takes ~2 s)."""
    from engine_core.generate import Engine

    return Engine(ChoraleComposer()).generate(
        band_spec(), state="battle", seed=seed, variants=variants
    )
