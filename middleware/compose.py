"""Prompt -> loops, no template pack: what `ostinato compose` and `ostinato.compose` run.

    composition = compose("calm ambient music with gentle harp", out="out/menu")
    composition.spec            # the resolved GenerationSpec the engine received
    composition.inference       # every value with where it came from
    composition.files           # the loops, stems and MIDI written (variants.json first)

    compose("evolve this melody into an orchestral theme", melody="sketch.mid")

With `melody` (a MIDI sketch), the sketch becomes the state's motif (`engine_core.motif`):
the loop quotes it in the inferred key and mode (the sketch's own key when the prompt names
none), grown to the shortest loop that holds it when no length is given, and the model
writes the rest of the loop around it.

The prompt is resolved by `middleware.prompt.infer_state` (bars: `bars`, else a whole
number of bars nearest `seconds`, else what the prompt says, else 8), the engine writes the
variants, `engine_core.export.variant_files` writes them, and `save_template` writes the
state as TOML that regenerates the same audio.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine_core.errors import InvalidSpecError
from engine_core.motif import (
    MAX_NOTES,
    Motif,
    MotifUse,
    fit_meter,
    make_motif,
    midi_meter,
    notes_from_midi,
)
from engine_core.spec import LOOP_BARS, GenerationSpec, Meter, samples_per_beat
from middleware.prompt.infer import Given, Inference, Source, infer_state
from middleware.prompt.similarity import PromptScorer

DEFAULT_BARS = 8
DEFAULT_VARIANTS = 4
STATE_NAME = "compose"
Progress = Callable[[str, int, int], None]


def bars_for_seconds(seconds: float, bpm: float, meter: str) -> int:
    """The loop length (in `LOOP_BARS`) whose duration is nearest `seconds` (ties: longer)."""
    if not seconds > 0:
        raise InvalidSpecError(f"seconds must be positive, got {seconds}", {"field": "seconds"})
    beats = Meter.parse(meter).beats_per_bar
    bar_seconds = float(Fraction(beats) * samples_per_beat(bpm, 48000) / 48000)
    return min(LOOP_BARS, key=lambda bars: (abs(bars * bar_seconds - seconds), -bars))


def loop_seconds(spec: GenerationSpec) -> float:
    return spec.loop_samples / spec.sample_rate


def melody_motif(path: str | Path) -> Motif:
    """A MIDI sketch as a motif: its main track's first `MAX_NOTES` notes, quantised."""
    notes, key = notes_from_midi(path)
    return make_motif("melody", notes[:MAX_NOTES], key, midi_meter(path))


def _fit_melody(
    inference: Inference, motif: Motif, prompt: str, scorer: PromptScorer, fixed_bars: bool
) -> Inference:
    """Re-infer with the sketch's key (unless the prompt names one) and, unless the
    length was given, the shortest loop that holds the sketch."""
    sources = {v.key: v.source for v in inference.values}
    given: dict[str, Any] = {}
    origin: dict[str, str] = {}
    if sources.get("key") not in (Source.FIELD, Source.TAG, Source.PROMPT):
        given["key"], origin["key"] = motif.key, "--melody (the sketch's key)"
    steps_per_bar = Meter.parse(inference.meter).steps_per_bar
    length = fit_meter(motif, inference.meter).length_steps
    if not fixed_bars and length > inference.bars * steps_per_bar:
        fits = [b for b in LOOP_BARS if b * steps_per_bar >= length]
        given["bars"] = fits[0] if fits else LOOP_BARS[-1]
        origin["bars"] = "--melody (the shortest loop that holds the sketch)"
    if not given:
        return inference
    if fixed_bars:
        given["bars"] = inference.bars
    return infer_state(
        prompt, Given(origin=origin, **given), scorer=scorer, default_bars=inference.bars
    )


def infer_composition(
    prompt: str,
    *,
    bars: int | None = None,
    seconds: float | None = None,
    scorer: PromptScorer | None = None,
    melody: Motif | None = None,
) -> Inference:
    """The prompt resolved for `compose`: bars given, fitted to `seconds`, or inferred
    (and fitted to a `melody` sketch, see `_fit_melody`)."""
    if bars is not None and seconds is not None:
        raise InvalidSpecError("give bars or seconds, not both", {"field": "bars"})
    if bars is not None and bars not in LOOP_BARS:
        raise InvalidSpecError(
            f"bars {bars} not one of {LOOP_BARS}", {"field": "bars", "allowed": list(LOOP_BARS)}
        )
    scorer = scorer or PromptScorer()
    origin = {"bars": "--bars"}
    inference = infer_state(
        prompt, Given(bars=bars, origin=origin), scorer=scorer, default_bars=DEFAULT_BARS
    )
    if seconds is not None:
        fitted = bars_for_seconds(seconds, inference.bpm, inference.meter)
        origin = {"bars": f"--seconds {seconds:g} (nearest whole loop length)"}
        inference = infer_state(
            prompt, Given(bars=fitted, origin=origin), scorer=scorer, default_bars=DEFAULT_BARS
        )
    if melody is not None:
        fixed = bars is not None or seconds is not None
        inference = _fit_melody(inference, melody, prompt, scorer, fixed)
    return inference


@dataclass(frozen=True)
class Composition:
    """What `compose` made: the resolved spec, its sources, the variants and the files."""

    prompt: str
    inference: Inference
    spec: GenerationSpec
    seed: int
    variant_set: Any  # engine_core.variant.VariantSet
    scores: tuple[Any, ...]  # the model's scores (engine_core.score.Score), one per variant
    out_dir: Path | None = None
    files: tuple[Path, ...] = field(default=())

    @property
    def generation_hash(self) -> str:
        return self.spec.generation_hash()

    @property
    def duration_s(self) -> float:
        return loop_seconds(self.spec)

    def template_toml(self, *, header: str = "") -> str:
        from middleware.templates.writer import state_toml

        return state_toml(
            self.spec,
            self.inference.values,
            seed=self.seed,
            variants=len(self.variant_set.variants),
            header=header or f"Written by `ostinato compose` from:\n{self.prompt}",
        )

    def save_template(self, path: str | Path) -> list[Path]:
        """Write the state as TOML (plus pack.toml if the folder has none); files written.

        A composition from a melody sketch also adds the sketch to pack.toml as
        ``[motifs.<state>_melody]`` and quotes it from the state, so the pack regenerates
        the same audio.
        """
        from middleware.templates.loader import PACK_FILE
        from middleware.templates.writer import save_state

        if self.spec.motif is None:
            return save_state(path, self.template_toml())
        from middleware.templates.motif_writer import motif_section, with_motif_key

        target = Path(path)
        name = f"{target.stem}_melody"
        text = with_motif_key(self.template_toml(), name)
        pack = target.parent / PACK_FILE
        if pack.exists() and f"[motifs.{name}]" in pack.read_text(encoding="utf-8"):
            raise InvalidSpecError(
                f"{pack} already declares [motifs.{name}]: save the state under another name",
                {"field": "save_template"},
            )
        written = save_state(target, text)
        section, files = motif_section(self.spec.motif.motif, name, target.parent)
        with pack.open("a", encoding="utf-8") as handle:
            handle.write(section)
        return [*files, *written]


def compose(
    prompt: str,
    *,
    out: str | Path | None = None,
    bars: int | None = None,
    seconds: float | None = None,
    variants: int = DEFAULT_VARIANTS,
    seed: int = 0,
    audio_format: str = "wav",
    plot: bool = False,
    save_template: str | Path | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    engine: Any = None,
    scorer: PromptScorer | None = None,
    melody: str | Path | None = None,
) -> Composition:
    """Loops from a prompt: infer the state, generate `variants` loops, write them to `out`.

    `engine` (an `engine_core.generate.Engine`) is reused when given, else one is made with
    a render worker per core and closed afterwards. Raises `PromptError` for an empty or
    contradictory prompt, `InvalidSpecError` for bad numbers, before any audio is made.
    """
    from engine_core.generate import Engine

    motif = melody_motif(melody) if melody is not None else None
    inference = infer_composition(prompt, bars=bars, seconds=seconds, scorer=scorer, melody=motif)
    spec = inference.spec()
    if motif is not None:
        spec = replace(spec, motif=MotifUse(motif))  # MotifError when it cannot fit
    if save_template is not None:
        from middleware.templates.writer import check_state_path

        check_state_path(save_template)  # a bad name fails before anything is rendered
    owned = engine is None
    if engine is None:
        import os

        engine = Engine(render_workers=jobs or max(1, len(os.sched_getaffinity(0))))
    try:
        scores = engine.composer.compose(spec, seed=seed, variants=variants, progress=progress)
        variant_set = engine.render_scores(
            spec, scores, state=STATE_NAME, seed=seed, progress=progress
        )
    finally:
        if owned:
            engine.close()
    files: list[Path] = []
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:
        files.extend(_write(variant_set, out_dir, audio_format, plot, progress))
    composition = Composition(
        prompt=inference.prompt,
        inference=inference,
        spec=spec,
        seed=seed,
        variant_set=variant_set,
        scores=tuple(scores),
        out_dir=out_dir,
        files=tuple(files),
    )
    if save_template is not None:
        files.extend(composition.save_template(save_template))
        composition = Composition(**{**composition.__dict__, "files": tuple(files)})
    return composition


def _write(
    variant_set: Any, out_dir: Path, audio_format: str, plot: bool, progress: Progress | None
) -> Sequence[Path]:
    from engine_core.export.plot import plot_variant
    from engine_core.export.variant_files import write_variant_set

    manifest = write_variant_set(variant_set, out_dir, audio_format=audio_format, progress=progress)
    files = [Path(manifest)]
    if plot:
        for variant in variant_set.variants:
            png = out_dir / f"variant_{variant.meta.index}" / "plot.png"
            plot_variant(variant, png)
            files.append(png)
            if progress is not None:
                progress("plot", variant.meta.index + 1, len(variant_set.variants))
    return files
