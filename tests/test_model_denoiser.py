"""The denoiser: shapes, determinism, and the circular symmetry that makes the seam a join.

Rolling a loop's bars by k (bar i moves to i + k mod n) must roll the predicted velocity
by k and change nothing else: then the join bar n-1 -> bar 0 is computed exactly like every
inner join. The check runs on small random-init models in eval mode, for both attention
kernels; a non-cyclic reordering must *not* commute, so the model does use positions.
"""

import pytest
import torch

from engine_core.model.controls import Controls
from engine_core.model.denoiser import circular_rope, relu_linear_attention
from tests.test_model_support import (
    LATENT_DIM,
    TINY_DENOISER,
    one_torch_thread,  # noqa: F401 (autouse fixture)
    tiny_denoiser,
)

TOKENS = TINY_DENOISER.condition_tokens
FEATURES = TINY_DENOISER.condition_dim


def inputs(batch: int, bars: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, bars, LATENT_DIM, generator=generator)
    t = torch.rand(batch, generator=generator)
    condition = torch.randn(batch, TOKENS, FEATURES, generator=generator)
    return x, t, condition


@pytest.mark.parametrize("bars", [1, 2, 4, 16, 33])
def test_velocity_has_the_shape_of_the_latents(bars: int) -> None:
    x, t, condition = inputs(3, bars)
    with torch.no_grad():
        velocity = tiny_denoiser()(x, t, condition)
    assert velocity.shape == (3, bars, LATENT_DIM)
    assert bool(torch.isfinite(velocity).all())
    assert float(velocity.abs().max()) > 1e-3  # a live model, not the zero init


def test_the_same_weights_and_inputs_give_identical_output() -> None:
    x, t, condition = inputs(2, 8)
    with torch.no_grad():
        first = tiny_denoiser(seed=3)(x, t, condition)
        second = tiny_denoiser(seed=3)(x, t, condition)
        other = tiny_denoiser(seed=4)(x, t, condition)
    assert torch.equal(first, second)
    assert not torch.allclose(first, other)


@pytest.mark.parametrize("attention", ["linear", "softmax"])
@pytest.mark.parametrize("bars", [4, 7, 16])
def test_rolling_the_bars_rolls_the_output_and_nothing_else(attention: str, bars: int) -> None:
    model = tiny_denoiser(seed=1, attention=attention)
    x, t, condition = inputs(2, bars, seed=bars)
    with torch.no_grad():
        reference = model(x, t, condition)
        for shift in range(1, bars):
            rolled = model(torch.roll(x, shift, dims=1), t, condition)
            assert torch.allclose(rolled, torch.roll(reference, shift, dims=1), atol=1e-5), shift


@pytest.mark.parametrize("attention", ["linear", "softmax"])
def test_a_non_cyclic_reordering_does_not_commute(attention: str) -> None:
    """Bars know where they are: swapping two bars is not a symmetry (unlike a roll)."""
    model = tiny_denoiser(seed=1, attention=attention)
    x, t, condition = inputs(1, 8, seed=5)
    order = torch.tensor([1, 0, 2, 3, 4, 5, 6, 7])
    with torch.no_grad():
        reference = model(x, t, condition)
        swapped = model(x[:, order], t, condition)
    assert not torch.allclose(swapped, reference[:, order], atol=1e-3)


def test_the_feed_forward_and_cross_attention_are_roll_equivariant() -> None:
    block = tiny_denoiser(seed=1).blocks[0]
    generator = torch.Generator().manual_seed(9)
    h = torch.randn(2, 9, TINY_DENOISER.width, generator=generator)
    context = torch.randn(2, TOKENS, TINY_DENOISER.width, generator=generator)
    with torch.no_grad():
        ffn, cross = block.ffn(h), block.cross(h, context)
        for shift in (1, 4, 8):
            rolled = torch.roll(h, shift, dims=1)
            assert torch.allclose(block.ffn(rolled), torch.roll(ffn, shift, dims=1), atol=1e-5)
            assert torch.allclose(
                block.cross(rolled, context), torch.roll(cross, shift, dims=1), atol=1e-5
            )


def test_the_linear_kernel_is_normalised_relu_attention_computed_in_linear_time() -> None:
    """out_i = sum_j phi(q_i)·phi(k_j) v_j / sum_j phi(q_i)·phi(k_j), phi = relu."""
    generator = torch.Generator().manual_seed(3)
    q, k, v = torch.randn(3, 2, 2, 10, 8, generator=generator)
    weights = torch.relu(q) @ torch.relu(k).transpose(-1, -2)  # (batch, heads, n, n)
    expected = (weights @ v) / (weights.sum(-1, keepdim=True) + 1e-6)
    assert torch.allclose(relu_linear_attention(q, k, v), expected, atol=1e-5)


def test_rope_phase_between_two_bars_depends_only_on_their_distance_round_the_loop() -> None:
    bars, head_dim = 12, 16
    cos, sin = circular_rope(bars, head_dim, torch.device("cpu"))
    assert cos.shape == sin.shape == (bars, head_dim)
    angle = torch.atan2(sin[:, ::2], cos[:, ::2])  # (bars, pairs)

    def phase(i: int, j: int) -> torch.Tensor:
        return torch.remainder(angle[i] - angle[j], 2 * torch.pi)

    for i in range(bars):
        for j in range(bars):
            same = phase((i + 5) % bars, (j + 5) % bars)
            assert torch.allclose(torch.cos(phase(i, j)), torch.cos(same), atol=1e-5)
    # the seam pair (bar 11 -> bar 0) looks exactly like an inner pair (bar 3 -> bar 4)
    assert torch.allclose(torch.cos(phase(bars - 1, 0)), torch.cos(phase(3, 4)), atol=1e-5)


def test_the_batch_items_do_not_leak_into_each_other() -> None:
    model = tiny_denoiser(seed=2)
    x, t, condition = inputs(3, 6, seed=2)
    with torch.no_grad():
        together = model(x, t, condition)
        alone = model(x[1:2], t[1:2], condition[1:2])
    assert torch.allclose(together[1:2], alone, atol=1e-5)


def test_time_and_condition_both_change_the_velocity() -> None:
    model = tiny_denoiser(seed=2)
    x, t, _ = inputs(1, 4, seed=6)
    calm = torch.from_numpy(Controls(meter="4/4", energy=0.1).features())[None]
    wild = torch.from_numpy(Controls(meter="4/4", energy=0.9).features())[None]
    with torch.no_grad():
        base = model(x, t, calm)
        assert not torch.allclose(base, model(x, t, wild), atol=1e-4)
        assert not torch.allclose(base, model(x, t * 0.5, calm), atol=1e-4)
