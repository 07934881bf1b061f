"""Drum sweep: the groove each style gets and how much its variants differ, per stem.

Thirty seeded specs across meters, styles, energies and kits (`SWEEP`; half tagged, half
described only by a prompt), each with a drums, a percussion and a pitched-percussion
(timpani) stem. The shipped model writes 4 variants per spec; the arranger plays them.
Per stem: the groove, the fewest notes in a variant, and the set's per-stem overlap
(`stem_overlap.set_stem_overlap`; target 0.2-0.8 at the default variance 0.35 for stems
with at least 8 notes). Run ``python -m engine_core.evaluation.drum_sweep``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine_core.spec import GenerationSpec, StemSpec

#: (tags, prompt, meter, energy, drum kit)
SWEEP: tuple[tuple[tuple[str, ...], str, str, float | None, int], ...] = (
    (("orchestral", "epic"), "", "4/4", 0.85, 48),
    (("orchestral", "calm"), "", "3/4", 0.3, 48),
    (("waltz",), "", "3/4", 0.5, 48),
    (("march", "heroic"), "", "4/4", 0.7, 48),
    (("march",), "", "6/8", 0.6, 48),
    (("jig", "happy"), "", "6/8", 0.7, 0),
    (("shanty",), "", "6/8", 0.5, 0),
    (("celtic", "folk"), "", "4/4", 0.5, 0),
    (("synthwave", "driving"), "", "4/4", 0.8, 25),
    (("electronic",), "", "3/4", 0.5, 24),
    (("rock", "aggressive"), "", "4/4", 0.9, 16),
    (("rock",), "", "6/8", 0.4, 0),
    (("jazz",), "", "4/4", 0.5, 32),
    (("lofi", "calm"), "", "4/4", 0.25, 0),
    (("jazz",), "", "3/4", 0.6, 40),
    (("tribal",), "", "4/4", 0.8, 0),
    (("tribal",), "", "6/8", 0.6, 0),
    (("horror",), "", "4/4", 0.4, 0),
    (("horror", "tense"), "", "3/4", 0.7, 0),
    (("ambient",), "", "4/4", 0.2, 0),
    (("ambient",), "", "6/8", 0.5, 0),
    ((), "an epic boss fight in a ruined cathedral", "4/4", None, 0),
    ((), "a tarantella in the village square", "6/8", None, 0),
    ((), "retro synth chase through neon streets", "4/4", None, 0),
    ((), "haunted mansion, creaking and dread", "4/4", None, 0),
    ((), "thundering taiko drums at the temple", "4/4", None, 0),
    ((), "weightless ambient pads, slow evolving chords", "4/4", None, 0),
    ((), "a gentle ballroom waltz", "3/4", None, 0),
    ((), "medieval tavern with fiddle and bodhran", "6/8", None, 0),
    ((), "cool jazz lounge at midnight", "4/4", None, 0),
)
KEYS = ("D minor", "G major", "E dorian", "A minor", "F major")
DRUM_STEMS = ("drums", "perc", "timpani")
MIN_NOTES = 8


@dataclass(frozen=True)
class StemResult:
    case: int
    stem: str
    groove: str
    notes: int  # fewest notes in a variant
    overlap: float


def sweep_spec(index: int) -> GenerationSpec:
    tags, prompt, meter, energy, kit = SWEEP[index]
    return GenerationSpec(
        prompt=prompt or " ".join(tags),
        tags=tags,
        bpm=120.0,
        meter=meter,
        key=KEYS[index % len(KEYS)],
        bars=8,
        energy=energy,
        stems=(
            StemSpec("lead", "melody", program=73, register=(62, 86)),
            StemSpec("bass", "bass", program=32, register=(28, 52)),
            StemSpec("drums", "drums", program=kit),
            StemSpec("perc", "percussion", program=0),
            StemSpec("timpani", "percussion", program=47, register=(41, 57), pitched=True),
        ),
    )


def run_sweep(variants: int = 4) -> list[StemResult]:
    from engine_core.arrange.arranger import arrange
    from engine_core.arrange.grooves import load_library
    from engine_core.evaluation.stem_overlap import set_stem_overlap
    from engine_core.model.composer import DiffusionComposer

    composer = DiffusionComposer.load()
    library = load_library()
    results: list[StemResult] = []
    for index in range(len(SWEEP)):
        spec = sweep_spec(index)
        seed = 100 + index
        scores = composer.compose(spec, seed=seed, variants=variants)
        arrangements = [
            arrange(score, spec, seed=seed, variant_index=k, grooves=library, theme=scores[0])
            for k, score in enumerate(scores)
        ]
        steps_per_beat = spec.meter_info.steps_per_beat
        names = [s.name for s in spec.stems]
        for name in DRUM_STEMS:
            stems = [a.stems[names.index(name)] for a in arrangements]
            notes = [s.notes for s in stems]
            results.append(
                StemResult(
                    index,
                    name,
                    stems[0].groove or "",
                    min(len(n) for n in notes),
                    set_stem_overlap(notes, steps_per_beat),
                )
            )
    return results


def main() -> None:
    results = run_sweep()
    for r in results:
        tags, prompt, meter, _energy, _kit = SWEEP[r.case]
        label = ",".join(tags) or repr(prompt[:30])
        print(f"{r.case:2d} {meter} {label:34s} {r.stem:8s} {r.groove:26s} {r.notes:4d}", end="")
        print(f" {r.overlap:.2f}")
    for name in (*DRUM_STEMS, None):
        chosen = [r.overlap for r in results if r.notes >= MIN_NOTES and name in (None, r.stem)]
        values = np.array(chosen)
        inside = np.mean((values >= 0.2) & (values <= 0.8))
        print(
            f"{name or 'all':8s} stems={len(values)} mean={values.mean():.2f} "
            f"min={values.min():.2f} max={values.max():.2f} in 0.2-0.8: {inside:.0%}"
        )


if __name__ == "__main__":
    main()
