"""Flow-matching sampling over bar latents: Euler steps, guidance, circular loops, retakes.

Conventions (rectified flow): ``x_t = (1 - t)·x_0 + t·ε`` with t = 1 pure noise and t = 0
data; the denoiser predicts the velocity ``v = ε - x_0``; an Euler step from t to s < t is
``x_s = x_t + (s - t)·v``.

- **Guidance**: classifier-free guidance on the condition tokens, either plain CFG or APG
  (adaptive projected guidance, the ACE-Step default): the guidance direction on the
  predicted clean latents is rescaled to a norm threshold, smoothed with negative
  momentum, and only its component orthogonal to the conditional prediction is kept.
- **Circular sampling**: before each step the bar axis is rolled by a seeded offset and
  rolled back after it. The denoiser is equivariant to rolls (circular RoPE, kernel
  before rotation, circular conv), so this is an identity up to float rounding; it keeps
  any position bias a future denoiser might learn from always landing on the seam.
- **Retake variants**: variant i starts from ``cos(a)·z + sin(a)·z_i`` with
  ``a = variance·π/2``: the same base noise z for the whole set, fresh noise z_i per
  variant, unit variance kept.
- **Inpainting**: bars in `keep` are overwritten at every step with their clean latents
  noised to the current t (the same noise draw each time), so the free bars are written
  to fit them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from engine_core.model.denoiser import Denoiser

StepCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SamplerSettings:
    steps: int = 10
    guidance_scale: float = 3.0
    guidance: str = "apg"  # "apg", "cfg" or "none"
    apg_norm_threshold: float = 2.5
    apg_momentum: float = -0.5
    apg_eta: float = 0.0
    shift: float = 2.0  # timestep shift: more steps near the noisy end


def timesteps(steps: int, shift: float) -> torch.Tensor:
    """Descending times 1 -> 0 (steps + 1 values), shifted toward the noisy end."""
    t = torch.linspace(1.0, 0.0, steps + 1)
    return shift * t / (1 + (shift - 1) * t)


def retake_noise(base: torch.Tensor, fresh: torch.Tensor, variance: float) -> torch.Tensor:
    """cos(a)·base + sin(a)·fresh, a = variance·π/2 (unit variance preserved)."""
    angle = variance * math.pi / 2
    return math.cos(angle) * base + math.sin(angle) * fresh


def _project(v0: torch.Tensor, v1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split v0 into its components parallel and orthogonal to v1 (per sample)."""
    dims = tuple(range(1, v0.dim()))
    v1n = v1 / (v1.norm(dim=dims, keepdim=True) + 1e-8)
    parallel = (v0 * v1n).sum(dim=dims, keepdim=True) * v1n
    return parallel, v0 - parallel


class _APG:
    def __init__(self, settings: SamplerSettings) -> None:
        self.settings = settings
        self.average: torch.Tensor | None = None

    def __call__(self, cond: torch.Tensor, uncond: torch.Tensor) -> torch.Tensor:
        s = self.settings
        diff = cond - uncond
        if self.average is None:
            self.average = diff
        else:
            self.average = diff + s.apg_momentum * self.average
        diff = self.average
        dims = tuple(range(1, diff.dim()))
        norm = diff.norm(dim=dims, keepdim=True)
        diff = diff * torch.clamp(s.apg_norm_threshold / (norm + 1e-8), max=1.0)
        parallel, orthogonal = _project(diff, cond)
        return cond + (s.guidance_scale - 1) * (orthogonal + s.apg_eta * parallel)


@torch.no_grad()
def sample_latents(
    denoiser: Denoiser,
    noise: torch.Tensor,
    condition: torch.Tensor,
    null_condition: torch.Tensor,
    settings: SamplerSettings,
    *,
    roll_generator: torch.Generator | None = None,
    keep_latents: torch.Tensor | None = None,
    keep_mask: torch.Tensor | None = None,
    on_step: StepCallback | None = None,
) -> torch.Tensor:
    """Integrate the flow from `noise` (batch, bars, dim) at t=1 to clean latents at t=0.

    `keep_latents`/`keep_mask` (batch, bars) inpaint: masked bars are held to the given
    clean latents. Rolling between steps is drawn from `roll_generator`.
    """
    x = noise.clone()
    batch, bars, _ = x.shape
    times = timesteps(settings.steps, settings.shift)
    apg = _APG(settings) if settings.guidance == "apg" else None
    guided = settings.guidance != "none" and settings.guidance_scale != 1.0
    both = torch.cat([condition, null_condition]) if guided else condition
    mask = keep_mask[..., None].float() if keep_mask is not None else None
    for index in range(settings.steps):
        t, s = float(times[index]), float(times[index + 1])
        if mask is not None and keep_latents is not None:
            x = mask * ((1 - t) * keep_latents + t * noise) + (1 - mask) * x
        shift = 0
        if roll_generator is not None and bars > 1:
            shift = int(torch.randint(0, bars, (1,), generator=roll_generator))
        x_rolled = torch.roll(x, shifts=shift, dims=1)
        t_batch = torch.full((x.shape[0] * (2 if guided else 1),), t)
        inputs = torch.cat([x_rolled, x_rolled]) if guided else x_rolled
        # back in the loop's own frame at once: APG's momentum spans steps with other rolls
        velocity = torch.roll(denoiser(inputs, t_batch, both), shifts=-shift, dims=1)
        if guided:
            v_cond, v_uncond = velocity.chunk(2)
            if apg is not None:
                # guidance on the predicted clean latents, turned back into a velocity
                x0_cond = x - t * v_cond
                x0_uncond = x - t * v_uncond
                x0 = apg(x0_cond, x0_uncond)
                velocity = (x - x0) / max(t, 1e-4)
            else:
                velocity = v_uncond + settings.guidance_scale * (v_cond - v_uncond)
        x = x + (s - t) * velocity
        if on_step is not None:
            on_step(index + 1, settings.steps)
    if mask is not None and keep_latents is not None:
        x = mask * keep_latents + (1 - mask) * x
    del batch
    return x
