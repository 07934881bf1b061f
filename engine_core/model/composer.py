"""`DiffusionComposer`: the default `engine_core.composer.Composer`, backed by the shipped weights.

compose: spec -> controls (fields, tags, prompt text) -> seeded base noise and retake
noise per variant -> flow-matching sampling over bar latents (circular, guided) -> the bar
decoder -> onset/active rolls -> `Score`s in the tonic-C frame.

``DiffusionComposer.load()`` reads ``engine_core/weights/`` (or a folder you name) and checks
it (`CheckpointError` on mismatch); it does not load the text model, which is loaded on the
first prompt that is not in the prompt cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch

from engine_core.arrange.motif import quote_score
from engine_core.composer import ProgressCallback
from engine_core.data.pianoroll import bars_to_notes, score_to_bars, valid_step_mask
from engine_core.errors import InvalidSpecError
from engine_core.model.checkpoint import Checkpoint, load_checkpoint
from engine_core.model.controls import (
    Controls,
    controls_for_spec,
    controls_from_tags,
    spec_style,
)
from engine_core.model.motif_inpaint import quote_and_inpaint
from engine_core.model.rebar import host_plan, to_host, to_meter
from engine_core.model.sampling import SamplerSettings, retake_noise, sample_latents
from engine_core.model.text import PromptInterpreter
from engine_core.score import Score, ScoreNote
from engine_core.spec import GenerationSpec, Meter

MAX_VARIANTS = 64
MAX_STEPS = 64


#: The controls prompt text can set (mode and meter always come from the spec's key and meter).
TEXT_CONTROLS = ("style", "energy", "density", "register")


def _open_to_text(spec: GenerationSpec) -> bool:
    """Whether fields and tags leave a control the prompt text could set."""
    fixed = Controls(
        style=spec_style(spec),
        energy=spec.energy,
        density=spec.density,
        register=spec.brightness,
    ).merged_over(controls_from_tags(spec.tags))
    return any(getattr(fixed, name) is None for name in TEXT_CONTROLS)


class DiffusionComposer:
    def __init__(self, checkpoint: Checkpoint, prompts: PromptInterpreter | None = None) -> None:
        self.checkpoint = checkpoint
        self.prompts = prompts or PromptInterpreter()

    @classmethod
    def load(
        cls, path: str | Path | None = None, *, expect_data_hash: str | None = None
    ) -> DiffusionComposer:
        return cls(
            load_checkpoint(
                Path(path) if path is not None else None, expect_data_hash=expect_data_hash
            )
        )

    @property
    def weights_version(self) -> str:
        return self.checkpoint.weights_version

    @property
    def sampler(self) -> SamplerSettings:
        return self.checkpoint.sampler

    # ------------------------------------------------------------------ conditioning

    def controls(self, spec: GenerationSpec) -> Controls:
        """The spec's controls; the prompt text is read (MiniLM) only for what fields and
        tags leave open, so a spec that decides every control never loads the text model."""
        decided = controls_for_spec(spec)
        if not spec.prompt.strip() or not _open_to_text(spec):
            return decided
        return controls_for_spec(spec, self.prompts.controls(spec.prompt))

    def _condition(self, controls: Controls, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        cond = torch.from_numpy(controls.features())[None].expand(batch, -1, -1)
        null = torch.from_numpy(controls.unconditional().features())[None].expand(batch, -1, -1)
        return cond.contiguous(), null.contiguous()

    def _settings(self, steps: int | None) -> SamplerSettings:
        settings = self.checkpoint.sampler
        if steps is None:
            return settings
        if not 1 <= steps <= MAX_STEPS:
            raise InvalidSpecError(f"steps {steps} outside 1-{MAX_STEPS}", {"field": "steps"})
        return SamplerSettings(**{**settings.__dict__, "steps": steps})

    # ------------------------------------------------------------------ latents <-> scores

    def decode(self, latents: torch.Tensor, meter: str, mode: str, velocity: float) -> list[Score]:
        """Scores from normalised bar latents (batch, bars, latent_dim)."""
        return self._decode(latents, meter, mode, velocity)

    def _decode(self, latents: torch.Tensor, meter: str, mode: str, velocity: float) -> list[Score]:
        ckpt = self.checkpoint
        with torch.no_grad():
            flat = latents.reshape(-1, latents.shape[-1]) * ckpt.latent_std + ckpt.latent_mean
            probs = ckpt.autoencoder.decode(flat).numpy()
        probs = probs.reshape(latents.shape[0], latents.shape[1], *probs.shape[1:])
        probs[..., ~valid_step_mask(meter), :] = 0.0
        steps = Meter.parse(meter).steps_per_bar
        return [
            Score(
                meter=meter,
                bars=latents.shape[1],
                mode=mode,
                notes=tuple(bars_to_notes(rolls, steps, velocity=velocity)),
            )
            for rolls in probs
        ]

    def encode_score(self, score: Score) -> torch.Tensor:
        """A score's bars as normalised latents (bars, latent_dim)."""
        ckpt = self.checkpoint
        rolls = torch.from_numpy(score_to_bars(score))
        with torch.no_grad():
            latent = ckpt.autoencoder.encode(rolls)
        return (latent - ckpt.latent_mean) / ckpt.latent_std

    # ------------------------------------------------------------------ Composer protocol

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
        if not 1 <= variants <= MAX_VARIANTS:
            raise InvalidSpecError(
                f"variants {variants} outside 1-{MAX_VARIANTS}", {"field": "variants"}
            )
        variance = spec.variance if variance is None else variance
        if not 0.0 <= variance <= 1.0:
            raise InvalidSpecError(f"variance {variance} outside 0-1", {"field": "variance"})
        settings = self._settings(steps)
        controls = self.controls(spec)
        plan = None if spec.meter_info.trained else host_plan(spec.meter, spec.bars)
        bars = spec.bars if plan is None else plan.host_bars
        dim = self.checkpoint.denoiser.config.latent_dim
        generator = torch.Generator().manual_seed(int(seed))
        base = torch.randn(1, bars, dim, generator=generator)
        fresh = torch.randn(variants, bars, dim, generator=generator)
        noise = retake_noise(base.expand(variants, -1, -1), fresh, variance)
        noise[0] = base[0]  # variant 0 is the set's centre
        cond, null = self._condition(controls, variants)

        def on_step(done: int, total: int) -> None:
            if progress is not None:
                progress("compose", done, total)

        latents = sample_latents(
            self.checkpoint.denoiser,
            noise,
            cond,
            null,
            settings,
            roll_generator=generator,
            on_step=on_step,
        )
        energy = 0.5 if controls.energy is None else controls.energy
        mode = controls.mode or "major"
        velocity = round(0.6 + 0.3 * energy, 3)
        if plan is not None:  # a meter the model was not trained on: re-bar the host's
            hosted = self._decode(latents, plan.host, mode, velocity=velocity)
            scores = [to_meter(score, plan) for score in hosted]
            if spec.motif is None:
                return scores
            return [  # quoted into the re-barred bars (no inpainting around the quote)
                quote_score(score, spec.motif, variant_index=index)
                for index, score in enumerate(scores)
            ]
        scores = self._decode(latents, spec.meter, mode, velocity=velocity)
        if spec.motif is None:
            return scores

        def on_motif_step(done: int, total: int) -> None:
            if progress is not None:
                progress("motif", done, total)

        return quote_and_inpaint(
            self,
            spec,
            scores,
            noise=noise,
            condition=(cond, null),
            settings=settings,
            seed=seed,
            velocity=velocity,
            on_step=on_motif_step,
        )

    def inpaint(
        self,
        spec: GenerationSpec,
        *,
        fixed: Score,
        keep_bars: Sequence[int],
        seed: int,
        steps: int | None = None,
    ) -> Score:
        return self.inpaint_many(spec, frames=[(fixed, keep_bars)], seeds=[seed], steps=steps)[0]

    def inpaint_many(
        self,
        spec: GenerationSpec,
        *,
        frames: Sequence[tuple[Score, Sequence[int]]],
        seeds: Sequence[int],
        steps: int | None = None,
    ) -> list[Score]:
        """`inpaint` of several (fixed score, kept bars) frames in one sampling call.

        The frames are one batch of the denoiser: frame i starts from the noise
        `inpaint(..., seed=seeds[i])` draws, and the bar rolls between steps are drawn
        after the first frame's noise, as `inpaint` of the first frame draws them. The
        denoiser is equivariant to rolls and every guidance term is per sample, so frame i's
        result equals `inpaint` of it alone up to float rounding (exactly, for the first).
        Frames share a meter, length and mode."""
        if not frames or len(frames) != len(seeds):
            raise InvalidSpecError(
                f"{len(frames)} frames for {len(seeds)} seeds", {"field": "frames"}
            )
        first = frames[0][0]
        keeps: list[list[int]] = []
        for fixed, keep_bars in frames:
            if fixed.meter != spec.meter:
                raise InvalidSpecError(
                    f"fixed score is in {fixed.meter}, spec asks for {spec.meter}",
                    {"field": "meter"},
                )
            if (fixed.bars, fixed.mode) != (first.bars, first.mode):
                raise InvalidSpecError(
                    "frames inpainted together share their length and mode", {"field": "frames"}
                )
            keep = sorted(set(int(b) for b in keep_bars))
            if any(not 0 <= b < fixed.bars for b in keep):
                raise InvalidSpecError(
                    f"keep_bars {keep} outside 0-{fixed.bars - 1}", {"field": "keep_bars"}
                )
            keeps.append(keep)
        if not spec.meter_info.trained:
            return self._inpaint_rebarred(spec, frames, keeps, seeds, steps)
        settings = self._settings(steps)
        controls = self.controls(spec)
        dim = self.checkpoint.denoiser.config.latent_dim
        generators = [torch.Generator().manual_seed(int(seed)) for seed in seeds]
        noise = torch.cat(
            [torch.randn(1, first.bars, dim, generator=generator) for generator in generators]
        )
        mask = torch.zeros(len(frames), first.bars, dtype=torch.bool)
        for index, keep in enumerate(keeps):
            mask[index, keep] = True
        cond, null = self._condition(controls, len(frames))
        latents = sample_latents(
            self.checkpoint.denoiser,
            noise,
            cond,
            null,
            settings,
            roll_generator=generators[0],
            keep_latents=torch.stack([self.encode_score(fixed) for fixed, _ in frames]),
            keep_mask=mask,
        )
        energy = 0.5 if controls.energy is None else controls.energy
        velocity = round(0.6 + 0.3 * energy, 3)
        written = self._decode(latents, first.meter, first.mode, velocity)
        return [
            _spliced(fixed, fresh, keep)
            for (fixed, _), keep, fresh in zip(frames, keeps, written, strict=True)
        ]

    def _inpaint_rebarred(
        self,
        spec: GenerationSpec,
        frames: Sequence[tuple[Score, Sequence[int]]],
        keeps: list[list[int]],
        seeds: Sequence[int],
        steps: int | None,
    ) -> list[Score]:
        """`inpaint_many` in a meter the model was not trained on: the fixed scores go back
        to host bars, a host bar is kept when every bar cut from it is kept, the model
        writes the rest, and the kept bars are the fixed score's own."""
        plan = host_plan(spec.meter, frames[0][0].bars)
        users: dict[int, set[int]] = {}
        for bar in range(plan.bars):
            for host in plan.host_bars_of(bar):
                users.setdefault(host, set()).add(bar)
        host_frames = []
        for (fixed, _), keep in zip(frames, keeps, strict=True):
            kept = set(keep)
            host_keep = [h for h, bars in sorted(users.items()) if bars <= kept]
            host_frames.append((to_host(fixed, plan), host_keep))
        host_spec = replace(spec, meter=plan.host, bars=min(plan.host_bars, 16), motif=None)
        written = self.inpaint_many(host_spec, frames=host_frames, seeds=seeds, steps=steps)
        return [
            _spliced(fixed, to_meter(host, plan), keep)
            for (fixed, _), keep, host in zip(frames, keeps, written, strict=True)
        ]


def _spliced(fixed: Score, fresh: Score, keep: Sequence[int]) -> Score:
    """The fixed score's notes in the kept bars, the freshly written ones elsewhere."""
    kept = set(keep)
    notes: list[ScoreNote] = [n for n in fixed.notes if n.bar in kept]
    notes += [n for n in fresh.notes if n.bar not in kept]
    return Score(
        meter=fixed.meter,
        bars=fixed.bars,
        mode=fixed.mode,
        notes=tuple(sorted(notes)),
        motif_quotes=fixed.motif_quotes,
    )
