"""The bar autoencoder: one bar of multi-track piano roll <-> a latent vector (<= 64 floats).

The "deep compression" step of the latent-diffusion recipe: a bar of 3 tracks x 2 channels
x 16 steps x 36 pitches (3456 binary cells) becomes `latent_dim` floats. The encoder
factorises time and pitch: a per-step MLP over each track's pitch vector, then an MLP over
the flattened (track, step) features. The decoder mirrors it and outputs logits for the
onset and active channels. Latents are trained with a small Gaussian perturbation and an
L2 pull towards zero so that the diffusion model's samples decode robustly; the trainer
stores per-dimension mean and std so the denoiser sees unit-scale latents.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from engine_core.data.pianoroll import BAR_SHAPE, CHANNELS, MAX_STEPS, PITCHES

TRACK_COUNT = BAR_SHAPE[0]


@dataclass(frozen=True)
class AutoencoderConfig:
    latent_dim: int = 64
    step_features: int = 48  # per (track, step) features after the pitch MLP
    hidden: int = 1024
    pitch_hidden: int = 192  # width of the per-step pitch MLPs
    #: training-time Gaussian noise on the latents; `relative_noise` scales it by each
    #: dimension's standard deviation in the batch (so it keeps pace as latents grow)
    latent_noise: float = 0.1
    relative_noise: bool = True

    def to_dict(self) -> dict[str, int | float | bool]:
        return asdict(self)


class BarAutoencoder(nn.Module):
    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        self.config = config
        per_step_in = CHANNELS * PITCHES
        flat = TRACK_COUNT * MAX_STEPS * config.step_features
        self.pitch_in = nn.Sequential(
            nn.Linear(per_step_in, config.pitch_hidden),
            nn.GELU(),
            nn.Linear(config.pitch_hidden, config.step_features),
        )
        self.encode_mlp = nn.Sequential(
            nn.Linear(flat, config.hidden), nn.GELU(), nn.Linear(config.hidden, config.latent_dim)
        )
        self.decode_mlp = nn.Sequential(
            nn.Linear(config.latent_dim, config.hidden),
            nn.GELU(),
            nn.Linear(config.hidden, config.hidden),
            nn.GELU(),
            nn.Linear(config.hidden, flat),
        )
        self.track_embedding = nn.Parameter(
            torch.zeros(TRACK_COUNT, MAX_STEPS, config.step_features)
        )
        self.pitch_out = nn.Sequential(
            nn.Linear(config.step_features, config.pitch_hidden),
            nn.GELU(),
            nn.Linear(config.pitch_hidden, per_step_in),
        )

    def encode(self, bars: torch.Tensor) -> torch.Tensor:
        """(batch, *BAR_SHAPE) in {0,1} -> (batch, latent_dim)."""
        batch = bars.shape[0]
        # (batch, tracks, steps, channels * pitches)
        x = bars.float().permute(0, 1, 3, 2, 4).reshape(batch, TRACK_COUNT, MAX_STEPS, -1)
        x = self.pitch_in(x).reshape(batch, -1)
        return self.encode_mlp(x)

    def decode_logits(self, latent: torch.Tensor) -> torch.Tensor:
        """(batch, latent_dim) -> logits (batch, *BAR_SHAPE)."""
        batch = latent.shape[0]
        x = self.decode_mlp(latent).reshape(batch, TRACK_COUNT, MAX_STEPS, -1)
        x = self.pitch_out(F.gelu(x + self.track_embedding))
        x = x.reshape(batch, TRACK_COUNT, MAX_STEPS, CHANNELS, PITCHES)
        return x.permute(0, 1, 3, 2, 4)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Probabilities (batch, *BAR_SHAPE)."""
        return torch.sigmoid(self.decode_logits(latent))

    def loss(
        self, bars: torch.Tensor, *, noise_std: float | None = None, l2_weight: float = 1e-4
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Weighted BCE on both channels (onsets are rare) plus a latent L2 term.

        `noise_std` overrides the config's `latent_noise` (0 measures the clean loss).
        """
        latent = self.encode(bars)
        scale = self.config.latent_noise if noise_std is None else noise_std
        if self.config.relative_noise:
            scale = scale * latent.detach().std(dim=0, keepdim=True)
        noisy = latent + scale * torch.randn_like(latent)
        logits = self.decode_logits(noisy)
        target = bars.float()
        # notes are ~1% of cells: weigh positives up, mildly (a heavier weight buys recall
        # with precision and lowers the onset F1 at the decoder's 0.5 threshold)
        weight = 1.0 + 2.0 * target
        bce = F.binary_cross_entropy_with_logits(logits, target, weight=weight)
        l2 = latent.pow(2).mean()
        total = bce + l2_weight * l2
        return total, {"bce": float(bce.detach()), "latent_l2": float(l2.detach())}
