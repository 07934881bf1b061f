"""The `ostinato eval-music` sweep: fixed spec lists (and template states) in, a table out.

`music_specs.toml` holds the two fixed lists, DEV and HELD-OUT, written before the
arrangement rules were tuned. Each entry is generated end to end (model, arranger,
renderer) and measured with `engine_core.evaluation.music`; the template packs' states are
passed in by the caller (engine_core never reads templates). `summarise` turns the
measures of one group into the figures of the README table, with the goals beside them.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from engine_core.arrange.instruments import resolve_program
from engine_core.evaluation.joins import seam_check
from engine_core.evaluation.music import (
    VariantMeasure,
    measure_variant,
    stem_overlap,
)
from engine_core.evaluation.music_reference import load_reference
from engine_core.spec import GenerationSpec, StemSpec

NOTE_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
SPEC_GROUPS: tuple[str, ...] = ("dev", "heldout")
#: the melody step-share goal of issue 17 (the held-out corpus's inner range, every family)
STEP_RANGE: dict[str, tuple[float, float]] = {
    "folk": (0.48, 0.71),
    "chorale": (0.48, 0.71),
    "renaissance": (0.48, 0.71),
}


def downbeat_iqr() -> dict[str, tuple[float, float]]:
    """Beat-1 onset share of corpus melodies per meter, quartiles (`music_reference.json`)."""
    reference = load_reference() or {}
    table = reference.get("downbeat_share", {})
    return {meter: (row["q1"], row["q3"]) for meter, row in table.items()}


def corpus_spread(table: str) -> dict[str, dict[str, float]]:
    """A per-meter spread of `music_reference.json` (`bar_repetition`, `longest_rest_beats`,
    `longest_inner_rest_beats`): meter -> {p10, median, p75, p90, windows}."""
    reference = load_reference() or {}
    return {k: v for k, v in reference.get(table, {}).items() if not k.startswith("family:")}


OVERLAP_RANGE = (0.2, 0.8)

ProgressCallback = Callable[[str, int, int], None]


def note_number(text: str | int) -> int:
    """MIDI note from 'C4' (= 60), 'F#2', 'Bb5' or a number."""
    if isinstance(text, int):
        return text
    name = text.strip()
    pitch = NOTE_NAMES[name[0].upper()]
    rest = name[1:]
    while rest and rest[0] in "#b":
        pitch += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    return pitch + 12 * (int(rest) + 1)


@dataclass(frozen=True)
class SweepItem:
    """One variant set to generate: a label, its spec, seed and variant count."""

    group: str
    label: str
    spec: GenerationSpec
    seed: int
    variants: int


def _stems(table: dict[str, Any]) -> tuple[StemSpec, ...]:
    stems = []
    for name, item in table.items():
        program = item.get("program")
        if program is None:
            program = resolve_program(item["instrument"])
        register = tuple(note_number(v) for v in item.get("register", (48, 84)))
        stems.append(
            StemSpec(
                name=name,
                role=item["role"],
                program=int(program),
                register=(register[0], register[1]),
                optional=bool(item.get("optional", False)),
            )
        )
    return tuple(stems)


def spec_lists(variants: int = 3) -> dict[str, list[SweepItem]]:
    """The DEV and HELD-OUT lists of `music_specs.toml` as sweep items."""
    text = resources.files("engine_core.evaluation").joinpath("music_specs.toml").read_text()
    data = tomllib.loads(text)
    stem_sets = {name: _stems(table) for name, table in data["stem_sets"].items()}
    lists: dict[str, list[SweepItem]] = {}
    for group in SPEC_GROUPS:
        items = []
        for entry in data[group]:
            spec = GenerationSpec(
                prompt=entry["prompt"],
                tags=tuple(entry["tags"]),
                bpm=float(entry["bpm"]),
                meter=entry["meter"],
                key=entry["key"],
                bars=int(entry["bars"]),
                stems=stem_sets[entry["stems"]],
                energy=entry.get("energy"),
            )
            items.append(SweepItem(group, entry["name"], spec, int(entry["seed"]), variants))
        lists[group] = items
    return lists


@dataclass
class GroupResult:
    """Every measure of one group (dev, heldout or a pack)."""

    group: str
    variants: list[VariantMeasure] = field(default_factory=list)
    overlaps: list[tuple[str, str, str, float, int]] = field(default_factory=list)
    # (label, stem, role, overlap, min notes)
    scores: list[Any] = field(default_factory=list)  # the model's scores (seam gate, pooled)
    mode_rates: list[float] = field(default_factory=list)


def run_sweep(
    items: Sequence[SweepItem],
    engine: Any,  # engine_core.generate.Engine
    *,
    progress: ProgressCallback | None = None,
    render: bool = True,
) -> dict[str, GroupResult]:
    """Generate and measure every item; results by group."""
    from engine_core.arrange.arranger import arrange
    from engine_core.arrange.grooves import load_library
    from engine_core.evaluation.adherence import mode_rate

    library = load_library()
    results: dict[str, GroupResult] = {}
    for number, item in enumerate(items):
        result = results.setdefault(item.group, GroupResult(item.group))
        spec = item.spec
        family = engine.composer.controls(spec).style or "chorale"
        scores = engine.composer.compose(spec, seed=item.seed, variants=item.variants)
        arrangements = [
            arrange(score, spec, seed=item.seed, variant_index=i, grooves=library, theme=scores[0])
            for i, score in enumerate(scores)
        ]
        variant_set = (
            engine.render_scores(spec, scores, state=item.label, seed=item.seed) if render else None
        )
        for index, arrangement in enumerate(arrangements):
            variant = variant_set.variants[index] if variant_set is not None else None
            result.variants.append(
                measure_variant(
                    item.label,
                    index,
                    arrangement,
                    variant.stems if variant is not None else None,
                    variant.mix if variant is not None else None,
                    spec.sample_rate,
                    family,
                )
            )
        meter = arrangements[0].meter_info
        for position, stem in enumerate(spec.stems):
            per_variant = [a.stems[position] for a in arrangements]
            result.overlaps.append(
                (
                    item.label,
                    stem.name,
                    stem.role,
                    stem_overlap(per_variant, meter),
                    min(len(s.notes) for s in per_variant),
                )
            )
        result.scores.extend(scores)
        result.mode_rates.append(mode_rate(scores, [scores[0].mode] * len(scores)))
        if progress is not None:
            progress("eval-music", number + 1, len(items))
    return results


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def _share(flags: Sequence[bool]) -> float:
    return float(np.mean(flags)) if flags else math.nan


def summarise(result: GroupResult) -> dict[str, float]:
    """The figures of one group (see the module docstring and docs/engine.md)."""
    stems = [s for v in result.variants for s in v.stems]
    pitched = [s for s in stems if s.role not in ("drums", "percussion")]
    melodies = [
        s for s in stems if s.role == "melody" and s.intervals is not None and s.intervals.count
    ]
    counters = [
        s for s in stems if s.role == "counter" and s.intervals is not None and s.intervals.count
    ]
    basses = [
        s for s in stems if s.role == "bass" and s.intervals is not None and s.intervals.count
    ]
    repetition = corpus_spread("bar_repetition")
    inner_rest = corpus_spread("longest_inner_rest_beats")
    figure = corpus_spread("figure_repetition")
    melody_rows = [(v.meter, s) for v in result.variants for s in v.stems if s.role == "melody"]
    required = [s for s in stems if not s.optional]
    figures = [s for s in stems if s.role == "arp"]
    iqr = downbeat_iqr()
    downbeat_in = [
        iqr[v.meter][0] <= s.downbeat_share <= iqr[v.meter][1]
        for v in result.variants
        for s in v.stems
        if s.role == "melody" and not math.isnan(s.downbeat_share) and v.meter in iqr
    ]
    by_meter = {
        meter: _nanmean(
            [
                s.downbeat_share
                for v in result.variants
                if v.meter == meter
                for s in v.stems
                if s.role == "melody"
            ]
        )
        for meter in ("4/4", "3/4", "6/8")
    }
    steps_in = [
        STEP_RANGE.get(v.family, STEP_RANGE["folk"])[0]
        <= s.intervals.steps
        <= STEP_RANGE.get(v.family, STEP_RANGE["folk"])[1]
        for v in result.variants
        for s in v.stems
        if s.role == "melody" and s.intervals is not None and s.intervals.count > 0
    ]
    pitched_overlaps = [o for o in result.overlaps if o[2] not in ("drums", "percussion")]
    drum_overlaps = [o for o in result.overlaps if o[2] in ("drums", "percussion")]

    def overlap_in(rows: Sequence[tuple[str, str, str, float, int]]) -> float:
        eligible = [r for r in rows if r[4] >= 8 and not math.isnan(r[3])]
        return _share([OVERLAP_RANGE[0] <= r[3] <= OVERLAP_RANGE[1] for r in eligible])

    return {
        "variants": len(result.variants),
        "stems": len(stems),
        "silent_stems": sum(1 for s in required if s.silent),
        "silent_optional": sum(1 for s in stems if s.optional and s.silent),
        "holes_over_1_beat": sum(1 for v in result.variants if v.hole_beats > 1.0),
        "longest_hole_beats": max((v.hole_beats for v in result.variants), default=math.nan),
        "accent_gap_pitched": _nanmean([s.accent_gap for s in pitched]),
        "accent_gap_min_stem": min(
            (s.accent_gap for s in pitched if not math.isnan(s.accent_gap)), default=math.nan
        ),
        "melody_downbeat_share": _nanmean([s.downbeat_share for s in melodies]),
        "melody_downbeat_4/4": by_meter["4/4"],
        "melody_downbeat_3/4": by_meter["3/4"],
        "melody_downbeat_6/8": by_meter["6/8"],
        "melody_downbeat_in_iqr": _share(downbeat_in),
        "melody_steps": _nanmean([s.intervals.steps for s in melodies]),
        "melody_leaps": _nanmean([s.intervals.leaps for s in melodies]),
        "melody_repeats": _nanmean([s.intervals.repeats for s in melodies]),
        "melody_steps_in_range": _share(steps_in),
        "leaps_over_octave": sum(s.intervals.over_octave for s in melodies),
        "counter_steps": _nanmean([s.intervals.steps for s in counters]),
        "counter_skips": _nanmean([s.intervals.skips for s in counters]),
        "counter_repeats": _nanmean([s.intervals.repeats for s in counters]),
        "counter_leaps": _nanmean([s.intervals.leaps for s in counters]),
        "counter_leaps_over_octave": sum(s.intervals.over_octave for s in counters),
        "counter_outside_comfort": _nanmean([s.outside_comfort for s in counters]),
        "counters_outside_comfort": _share([s.outside_comfort > 0 for s in counters]),
        "bass_leaps_over_octave": sum(s.intervals.over_octave for s in basses),
        "bass_leaps_over_fifth": _nanmean(
            [s.intervals.leaps for s in basses]  # 5+ semitones: roots, fifths, octaves
        ),
        "bass_span": _nanmean([float(s.span) for s in basses]),
        "pitched_outside_comfort": _nanmean([s.outside_comfort for s in pitched]),
        "melody_bar_repetition": _nanmean([s.bar_repetition for _, s in melody_rows]),
        "melodies_repeating_over_p90": _share(
            [
                s.bar_repetition > repetition[m]["p90"]
                for m, s in melody_rows
                if m in repetition and not math.isnan(s.bar_repetition)
            ]
        ),
        "melody_figure_repetition": _nanmean([s.figure_repetition for _, s in melody_rows]),
        "melodies_figures_over_p90": _share(
            [
                s.figure_repetition > figure[m]["p90"]
                for m, s in melody_rows
                if m in figure and not math.isnan(s.figure_repetition)
            ]
        ),
        "melody_longest_rest": _nanmean([s.longest_rest_beats for _, s in melody_rows]),
        "melody_inner_rest": _nanmean([s.inner_rest_beats for _, s in melody_rows]),
        "melody_inner_rest_max": max(
            (s.inner_rest_beats for _, s in melody_rows if not math.isnan(s.inner_rest_beats)),
            default=math.nan,
        ),
        "melodies_inner_rest_over_median": _share(
            [
                s.inner_rest_beats > inner_rest[m]["median"] + 1e-6
                for m, s in melody_rows
                if m in inner_rest and not math.isnan(s.inner_rest_beats)
            ]
        ),
        "melodies_inner_rest_over_beat": _share(
            [s.inner_rest_beats > 1.0 + 1e-6 for _, s in melody_rows]
        ),
        "arp_self_similarity": _nanmean([s.self_similarity for s in figures]),
        "melody_self_similarity": _nanmean([s.self_similarity for s in melodies]),
        "arp_figure_recurrence": _nanmean([s.figure_recurrence for s in figures]),
        "melody_figure_recurrence": _nanmean([s.figure_recurrence for s in melodies]),
        "pitched_overlap_mean": _nanmean([o[3] for o in pitched_overlaps if o[4] >= 8]),
        "pitched_overlap_in_range": overlap_in(pitched_overlaps),
        "drum_overlap_mean": _nanmean([o[3] for o in drum_overlaps if o[4] >= 8]),
        "drum_overlap_in_range": overlap_in(drum_overlaps),
        "seam_gate": float(seam_check(result.scores).passed) if result.scores else math.nan,
        "mode_rate": _nanmean(result.mode_rates),
    }


#: figure -> goal text, in table order
GOALS: dict[str, str] = {
    "variants": "",
    "stems": "",
    "silent_stems": "0",
    "silent_optional": "(allowed)",
    "holes_over_1_beat": "0",
    "longest_hole_beats": "<= 1",
    "accent_gap_pitched": ">= 8",
    "accent_gap_min_stem": "",
    "melody_downbeat_share": "",
    "melody_downbeat_4/4": "corpus IQR 0.14-0.28",
    "melody_downbeat_3/4": "corpus IQR 0.21-0.40",
    "melody_downbeat_6/8": "corpus IQR 0.16-0.21",
    "melody_downbeat_in_iqr": "corpus IQR per meter",
    "melody_steps": "0.48-0.71",
    "melody_leaps": "",
    "melody_repeats": "",
    "melody_steps_in_range": "1.0",
    "leaps_over_octave": "0",
    "counter_steps": "",
    "counter_skips": "",
    "counter_repeats": "",
    "counter_leaps": "corpus melody p90 0.18-0.24",
    "counter_leaps_over_octave": "0",
    "counter_outside_comfort": "0",
    "counters_outside_comfort": "0",
    "bass_leaps_over_octave": "0",
    "bass_leaps_over_fifth": "",
    "bass_span": "",
    "pitched_outside_comfort": "",
    "melody_bar_repetition": "corpus median 0-0.125",
    "melodies_repeating_over_p90": "0 (p90 0.25-0.375)",
    "melody_figure_repetition": "corpus median 0-0.125",
    "melodies_figures_over_p90": "0 (p90 0.25-0.375)",
    "melody_longest_rest": "",
    "melody_inner_rest": "corpus median 0-2",
    "melody_inner_rest_max": "",
    "melodies_inner_rest_over_median": "",
    "melodies_inner_rest_over_beat": "",
    "arp_self_similarity": "> melody",
    "melody_self_similarity": "",
    "arp_figure_recurrence": "> melody",
    "melody_figure_recurrence": "",
    "pitched_overlap_mean": "0.2-0.8",
    "pitched_overlap_in_range": "1.0",
    "drum_overlap_mean": "0.2-0.8",
    "drum_overlap_in_range": "1.0",
    "seam_gate": "1 (passed)",
    "mode_rate": "",
}


def format_table(summaries: dict[str, dict[str, float]]) -> str:
    """Groups side by side, one figure a row, the goal in the last column."""
    groups = list(summaries)
    width = max(len(g) for g in groups) + 2
    lines = [f"{'figure':<26}" + "".join(f"{g:>{max(width, 10)}}" for g in groups) + "  goal"]
    for name, goal in GOALS.items():
        cells = []
        for group in groups:
            value = summaries[group].get(name, math.nan)
            text = f"{value:.3f}" if isinstance(value, float) else str(value)
            if isinstance(value, float) and value.is_integer() and abs(value) > 1.5:
                text = f"{value:.0f}"
            cells.append(f"{text:>{max(width, 10)}}")
        lines.append(f"{name:<26}" + "".join(cells) + f"  {goal}")
    return "\n".join(lines)
