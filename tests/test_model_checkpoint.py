"""Checkpoints: save -> load round trip, and a clear CheckpointError for every way one goes bad."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from engine_core.data.corpus import STYLE_FAMILIES
from engine_core.errors import CheckpointError
from engine_core.model.checkpoint import (
    AUTOENCODER_FORMATS,
    CONFIG_FILE,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    default_weights_dir,
    file_sha256,
    load_checkpoint,
    save_checkpoint,
)
from engine_core.model.composer import DiffusionComposer
from engine_core.model.sampling import SamplerSettings
from tests.test_model_support import (
    LATENT_DIM,
    one_torch_thread,  # noqa: F401 (autouse fixture)
    tiny_autoencoder,
    tiny_denoiser,
)

DATA_HASH = "0123456789abcdef"


def save_tiny(folder: Path, quantiles: torch.Tensor | None = None) -> Path:
    if quantiles is None:
        quantiles = torch.linspace(0, 1, 33).repeat(len(STYLE_FAMILIES), 3, 1)
    return save_checkpoint(
        folder,
        autoencoder=tiny_autoencoder(seed=4),
        denoiser=tiny_denoiser(seed=4),
        latent_mean=torch.linspace(-1, 1, LATENT_DIM),
        latent_std=torch.linspace(0.5, 2, LATENT_DIM),
        control_quantiles=quantiles,
        sampler=SamplerSettings(steps=6, guidance_scale=2.5),
        data_manifest={"hash": DATA_HASH, "bars": 10, "pieces": 2},
        training={"seed": 0, "denoiser_steps": 1},
    )


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    return save_tiny(tmp_path / "ckpt")


def rewrite_config(folder: Path, **changes: object) -> None:
    path = folder / CONFIG_FILE
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def test_round_trip_keeps_weights_to_half_precision_and_the_settings(saved: Path) -> None:
    loaded = load_checkpoint(saved, expect_data_hash=DATA_HASH)
    for original, restored in (
        (tiny_autoencoder(seed=4), loaded.autoencoder),
        (tiny_denoiser(seed=4), loaded.denoiser),
    ):
        assert not restored.training
        state = restored.state_dict()
        assert set(state) == set(original.state_dict())
        for name, tensor in original.state_dict().items():
            assert torch.equal(state[name], tensor.half().float()), name
    assert torch.equal(loaded.latent_std, torch.linspace(0.5, 2, LATENT_DIM))
    assert loaded.control_quantiles.shape == (len(STYLE_FAMILIES), 3, 33)
    assert loaded.sampler == SamplerSettings(steps=6, guidance_scale=2.5)
    assert loaded.data_hash == DATA_HASH
    assert loaded.weights_sha256 == file_sha256(saved / WEIGHTS_FILE)
    assert loaded.weights_version == f"ostinato-{FORMAT_VERSION}-{loaded.weights_sha256[:12]}"
    assert loaded.config["training"] == {"seed": 0, "denoiser_steps": 1}


def test_a_reloaded_model_computes_what_the_saved_one_does(saved: Path) -> None:
    first, second = load_checkpoint(saved), load_checkpoint(saved)
    x = torch.randn(1, 4, LATENT_DIM, generator=torch.Generator().manual_seed(0))
    condition = torch.zeros(1, 6, 16)
    with torch.no_grad():
        assert torch.equal(
            first.denoiser(x, torch.tensor([0.5]), condition),
            second.denoiser(x, torch.tensor([0.5]), condition),
        )


def test_the_installed_weights_load_and_agree_with_their_config() -> None:
    checkpoint = load_checkpoint()
    config = json.loads((default_weights_dir() / CONFIG_FILE).read_text())
    assert config["format_version"] == FORMAT_VERSION
    assert checkpoint.data_hash == config["data"]["hash"] and checkpoint.data_hash
    assert 1 <= checkpoint.sampler.steps <= 16  # the default: a few-step solver
    assert (default_weights_dir() / WEIGHTS_FILE).stat().st_size <= 20 * 2**20
    composer = DiffusionComposer.load(expect_data_hash=checkpoint.data_hash)
    assert composer.weights_version == checkpoint.weights_version


@pytest.mark.parametrize("missing", [WEIGHTS_FILE, CONFIG_FILE])
def test_a_missing_file_is_a_checkpoint_error(saved: Path, missing: str) -> None:
    (saved / missing).unlink()
    with pytest.raises(CheckpointError, match=r"no checkpoint in .*make train") as caught:
        load_checkpoint(saved)
    assert caught.value.code == "checkpoint_error" and caught.value.exit_code == 4


def test_an_empty_or_absent_folder_is_a_checkpoint_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        DiffusionComposer.load(tmp_path)


def test_a_wrong_expected_data_hash_names_both_hashes(saved: Path) -> None:
    with pytest.raises(CheckpointError, match=f"trained on data {DATA_HASH}, expected feedface"):
        load_checkpoint(saved, expect_data_hash="feedface")


def test_a_config_whose_data_hash_differs_from_the_weights_is_refused(saved: Path) -> None:
    rewrite_config(saved, data={"hash": "another"})
    with pytest.raises(CheckpointError, match=f"trained on data {DATA_HASH}, the config says"):
        load_checkpoint(saved)


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, 0, None, "1"])
def test_another_format_version_is_refused(saved: Path, version: object) -> None:
    rewrite_config(saved, format_version=version)
    with pytest.raises(CheckpointError, match="this code reads format") as caught:
        load_checkpoint(saved)
    assert caught.value.detail["expected"] == FORMAT_VERSION


def test_the_previous_format_is_read_only_for_its_autoencoder(saved: Path) -> None:
    rewrite_config(saved, format_version=2)
    with pytest.raises(CheckpointError, match="this code reads format"):
        load_checkpoint(saved)
    assert 2 in AUTOENCODER_FORMATS  # `train --autoencoder-from` reuses a format-2 autoencoder
    reused = load_checkpoint(saved, formats=AUTOENCODER_FORMATS)
    state = reused.autoencoder.state_dict()
    for name, tensor in tiny_autoencoder(seed=4).state_dict().items():
        assert torch.equal(state[name], tensor.half().float()), name


def test_corpus_wide_control_percentiles_are_refused(tmp_path: Path) -> None:
    folder = save_tiny(tmp_path / "old", quantiles=torch.linspace(0, 1, 33).repeat(3, 1))
    with pytest.raises(CheckpointError, match="one table per style family"):
        load_checkpoint(folder)


def test_an_unreadable_config_is_a_checkpoint_error(saved: Path) -> None:
    (saved / CONFIG_FILE).write_text("{ not json")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(saved)


def test_flipped_bytes_in_the_tensors_are_caught_by_the_sha256(saved: Path) -> None:
    path = saved / WEIGHTS_FILE
    blob = bytearray(path.read_bytes())
    blob[-100] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="does not match its config"):
        load_checkpoint(saved)


@pytest.mark.parametrize("damage", ["truncate", "header"])
def test_a_corrupt_weights_file_with_a_matching_sha256_is_unreadable(
    saved: Path, damage: str
) -> None:
    path = saved / WEIGHTS_FILE
    blob = path.read_bytes()
    blob = blob[: len(blob) // 2] if damage == "truncate" else b"\xff" * 16 + blob[16:]
    path.write_bytes(blob)
    rewrite_config(saved, weights_sha256=file_sha256(path))
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(saved)


def test_weights_for_another_model_shape_do_not_fit_the_code(saved: Path, tmp_path: Path) -> None:
    config = json.loads((saved / CONFIG_FILE).read_text())
    config["denoiser"]["depth"] += 1
    (saved / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="does not fit the model code"):
        load_checkpoint(saved)
    other = tmp_path / "other"
    shutil.copytree(saved, other)
    config["denoiser"]["depth"] -= 1
    config["denoiser"]["no_such_field"] = 1
    (other / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="does not fit the model code"):
        load_checkpoint(other)
