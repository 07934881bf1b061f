"""The engine key without loading the engine, for a fast warm start.

`EngineKey` needs the weights version, which the engine only knows once the model is
loaded (torch, seconds). Workers that did load it record their key in the cache index
under a *fingerprint* of what the key depends on: the engine code version and the size and
modification time of the weights files and the SoundFont. A later process with the same
fingerprint reads the key back with a few `stat` calls and one query; anything changed
(new weights, a new SoundFont, a new engine version) gives a new fingerprint, and the key
is taken from a loaded engine again.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import engine_core
from middleware.cache.cache import VariantCache
from middleware.cache.keys import EngineKey, default_soundfont_path

WEIGHTS_SUFFIXES = (".json", ".safetensors")


def default_weights_dir() -> Path:
    """Where `DiffusionComposer.load()` reads the shipped weights."""
    return Path(engine_core.__file__).resolve().parent / "weights"


def _stat_line(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return f"{path.name}:missing"
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


def engine_fingerprint(
    weights_dir: str | os.PathLike[str] | None = None,
    soundfont: str | os.PathLike[str] | None = None,
) -> str:
    """A digest of everything the default engine's key depends on, from file metadata only."""
    folder = Path(weights_dir) if weights_dir is not None else default_weights_dir()
    lines = [f"engine:{engine_core.ENGINE_VERSION}"]
    if folder.is_dir():
        lines += sorted(_stat_line(p) for p in folder.iterdir() if p.suffix in WEIGHTS_SUFFIXES)
    font = Path(soundfont) if soundfont is not None else default_soundfont_path()
    lines.append("soundfont:" + (_stat_line(font) if font is not None else "none"))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32]


def record_engine_key(cache: VariantCache, fingerprint: str, key: EngineKey) -> None:
    with cache.index.write() as tx:
        tx.execute(
            "INSERT OR REPLACE INTO engines (fingerprint, key_json, recorded_at) VALUES (?, ?, ?)",
            (fingerprint, json.dumps(key.to_json()), time.time()),
        )


def recorded_engine_key(cache: VariantCache, fingerprint: str) -> EngineKey | None:
    rows = cache.index.query("SELECT key_json FROM engines WHERE fingerprint = ?", (fingerprint,))
    return EngineKey.from_json(json.loads(rows[0][0])) if rows else None


def resolve_engine_key(cache: VariantCache, *, load: bool = True) -> EngineKey | None:
    """The default engine's key: recorded (no torch), else from a loaded engine (`load`).

    Returns ``None`` when nothing is recorded and `load` is False.
    """
    fingerprint = engine_fingerprint()
    known = recorded_engine_key(cache, fingerprint)
    if known is not None or not load:
        return known
    from engine_core.generate import Engine

    key = EngineKey.from_engine(Engine())
    record_engine_key(cache, fingerprint, key)
    return key
