"""Training: a few optimiser steps on a tiny batch lower both losses; windows and augmentation;
`make train DATA=path/` on a folder of MIDI files yields a checkpoint the composer loads."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine_core.data.corpus import STYLE_FAMILIES, PieceBars
from engine_core.data.dataset import pieces_from_list
from engine_core.data.pianoroll import ACTIVE, BAR_SHAPE, ONSET, PITCHES
from engine_core.model.autoencoder import BarAutoencoder
from engine_core.model.composer import DiffusionComposer
from engine_core.model.controls import SCALARS, TOKEN_FEATURES, TOKENS, to_percentile
from engine_core.model.denoiser import Denoiser
from engine_core.training.augment import octave_augment
from engine_core.training.train import flow_matching_loss, lr_at, train_autoencoder, train_denoiser
from engine_core.training.windows import QUANTILES, WINDOW_BARS, WindowSampler
from tests.test_model_support import (
    LATENT_DIM,
    TINY_AUTOENCODER,
    TINY_DENOISER,
    model_spec,
    one_torch_thread,  # noqa: F401 (autouse fixture)
    write_midi,
)

ROOT = Path(__file__).resolve().parents[1]
MAJOR = (0, 2, 4, 5, 7, 9, 11)


def toy_dataset(seed: int = 0):  # -> BarDataset
    """Four pieces of sparse random bars with a few notes each."""
    rng = np.random.default_rng(seed)
    pieces = []
    for index, (length, meter, mode) in enumerate(
        ((8, "4/4", "major"), (12, "4/4", "minor"), (6, "3/4", "major"), (16, "6/8", "minor"))
    ):
        bars = np.zeros((length, *BAR_SHAPE), dtype=np.uint8)
        steps = 16 if meter == "4/4" else 12
        for track in range(3):
            for step in range(0, steps, 2):
                pitch = rng.integers(0, PITCHES, size=length)
                bars[np.arange(length), track, ONSET, step, pitch] = 1
                bars[np.arange(length), track, ACTIVE, step, pitch] = 1
        family = "folk" if index % 2 else "chorale"
        pieces.append(PieceBars(f"toy/{index}", "toy", family, meter, mode, 0, bars))
    return pieces_from_list(pieces)


def test_a_few_autoencoder_steps_on_a_tiny_batch_lower_its_loss() -> None:
    torch.manual_seed(0)
    model = BarAutoencoder(TINY_AUTOENCODER)
    batch = torch.from_numpy(toy_dataset().bars[:16])

    def loss() -> float:
        with torch.no_grad():
            return float(model.loss(batch, noise_std=0.0)[0])

    before = loss()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(5):
        value, _ = model.loss(batch)
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
    assert loss() < 0.9 * before


def test_a_few_flow_matching_steps_on_a_tiny_batch_lower_its_loss() -> None:
    torch.manual_seed(0)
    model = Denoiser(TINY_DENOISER)  # the trainer's init: zero output projection and AdaLN
    generator = torch.Generator().manual_seed(1)
    latents = torch.randn(4, 8, LATENT_DIM, generator=generator) * 0.5 + 0.3
    condition = torch.randn(4, len(TOKENS), TOKEN_FEATURES, generator=generator)

    def loss() -> float:
        torch.manual_seed(123)  # the same times and noise draws before and after
        with torch.no_grad():
            return float(flow_matching_loss(model, latents, condition))

    before = loss()
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(8):
        value = flow_matching_loss(model, latents, condition)
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
    assert loss() < 0.9 * before


def test_the_learning_rate_warms_up_then_decays_to_a_floor() -> None:
    peak = 1e-3
    assert lr_at(0, 1000, peak) == pytest.approx(peak / 100)
    assert lr_at(99, 1000, peak) == pytest.approx(peak)
    assert lr_at(500, 1000, peak) < peak
    assert lr_at(1000, 1000, peak) == pytest.approx(0.05 * peak)


def test_the_trainers_return_eval_models_of_the_asked_config() -> None:
    dataset = toy_dataset()
    autoencoder = train_autoencoder(dataset, TINY_AUTOENCODER, steps=2, batch=8)
    assert not autoencoder.training and autoencoder.config == TINY_AUTOENCODER
    rng = np.random.default_rng(0)
    sampler = WindowSampler(dataset, "train", rng)
    latents = torch.randn(len(dataset.bars), LATENT_DIM)
    denoiser = train_denoiser(
        latents, sampler, sampler.quantiles(500), TINY_DENOISER, steps=2, batch=4
    )
    assert not denoiser.training and denoiser.config == TINY_DENOISER


def test_windows_are_phrase_aligned_runs_of_one_training_piece() -> None:
    dataset = toy_dataset()
    rng = np.random.default_rng(3)
    sampler = WindowSampler(dataset, "train", rng)
    quantiles = sampler.quantiles(2000)
    assert quantiles.shape == (len(STYLE_FAMILIES), 3, QUANTILES)
    assert bool((np.diff(quantiles, axis=2) > 0).all())
    train_pieces = set(dataset.pieces("train").tolist())
    for _ in range(20):
        index, tokens, meters = sampler.draw(6, quantiles)
        length = index.shape[1]
        assert length in WINDOW_BARS and index.shape == (6, length)
        assert tokens.shape == (6, len(TOKENS), TOKEN_FEATURES) and meters.shape == (6,)
        assert bool((np.diff(index, axis=1) == 1).all())
        for row in index:
            piece = int(np.searchsorted(dataset.piece_start, row[0], side="right") - 1)
            assert piece in train_pieces
            start = row[0] - dataset.piece_start[piece]
            assert start % min(4, length) == 0
            assert row[-1] < dataset.piece_start[piece] + dataset.piece_length[piece]
        assert bool((tokens[:, TOKENS.index("meter"), 0] == 1).all())  # the meter is never dropped


def _textured_dataset():  # -> BarDataset
    """Chorale pieces with an onset every 4th step, folk pieces with one on every step."""
    rng = np.random.default_rng(1)
    pieces = []
    for index in range(16):
        family, every = ("folk", 1) if index % 2 else ("chorale", 4)
        bars = np.zeros((8, *BAR_SHAPE), dtype=np.uint8)
        for bar in range(8):
            for step in range(0, 16, every):
                if rng.random() < 0.8:
                    bars[bar, 0, ONSET, step, rng.integers(0, PITCHES)] = 1
        pieces.append(PieceBars(f"toy/{index}", "toy", family, "4/4", "major", 0, bars))
    return pieces_from_list(pieces)


def test_control_percentiles_are_measured_within_each_style_family() -> None:
    dataset = _textured_dataset()
    sampler = WindowSampler(dataset, "train", np.random.default_rng(0))
    quantiles = sampler.quantiles(4000)
    density = SCALARS.index("density")
    for family in ("chorale", "folk"):
        table = quantiles[STYLE_FAMILIES.index(family)]
        starts = np.concatenate(
            [
                sampler.starts[4][sampler.owner[4] == piece]
                for piece in sampler.pieces
                if STYLE_FAMILIES[dataset.family[piece]] == family
            ]
        )
        levels = to_percentile(sampler.sums.window_raw(starts, 4), table)[:, density]
        # the family's own windows spread over its own table (a corpus-wide table would put
        # every chorale window below 0.5 and every folk window above it)
        assert 0.3 < float(np.median(levels)) < 0.7, family
    chorale, folk = (quantiles[STYLE_FAMILIES.index(f), density] for f in ("chorale", "folk"))
    assert chorale[-1] < folk[0]  # the two textures do not overlap at all
    # a family without windows falls back to the table over all windows
    custom = quantiles[STYLE_FAMILIES.index("custom"), density]
    assert custom[0] <= chorale[0] + 1e-6 and custom[-1] >= folk[-1] - 1e-6


def test_octave_augmentation_moves_whole_tracks_by_octaves_within_their_window() -> None:
    bars = toy_dataset().bars[:64]
    bars[:, :, :, :, :12] = 0  # room to move down
    moved = octave_augment(bars, np.random.default_rng(0), probability=1.0)
    assert moved.shape == bars.shape and moved.dtype == bars.dtype
    assert not np.array_equal(moved, bars)
    changed = 0
    for bar in range(len(bars)):
        for track in range(3):
            before, after = bars[bar, track], moved[bar, track]
            assert after.sum() == before.sum()
            if not np.array_equal(after, before):
                changed += 1
                shifts = [s for s in (12, -12) if np.array_equal(np.roll(before, s, -1), after)]
                assert shifts, (bar, track)
    assert changed > 0
    assert np.array_equal(octave_augment(bars, np.random.default_rng(0), probability=0.0), bars)


def train_command(data: Path, out: Path) -> list[str]:
    """What `make train DATA=path/` runs, with a two-step schedule."""
    return [
        sys.executable,
        "-m",
        "engine_core.training.train",
        "--data",
        str(data),
        "--out",
        str(out),
        "--ae-steps",
        "2",
        "--steps",
        "2",
        "--workers",
        "1",
    ]


def run_train(data: Path, out: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OSTINATO_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        train_command(data, out), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_make_train_on_a_folder_of_midi_files_gives_a_loadable_checkpoint(tmp_path: Path) -> None:
    data = tmp_path / "studio"
    data.mkdir()
    write_midi(str(data / "2.mid"), numerator=4, bars=8, scale=MAJOR, tonic=2)
    write_midi(str(data / "b.mid"), numerator=4, bars=8, scale=MAJOR, tonic=5)
    write_midi(str(data / "d.mid"), numerator=3, bars=6, scale=MAJOR)
    out = tmp_path / "weights"
    result = run_train(data, out, tmp_path / "cache")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["autoencoder_steps"] == 2 and summary["denoiser_steps"] == 2
    assert summary["compression"] == {"bar_cells": 3456, "latent_floats": 64, "ratio": 54.0}
    log = json.loads((out / "training_log.json").read_text())
    assert log["data"]["files"] == {"custom": 3} and log["data"]["bars"] == 22
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    composer = DiffusionComposer.load(out, expect_data_hash=log["data"]["hash"])
    (score,) = composer.compose(model_spec(bars=2), seed=1, variants=1, steps=2)
    assert score.bars == 2


@pytest.mark.slow
def test_make_train_on_a_folder_without_a_held_out_piece(tmp_path: Path) -> None:
    data = tmp_path / "studio"
    data.mkdir()
    write_midi(str(data / "a.mid"), numerator=4, bars=8, scale=MAJOR)  # both hash to "train"
    write_midi(str(data / "d.mid"), numerator=3, bars=6, scale=MAJOR)
    result = run_train(data, tmp_path / "weights", tmp_path / "cache")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["autoencoder_heldout"] == {"bars": 0}  # nothing held out, nothing claimed
    DiffusionComposer.load(tmp_path / "weights")


@pytest.mark.slow
def test_make_train_on_a_folder_with_no_training_piece_says_so(tmp_path: Path) -> None:
    data = tmp_path / "studio"
    data.mkdir()
    write_midi(str(data / "t7.mid"), numerator=4, bars=8, scale=MAJOR)  # hashes to "test"
    result = run_train(data, tmp_path / "weights", tmp_path / "cache")
    assert result.returncode == 6
    assert "error [dataset_error]: no training piece: all 1 piece(s)" in result.stderr
    assert not (tmp_path / "weights").exists()


@pytest.mark.slow
def test_train_can_reuse_the_autoencoder_of_a_checkpoint_on_the_same_data(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    data = tmp_path / "studio"
    data.mkdir()
    write_midi(str(data / "2.mid"), numerator=4, bars=8, scale=MAJOR, tonic=2)
    write_midi(str(data / "d.mid"), numerator=3, bars=6, scale=MAJOR)
    cache = tmp_path / "cache"
    first, second = tmp_path / "first", tmp_path / "second"
    assert run_train(data, first, cache).returncode == 0
    env = {**os.environ, "OSTINATO_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    reuse = [*train_command(data, second), "--autoencoder-from", str(first)]
    result = subprocess.run(reuse, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["autoencoder_source"]["trained"] is False
    assert summary["autoencoder_source"]["checkpoint"].startswith("ostinato-")
    # the autoencoder phase did not run here: its loss is the source's, and no NaN is
    # written into the JSON logs
    first_summary = json.loads((first / "ostinato.json").read_text())["training"]
    assert summary["final_loss"]["autoencoder"] == first_summary["final_loss"]["autoencoder"]
    for name in ("ostinato.json", "training_log.json"):
        assert "NaN" not in (second / name).read_text(), name
    old, new = (
        load_file(str(first / "ostinato.safetensors")),
        load_file(str(second / "ostinato.safetensors")),
    )
    encoder = [name for name in old if name.startswith("autoencoder.")]
    assert encoder and all(torch.equal(old[name], new[name]) for name in encoder)
    # the reused autoencoder is the stored float16 one, so the latent statistics differ
    # from the first run's (made with the float32 weights) only by that rounding
    assert torch.allclose(old["latent_mean"], new["latent_mean"], rtol=1e-2, atol=1e-3)

    other = tmp_path / "other"
    other.mkdir()
    write_midi(str(other / "a.mid"), numerator=4, bars=8, scale=MAJOR, tonic=7)
    refused = subprocess.run(
        [*train_command(other, tmp_path / "third"), "--autoencoder-from", str(first)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert refused.returncode == 4
    assert "checkpoint_error" in refused.stderr and "trained on data" in refused.stderr


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--autoencoder-config", '{"bogus": 1}', "not AutoencoderConfig fields"),
        ("--autoencoder-config", "[1", "not AutoencoderConfig fields"),
        ("--condition-dropout", "1.5", "is not in [0, 1)"),
    ],
)
def test_bad_training_options_are_refused_before_any_work(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine_core.training.train import main

    with pytest.raises(SystemExit) as exit_info:
        main([option, value])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
