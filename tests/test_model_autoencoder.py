"""The bar autoencoder: one bar of piano roll <-> at most 64 floats, and back."""

import numpy as np
import pytest
import torch

from engine_core.data.pianoroll import BAR_CELLS, BAR_SHAPE
from engine_core.model.autoencoder import AutoencoderConfig, BarAutoencoder
from engine_core.model.checkpoint import load_checkpoint
from tests.test_model_support import (
    LATENT_DIM,
    one_torch_thread,  # noqa: F401 (autouse fixture)
    tiny_autoencoder,
)


def random_bars(count: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy((rng.random((count, *BAR_SHAPE)) < 0.02).astype(np.uint8))


def test_a_bar_becomes_a_small_latent_and_decodes_to_a_bar() -> None:
    model = tiny_autoencoder()
    bars = random_bars(5)
    with torch.no_grad():
        latent = model.encode(bars)
        probs = model.decode(latent)
        logits = model.decode_logits(latent)
    assert latent.shape == (5, LATENT_DIM) and latent.dtype == torch.float32
    assert probs.shape == (5, *BAR_SHAPE) == logits.shape
    assert float(probs.min()) >= 0.0 and float(probs.max()) <= 1.0
    assert torch.allclose(probs, torch.sigmoid(logits))


def test_the_default_config_compresses_a_bar_to_at_most_64_floats() -> None:
    config = AutoencoderConfig()
    assert config.latent_dim <= 64
    assert BAR_CELLS / config.latent_dim >= 50  # 3456 cells -> 64 floats: 54x
    with torch.no_grad():
        latent = BarAutoencoder(config).eval().encode(random_bars(2))
    assert latent.shape == (2, config.latent_dim)


def test_the_installed_checkpoint_keeps_latents_within_64_floats() -> None:
    checkpoint = load_checkpoint()
    dim = checkpoint.autoencoder.config.latent_dim
    assert dim <= 64 and checkpoint.denoiser.config.latent_dim == dim
    assert checkpoint.latent_mean.shape == checkpoint.latent_std.shape == (dim,)
    assert bool((checkpoint.latent_std > 0).all())
    with torch.no_grad():
        probs = checkpoint.autoencoder.decode(torch.zeros(3, dim))
    assert probs.shape == (3, *BAR_SHAPE)


def test_encoding_is_deterministic_and_sees_every_bar_separately() -> None:
    model = tiny_autoencoder()
    bars = random_bars(4, seed=1)
    with torch.no_grad():
        first, again = model.encode(bars), model.encode(bars)
        alone = model.encode(bars[2:3])
    assert torch.equal(first, again)
    assert torch.allclose(first[2:3], alone, atol=1e-5)
    assert not torch.allclose(first[0], first[1])


def test_the_loss_is_a_finite_positive_number_with_its_parts() -> None:
    torch.manual_seed(0)
    loss, parts = tiny_autoencoder().loss(random_bars(8))
    assert loss.ndim == 0 and 0.0 < float(loss.detach()) < 10.0
    assert set(parts) == {"bce", "latent_l2"} and parts["bce"] > 0.0


@pytest.mark.parametrize("value", [0, 1])
def test_an_empty_or_full_bar_encodes_to_finite_numbers(value: int) -> None:
    bars = torch.full((1, *BAR_SHAPE), value, dtype=torch.uint8)
    with torch.no_grad():
        latent = tiny_autoencoder().encode(bars)
    assert bool(torch.isfinite(latent).all())
