"""The engine's public entry point: a `GenerationSpec` and a seed in, a `VariantSet` out.

    engine = Engine()                      # the diffusion composer, default SoundFont
    variant_set = engine.generate(spec, state="battle", seed=7, variants=4)

Stages, reported through `progress(stage, done, total)`: the composer's own stages
(the model), then ``arrange``, ``render``, ``normalise`` and ``export`` (the MIDI file
and metadata), each over all variants. Same spec, seed and engine version -> the same
audio, bit for bit.

SoundFont precedence: the spec's `soundfont` (named by a template), else the engine's
`soundfont` argument, else the default bank (`engine_core.render.bank.default_bank_path`:
FluidR3_GM when installed, else TimGM6mb from the `pretty_midi` wheel).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from engine_core import DEFAULT_RENDERER, ENGINE_VERSION
from engine_core.composer import Composer, ProgressCallback
from engine_core.errors import GenerationError, InvalidSpecError
from engine_core.score import Score
from engine_core.spec import GenerationSpec, beat_to_sample
from engine_core.variant import Variant, VariantMeta, VariantSet

MAX_VARIANTS = 16


@contextlib.contextmanager
def one_model_thread() -> Iterator[None]:
    """Run the model on one torch thread, restoring the process's setting afterwards.

    Its matrices are small: a second intra-op thread gains nothing on an idle machine
    (0.206 s against 0.195 s for the benchmark set) and, on a loaded one, its spinning
    threads cost about 20 times the CPU (8.7 s against 0.4 s measured at load 18 on
    2 cores). The scores are the same either way. Nothing is imported when the composer
    does not use torch.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Engine:
    """Composer + arranger + SoundFont renderer. Holds the loaded model and banks.

    `render_workers` > 1 renders on that many cores (`engine_core.render.pool`: threads
    for the synth renderer, worker processes for the others); the audio is the same with
    any count. Call `close()` (or use the engine as a context manager) to stop them.
    `renderer` is "synth" (the default, `DEFAULT_RENDERER`: each distinct note played
    once from the bank's samples, effects per stem, `engine_core.render.synth_renderer`),
    "reference" (each stem synthesised in one pass by the SoundFont synthesiser) or
    "notes" (stems built from notes the synthesiser renders once, experimental); see
    docs/engine.md.
    """

    def __init__(
        self,
        composer: Composer | None = None,
        soundfont: str | Path | None = None,
        *,
        render_workers: int = 1,
        renderer: str = DEFAULT_RENDERER,
    ) -> None:
        from engine_core.render.note_renderer import RENDERERS
        from engine_core.render.pool import RenderPool

        if renderer not in RENDERERS:
            raise ValueError(f"renderer must be one of {RENDERERS}, got {renderer!r}")
        self.renderer = renderer
        self._composer = composer
        self._soundfont_path = soundfont
        self._soundfonts: dict[str, object] = {}
        self._render_pool = RenderPool(render_workers)

    def warm(self, soundfont: str | Path | None = None) -> None:
        """Start readying the renderer for a bank (None: the engine's) in the background
        and return at once: the render threads or worker processes started, the bank read,
        and for the synth renderer its compiled kernels, reverb and loudness meter loaded
        (`synth_renderer.warm_up`). `generate` does this while the model runs; a service
        may do it when it starts."""
        self._render_pool.warm(self._soundfont(soundfont), self.renderer)

    def close(self) -> None:
        """Stop the render worker processes, if any (the engine stays usable)."""
        self._render_pool.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- identity ---------------------------------------------------------------------

    @property
    def composer(self) -> Composer:
        """The composer; the diffusion model is loaded on first use when none was given."""
        if self._composer is None:
            from engine_core.model.composer import DiffusionComposer

            self._composer = DiffusionComposer.load()
        return self._composer

    @property
    def soundfont(self) -> str | Path | None:
        """The SoundFont given to the engine (None = the default bank, see `render.bank`)."""
        return self._soundfont_path

    @property
    def engine_version(self) -> str:
        """Code version, the default SoundFont's digest and a non-default renderer (each
        changes the audio)."""
        version = f"{ENGINE_VERSION}+sf.{self._soundfont(None).digest}"
        return version if self.renderer == DEFAULT_RENDERER else f"{version}+r.{self.renderer}"

    @property
    def weights_version(self) -> str:
        return self.composer.weights_version

    def _soundfont(self, path: str | Path | None):  # -> SoundFont
        from engine_core.render.soundfont import SoundFont

        chosen = path if path is not None else self._soundfont_path
        key = str(chosen)
        if key not in self._soundfonts:
            self._soundfonts[key] = SoundFont.load(chosen)
        return self._soundfonts[key]

    # -- generation -------------------------------------------------------------------

    def generate(
        self,
        spec: GenerationSpec,
        *,
        state: str,
        seed: int,
        variants: int,
        variance: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> VariantSet:
        """`variants` seamless loops (or one-shots) for `state`, deterministic per seed."""
        _check_request(state, seed, variants)
        soundfont = self._soundfont(spec.soundfont)  # a bad SoundFont fails before the model
        self._render_pool.warm(soundfont, self.renderer)  # workers start during the model
        composer = self.composer
        with one_model_thread():
            scores = composer.compose(
                spec, seed=seed, variants=variants, variance=variance, progress=progress
            )
        if len(scores) != variants:
            raise GenerationError(
                f"the composer returned {len(scores)} scores for {variants} variants",
                {"state": state},
            )
        return self.render_scores(spec, scores, state=state, seed=seed, progress=progress)

    def render_scores(
        self,
        spec: GenerationSpec,
        scores: Sequence[Score],
        *,
        state: str,
        seed: int,
        progress: ProgressCallback | None = None,
        retime: Callable[[Any], Any] | None = None,
    ) -> VariantSet:
        """Arrange, render, normalise and package given scores (the stages after the model).

        `retime(arrangement) -> arrangement` moves notes in time before rendering (a
        bridge's tempo ramp, `engine_core.bridge.tempo`)."""
        from engine_core.arrange.arranger import arrange
        from engine_core.arrange.diatonic import keep_in_scale, wants_diatonic
        from engine_core.arrange.grooves import load_library
        from engine_core.export.midi import loop_midi
        from engine_core.render.pool import LoudnessTarget

        _check_request(state, seed, max(len(scores), 1))
        for index, score in enumerate(scores):
            _check_score(score, spec, index)
        report = progress or (lambda stage, done, total: None)
        soundfont = self._soundfont(spec.soundfont)
        count = len(scores)

        self._render_pool.warm(soundfont, self.renderer)
        library = load_library()
        arrangements: list[Any] = []
        midis: list[bytes] = []

        def arranged() -> Iterator[Any]:
            """Each variant arranged when the render workers ask for it (so arranging
            variant N+1 overlaps their synthesis of variant N), its MIDI file written
            while they render it."""
            for index, score in enumerate(scores):
                arrangement = arrange(
                    score,
                    spec,
                    seed=seed,
                    variant_index=index,
                    grooves=library,
                    theme=scores[0],
                )
                if wants_diatonic(spec):  # stinger renditions: nothing outside the host's scale
                    arrangement = keep_in_scale(arrangement, spec.key_info)
                if retime is not None:
                    arrangement = retime(arrangement)
                arrangements.append(arrangement)
                report("arrange", index + 1, count)
                yield arrangement
                midis.append(loop_midi(arrangement))

        # stems render, and each variant is mixed, measured and normalised as soon as its
        # stems are done (on the render workers when there are several)
        rendered = self._render_pool.render(
            arranged(),
            soundfont,
            sample_rate=spec.sample_rate,
            one_shot=spec.one_shot,
            target=LoudnessTarget(
                spec.sample_rate, spec.loudness_lufs, spec.true_peak_db, not spec.one_shot
            ),
            progress=report,
            renderer=self.renderer,
            count=count,
        )
        midis.extend(loop_midi(a) for a in arrangements[len(midis) :])

        engine_version = self.engine_version
        weights_version = self._weights_version_or_none()
        variants: list[Variant] = []
        for index, (midi, variant) in enumerate(zip(midis, rendered, strict=True)):
            steps_per_bar = scores[index].steps_per_bar
            meta = _meta(
                spec,
                motif_entries=tuple(
                    (q.start // steps_per_bar, q.start % steps_per_bar, q.form)
                    for q in scores[index].motif_quotes
                ),
                state=state,
                index=index,
                seed=seed,
                frames=variant.mix.shape[0],
                loudness_lufs=variant.gain.loudness_lufs,
                true_peak_db=variant.gain.true_peak_db,
                engine_version=engine_version,
                weights_version=weights_version,
            )
            variants.append(
                Variant(
                    meta=meta,
                    stems=variant.stems,
                    mix=variant.mix,
                    midi=midi,
                    score=scores[index],
                )
            )
            report("export", index + 1, count)
        return VariantSet(state, spec.generation_hash(), seed, tuple(variants))

    def _weights_version_or_none(self) -> str:
        return self._composer.weights_version if self._composer is not None else "none"


def _check_request(state: str, seed: int, variants: int) -> None:
    if not isinstance(state, str) or not state:
        raise InvalidSpecError("state must be a non-empty name", {"field": "state"})
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidSpecError(f"seed must be an integer, got {seed!r}", {"field": "seed"})
    if isinstance(variants, bool) or not isinstance(variants, int):
        raise InvalidSpecError(f"variants must be an integer, got {variants!r}")
    if not 1 <= variants <= MAX_VARIANTS:
        raise InvalidSpecError(
            f"variants {variants} outside 1-{MAX_VARIANTS}", {"field": "variants"}
        )


def _check_score(score: Score, spec: GenerationSpec, index: int) -> None:
    if score.bars != spec.bars or score.meter != spec.meter:
        raise GenerationError(
            f"score {index} has {score.bars} bars of {score.meter}, the spec asks for "
            f"{spec.bars} bars of {spec.meter}",
            {"variant": index},
        )


def _meta(
    spec: GenerationSpec,
    *,
    state: str,
    index: int,
    seed: int,
    frames: int,
    loudness_lufs: float,
    true_peak_db: float,
    engine_version: str,
    weights_version: str,
    motif_entries: tuple[tuple[int, int, str], ...] = (),
) -> VariantMeta:
    meter = spec.meter_info
    beats = spec.bars * meter.beats_per_bar
    return VariantMeta(
        state=state,
        index=index,
        sample_rate=spec.sample_rate,
        bpm=float(spec.bpm),
        meter=spec.meter,
        key=spec.key,
        bars=spec.bars,
        is_loop=not spec.one_shot,
        loop_start=0,
        loop_end=frames,
        beat_samples=tuple(beat_to_sample(b, spec.bpm, spec.sample_rate) for b in range(beats)),
        bar_samples=tuple(
            beat_to_sample(b * meter.beats_per_bar, spec.bpm, spec.sample_rate)
            for b in range(spec.bars + 1)
        ),
        stem_intensity={s.name: (float(s.intensity[0]), float(s.intensity[1])) for s in spec.stems},
        loudness_lufs=round(float(loudness_lufs), 3),
        true_peak_db=round(float(true_peak_db), 3),
        generation_hash=spec.generation_hash(),
        seed=seed,
        engine_version=engine_version,
        weights_version=weights_version,
        motif_entries=motif_entries,
    )
