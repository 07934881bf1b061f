"""Write and render a bridge: `compose_bridge` (the score) and `generate_bridge` (the audio).

1. The source's and the target's loops: the composer's scores of every variant of both
   sets, as the caller passes them (`loops`: pre-generation reads them from the cache,
   where each variant's score is kept beside its audio), else composed again from their
   specs and seeds (deterministic: the very scores their variants were arranged from).
   Every variant's score feeds the inner-join reference; variant 0's the frame.
2. A frame (`frame.build_frame`) holds the source variant 0's last bars and the target
   variant 0's first bars, both in the target's key, meter and score mode, with the
   bridge's bars blank between; the composer inpaints the blank bars `CANDIDATES` times
   (seeds `seed`, `seed + 1`, ...), in turn with every bar free and, for bridges of two
   bars or more, with the first bar a sequence of the source's last bar a scale step up
   or down (`RECIPES`). The candidates are one batch of one sampling call
   (`DiffusionComposer.inpaint_many`), on one torch thread (`one_model_thread`).
3. Each candidate's two joins are measured (`joins.bridge_joins`) against the inner joins
   of both loops, its melody tried in its octave and an octave up and down; the chosen
   one has both joins inside their interquartile range and nearest their median; when
   the key changes, a candidate with the target's dominant under its last bar (a V -> I
   arrival) is preferred among those.
4. The bridge is arranged for the target's stems (its instruments, grooves, intensity
   layers) and rendered as a one-shot, its tempo ramping from the source's pulse to the
   target's (`tempo.TempoRamp`), its beat and bar lines where the ramp puts them.

The bridge's spec (`bridge_spec`) is the target's with the bridge's bars, one-shot, the
ramp's mean tempo, no motif, and an `extra` entry naming both ends (generation hashes, seeds,
variant counts): so its generation hash, and any cache key built from it, changes when
either state changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from engine_core.bridge.frame import BridgeFrame, build_frame
from engine_core.bridge.joins import BridgeJoins, JoinRange, bridge_joins, inner_join_range
from engine_core.bridge.tempo import TempoRamp
from engine_core.composer import Composer, ProgressCallback
from engine_core.data.pianoroll import PITCHES, TRACK_LOW
from engine_core.errors import InvalidSpecError
from engine_core.generate import one_model_thread
from engine_core.score import Score
from engine_core.spec import GenerationSpec
from engine_core.variant import Variant, VariantSet

#: bridge lengths in bars a template may ask for
BRIDGE_BARS: tuple[int, ...] = (1, 2, 4)
#: inpainting candidates measured per bridge
CANDIDATES = 6
#: bumped when the same inputs make a different bridge
BRIDGE_RECIPE = 2
#: candidate recipes, in turn: 0 = every bridge bar inpainted; +1 / -1 = the first bar a
#: sequence of the source's last (a scale step up / down), the rest inpainted
RECIPES: tuple[int, ...] = (0, 1, -1)
#: the target's dominant pitch class in its tonic-C frame
DOMINANT = 7
#: cost added to a candidate without the dominant under its last bar (key changes only)
NO_DOMINANT_COST = 0.05


@dataclass(frozen=True)
class BridgeEnd:
    """One side of a bridge: a state's spec, seed and variant count (its set's identity)."""

    spec: GenerationSpec
    seed: int
    variants: int

    def identity(self) -> str:
        return f"{self.spec.generation_hash()}/{self.seed}/{self.variants}"


def tempo_ramp(source: GenerationSpec, target: GenerationSpec, bars: int) -> TempoRamp:
    return TempoRamp(float(source.bpm), float(target.bpm), bars, target.meter)


def bridge_spec(source: BridgeEnd, target: BridgeEnd, bars: int) -> GenerationSpec:
    """The spec a bridge from `source` to `target` is arranged and rendered with."""
    if bars not in BRIDGE_BARS:
        raise InvalidSpecError(
            f"a bridge is {', '.join(map(str, BRIDGE_BARS))} bars long, not {bars}",
            {"field": "bridge_bars", "allowed": list(BRIDGE_BARS)},
        )
    ramp = tempo_ramp(source.spec, target.spec, bars)
    ends = f"recipe={BRIDGE_RECIPE};source={source.identity()};target={target.identity()}"
    return dataclasses.replace(
        target.spec,
        bars=bars,
        bpm=ramp.mean_bpm,
        one_shot=True,
        motif=None,  # a bridge quotes no motif of its own (its context bars may carry one)
        extra=(*target.spec.extra, ("bridge", ends)),
    )


@dataclass(frozen=True)
class ComposedBridge:
    score: Score  # the bridge's bars, in the target's tonic-C frame
    joins: BridgeJoins  # the chosen candidate's joins
    candidates: tuple[BridgeJoins, ...]  # every candidate's, in seed order
    chosen: int
    source: Score  # source variant 0
    target: Score  # target variant 0


def _melody_octaves(score: Score) -> list[Score]:
    """`score`, and its melody an octave up or down where it stays in the melody's window:
    the bridge's line is placed in the octave that leads best from and into its neighbours
    (the arranger then fits every line into its stem's register)."""
    low, high = TRACK_LOW[0], TRACK_LOW[0] + PITCHES - 1
    melody = [n.pitch for n in score.notes if n.track == "melody"]
    options = [score]
    for shift in (-12, 12):
        if melody and low <= min(melody) + shift and max(melody) + shift <= high:
            notes = tuple(
                dataclasses.replace(n, pitch=n.pitch + shift) if n.track == "melody" else n
                for n in score.notes
            )
            options.append(dataclasses.replace(score, notes=notes))
    return options


def _has_dominant(score: Score) -> bool:
    last = score.bars - 1
    return any(
        n.bar == last and n.track in ("bass", "harmony") and n.pitch % 12 == DOMINANT
        for n in score.notes
    )


def _cost(joins: BridgeJoins, score: Score, key_changes: bool) -> float:
    reference = joins.reference
    cost = 0.0
    for distance in (joins.source_join, joins.target_join):
        cost += abs(distance - reference.median)
        if not reference.contains(distance):
            cost += 1.0
    if key_changes and not _has_dominant(score):
        cost += NO_DOMINANT_COST
    return cost


def compose_bridge(
    composer: Composer,
    source: BridgeEnd,
    target: BridgeEnd,
    bars: int,
    *,
    seed: int,
    candidates: int = CANDIDATES,
    loops: tuple[Sequence[Score], Sequence[Score]] | None = None,
    progress: ProgressCallback | None = None,
) -> ComposedBridge:
    """The bridge's score: inpainted between the two loops, the best of `candidates`.

    `loops` are the two sets' scores (every variant, by index) when the caller has them,
    else they are composed again; either way the bridge is the same."""
    spec = bridge_spec(source, target, bars)
    report = progress or (lambda stage, done, total: None)
    with one_model_thread():
        return _compose_bridge(
            composer, source, target, bars, spec, seed, candidates, loops, report
        )


def _inpaint_candidates(
    composer: Composer,
    spec: GenerationSpec,
    frames: list[BridgeFrame],
    seed: int,
) -> list[Score]:
    """Every candidate frame inpainted: one batched call when the composer has one."""
    many = getattr(composer, "inpaint_many", None)
    if many is not None:
        return many(
            spec,
            frames=[(f.score, f.keep_bars) for f in frames],
            seeds=[seed + i for i in range(len(frames))],
        )
    return [
        composer.inpaint(spec, fixed=f.score, keep_bars=f.keep_bars, seed=seed + i)
        for i, f in enumerate(frames)
    ]


def _compose_bridge(
    composer: Composer,
    source: BridgeEnd,
    target: BridgeEnd,
    bars: int,
    spec: GenerationSpec,
    seed: int,
    candidates: int,
    loops: tuple[Sequence[Score], Sequence[Score]] | None,
    report: ProgressCallback,
) -> ComposedBridge:
    if loops is None:
        source_scores = composer.compose(source.spec, seed=source.seed, variants=source.variants)
        target_scores = composer.compose(target.spec, seed=target.seed, variants=target.variants)
    else:
        source_scores, target_scores = loops
        if (len(source_scores), len(target_scores)) != (source.variants, target.variants):
            raise InvalidSpecError(
                f"loops of {len(source_scores)} and {len(target_scores)} scores for sets of "
                f"{source.variants} and {target.variants} variants",
                {"field": "loops"},
            )
    source_key, target_key = source.spec.key_info, target.spec.key_info
    reference: JoinRange = inner_join_range(
        [(s, source_key) for s in source_scores] + [(s, target_key) for s in target_scores]
    )
    first_source, first_target = source_scores[0], target_scores[0]
    frame = build_frame(first_source, source_key, first_target, target_key, bars)
    key_changes = (source_key.tonic, source_key.mode) != (target_key.tonic, target_key.mode)
    inpaint_spec = dataclasses.replace(spec, bars=frame.score.bars, bpm=target.spec.bpm)
    framed = []
    for index in range(candidates):
        recipe = RECIPES[index % len(RECIPES)] if bars > 1 else 0
        framed.append(frame.with_sequence(recipe) if recipe else frame)
    filled_frames = _inpaint_candidates(composer, inpaint_spec, framed, seed)
    written: list[tuple[float, Score, BridgeJoins]] = []
    for index, (candidate, filled) in enumerate(zip(framed, filled_frames, strict=True)):
        placed = []
        for bridge in _melody_octaves(candidate.bridge(filled)):
            joins = bridge_joins(
                first_source, source_key, bridge, first_target, target_key, reference
            )
            placed.append((_cost(joins, bridge, key_changes), bridge, joins))
        written.append(min(placed, key=lambda option: option[0]))
        report("compose", index + 1, candidates)
    chosen = min(range(len(written)), key=lambda i: (written[i][0], i))
    _, score, joins = written[chosen]
    return ComposedBridge(
        score, joins, tuple(w[2] for w in written), chosen, first_source, first_target
    )


def _retimer(ramp: TempoRamp):  # -> Callable[[Arrangement], Arrangement]
    from engine_core.arrange.arranger import ArrangedNote, ArrangedStem, Arrangement

    def retime(arrangement: Arrangement) -> Arrangement:
        stems = []
        for stem in arrangement.stems:
            notes = []
            for note in stem.notes:
                start = ramp.warped_beat(note.start_beats)
                end = ramp.warped_beat(note.start_beats + note.duration_beats)
                notes.append(ArrangedNote(start, max(end - start, 0.01), note.pitch, note.velocity))
            stems.append(ArrangedStem(stem.stem, tuple(notes), stem.groove))
        return dataclasses.replace(arrangement, stems=tuple(stems))

    return retime


def generate_bridge(
    engine,  # engine_core.generate.Engine
    source: BridgeEnd,
    target: BridgeEnd,
    bars: int,
    *,
    name: str,
    seed: int,
    candidates: int = CANDIDATES,
    loops: tuple[Sequence[Score], Sequence[Score]] | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[VariantSet, ComposedBridge]:
    """The bridge as a one-variant, one-shot `VariantSet` named `name`, and its score.

    `loops`: both sets' scores when the caller has them (`compose_bridge`)."""
    composed = compose_bridge(
        engine.composer, source, target, bars, seed=seed, candidates=candidates,
        loops=loops, progress=progress,
    )  # fmt: skip
    spec = bridge_spec(source, target, bars)
    ramp = tempo_ramp(source.spec, target.spec, bars)
    rendered = engine.render_scores(
        spec, [composed.score], state=name, seed=seed, progress=progress, retime=_retimer(ramp)
    )
    variant = rendered.variants[0]
    meta = dataclasses.replace(
        variant.meta,
        beat_samples=ramp.beat_samples(spec.sample_rate),
        bar_samples=ramp.bar_samples(spec.sample_rate),
    )
    variant_set = VariantSet(
        name, rendered.generation_hash, seed, (Variant(meta, variant.stems, variant.mix,
                                                       variant.midi),)
    )  # fmt: skip
    return variant_set, composed
