"""Flow-matching sampling: the time grid, retake noise, determinism, guidance, inpainting, rolls."""

import itertools
import math

import pytest
import torch

from engine_core.model.controls import Controls
from engine_core.model.sampling import SamplerSettings, retake_noise, sample_latents, timesteps
from tests.test_model_support import (
    LATENT_DIM,
    TINY_SAMPLER,
    one_torch_thread,  # noqa: F401 (autouse fixture)
    tiny_denoiser,
)


def conditions(batch: int, energy: float = 0.8) -> tuple[torch.Tensor, torch.Tensor]:
    controls = Controls(mode="minor", meter="4/4", style="folk", energy=energy)
    cond = torch.from_numpy(controls.features())[None].repeat(batch, 1, 1)
    null = torch.from_numpy(controls.unconditional().features())[None].repeat(batch, 1, 1)
    return cond, null


def noise(batch: int, bars: int, seed: int) -> torch.Tensor:
    return torch.randn(batch, bars, LATENT_DIM, generator=torch.Generator().manual_seed(seed))


def sample(x: torch.Tensor, *, seed: int | None = 0, **options: object) -> torch.Tensor:
    cond, null = conditions(x.shape[0])
    settings = options.pop("settings", TINY_SAMPLER)
    roll = torch.Generator().manual_seed(seed) if seed is not None else None
    return sample_latents(
        tiny_denoiser(seed=1),
        x,
        cond,
        null,
        settings,  # type: ignore[arg-type]
        roll_generator=roll,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("steps", [1, 4, 16])
@pytest.mark.parametrize("shift", [1.0, 2.0, 3.0])
def test_time_runs_from_noise_to_data_and_shift_spends_steps_near_noise(
    steps: int, shift: float
) -> None:
    times = timesteps(steps, shift)
    assert times.shape == (steps + 1,)
    assert float(times[0]) == pytest.approx(1.0) and float(times[-1]) == pytest.approx(0.0)
    assert bool((times[1:] < times[:-1]).all())
    if steps > 1:
        plain = timesteps(steps, 1.0)
        assert bool((times[1:-1] >= plain[1:-1] - 1e-7).all())
        if shift > 1.0:
            assert bool((times[1:-1] > plain[1:-1]).all())


def test_retake_keeps_unit_variance_at_every_variance() -> None:
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(200_000, generator=generator)
    fresh = torch.randn(200_000, generator=generator)
    for variance in (0.0, 0.1, 0.35, 0.5, 0.8, 1.0):
        mixed = retake_noise(base, fresh, variance)
        assert float(mixed.var()) == pytest.approx(1.0, abs=0.02), variance
        assert float(mixed.mean()) == pytest.approx(0.0, abs=0.01)


def test_retake_at_variance_zero_is_the_base_noise_and_at_one_the_fresh_noise() -> None:
    base, fresh = noise(2, 8, seed=1), noise(2, 8, seed=2)
    assert torch.equal(retake_noise(base, fresh, 0.0), base)
    assert torch.allclose(retake_noise(base, fresh, 1.0), fresh, atol=1e-6)


def test_retake_distance_from_the_base_grows_with_the_variance() -> None:
    base, fresh = noise(4, 16, seed=1), noise(4, 16, seed=2)
    distances = [
        float((retake_noise(base, fresh, v) - base).norm()) for v in (0.0, 0.1, 0.3, 0.6, 1.0)
    ]
    assert distances[0] == 0.0
    assert all(a < b for a, b in itertools.pairwise(distances))
    # the chord of the angle a = variance·π/2 on the unit circle: 2·sin(a/2)·|z| in expectation
    expected = 2 * math.sin(0.6 * math.pi / 4) * float(base.norm())
    assert distances[3] == pytest.approx(expected, rel=0.1)


def test_same_noise_and_seed_give_identical_latents_and_another_seed_other_latents() -> None:
    x = noise(2, 8, seed=3)
    first, again = sample(x, seed=5), sample(x, seed=5)
    assert first.shape == x.shape
    assert torch.equal(first, again)
    assert not torch.allclose(sample(noise(2, 8, seed=4), seed=5), first, atol=1e-3)


def test_sampling_moves_the_latents_away_from_the_noise() -> None:
    x = noise(1, 8, seed=3)
    assert float((sample(x) - x).norm()) > 0.1 * float(x.norm())


def test_step_callback_reports_every_step_in_order() -> None:
    calls: list[tuple[int, int]] = []
    sample(noise(1, 4, seed=0), on_step=lambda done, total: calls.append((done, total)))
    assert calls == [(i, TINY_SAMPLER.steps) for i in range(1, TINY_SAMPLER.steps + 1)]


@pytest.mark.parametrize("guidance", ["apg", "cfg"])
def test_guidance_uses_the_null_condition_and_none_ignores_it(guidance: str) -> None:
    x = noise(1, 8, seed=6)
    cond, null = conditions(1)
    model = tiny_denoiser(seed=1)
    other_null = torch.zeros_like(null)

    def run(settings: SamplerSettings, empty: torch.Tensor) -> torch.Tensor:
        return sample_latents(model, x, cond, empty, settings)

    guided = SamplerSettings(steps=4, guidance=guidance)
    unguided = SamplerSettings(steps=4, guidance="none")
    assert not torch.allclose(run(guided, null), run(guided, other_null), atol=1e-4)
    assert torch.equal(run(unguided, null), run(unguided, other_null))
    assert not torch.allclose(run(guided, null), run(unguided, null), atol=1e-4)


def test_inpainting_keeps_the_fixed_bars_exactly() -> None:
    x = noise(2, 8, seed=7)
    keep = noise(2, 8, seed=8)
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[:, [0, 3, 4]] = True
    mask[1, 7] = True
    out = sample(x, keep_latents=keep, keep_mask=mask)
    assert torch.equal(out[mask], keep[mask])
    free = sample(x)
    assert not torch.allclose(out[~mask], free[~mask], atol=1e-4)  # written to fit the kept bars


@pytest.mark.parametrize("guidance", ["apg", "cfg", "none"])
def test_rolling_between_steps_is_an_identity_up_to_rounding_with_softmax_attention(
    guidance: str,
) -> None:
    """With a roll-equivariant (softmax) denoiser, random rolls between steps change nothing,
    and rolling the start noise rolls the result: the seam is sampled like any join.
    APG's momentum spans steps, so it must live in the loop's own frame for this to hold."""
    x = noise(2, 8, seed=9)
    cond, null = conditions(2)
    model = tiny_denoiser(seed=1, attention="softmax")
    settings = SamplerSettings(steps=4, guidance=guidance)
    rolled = sample_latents(
        model, x, cond, null, settings, roll_generator=torch.Generator().manual_seed(1)
    )
    still = sample_latents(model, x, cond, null, settings)
    assert torch.allclose(rolled, still, atol=1e-4)
    shifted = sample_latents(model, torch.roll(x, 3, dims=1), cond, null, settings)
    assert torch.allclose(shifted, torch.roll(still, 3, dims=1), atol=1e-4)


def test_variants_drift_further_from_the_set_centre_as_the_variance_grows() -> None:
    """Retake noise through the sampler: the knob moves the sampled latents, not just the noise."""
    base, fresh = noise(1, 8, seed=0), noise(6, 8, seed=100)
    distances = []
    for variance in (0.1, 0.3, 0.6, 0.9):
        start = torch.cat([base, retake_noise(base.expand(6, -1, -1), fresh, variance)])
        out = sample(start)
        distances.append(float((out[1:] - out[:1]).norm(dim=(1, 2)).mean()))
    assert all(a < b for a, b in itertools.pairwise(distances))
