"""Cache keys: what made a variant set, hashed.

A set is identified by the state's generation hash (the part of its template that changes
the audio), the engine and weights versions, the render settings (sample rate, SoundFont
identity, loudness targets), the seed and the variant count; a variant adds its index.
Transition rules, comments and key order are not in the generation hash, so editing them
re-generates nothing; editing a prompt, bpm or stem changes only that state's key.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine_core.spec import GenerationSpec
from middleware.cache.errors import CacheConfigError

#: SoundFont that `pretty_midi` ships; the engine renders with it when a spec names none.
DEFAULT_SOUNDFONT_NAME = "TimGM6mb.sf2"

_SOUNDFONT_IDS: dict[tuple[str, int, int], str] = {}


class StateLike(Protocol):
    """What the cache reads from a `StateTemplate` (or a stinger with a spec)."""

    @property
    def name(self) -> str: ...

    @property
    def spec(self) -> GenerationSpec: ...

    @property
    def seed(self) -> int: ...


# A template may also have `variants: int` (a state's set size); without it a set has one.


@dataclass(frozen=True)
class EngineKey:
    """The engine-side part of a cache key: code version, weights, default SoundFont."""

    engine_version: str
    weights_version: str
    soundfont_id: str = ""  # identity of the engine's default SoundFont ("" = pretty_midi's)

    @classmethod
    def from_engine(cls, engine: Any) -> EngineKey:
        """Read the key from an `engine_core.generate.Engine` (or anything with its fields)."""
        soundfont = getattr(engine, "soundfont", None)
        soundfont_id = soundfont_identity(soundfont) if isinstance(soundfont, str | Path) else ""
        return cls(str(engine.engine_version), str(engine.weights_version), soundfont_id)

    def to_json(self) -> dict[str, str]:
        return {
            "engine_version": self.engine_version,
            "weights_version": self.weights_version,
            "soundfont_id": self.soundfont_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineKey:
        return cls(
            str(data["engine_version"]),
            str(data["weights_version"]),
            str(data.get("soundfont_id", "")),
        )


def default_soundfont_path() -> Path | None:
    """The SoundFont the engine renders with by default: the engine's default bank when it
    names one (`engine_core.render.bank.default_bank_path`, path checks only), else
    pretty_midi's bundled General MIDI SoundFont, found without importing pretty_midi."""
    try:
        from engine_core.render.bank import default_bank_path
    except ImportError:  # an engine without a bank module: pretty_midi's font
        pass
    else:
        return default_bank_path()
    found = importlib.util.find_spec("pretty_midi")
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / DEFAULT_SOUNDFONT_NAME
    return path if path.is_file() else None


def soundfont_identity(path: str | os.PathLike[str] | None) -> str:
    """SHA-256 (16 hex) of a SoundFont's bytes; memoised per (path, size, mtime).

    ``None`` means the default SoundFont. A missing file raises `CacheConfigError`.
    """
    resolved = Path(path) if path is not None else default_soundfont_path()
    if resolved is None:
        return "none"
    try:
        stat = resolved.stat()
    except OSError as error:
        raise CacheConfigError(
            f"SoundFont {str(resolved)!r} is not readable: {error.strerror}",
            {"path": str(resolved)},
        ) from error
    memo_key = (str(resolved.resolve()), stat.st_size, stat.st_mtime_ns)
    known = _SOUNDFONT_IDS.get(memo_key)
    if known is None:
        digest = hashlib.sha256()
        with resolved.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        known = digest.hexdigest()[:16]
        _SOUNDFONT_IDS[memo_key] = known
    return known


def render_settings(spec: GenerationSpec, engine_key: EngineKey) -> dict[str, Any]:
    """The render settings that are part of a key: sample rate, SoundFont, loudness."""
    soundfont_id = (
        soundfont_identity(spec.soundfont)
        if spec.soundfont is not None
        else engine_key.soundfont_id
    )
    return {
        "sample_rate": spec.sample_rate,
        "soundfont_id": soundfont_id,
        "loudness_lufs": float(spec.loudness_lufs),
        "true_peak_db": float(spec.true_peak_db),
    }


def variant_count(state: StateLike, variants: int | None = None) -> int:
    """`variants` if given, else the template's `variants` (1 for a stinger)."""
    count = variants if variants is not None else getattr(state, "variants", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise CacheConfigError(
            f"variant count for {state.name!r} must be a positive integer, got {count!r}",
            {"state": state.name},
        )
    return count


def set_key(state: StateLike, engine_key: EngineKey, variants: int | None = None) -> str:
    """The cache key (32 hex) of a state's set of `variants` variants under an engine.

    The count is part of the key because the engine draws every variant's noise from one
    seeded stream: variant 1 of a set of 3 is not variant 1 of a set of 4.
    """
    count = variant_count(state, variants)
    try:
        return _set_key_memo(
            state.spec, state.seed, count, engine_key, _soundfont_stamp(state.spec)
        )
    except TypeError:  # an unhashable spec (a list in `extra`): compute it each time
        return _set_key_uncached(state.spec, state.seed, count, engine_key)


def _soundfont_stamp(spec: GenerationSpec) -> tuple[int, int] | None:
    """Size and mtime of the spec's SoundFont, so an edited file is a new memo entry."""
    if spec.soundfont is None:
        return None
    try:
        stat = os.stat(spec.soundfont)
    except OSError:
        return (-1, -1)  # missing: `render_settings` raises, and errors are not memoised
    return stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=4096)
def _set_key_memo(
    spec: GenerationSpec,
    seed: int,
    variants: int,
    engine_key: EngineKey,
    _stamp: tuple[int, int] | None,
) -> str:
    return _set_key_uncached(spec, seed, variants, engine_key)


def _set_key_uncached(spec: GenerationSpec, seed: int, variants: int, engine_key: EngineKey) -> str:
    return set_key_from_parts(
        generation_hash(spec), seed, variants, engine_key, render_settings(spec, engine_key)
    )


def generation_hash(spec: GenerationSpec) -> str:
    """`spec.generation_hash()`, memoised (specs are frozen)."""
    try:
        return _generation_hash_memo(spec)
    except TypeError:
        return spec.generation_hash()


@functools.lru_cache(maxsize=4096)
def _generation_hash_memo(spec: GenerationSpec) -> str:
    return spec.generation_hash()


def set_key_from_parts(
    generation_hash: str,
    seed: int,
    variants: int,
    engine_key: EngineKey,
    render: dict[str, Any],
) -> str:
    payload = {
        "generation_hash": generation_hash,
        "seed": int(seed),
        "variants": int(variants),
        "engine_version": engine_key.engine_version,
        "weights_version": engine_key.weights_version,
        "render": render,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def variant_key(set_key_hex: str, index: int) -> str:
    """The key of variant `index` inside a set."""
    return f"{set_key_hex}:{index}"
