"""Small random-init models and specs for the model tests (fast on a loaded 2-core box).

`one_torch_thread` (autouse in every model test module) runs torch on one thread: these
models are small, and on a busy 2-core machine a second thread makes each layer wait for
a core another process holds (tens of times slower), which says nothing about the model.

The denoiser zero-initialises its output projection and AdaLN layer (a trained-from-scratch
default); a fresh one predicts zero velocity for every input, which would make every
property test pass trivially. `tiny_denoiser` gives those layers random weights too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pretty_midi
import pytest
import torch
from torch import nn

from engine_core.data.corpus import STYLE_FAMILIES
from engine_core.model.autoencoder import AutoencoderConfig, BarAutoencoder
from engine_core.model.checkpoint import Checkpoint
from engine_core.model.composer import DiffusionComposer
from engine_core.model.denoiser import Denoiser, DenoiserConfig
from engine_core.model.sampling import SamplerSettings
from engine_core.model.text import PromptInterpreter
from engine_core.spec import GenerationSpec, StemSpec

LATENT_DIM = 16
TINY_AUTOENCODER = AutoencoderConfig(
    latent_dim=LATENT_DIM,
    step_features=4,
    hidden=32,
    pitch_hidden=96,
    latent_noise=0.05,
    relative_noise=False,
)
TINY_DENOISER = DenoiserConfig(latent_dim=LATENT_DIM, width=32, depth=2, heads=2)
TINY_SAMPLER = SamplerSettings(steps=4)


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_autoencoder(seed: int = 0) -> BarAutoencoder:
    torch.manual_seed(seed)
    return BarAutoencoder(TINY_AUTOENCODER).eval()


def tiny_denoiser(seed: int = 0, attention: str = "linear") -> Denoiser:
    """A random denoiser whose every layer (the zero-initialised ones too) is non-trivial."""
    torch.manual_seed(seed)
    config = DenoiserConfig(**{**TINY_DENOISER.to_dict(), "attention": attention})
    model = Denoiser(config)
    with torch.no_grad():
        for layer in (model.proj_out, model.adaln[1]):
            assert isinstance(layer, nn.Linear)
            nn.init.normal_(layer.weight, std=0.2)
            nn.init.normal_(layer.bias, std=0.2)
        nn.init.normal_(model.token_embedding, std=0.2)
    return model.eval()


def sparse_autoencoder(seed: int = 0) -> BarAutoencoder:
    """A random decoder that, like a trained one, turns a few percent of the cells on
    (a fresh one outputs ~0.5 everywhere, thousands of notes a bar)."""
    model = tiny_autoencoder(seed)
    with torch.no_grad():
        layer = model.pitch_out[-1]
        assert isinstance(layer, nn.Linear)
        layer.weight.mul_(20.0)
        layer.bias.mul_(20.0).sub_(3.0)
    return model


def tiny_checkpoint(seed: int = 0) -> Checkpoint:
    quantiles = torch.stack(
        [torch.linspace(0.0, 1.0, 11), torch.linspace(0.0, 40.0, 11), torch.linspace(53, 89, 11)]
    ).repeat(len(STYLE_FAMILIES), 1, 1)
    return Checkpoint(
        autoencoder=sparse_autoencoder(seed),
        denoiser=tiny_denoiser(seed),
        latent_mean=torch.zeros(LATENT_DIM),
        latent_std=torch.ones(LATENT_DIM),
        control_quantiles=quantiles,
        sampler=TINY_SAMPLER,
        config={"data": {"hash": "tiny"}},
        weights_sha256="0" * 64,
    )


def tiny_composer(seed: int = 0) -> DiffusionComposer:
    """A composer over random weights; prompts are never interpreted (specs have none)."""
    return DiffusionComposer(tiny_checkpoint(seed), PromptInterpreter())


def model_spec(**changes: object) -> GenerationSpec:
    fields: dict[str, object] = {
        "prompt": "",
        "tags": (),
        "bpm": 120.0,
        "meter": "4/4",
        "key": "C major",
        "bars": 4,
        "stems": (StemSpec("lead", "melody"), StemSpec("bass", "bass", register=(28, 52))),
    }
    fields.update(changes)
    return GenerationSpec(**fields)  # type: ignore[arg-type]


def write_midi(
    path: str,
    *,
    numerator: int,
    bars: int,
    scale: tuple[int, ...],
    tonic: int = 0,
) -> None:
    """A three-part piece (a running melody, a harmony line, a bass) at 120 bpm."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(numerator, 4, 0))
    beat = 0.5
    end = bars * numerator * beat
    for program, base, length in ((73, 72, 1), (48, 60, 2), (32, 48, 4)):
        instrument = pretty_midi.Instrument(program)
        start, index = 0.0, 0
        while start < end - 1e-9:
            pitch = base + tonic + scale[(index * length) % len(scale)]
            stop = min(start + beat * length, end)
            instrument.notes.append(pretty_midi.Note(90, pitch, start, stop))
            start, index = stop, index + 1
        midi.instruments.append(instrument)
    midi.write(path)
