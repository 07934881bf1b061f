"""The denoiser: a linear-attention transformer over a loop's sequence of bar latents.

Each block follows the Sana/ACE-Step v1 recipe, at laptop scale:

- **linear self-attention** with the ReLU kernel ``phi(x) = relu(x)`` over RMS-normalised
  queries and keys, ``out_i = sum_j phi(q_i)·phi(k_j) v_j / sum_j phi(q_i)·phi(k_j)``,
  computed as ``phi(q) (phi(K)^T V)`` so the cost is O(n·d²) in the number of bars n;
  RoPE rotates the kernel features in the numerator (RoFormer's linear form, see
  `relu_linear_attention`);
- **cross-attention** (softmax; the condition has only a handful of tokens) from bars to
  the condition tokens;
- a **gated depthwise-conv feed-forward** (GLU-MBConv: pointwise expand, depthwise conv
  over the bar axis, SiLU gate, pointwise project);
- **AdaLN**: the timestep (plus the pooled condition) predicts shift, scale and gate of
  each sub-layer (AdaLN-single with a per-block learned table).

**Circularity.** RoPE angles are ``2π·k·(i mod n)/n`` (k = 1, 2, …): positions live on a
circle of the loop's length n, so the relative phase between bars i and j depends only
on (i - j) mod n, and the depthwise conv pads circularly: no bar is a sequence edge.
Attention weights depend on positions only through the rotation R_i^T R_j, a function of
(i - j) mod n: with the kernel applied before the rotation (ACE-Step v1 rotates first,
which leaves the ReLU'd weights a small dependence on absolute phase) the model is
exactly equivariant to rolling the bar axis, softmax and linear alike. The join bar n-1 ->
bar 0 is computed like every inner join; the sampler's roll between steps
(`sampling.py`) then changes nothing but float rounding.
`Denoiser(attention="softmax")` swaps in softmax self-attention (the benchmark's O(n²)
baseline); `relu_linear_attention` is the linear kernel on its own.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class DenoiserConfig:
    latent_dim: int = 64
    width: int = 192
    depth: int = 6
    heads: int = 4
    ffn_ratio: float = 2.5
    conv_kernel: int = 3
    condition_dim: int = 16  # features per condition token (see controls.py)
    condition_tokens: int = 6
    attention: str = "linear"  # "linear" (ReLU kernel) or "softmax" (baseline)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def circular_rope(length: int, head_dim: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """cos/sin tables (length, head_dim) with angles 2π·k·pos/length, k = 1..head_dim/2.

    Frequencies above the Nyquist rate of the circle alias onto lower ones; they are
    cycled so every pair of channels carries a distinct harmonic when the loop is long.
    """
    half = head_dim // 2
    harmonics = torch.arange(half, device=device) % max(1, length // 2) + 1
    positions = torch.arange(length, device=device, dtype=torch.float32)
    angles = 2 * math.pi * positions[:, None] * harmonics[None, :].float() / length
    cos = torch.cos(angles).repeat_interleave(2, dim=-1)
    sin = torch.sin(angles).repeat_interleave(2, dim=-1)
    return cos, sin


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs of x (batch, heads, length, head_dim)."""
    pairs = x.reshape(*x.shape[:-1], -1, 2)
    rotated = torch.stack([-pairs[..., 1], pairs[..., 0]], dim=-1).flatten(-2)
    return x * cos + rotated * sin


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def relu_linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    rope: tuple[torch.Tensor, ...] | None = None,
) -> torch.Tensor:
    """The ReLU-kernel linear attention over (batch, heads, length, head_dim): O(length).

    ``out_i = sum_j (R_i phi(q_i))·(R_j phi(k_j)) v_j / sum_j phi(q_i)·phi(k_j)`` with
    ``phi = relu`` and R the RoPE rotations (RoFormer's linear-attention form): the kernel
    acts first, the rotation only in the numerator, so the weights depend on positions
    through R_i^T R_j alone, a function of i - j.
    """
    q, k = F.relu(q), F.relu(k)
    denominator = torch.einsum("bhnd,bhd->bhn", q, k.sum(dim=2))[..., None]
    if rope is not None:
        q, k = apply_rope(q, *rope), apply_rope(k, *rope)
    kv = torch.einsum("bhnd,bhne->bhde", k, v)  # (head_dim, head_dim) per head
    numerator = torch.einsum("bhnd,bhde->bhne", q, kv)
    return numerator / (denominator + 1e-6)


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, kind: str) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = width // heads
        self.kind = kind
        self.qkv = nn.Linear(width, 3 * width)
        self.norm_q = RMSNorm(self.head_dim)
        self.norm_k = RMSNorm(self.head_dim)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, ...]) -> torch.Tensor:
        batch, length, width = x.shape
        qkv = self.qkv(x).reshape(batch, length, 3, self.heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (batch, heads, length, head_dim)
        q, k = self.norm_q(q), self.norm_k(k)
        if self.kind == "softmax":
            out = F.scaled_dot_product_attention(apply_rope(q, *rope), apply_rope(k, *rope), v)
        else:
            out = relu_linear_attention(q, k, v, rope)
        return self.out(out.transpose(1, 2).reshape(batch, length, width))


class CrossAttention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = width // heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.norm_q = RMSNorm(self.head_dim)
        self.norm_k = RMSNorm(self.head_dim)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q = self.q(x).reshape(batch, length, self.heads, self.head_dim).transpose(1, 2)
        kv = self.kv(context).reshape(batch, context.shape[1], 2, self.heads, self.head_dim)
        k, v = kv.permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(self.norm_q(q), self.norm_k(k), v)
        return self.out(out.transpose(1, 2).reshape(batch, length, width))


class GatedConvFeedForward(nn.Module):
    """GLU-MBConv over the bar axis with circular padding."""

    def __init__(self, width: int, ratio: float, kernel: int) -> None:
        super().__init__()
        hidden = int(width * ratio)
        self.expand = nn.Linear(width, 2 * hidden)
        self.depthwise = nn.Conv1d(2 * hidden, 2 * hidden, kernel, groups=2 * hidden)
        self.project = nn.Linear(hidden, width)
        self.pad = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.expand(x)).transpose(1, 2)  # (batch, channels, length)
        h = F.pad(h, (self.pad, self.pad), mode="circular")
        value, gate = self.depthwise(h).transpose(1, 2).chunk(2, dim=-1)
        return self.project(value * F.silu(gate))


class DenoiserBlock(nn.Module):
    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__()
        width = config.width
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.attn = SelfAttention(width, config.heads, config.attention)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.cross = CrossAttention(width, config.heads)
        self.norm3 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.ffn = GatedConvFeedForward(width, config.ffn_ratio, config.conv_kernel)
        self.modulation = nn.Parameter(torch.randn(6, width) / width**0.5)

    def forward(
        self,
        x: torch.Tensor,
        adaln: torch.Tensor,
        context: torch.Tensor,
        rope: tuple[torch.Tensor, ...],
    ) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = (
            (self.modulation[None] + adaln.reshape(-1, 6, x.shape[-1])).unsqueeze(2).unbind(1)
        )
        h = self.norm1(x) * (1 + scale1) + shift1
        x = x + gate1 * self.attn(h, rope)
        x = x + self.cross(self.norm2(x), context)
        h = self.norm3(x) * (1 + scale2) + shift2
        return x + gate2 * self.ffn(h)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of flow time t in [0, 1], (batch,) -> (batch, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    angles = 1000.0 * t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class Denoiser(nn.Module):
    """Predicts the flow-matching velocity for noisy bar latents (batch, bars, latent_dim)."""

    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__()
        self.config = config
        width = config.width
        self.proj_in = nn.Linear(config.latent_dim, width)
        self.time_mlp = nn.Sequential(nn.Linear(256, width), nn.SiLU(), nn.Linear(width, width))
        self.condition_in = nn.Sequential(
            nn.Linear(config.condition_dim, width), nn.SiLU(), nn.Linear(width, width)
        )
        self.token_embedding = nn.Parameter(torch.zeros(config.condition_tokens, width))
        self.adaln = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))
        self.blocks = nn.ModuleList(DenoiserBlock(config) for _ in range(config.depth))
        self.norm_out = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.out_modulation = nn.Parameter(torch.randn(2, width) / width**0.5)
        self.proj_out = nn.Linear(width, config.latent_dim)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)
        nn.init.zeros_(self.adaln[1].weight)
        nn.init.zeros_(self.adaln[1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """x (batch, bars, latent_dim), t (batch,), condition (batch, tokens, condition_dim)."""
        length = x.shape[1]
        context = self.condition_in(condition) + self.token_embedding[None]
        embedding = self.time_mlp(timestep_embedding(t, 256)) + context.mean(dim=1)
        adaln = self.adaln(embedding)
        rope = circular_rope(length, self.config.width // self.config.heads, x.device)
        h = self.proj_in(x)
        for block in self.blocks:
            h = block(h, adaln, context, rope)
        shift, scale = (self.out_modulation[None] + embedding[:, None]).unsqueeze(2).unbind(1)
        h = self.norm_out(h) * (1 + scale) + shift
        return self.proj_out(h)
