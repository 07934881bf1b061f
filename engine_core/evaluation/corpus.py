"""Which corpus a checkpoint is evaluated against.

By default the one it was trained on: its config records the data manifest (the music21
collections, or the folder a studio trained on), so `build_dataset` finds the cached copy
(or rebuilds it, which takes minutes for the full corpus). A folder (`data_dir`) or the
tiny development corpus (`tiny`) can be named instead; the report then says that the
corpus is not the weights' training data.
"""

from __future__ import annotations

from pathlib import Path

from engine_core.data.dataset import (
    TINY_COLLECTIONS,
    BarDataset,
    DatasetError,
    ProgressCallback,
    build_dataset,
)
from engine_core.model.checkpoint import Checkpoint

CORPUS_SOURCE = "music21 corpus"


def corpus_for(
    checkpoint: Checkpoint,
    *,
    data_dir: Path | None = None,
    tiny: bool = False,
    progress: ProgressCallback | None = None,
) -> BarDataset:
    if data_dir is not None:
        return build_dataset(data_dir=data_dir, progress=progress)
    if tiny:
        return build_dataset(collections=TINY_COLLECTIONS, progress=progress)
    data = checkpoint.config.get("data", {})
    source = str(data.get("source", ""))
    if source == CORPUS_SOURCE:
        collections = data.get("collections") or None
        return build_dataset(collections=collections, progress=progress)
    folder = Path(source)
    if not source or not folder.is_dir():
        raise DatasetError(
            f"the weights were trained on {source or 'an unrecorded source'!r}, which is not "
            "on this machine: name a corpus with --data PATH or --tiny",
            {"source": source},
        )
    selection = (data.get("terms") or {}).get("selection", "all")
    return build_dataset(
        data_dir=folder,
        only_commercial_ok=selection == "commercial_ok",
        permissive_corpus=bool(data.get("permissive_corpus", False)),
        progress=progress,
    )
