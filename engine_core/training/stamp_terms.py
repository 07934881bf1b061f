"""Record the data terms in a checkpoint trained before terms were recorded.

    python -m engine_core.training.stamp_terms [--weights DIR] [--workers N]

Rebuilds (or reads from the cache) the data set the checkpoint's manifest names (music21
collections, or a folder, with the same selection), checks that its data hash is the
one the weights were trained on, and writes the data set's ``terms`` into the
checkpoint's ``ostinato.json`` (``data.terms``) and ``training_log.json``. The weights
file is not touched, so the weights version stays the same; the checkpoint is loaded
before and after to prove it. A different data hash stops with `CheckpointError`:
terms computed from other data would not describe these weights.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine_core.data.dataset import DEFAULT_COLLECTIONS, build_dataset
from engine_core.errors import CheckpointError, OstinatoError
from engine_core.model.checkpoint import CONFIG_FILE, default_weights_dir, load_checkpoint

CORPUS_SOURCE = "music21 corpus"
LOG_FILE = "training_log.json"


def stamp_terms(folder: Path, *, workers: int | None = None) -> dict[str, Any]:
    """Write the terms of the checkpoint's own training data into it; returns them."""
    before = load_checkpoint(folder)
    data = before.config["data"]
    source = str(data.get("source", ""))
    selection = (data.get("terms") or {}).get("selection", "all")
    if source == CORPUS_SOURCE:
        recorded = data.get("collections") or dict(DEFAULT_COLLECTIONS)
        # the config stores them sorted; the cache key follows the builder's order
        ordered = [k for k in DEFAULT_COLLECTIONS if k in recorded]
        ordered += [k for k in recorded if k not in DEFAULT_COLLECTIONS]
        collections = {k: recorded[k] for k in ordered}
        dataset = build_dataset(collections=collections, workers=workers)
    else:
        dataset = build_dataset(
            data_dir=Path(source),
            workers=workers,
            only_commercial_ok=selection == "commercial_ok",
            permissive_corpus=bool(data.get("permissive_corpus", False)),
        )
    if dataset.manifest_hash != before.data_hash:
        raise CheckpointError(
            f"the data built now has hash {dataset.manifest_hash}, the weights were trained "
            f"on {before.data_hash}: its terms would not describe these weights",
            {"found": dataset.manifest_hash, "expected": before.data_hash},
        )
    terms = dataset.manifest["terms"]
    config_path = folder / CONFIG_FILE
    config = json.loads(config_path.read_text())
    config["data"]["terms"] = terms
    _write_json(config_path, config, indent=2, sort_keys=True)
    log_path = folder / LOG_FILE
    if log_path.is_file():
        log = json.loads(log_path.read_text())
        log.setdefault("data", {})["terms"] = terms
        _write_json(log_path, log, indent=1)
    after = load_checkpoint(folder, expect_data_hash=before.data_hash)
    if after.weights_version != before.weights_version:  # pragma: no cover - a guard
        raise CheckpointError("the weights version changed while stamping terms")
    return terms


def _write_json(path: Path, value: Any, **options: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, **options) + "\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, default=default_weights_dir())
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        terms = stamp_terms(args.weights, workers=args.workers)
    except OstinatoError as error:
        print(f"error [{error.code}]: {error}", file=sys.stderr)
        return error.exit_code
    print(json.dumps({k: terms[k] for k in ("bars", "bars_by_class", "share_by_class")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
