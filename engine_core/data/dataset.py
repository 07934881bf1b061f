"""The training set: every parsed piece's bars in one cached file with a manifest.

`build_dataset` parses the sources with a process pool (both cores by default) and writes
``<cache>/ostinato/data/<key>/bars.npz`` plus ``manifest.json`` (source counts, bars per
meter/mode/family, skip reasons and a SHA-256 over the arrays: the *data manifest hash*
recorded in every checkpoint) and ``terms``: every source file's stated terms, classified
(`engine_core.data.terms`), summed per class and per source in training bars
(`engine_core.data.provenance`). The terms are not part of the hash: they say where the
bars came from, not what they are. The cache directory is per user (``$OSTINATO_CACHE`` or
``$XDG_CACHE_HOME`` or ``~/.cache``) and never committed. A second build with the same
sources reads the cache.

The npz holds: ``bars`` (total_bars, 432) packed bits of the bar rolls, ``piece_start``
and ``piece_length`` (per piece), and per-piece label arrays (meter, mode, family, split).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine_core.data.corpus import (
    STYLE_FAMILIES,
    PieceBars,
    SourceFile,
    corpus_collections,
    corpus_files,
    folder_files,
    iter_parsed,
)
from engine_core.data.pianoroll import BAR_SHAPE
from engine_core.data.provenance import (
    SourceTerms,
    classify_sources,
    file_id_of,
    select_commercial_ok,
    terms_summary,
)
from engine_core.data.terms import COMMERCIAL_OK
from engine_core.errors import OstinatoError
from engine_core.spec import METERS

DATA_FORMAT = 1
ProgressCallback = Callable[[str, int, int], None]

#: The default training corpus: collection -> how many files (None = all).
DEFAULT_COLLECTIONS: dict[str, int | None] = {
    "bach": None,
    "ryansMammoth": None,
    "essenFolksong": None,
    "oneills1850": None,
    "monteverdi": None,
    "palestrina": 300,
    "trecento": None,
}
#: A small corpus for quick runs (`--tiny`): minutes become seconds.
TINY_COLLECTIONS: dict[str, int | None] = {"bach": 60, "ryansMammoth": 120}
MODE_LABELS: tuple[str, ...] = ("major", "minor")


class DatasetError(OstinatoError):
    """The training data cannot be built or read (no usable scores, corrupt cache)."""

    code = "dataset_error"
    exit_code = 6


def cache_root() -> Path:
    base = os.environ.get("OSTINATO_CACHE") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "ostinato"


@dataclass
class BarDataset:
    """Pieces as contiguous runs of bars, with labels."""

    bars: np.ndarray  # (total_bars, *BAR_SHAPE) uint8
    piece_start: np.ndarray  # (pieces,)
    piece_length: np.ndarray
    meter: np.ndarray  # index into METERS
    mode: np.ndarray  # index into MODE_LABELS
    family: np.ndarray  # index into STYLE_FAMILIES
    split: np.ndarray  # 0 train, 1 test
    piece_ids: list[str]
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest_hash(self) -> str:
        return str(self.manifest.get("hash", ""))

    def pieces(self, split: str) -> np.ndarray:
        return np.nonzero(self.split == (1 if split == "test" else 0))[0]

    def bar_indices(self, split: str) -> np.ndarray:
        chosen = self.pieces(split)
        if len(chosen) == 0:  # a small folder may have no held-out piece
            return np.empty(0, dtype=np.int64)
        return np.concatenate(
            [
                np.arange(self.piece_start[i], self.piece_start[i] + self.piece_length[i])
                for i in chosen
            ]
        )


def _pack(pieces: list[PieceBars]) -> dict[str, np.ndarray]:
    lengths = np.array([len(p.bars) for p in pieces], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    bars = np.concatenate([p.bars for p in pieces]).reshape(int(lengths.sum()), -1)
    return {
        "bars": np.packbits(bars, axis=1),
        "piece_start": starts,
        "piece_length": lengths,
        "meter": np.array([METERS.index(p.meter) for p in pieces], dtype=np.int8),
        "mode": np.array([MODE_LABELS.index(p.mode) for p in pieces], dtype=np.int8),
        "family": np.array([STYLE_FAMILIES.index(p.family) for p in pieces], dtype=np.int8),
        "split": np.array([p.split == "test" for p in pieces], dtype=np.int8),
    }


def _hash_arrays(arrays: dict[str, np.ndarray], piece_ids: list[str]) -> str:
    digest = hashlib.sha256(f"ostinato-data-{DATA_FORMAT}".encode())
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    digest.update("\n".join(piece_ids).encode())
    return digest.hexdigest()[:16]


def sources_for(data_dir: Path | None, collections: dict[str, int | None]) -> list[SourceFile]:
    if data_dir is not None:
        if not data_dir.is_dir():
            raise DatasetError(f"data folder {data_dir} does not exist", {"path": str(data_dir)})
        return folder_files(data_dir)
    return corpus_files(collections)


def build_dataset(
    *,
    data_dir: Path | None = None,
    collections: dict[str, int | None] | None = None,
    workers: int | None = None,
    cache_dir: Path | None = None,
    force: bool = False,
    only_commercial_ok: bool = False,
    permissive_corpus: bool = False,
    progress: ProgressCallback | None = None,
) -> BarDataset:
    """Parse the sources into bars (cached). `data_dir` replaces music21's corpus;
    `only_commercial_ok` keeps only files whose stated terms permit commercial use;
    `permissive_corpus` adds, to a `data_dir`, every file of music21's corpus (any
    collection) whose stated terms permit commercial use."""
    collections = dict(collections or DEFAULT_COLLECTIONS)
    files = sources_for(data_dir, collections)
    if not files:
        raise DatasetError("no score files found", {"data_dir": str(data_dir)})
    source_terms = classify_sources(((f.path, f.collection, f.piece_id) for f in files), data_dir)
    if permissive_corpus:
        if data_dir is None:
            raise DatasetError("permissive_corpus adds music21's files to a data folder: name one")
        files, source_terms = _with_permissive_corpus(files, source_terms)
    selection = "all"
    if only_commercial_ok:
        chosen = select_commercial_ok(source_terms)
        files = [f for f in files if f.piece_id in chosen]
        source_terms = SourceTerms(
            {k: v for k, v in source_terms.files.items() if k in chosen},
            source_terms.corpus_notice,
            source_terms.manifest,
        )
        selection = COMMERCIAL_OK
    key_blob = json.dumps(
        {"format": DATA_FORMAT, "files": [(f.path, f.piece_id) for f in files]}, sort_keys=True
    )
    key = hashlib.sha256(key_blob.encode()).hexdigest()[:12]
    folder = (cache_dir or cache_root() / "data") / key
    if not force and (folder / "manifest.json").exists() and (folder / "bars.npz").exists():
        dataset = load_dataset(folder)
        terms = _terms_of(dataset.piece_ids, dataset.piece_length, source_terms, selection)
        if dataset.manifest.get("terms") != terms:  # a cache from before terms, or new terms
            dataset.manifest["terms"] = terms
            _write_manifest(folder, dataset.manifest)
        return dataset

    workers = workers or min(2, os.cpu_count() or 1)
    started = time.perf_counter()
    pieces: list[PieceBars] = []
    skipped: Counter[str] = Counter()
    files_read: Counter[str] = Counter()
    for done, (source, parsed, skips) in enumerate(iter_parsed(files, workers), start=1):
        pieces.extend(parsed)
        skipped.update(skips)
        files_read[source.collection] += 1
        if progress is not None:
            progress("parse", done, len(files))
    if not pieces:
        raise DatasetError("no usable pieces in the sources", {"skipped": dict(skipped)})
    pieces.sort(key=lambda p: p.piece_id)
    arrays = _pack(pieces)
    piece_ids = [p.piece_id for p in pieces]
    manifest = {
        "format": DATA_FORMAT,
        "hash": _hash_arrays(arrays, piece_ids),
        "source": str(data_dir) if data_dir else "music21 corpus",
        "collections": {k: v for k, v in collections.items()} if data_dir is None else {},
        "files": dict(files_read),
        "pieces": len(pieces),
        "bars": int(arrays["piece_length"].sum()),
        "pieces_by_collection": dict(Counter(p.collection for p in pieces)),
        "bars_by_collection": _count_bars(pieces, lambda p: p.collection),
        "bars_by_meter": _count_bars(pieces, lambda p: p.meter),
        "bars_by_mode": _count_bars(pieces, lambda p: p.mode),
        "bars_by_family": _count_bars(pieces, lambda p: p.family),
        "bars_by_split": _count_bars(pieces, lambda p: p.split),
        "pieces_by_split": dict(Counter(p.split for p in pieces)),
        "skipped": dict(skipped),
        "workers": workers,
        "parse_seconds": round(time.perf_counter() - started, 1),
        "permissive_corpus": permissive_corpus,
        "terms": _terms_of(piece_ids, arrays["piece_length"], source_terms, selection),
    }
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "bars.tmp.npz"
    np.savez_compressed(tmp, **arrays, piece_ids=np.array(piece_ids))
    tmp.replace(folder / "bars.npz")
    _write_manifest(folder, manifest)
    return load_dataset(folder)


def _with_permissive_corpus(
    files: list[SourceFile], source_terms: SourceTerms
) -> tuple[list[SourceFile], SourceTerms]:
    """A folder's files plus music21's files (every collection) that permit commercial use."""
    every = corpus_files({name: None for name in corpus_collections()})
    corpus_terms = classify_sources(((f.path, f.collection, f.piece_id) for f in every), None)
    chosen = [f for f in every if corpus_terms.files[f.piece_id].terms_class == COMMERCIAL_OK]
    merged = dict(source_terms.files)
    merged.update({f.piece_id: corpus_terms.files[f.piece_id] for f in chosen})
    return files + chosen, SourceTerms(merged, corpus_terms.corpus_notice, source_terms.manifest)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    tmp = folder / "manifest.tmp.json"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(folder / "manifest.json")


def _terms_of(
    piece_ids: list[str], lengths: np.ndarray, source_terms: SourceTerms, selection: str
) -> dict[str, Any]:
    bars_by_file: Counter[str] = Counter()
    for piece_id, length in zip(piece_ids, lengths, strict=True):
        bars_by_file[file_id_of(piece_id)] += int(length)
    return terms_summary(source_terms, dict(bars_by_file), selection=selection)


def _count_bars(pieces: list[PieceBars], key: Callable[[PieceBars], str]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for piece in pieces:
        counts[key(piece)] += len(piece.bars)
    return dict(counts)


def load_dataset(folder: Path) -> BarDataset:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        with np.load(folder / "bars.npz") as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, KeyError) as error:
        raise DatasetError(f"cannot read dataset in {folder}: {error}") from error
    piece_ids = [str(x) for x in arrays.pop("piece_ids")]
    if _hash_arrays(arrays, piece_ids) != manifest.get("hash"):
        raise DatasetError(f"dataset in {folder} does not match its manifest hash")
    total = int(arrays["piece_length"].sum())
    bits = np.unpackbits(arrays["bars"], axis=1, count=int(np.prod(BAR_SHAPE)))
    return BarDataset(
        bars=bits.reshape(total, *BAR_SHAPE),
        piece_start=arrays["piece_start"],
        piece_length=arrays["piece_length"],
        meter=arrays["meter"],
        mode=arrays["mode"],
        family=arrays["family"],
        split=arrays["split"],
        piece_ids=piece_ids,
        manifest=manifest,
    )


def pieces_from_list(pieces: list[PieceBars]) -> BarDataset:
    """An in-memory dataset (tests, small experiments); not cached."""
    arrays = _pack(pieces)
    piece_ids = [p.piece_id for p in pieces]
    total = int(arrays["piece_length"].sum())
    bits = np.unpackbits(arrays.pop("bars"), axis=1, count=int(np.prod(BAR_SHAPE)))
    return BarDataset(
        bars=bits.reshape(total, *BAR_SHAPE),
        piece_ids=piece_ids,
        manifest={"hash": "in-memory", "pieces": len(pieces), "bars": total},
        **arrays,
    )
