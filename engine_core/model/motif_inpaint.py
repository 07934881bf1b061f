"""Quote a spec's motif in freshly composed scores, then let the model write around it.

For each variant: the motif is written into the score where `engine_core.arrange.motif`
plans it (`quote_score`); the bars holding a quote are encoded and held fixed while the
model samples the other bars again from the same noise (inpainting), so what follows and
precedes the quote is written in its light: the loop continues the motif. The quoted bars
keep the motif note for note; the other bars are the model's new ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from engine_core.arrange.motif import make_room, quote_bars, quote_notes, quote_score
from engine_core.model.sampling import SamplerSettings, sample_latents
from engine_core.score import Score
from engine_core.spec import GenerationSpec

if TYPE_CHECKING:
    from engine_core.model.composer import DiffusionComposer

#: offset of the inpainting pass's roll generator from the set's seed
_SEED_OFFSET = 0x6D6F


def quote_and_inpaint(
    composer: DiffusionComposer,
    spec: GenerationSpec,
    scores: list[Score],
    *,
    noise: torch.Tensor,
    condition: tuple[torch.Tensor, torch.Tensor],
    settings: SamplerSettings,
    seed: int,
    velocity: float,
    on_step: Callable[[int, int], None] | None = None,
) -> list[Score]:
    """The scores with the motif quoted and the bars around the quotes rewritten."""
    assert spec.motif is not None
    quoted = [
        quote_score(score, spec.motif, variant_index=index) for index, score in enumerate(scores)
    ]
    keep = torch.zeros(len(quoted), spec.bars, dtype=torch.bool)
    for index, score in enumerate(quoted):
        keep[index, quote_bars(score)] = True
    if bool(keep.all()):
        return quoted  # the quotes fill the loop: nothing to write around them
    keep_latents = torch.stack([composer.encode_score(score) for score in quoted])
    generator = torch.Generator().manual_seed(int(seed) + _SEED_OFFSET)
    latents = sample_latents(
        composer.checkpoint.denoiser,
        noise,
        condition[0],
        condition[1],
        settings,
        roll_generator=generator,
        keep_latents=keep_latents,
        keep_mask=keep,
        on_step=on_step,
    )
    written = composer.decode(latents, spec.meter, quoted[0].mode, velocity)
    result = []
    for index, (fixed, fresh) in enumerate(zip(quoted, written, strict=True)):
        kept = set(int(b) for b in torch.nonzero(keep[index]).flatten())
        motif_notes = quote_notes(fixed)
        notes = [n for n in fixed.notes if n.bar in kept]
        notes += [n for n in fresh.notes if n.bar not in kept]
        merged = Score(
            meter=fixed.meter,
            bars=fixed.bars,
            mode=fixed.mode,
            notes=tuple(sorted(set(notes) - set(motif_notes))),
            motif_quotes=fixed.motif_quotes,
        )
        result.append(make_room(merged, motif_notes))
    return result
