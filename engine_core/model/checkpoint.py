"""Checkpoints: a weights file plus a config that says what made it, checked on load.

A checkpoint is a folder (the shipped one is ``engine_core/weights/``) holding

- ``ostinato.safetensors``: the autoencoder (``autoencoder.*``) and denoiser
  (``denoiser.*``) weights in float16, the latent statistics (``latent_mean``,
  ``latent_std``) and the control percentile tables (``control_quantiles``, one per
  style family) in float32;
  its metadata carries ``format_version`` and ``data_hash``;
- ``ostinato.json``: ``format_version``, the resolved model configs, sampler defaults,
  the data manifest (hash, counts, and ``terms``: what the training files state about
  their use, per class and per source, see `engine_core.data.provenance`),
  ``weights_sha256`` of the safetensors file and a training summary.

The terms live in ``ostinato.json`` only, beside the data hash they describe: the
safetensors bytes (and so the weights version in every cache key) do not depend on them.
`Checkpoint.data_terms` reads them; weights from before terms were recorded have none.

`load_checkpoint` rebuilds the modules from the config, then loads the weights. It raises
`CheckpointError` when a file is missing or unreadable, the format version is not the one
this code reads, the weights' SHA-256 differs from the config's, or the data hash in the
weights differs from the config's (or from the one the caller expects).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine_core.data.corpus import STYLE_FAMILIES
from engine_core.data.provenance import DataTerms
from engine_core.errors import CheckpointError
from engine_core.model.autoencoder import AutoencoderConfig, BarAutoencoder
from engine_core.model.denoiser import Denoiser, DenoiserConfig
from engine_core.model.sampling import SamplerSettings

#: 2: linear attention rotates after the ReLU kernel; 3: control percentiles per style
FORMAT_VERSION = 3
#: Formats whose autoencoder this code reads (`train --autoencoder-from`): unchanged since 2.
AUTOENCODER_FORMATS: tuple[int, ...] = (2, 3)
WEIGHTS_FILE = "ostinato.safetensors"
CONFIG_FILE = "ostinato.json"


def default_weights_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "weights"


@dataclass
class Checkpoint:
    autoencoder: BarAutoencoder
    denoiser: Denoiser
    latent_mean: torch.Tensor
    latent_std: torch.Tensor
    control_quantiles: torch.Tensor  # (style families, 3, Q)
    sampler: SamplerSettings
    config: dict[str, Any]
    weights_sha256: str

    @property
    def data_hash(self) -> str:
        return str(self.config["data"]["hash"])

    @property
    def data_terms(self) -> DataTerms | None:
        """What the training data's files state about their use (None: not recorded)."""
        return DataTerms.from_manifest(self.config.get("data", {}))

    @property
    def weights_version(self) -> str:
        version = self.config.get("format_version", FORMAT_VERSION)
        return f"ostinato-{version}-{self.weights_sha256[:12]}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_checkpoint(
    folder: Path,
    *,
    autoencoder: BarAutoencoder,
    denoiser: Denoiser,
    latent_mean: torch.Tensor,
    latent_std: torch.Tensor,
    control_quantiles: torch.Tensor,
    sampler: SamplerSettings,
    data_manifest: dict[str, Any],
    training: dict[str, Any],
) -> Path:
    """Write weights then config (the config last: a folder with a config is complete)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in (("autoencoder", autoencoder), ("denoiser", denoiser)):
        for name, tensor in module.state_dict().items():
            tensors[f"{prefix}.{name}"] = tensor.detach().to(torch.float16).contiguous()
    tensors["latent_mean"] = latent_mean.float().contiguous()
    tensors["latent_std"] = latent_std.float().contiguous()
    tensors["control_quantiles"] = control_quantiles.float().contiguous()
    data_hash = str(data_manifest.get("hash", ""))
    weights_path = folder / WEIGHTS_FILE
    tmp = folder / (WEIGHTS_FILE + ".tmp")
    save_file(
        tensors, str(tmp), metadata={"format_version": str(FORMAT_VERSION), "data_hash": data_hash}
    )
    tmp.replace(weights_path)
    config = {
        "format_version": FORMAT_VERSION,
        "autoencoder": autoencoder.config.to_dict(),
        "denoiser": denoiser.config.to_dict(),
        "sampler": sampler.__dict__,
        "data": data_manifest,
        "weights_sha256": file_sha256(weights_path),
        "training": training,
    }
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return folder


def load_checkpoint(
    folder: Path | None = None,
    *,
    expect_data_hash: str | None = None,
    formats: tuple[int, ...] = (FORMAT_VERSION,),
) -> Checkpoint:
    """The checkpoint in `folder` (default: the shipped weights), checked as the module
    docstring says. `formats` widens the accepted format versions for callers that use
    only parts unchanged between them (see `AUTOENCODER_FORMATS`)."""
    from safetensors import SafetensorError, safe_open

    folder = Path(folder) if folder is not None else default_weights_dir()
    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not config_path.is_file() or not weights_path.is_file():
        raise CheckpointError(
            f"no checkpoint in {folder}: need {CONFIG_FILE} and {WEIGHTS_FILE}"
            " (train one with `make train`)",
            {"path": str(folder)},
        )
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as error:
        raise CheckpointError(
            f"unreadable {config_path}: {error}", {"path": str(config_path)}
        ) from error
    version = config.get("format_version")
    if version not in formats:
        raise CheckpointError(
            f"checkpoint format {version} but this code reads format {FORMAT_VERSION}; "
            "retrain with `make train` or use matching code",
            {"path": str(folder), "found": version, "expected": FORMAT_VERSION},
        )
    sha = file_sha256(weights_path)
    if sha != config.get("weights_sha256"):
        raise CheckpointError(
            f"{weights_path.name} does not match its config (sha256 {sha[:12]}, "
            f"config says {str(config.get('weights_sha256'))[:12]}): corrupt or mixed files",
            {"path": str(folder), "found": sha, "expected": config.get("weights_sha256")},
        )
    try:
        with safe_open(str(weights_path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as error:
        raise CheckpointError(
            f"unreadable {weights_path}: {error}", {"path": str(folder)}
        ) from error
    data_hash = str(config.get("data", {}).get("hash", ""))
    if metadata.get("data_hash") != data_hash:
        raise CheckpointError(
            f"weights were trained on data {metadata.get('data_hash')}, "
            f"the config says {data_hash}",
            {"path": str(folder)},
        )
    if expect_data_hash is not None and expect_data_hash != data_hash:
        raise CheckpointError(
            f"weights were trained on data {data_hash}, expected {expect_data_hash}",
            {"path": str(folder), "found": data_hash, "expected": expect_data_hash},
        )
    try:
        autoencoder = BarAutoencoder(AutoencoderConfig(**config["autoencoder"]))
        denoiser = Denoiser(DenoiserConfig(**config["denoiser"]))
        for prefix, module in (("autoencoder", autoencoder), ("denoiser", denoiser)):
            state = {
                name[len(prefix) + 1 :]: tensor.float()
                for name, tensor in tensors.items()
                if name.startswith(prefix + ".")
            }
            module.load_state_dict(state)
            module.eval()
        sampler = SamplerSettings(**config.get("sampler", {}))
    except (KeyError, TypeError, RuntimeError) as error:
        raise CheckpointError(
            f"checkpoint in {folder} does not fit the model code: {error}"
        ) from error
    quantiles = tensors.get("control_quantiles", torch.zeros(0)).float()
    expected_shape = (len(STYLE_FAMILIES), 3)
    if version == FORMAT_VERSION and tuple(quantiles.shape[:2]) != expected_shape:
        raise CheckpointError(
            f"control_quantiles has shape {tuple(quantiles.shape)}, expected "
            f"{expected_shape} x quantiles (one table per style family)",
            {"path": str(folder)},
        )
    return Checkpoint(
        autoencoder=autoencoder,
        denoiser=denoiser,
        latent_mean=tensors["latent_mean"].float(),
        latent_std=tensors["latent_std"].float(),
        control_quantiles=quantiles,
        sampler=sampler,
        config=config,
        weights_sha256=sha,
    )
