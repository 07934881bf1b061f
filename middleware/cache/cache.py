"""`VariantCache`: variant sets stored by what made them, found again across processes.

A variant is stored as two content-named files (audio `.npy` with the stems and the mix,
and the MIDI) plus one index row holding its metadata, and, when the engine gave it, a
third: the composer's score it was arranged from (`.score.json`, read back by
`get_scores`; generated bridges use their states' scores instead of composing them again).
Files are staged and fsynced, then renamed into place while the index write lock is held,
and the row is committed after the files exist: a reader sees a whole variant or none.
Audio comes back memory-mapped, so a process's memory does not grow with the size of the
cache.

Several processes may open the same root; SQLite (WAL) serialises writers, a variant key is
stored at most once, and eviction never removes pinned sets.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import mmap
import os
import shutil
import sqlite3
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine_core.score import Score
from engine_core.variant import Variant, VariantMeta, VariantSet
from middleware.cache.errors import CacheConfigError, CacheEntryError, CacheError, CacheFullError
from middleware.cache.index import Index
from middleware.cache.keys import (
    EngineKey,
    StateLike,
    generation_hash,
    set_key,
    variant_count,
    variant_key,
)
from middleware.cache.store import DIGEST_CHARS, ObjectStore, StagedFile, hash_file, pid_alive

ENV_ROOT = "OSTINATO_CACHE"
ENV_BUDGET_MB = "OSTINATO_CACHE_BUDGET_MB"
DEFAULT_BUDGET_BYTES = 8 * 1024**3
USAGE_FLUSH_S = 5.0
MEMO_ENTRIES = 512
CLAIM_STALE_S = 3600.0
#: Free disk space the cache always leaves (it evicts, then refuses, rather than fill it).
DISK_MARGIN_BYTES = 512 * 1024**2
#: Suffix of a variant's score file (`Score.to_json`, compact JSON).
SCORE_SUFFIX = ".score.json"
#: Damaged files kept under ``<root>/quarantine`` for inspection (the oldest go first).
QUARANTINE_KEPT = 8

#: root -> free bytes on its file system
DiskFree = Callable[[Path], int]

#: progress(stage, done, total)
ProgressCallback = Callable[[str, int, int], None]


def default_root() -> Path:
    """``$OSTINATO_CACHE``, else ``$XDG_CACHE_HOME/ostinato``, else ``~/.cache/ostinato``."""
    explicit = os.environ.get(ENV_ROOT)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "ostinato"


def default_budget_bytes() -> int:
    text = os.environ.get(ENV_BUDGET_MB)
    if not text:
        return DEFAULT_BUDGET_BYTES
    try:
        value = float(text)
    except ValueError:
        raise CacheConfigError(
            f"{ENV_BUDGET_MB}={text!r} is not a number of megabytes", {"value": text}
        ) from None
    if value <= 0:
        raise CacheConfigError(f"{ENV_BUDGET_MB} must be positive, got {text}", {"value": text})
    return int(value * 1024**2)


@dataclass(frozen=True)
class CachedSetInfo:
    """One cached set as `ostinato cache ls` shows it."""

    set_key: str
    state: str
    generation_hash: str
    seed: int
    engine_version: str
    weights_version: str
    variants: int
    size_bytes: int
    created_at: float
    last_used_at: float
    pinned_by: tuple[str, ...]


@dataclass(frozen=True)
class CacheStats:
    root: str
    sets: int
    variants: int
    files: int
    size_bytes: int
    budget_bytes: int
    pinned_sets: int
    hits: int  # in this process
    misses: int  # in this process


@dataclass(frozen=True)
class EvictionReport:
    sets_evicted: int
    variants_evicted: int
    bytes_freed: int
    size_bytes: int  # after eviction
    over_budget: bool  # still above the budget (everything left is pinned)


@dataclass(frozen=True)
class DamagedEntry:
    """A cached object that failed its check: quarantined, its variants dropped."""

    state: str
    set_key: str
    digest: str
    reason: str  # "checksum mismatch", "truncated", "missing"


class DamagedSetError(CacheError):
    """A cached set had a damaged file; the file is quarantined and the set must be made
    again (the index no longer lists the variants that used it)."""

    code = "cache_damaged"

    def __init__(self, damaged: list[DamagedEntry]) -> None:
        first = damaged[0]
        super().__init__(
            f"cached set of {first.state!r} is damaged ({first.reason}); quarantined",
            {"state": first.state, "reason": first.reason, "files": len(damaged)},
        )
        self.damaged = damaged


def _disk_free(root: Path) -> int:
    return shutil.disk_usage(root).free


@dataclass(frozen=True)
class VerifyReport:
    files_checked: int
    orphan_files: int  # files no index row names (a crash between rename and commit)
    missing_files: int  # index rows whose file is gone
    corrupt_files: int  # checksum mismatches
    dropped_variants: int  # variants removed because a file was missing or corrupt
    temp_files: int  # leftover temporary files of dead writers
    repaired: bool

    @property
    def clean(self) -> bool:
        return not (
            self.orphan_files
            or self.missing_files
            or self.corrupt_files
            or self.dropped_variants
            or self.temp_files
        )


def map_audio(path: str, shape: tuple[int, int, int], *, digest: str | None = None) -> np.ndarray:
    """Memory-map a stored audio file (a float32 C-order `.npy` of `shape`), read-only.

    The array data ends the file, after the `.npy` header; mapping it directly costs a
    fraction of `np.load(mmap_mode="r")`. A file of the wrong size raises `ValueError`;
    with `digest`, so does a file whose SHA-256 is not that digest (it is read once).
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        if os.fstat(fd).st_size == 0:
            raise ValueError(f"{path} is empty (truncated)")
        mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)
    data_bytes = 4 * shape[0] * shape[1] * shape[2]
    offset = len(mapped) - data_bytes
    if offset < 10 or mapped[:6] != b"\x93NUMPY":
        raise ValueError(f"{path} is not a stored audio file of shape {shape} (truncated)")
    if digest is not None and hashlib.sha256(mapped).hexdigest()[:DIGEST_CHARS] != digest:
        raise ValueError(f"{path} does not match its checksum")
    return np.frombuffer(mapped, dtype="<f4", count=data_bytes // 4, offset=offset).reshape(shape)


def _check_variant(state_name: str, index: int, variant: Variant, count: int) -> list[str]:
    """Stem names in storage order; raises `CacheEntryError` on a malformed variant."""
    if not 0 <= index < count:
        raise CacheEntryError(
            f"variant index {index} of {state_name!r} outside a set of {count}",
            {"state": state_name, "index": index, "variants": count},
        )
    frames = variant.mix.shape[0] if variant.mix.ndim == 2 else -1
    arrays = {"mix": variant.mix, **{f"stem {k!r}": v for k, v in variant.stems.items()}}
    for label, array in arrays.items():
        if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] != frames:
            raise CacheEntryError(
                f"variant {index} of {state_name!r}: {label} has shape {array.shape}, "
                f"expected ({frames}, 2)",
                {"state": state_name, "index": index},
            )
    return list(variant.stems)


class VariantCache:
    """Variant sets on disk under `root`, indexed in ``<root>/index.sqlite``.

    Opening a cache removes temporary files left by writers that died (`recover=True`).
    Thread-safe within a process; any number of processes may share one root.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        budget_bytes: int | None = None,
        recover: bool = True,
        disk_margin_bytes: int = DISK_MARGIN_BYTES,
        disk_free: DiskFree = _disk_free,
    ) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.budget_bytes = budget_bytes if budget_bytes is not None else default_budget_bytes()
        if self.budget_bytes <= 0:
            raise CacheConfigError(
                f"cache budget must be positive, got {self.budget_bytes} bytes",
                {"budget_bytes": self.budget_bytes},
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.store = ObjectStore(self.root)
        except OSError as error:
            raise CacheError(
                f"cannot use cache root {str(self.root)!r}: {error.strerror}",
                {"root": str(self.root)},
            ) from error
        self.index = Index(self.root / "index.sqlite")
        self.disk_margin_bytes = disk_margin_bytes
        self._disk_free = disk_free
        self.damaged: deque[DamagedEntry] = deque(maxlen=64)  # what this process found
        self._verified: set[str] = set()  # digests whose bytes were checked in this process
        self._touched: dict[str, float] = {}
        # Content under a name never changes, so what was read once is reused: parsed
        # metadata and MIDI (small, bounded memos) and the memory maps of audio that is
        # still in use somewhere in this process (weak references: no memory is held).
        self._midi_memo: dict[str, bytes] = {}
        self._score_memo: dict[str, Score] = {}
        self._parsed: dict[str, tuple[VariantMeta, tuple[str, ...]]] = {}
        self._mapped: weakref.WeakValueDictionary[str, np.ndarray] = weakref.WeakValueDictionary()
        self._last_flush = time.monotonic()
        self.hits = 0
        self.misses = 0
        if recover:
            self.recover()

    def recover(self) -> tuple[int, int]:
        """Clean up after writers that died: their temporary files, and the files they had
        renamed into place but not yet indexed. Returns (temp files, orphans) removed."""
        temp_files, interrupted = self.store.clean_temp()
        return temp_files, self.sweep_orphans() if interrupted else 0

    def sweep_orphans(self) -> int:
        """Remove files under ``objects/`` that no index row names (cheap: no hashing)."""
        removed = 0
        with self.index.write() as tx:
            known = dict(tx.execute("SELECT digest, suffix FROM objects").fetchall())
            for digest, suffix, path in self.store.iter_objects():
                if known.get(digest) != suffix:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    # -- context --------------------------------------------------------------------------

    def close(self) -> None:
        self.flush_usage(blocking=True)
        self.index.close()

    def __enter__(self) -> VariantCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- keys -----------------------------------------------------------------------------

    @staticmethod
    def set_key(state: StateLike, engine_key: EngineKey, variants: int | None = None) -> str:
        return set_key(state, engine_key, variants)

    # -- reading --------------------------------------------------------------------------

    def _rows(self, skey: str, limit: int | None) -> list[tuple[Any, ...]]:
        sql = (
            "SELECT idx, stems_json, audio_digest, midi_digest, meta_json FROM variants "
            "WHERE set_key = ? ORDER BY idx"
        )
        rows = self.index.query(sql, (skey,))
        return [r for r in rows if limit is None or r[0] < limit]

    def _load_variant(self, row: tuple[Any, ...], verify: bool) -> Variant:
        _, stems_json, audio_digest, midi_digest, meta_json = row
        parsed = self._parsed.get(meta_json)
        if parsed is None:
            parsed = (VariantMeta.from_json(json.loads(meta_json)), tuple(json.loads(stems_json)))
            if len(self._parsed) >= MEMO_ENTRIES:
                self._parsed.pop(next(iter(self._parsed)))
            self._parsed[meta_json] = parsed
        meta, names = parsed
        shape = (len(names) + 1, meta.frames, 2)
        flat = self._mapped.get(audio_digest)  # every view of a mapping keeps `flat` alive
        check = verify and audio_digest not in self._verified
        if flat is None or flat.size != shape[0] * shape[1] * shape[2] or check:
            path = self.store.object_path(audio_digest, ".npy")
            flat = map_audio(path, shape, digest=audio_digest if check else None).base
            self._mapped[audio_digest] = flat
            if check:
                self._verified.add(audio_digest)
        audio = flat.reshape(shape)
        stems = {name: audio[i] for i, name in enumerate(names)}
        return Variant(meta, stems, audio[len(names)], self._midi(midi_digest, verify))

    def _midi(self, digest: str, verify: bool = False) -> bytes:
        """A MIDI file's bytes; kept in a small memo (files never change under a name)."""
        data = self._midi_memo.get(digest)
        if data is None:
            with open(self.store.object_path(digest, ".mid"), "rb") as handle:
                data = handle.read()
            if verify and hashlib.sha256(data).hexdigest()[:DIGEST_CHARS] != digest:
                raise ValueError(f"MIDI object {digest} does not match its checksum")
            if len(self._midi_memo) >= MEMO_ENTRIES:
                self._midi_memo.pop(next(iter(self._midi_memo)))
            self._midi_memo[digest] = data
        return data

    def get_set(
        self,
        state: StateLike,
        engine_key: EngineKey,
        *,
        variants: int | None = None,
        verify: bool = True,
        raise_damaged: bool = False,
    ) -> VariantSet | None:
        """The complete cached set (`variants` or the template's count), else ``None``.

        Audio arrays are read-only memory maps of the cache files. With `verify`, each
        file is checked against its digest the first time this process maps it; a damaged
        or truncated file is quarantined (moved to ``<root>/quarantine``), the variants
        using it leave the index (so the scheduler makes them again) and the set is a miss,
        or `DamagedSetError` with `raise_damaged`. Found damage is also in `self.damaged`.
        """
        count = variant_count(state, variants)
        skey = set_key(state, engine_key, count)
        rows = self._rows(skey, count)
        loaded = (
            self._load_rows(
                rows, state=state.name, skey=skey, verify=verify, raise_damaged=raise_damaged
            )
            if len(rows) == count
            else None
        )
        if loaded is None:
            self.misses += 1
            return None
        self.hits += 1
        self._touch(skey)
        return VariantSet(state.name, generation_hash(state.spec), state.seed, tuple(loaded))

    def get_variants(
        self, state: StateLike, engine_key: EngineKey, *, variants: int | None = None
    ) -> tuple[Variant, ...]:
        """Whatever variants of the set are cached so far (possibly none), by index."""
        skey = set_key(state, engine_key, variants)
        loaded = self._load_rows(self._rows(skey, None), state=state.name, skey=skey) or []
        if loaded:
            self._touch(skey)
        return tuple(loaded)

    def _load_rows(
        self,
        rows: list[tuple[Any, ...]],
        *,
        state: str,
        skey: str,
        verify: bool = True,
        raise_damaged: bool = False,
    ) -> list[Variant] | None:
        unchecked = sum(1 for row in rows if verify and row[2] not in self._verified)
        if unchecked > 1:  # hashing releases the GIL: check a set's files on every core
            workers = min(unchecked, os.cpu_count() or 1)
            with ThreadPoolExecutor(workers, thread_name_prefix="cache-check") as pool:
                outcomes = list(
                    pool.map(lambda row: self._load_one(row, state, skey, verify), rows)
                )
        else:
            outcomes = [self._load_one(row, state, skey, verify) for row in rows]
        if any(outcome is None for outcome in outcomes):
            return None  # evicted by another process after the query: a plain miss
        loaded = [o for o in outcomes if isinstance(o, Variant)]
        damaged = [o for o in outcomes if isinstance(o, DamagedEntry)]
        if not damaged:
            return loaded
        for entry in damaged:
            self.quarantine(entry)
        if raise_damaged:
            raise DamagedSetError(damaged)
        return None

    def _load_one(
        self, row: tuple[Any, ...], state: str, skey: str, verify: bool
    ) -> Variant | DamagedEntry | None:
        """A row's variant, or what is wrong with its files (None: evicted meanwhile)."""
        audio_digest, midi_digest = row[2], row[3]
        try:
            return self._load_variant(row, verify)
        except FileNotFoundError:
            # evicted by another process after the query (a miss), or deleted under the index
            digest = audio_digest if self._is_indexed(audio_digest) else midi_digest
            if not self._is_indexed(digest):
                return None
            return DamagedEntry(state, skey, digest, "missing")
        except ValueError as error:
            digest = midi_digest if "MIDI" in str(error) else audio_digest
            reason = "truncated" if "truncated" in str(error) else "checksum mismatch"
            return DamagedEntry(state, skey, digest, reason)

    def _is_indexed(self, digest: str) -> bool:
        return bool(self.index.query("SELECT 1 FROM objects WHERE digest = ?", (digest,)))

    def quarantine(self, entry: DamagedEntry) -> None:
        """Move a damaged file out of ``objects/`` and drop every variant that uses it."""
        self.damaged.append(entry)
        self._verified.discard(entry.digest)
        self._mapped.pop(entry.digest, None)
        self._midi_memo.pop(entry.digest, None)
        quarantine = self.root / "quarantine"
        quarantine.mkdir(exist_ok=True)
        with self.index.write() as tx:
            row = tx.execute(
                "SELECT suffix FROM objects WHERE digest = ?", (entry.digest,)
            ).fetchone()
            if row is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.replace(
                        self.store.path_for(entry.digest, row[0]),
                        quarantine / f"{entry.digest}{row[0]}.{time.time_ns()}",
                    )
                tx.execute("DELETE FROM objects WHERE digest = ?", (entry.digest,))
            self._drop_variants(
                tx, "audio_digest = ? OR midi_digest = ?", (entry.digest, entry.digest)
            )
        kept = sorted(quarantine.iterdir(), key=lambda path: path.stat().st_mtime)
        for old in kept[:-QUARANTINE_KEPT]:
            old.unlink(missing_ok=True)

    def get_scores(
        self, state: StateLike, engine_key: EngineKey, *, variants: int | None = None
    ) -> list[Score] | None:
        """The composer's scores of every variant of the set, by index, when the cache keeps
        them all (else ``None``: a set cached before scores were kept, or not cached).

        Each file is checked against its digest when first read in this process; a damaged
        or missing one is dropped from the index (the variants stay) and the answer is
        ``None``, so the caller composes the scores again."""
        count = variant_count(state, variants)
        skey = set_key(state, engine_key, count)
        rows = self.index.query(
            "SELECT s.idx, s.digest FROM scores s JOIN variants v ON v.variant_key = "
            "s.variant_key WHERE s.set_key = ? AND s.idx < ? ORDER BY s.idx",
            (skey, count),
        )
        if [idx for idx, _ in rows] != list(range(count)):
            return None
        scores = []
        for _, digest in rows:
            score = self._score_memo.get(digest)
            if score is None:
                try:
                    with open(self.store.object_path(digest, SCORE_SUFFIX), "rb") as handle:
                        data = handle.read()
                    if hashlib.sha256(data).hexdigest()[:DIGEST_CHARS] != digest:
                        raise ValueError("checksum mismatch")
                    score = Score.from_json(json.loads(data))
                except (OSError, ValueError):
                    self._drop_score(digest)
                    return None
                if len(self._score_memo) >= MEMO_ENTRIES:
                    self._score_memo.pop(next(iter(self._score_memo)))
                self._score_memo[digest] = score
            scores.append(score)
        self._touch(skey)
        return scores

    def _drop_score(self, digest: str) -> None:
        """Forget a score file that failed its check (its variants keep their audio)."""
        self._score_memo.pop(digest, None)
        with self.index.write() as tx:
            tx.execute("DELETE FROM scores WHERE digest = ?", (digest,))
            self._drop_object_if_unused(tx, digest)

    def has_set(
        self, state: StateLike, engine_key: EngineKey, *, variants: int | None = None
    ) -> bool:
        count = variant_count(state, variants)
        return self.cached_indices(state, engine_key, variants=count) >= set(range(count))

    def cached_indices(
        self, state: StateLike, engine_key: EngineKey, *, variants: int | None = None
    ) -> set[int]:
        skey = set_key(state, engine_key, variants)
        return {
            r[0] for r in self.index.query("SELECT idx FROM variants WHERE set_key = ?", (skey,))
        }

    # -- usage times ----------------------------------------------------------------------

    def _touch(self, skey: str) -> None:
        self._touched[skey] = time.time()
        if time.monotonic() - self._last_flush > USAGE_FLUSH_S:
            self.flush_usage(blocking=False)

    def flush_usage(self, *, blocking: bool = True) -> None:
        """Write pending last-used times; a non-blocking flush gives up if a writer is busy."""
        if not self._touched:
            return
        pending = dict(self._touched)
        with self.index._lock:
            conn = self.index._conn
            if not blocking:
                conn.execute("PRAGMA busy_timeout = 0")
            try:
                with self.index.write() as tx:
                    tx.executemany(
                        "UPDATE variants SET last_used_at = MAX(last_used_at, ?) WHERE set_key = ?",
                        [(used, skey) for skey, used in pending.items()],
                    )
            except sqlite3.OperationalError:
                if blocking:
                    raise
                return
            finally:
                if not blocking:
                    conn.execute("PRAGMA busy_timeout = 30000")
        for skey, used in pending.items():
            if self._touched.get(skey) == used:
                del self._touched[skey]
        self._last_flush = time.monotonic()

    # -- writing --------------------------------------------------------------------------

    def put_variant(
        self,
        state: StateLike,
        engine_key: EngineKey,
        variant: Variant,
        *,
        variants: int | None = None,
    ) -> bool:
        """Store one variant of a state's set of `variants` (default: the template's count);
        ``False`` if that variant was already there."""
        count = variant_count(state, variants)
        index = variant.meta.index
        names = _check_variant(state.name, index, variant, count)
        skey = set_key(state, engine_key, count)
        vkey = variant_key(skey, index)
        if self.index.query("SELECT 1 FROM variants WHERE variant_key = ?", (vkey,)):
            return False
        audio = np.ascontiguousarray(
            np.stack([*(variant.stems[n] for n in names), variant.mix]), dtype=np.float32
        )
        score = (
            json.dumps(variant.score.to_json(), separators=(",", ":")).encode()
            if variant.score is not None
            else b""
        )
        needed = audio.nbytes + len(variant.midi) + len(score) + 4096
        self.make_room(needed, keep=(skey,))
        staged: list[StagedFile] = []
        try:
            staged.append(self.store.stage_array(audio))
            staged.append(self.store.stage_bytes(bytes(variant.midi), ".mid"))
            if score:
                staged.append(self.store.stage_bytes(score, SCORE_SUFFIX))
            stored = self._commit_variant(
                state, engine_key, skey, vkey, index, names, variant, staged
            )
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise CacheFullError(
                f"the disk under the cache is full ({error.strerror}); nothing was written",
                {"root": str(self.root), "needed_bytes": needed},
            ) from None
        finally:
            for item in staged:
                self.store.discard(item)
        if stored:
            self.evict(self.effective_budget(), keep=(skey,))
        return stored

    def _commit_variant(
        self,
        state: StateLike,
        engine_key: EngineKey,
        skey: str,
        vkey: str,
        index: int,
        names: list[str],
        variant: Variant,
        staged: list[StagedFile],
    ) -> bool:
        audio_file, midi_file, *score_file = staged
        now = time.time()
        with self.store.publishing(), self.index.write() as tx:
            if tx.execute("SELECT 1 FROM variants WHERE variant_key = ?", (vkey,)).fetchone():
                return False
            published = [self.store.publish(item) for item in staged]
            self.store.sync_dirs(published)
            tx.executemany(
                "INSERT OR REPLACE INTO objects (digest, suffix, size_bytes) VALUES (?, ?, ?)",
                [(item.digest, item.suffix, item.size_bytes) for item in staged],
            )
            tx.execute(
                "INSERT INTO variants (variant_key, set_key, idx, state, generation_hash, seed, "
                "engine_version, weights_version, stems_json, audio_digest, midi_digest, "
                "meta_json, size_bytes, created_at, last_used_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    vkey,
                    skey,
                    index,
                    state.name,
                    generation_hash(state.spec),
                    state.seed,
                    engine_key.engine_version,
                    engine_key.weights_version,
                    json.dumps(names),
                    audio_file.digest,
                    midi_file.digest,
                    json.dumps(variant.meta.to_json()),
                    sum(item.size_bytes for item in staged),
                    now,
                    now,
                ),
            )
            if score_file:
                tx.execute(
                    "INSERT OR REPLACE INTO scores (variant_key, set_key, idx, digest) "
                    "VALUES (?, ?, ?, ?)",
                    (vkey, skey, index, score_file[0].digest),
                )
        return True

    def put_set(
        self,
        state: StateLike,
        engine_key: EngineKey,
        variant_set: VariantSet,
        *,
        variants: int | None = None,
    ) -> int:
        """Store every variant of a set (of `variants`, default: the variants given);
        returns how many were new."""
        count = variants if variants is not None else len(variant_set.variants)
        if variant_set.state != state.name:
            raise CacheEntryError(
                f"variant set is for {variant_set.state!r}, not {state.name!r}",
                {"state": state.name, "set_state": variant_set.state},
            )
        return sum(
            self.put_variant(state, engine_key, v, variants=count) for v in variant_set.variants
        )

    # -- claims ---------------------------------------------------------------------------

    def claim(self, skey: str, *, stale_s: float = CLAIM_STALE_S) -> bool:
        """Claim the right to generate a set; ``False`` while another live process holds it.

        A claim of a process that is gone (or older than `stale_s`) is taken over.
        """
        now = time.time()
        with self.index.write() as tx:
            row = tx.execute("SELECT pid, claimed_at FROM claims WHERE set_key = ?", (skey,))
            held = row.fetchone()
            if held is not None:
                pid, claimed_at = int(held[0]), float(held[1])
                if pid != os.getpid() and pid_alive(pid) and now - claimed_at < stale_s:
                    return False
            tx.execute(
                "INSERT OR REPLACE INTO claims (set_key, pid, claimed_at) VALUES (?, ?, ?)",
                (skey, os.getpid(), now),
            )
        return True

    def release(self, skey: str) -> None:
        """Drop this process's claim on a set."""
        with self.index.write() as tx:
            tx.execute("DELETE FROM claims WHERE set_key = ? AND pid = ?", (skey, os.getpid()))

    # -- pins -----------------------------------------------------------------------------

    def pin(
        self,
        state: StateLike,
        engine_key: EngineKey,
        owner: str,
        *,
        persistent: bool = False,
        variants: int | None = None,
    ) -> str:
        """Keep a set through eviction until unpinned. A non-persistent pin ends with this
        process. Returns the set key."""
        skey = set_key(state, engine_key, variants)
        self.pin_key(skey, owner, persistent=persistent)
        return skey

    def pin_key(self, skey: str, owner: str, *, persistent: bool = False) -> None:
        with self.index.write() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO pins (set_key, owner, pid, created_at) VALUES (?, ?, ?, ?)",
                (skey, owner, None if persistent else os.getpid(), time.time()),
            )

    def unpin(
        self, state: StateLike, engine_key: EngineKey, owner: str, *, variants: int | None = None
    ) -> None:
        with self.index.write() as tx:
            tx.execute(
                "DELETE FROM pins WHERE set_key = ? AND owner = ?",
                (set_key(state, engine_key, variants), owner),
            )

    def unpin_owner(self, owner: str) -> int:
        with self.index.write() as tx:
            return tx.execute("DELETE FROM pins WHERE owner = ?", (owner,)).rowcount

    def _live_pins(self, tx: sqlite3.Connection) -> set[str]:
        """Pinned set keys; drops pins whose process is gone."""
        pinned: set[str] = set()
        for skey, owner, pid in tx.execute("SELECT set_key, owner, pid FROM pins").fetchall():
            if pid is not None and not pid_alive(int(pid)):
                tx.execute("DELETE FROM pins WHERE set_key = ? AND owner = ?", (skey, owner))
            else:
                pinned.add(skey)
        return pinned

    # -- eviction -------------------------------------------------------------------------

    def effective_budget(self) -> int:
        """The byte budget, lowered so that the disk keeps `disk_margin_bytes` free."""
        free = self._disk_free(self.root)
        return max(0, min(self.budget_bytes, self.size_bytes() + free - self.disk_margin_bytes))

    def make_room(self, needed_bytes: int, *, keep: Sequence[str] = ()) -> EvictionReport:
        """Evict least-recently-used unpinned sets until `needed_bytes` more fit both the
        budget and the disk (with its margin); `CacheFullError` if even that cannot."""
        free = self._disk_free(self.root)
        size = self.size_bytes()
        room = min(self.budget_bytes - size, free - self.disk_margin_bytes)
        if needed_bytes <= room:
            return EvictionReport(0, 0, 0, size, False)
        target = min(self.budget_bytes, size + free - self.disk_margin_bytes) - needed_bytes
        report = self.evict(max(0, target), keep=keep)
        free = self._disk_free(self.root)
        if needed_bytes > min(self.budget_bytes - report.size_bytes, free - self.disk_margin_bytes):
            raise CacheFullError(
                f"no room for {needed_bytes} bytes in the cache at {str(self.root)!r}: "
                f"{free} bytes free on its disk (the cache keeps {self.disk_margin_bytes} "
                f"free), {report.size_bytes} bytes cached, budget {self.budget_bytes}; "
                "everything evictable was evicted",
                {
                    "root": str(self.root),
                    "needed_bytes": needed_bytes,
                    "free_bytes": free,
                    "margin_bytes": self.disk_margin_bytes,
                    "size_bytes": report.size_bytes,
                    "budget_bytes": self.budget_bytes,
                },
            )
        return report

    def size_bytes(self) -> int:
        return int(self.index.query("SELECT COALESCE(SUM(size_bytes), 0) FROM objects")[0][0])

    def evict(self, budget_bytes: int | None = None, *, keep: Sequence[str] = ()) -> EvictionReport:
        """Remove least-recently-used unpinned sets until the cache fits the budget."""
        budget = self.budget_bytes if budget_bytes is None else budget_bytes
        if budget < 0:
            raise CacheConfigError(f"budget must be >= 0, got {budget}", {"budget_bytes": budget})
        if self.size_bytes() <= budget:
            return EvictionReport(0, 0, 0, self.size_bytes(), False)
        self.flush_usage(blocking=True)
        sets = variants = freed = 0
        with self.index.write() as tx:
            total = int(
                tx.execute("SELECT COALESCE(SUM(size_bytes), 0) FROM objects").fetchone()[0]
            )
            protected = self._live_pins(tx) | set(keep)
            candidates = tx.execute(
                "SELECT set_key, MAX(last_used_at) AS used FROM variants "
                "GROUP BY set_key ORDER BY used ASC"
            ).fetchall()
            for skey, _ in candidates:
                if total <= budget:
                    break
                if skey in protected:
                    continue
                removed_variants, removed_bytes = self._drop_set(tx, skey)
                sets += 1
                variants += removed_variants
                freed += removed_bytes
                total -= removed_bytes
        return EvictionReport(sets, variants, freed, total, total > budget)

    def _drop_variants(
        self, tx: sqlite3.Connection, where: str, params: tuple[Any, ...]
    ) -> tuple[int, int]:
        """Delete variant rows, then every file no remaining row references."""
        rows = tx.execute(
            f"SELECT variant_key, audio_digest, midi_digest FROM variants WHERE {where}", params
        ).fetchall()
        tx.execute(f"DELETE FROM variants WHERE {where}", params)
        digests = {d for row in rows for d in row[1:]}
        for row in rows:
            found = tx.execute("SELECT digest FROM scores WHERE variant_key = ?", (row[0],))
            digests.update(digest for (digest,) in found.fetchall())
            tx.execute("DELETE FROM scores WHERE variant_key = ?", (row[0],))
        freed = 0
        for digest in digests:
            freed += self._drop_object_if_unused(tx, digest)
        return len(rows), freed

    def _drop_set(self, tx: sqlite3.Connection, skey: str) -> tuple[int, int]:
        return self._drop_variants(tx, "set_key = ?", (skey,))

    def _drop_object_if_unused(self, tx: sqlite3.Connection, digest: str) -> int:
        used = tx.execute(
            "SELECT 1 FROM variants WHERE audio_digest = ? OR midi_digest = ? LIMIT 1",
            (digest, digest),
        ).fetchone()
        if (
            used
            or tx.execute("SELECT 1 FROM scores WHERE digest = ? LIMIT 1", (digest,)).fetchone()
        ):
            return 0
        row = tx.execute(
            "SELECT suffix, size_bytes FROM objects WHERE digest = ?", (digest,)
        ).fetchone()
        if row is None:
            return 0
        tx.execute("DELETE FROM objects WHERE digest = ?", (digest,))
        self.store.remove(digest, row[0])
        return int(row[1])

    def clear(self, *, keep_pinned: bool = True) -> int:
        """Remove every set (pinned ones too if `keep_pinned` is False); returns sets removed."""
        removed = 0
        with self.index.write() as tx:
            protected = self._live_pins(tx) if keep_pinned else set()
            if not keep_pinned:
                tx.execute("DELETE FROM pins")
            for (skey,) in tx.execute("SELECT DISTINCT set_key FROM variants").fetchall():
                if skey not in protected:
                    self._drop_set(tx, skey)
                    removed += 1
        return removed

    # -- listing --------------------------------------------------------------------------

    def list_sets(self) -> list[CachedSetInfo]:
        with self.index.read() as tx:
            pins: dict[str, list[str]] = {}
            for skey, owner in tx.execute("SELECT set_key, owner FROM pins ORDER BY owner"):
                pins.setdefault(skey, []).append(owner)
            rows = tx.execute(
                "SELECT set_key, state, generation_hash, seed, engine_version, weights_version, "
                "COUNT(*), SUM(size_bytes), MIN(created_at), MAX(last_used_at) FROM variants "
                "GROUP BY set_key ORDER BY state, set_key"
            ).fetchall()
        return [CachedSetInfo(*row, tuple(pins.get(row[0], ()))) for row in rows]

    def stats(self) -> CacheStats:
        with self.index.read() as tx:
            sets, variants = tx.execute(
                "SELECT COUNT(DISTINCT set_key), COUNT(*) FROM variants"
            ).fetchone()
            files, size = tx.execute(
                "SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM objects"
            ).fetchone()
            pinned = tx.execute("SELECT COUNT(DISTINCT set_key) FROM pins").fetchone()[0]
        return CacheStats(
            str(self.root), sets, variants, files, size, self.budget_bytes, pinned,
            self.hits, self.misses,
        )  # fmt: skip

    # -- verification ---------------------------------------------------------------------

    def verify(
        self, *, repair: bool = True, progress: ProgressCallback | None = None
    ) -> VerifyReport:
        """Check every file against its name and the index against the files.

        Files are hashed without holding the index lock; the comparison and the repairs run
        in one write transaction, so concurrent writers are never misread as damage.
        """
        temp_files = self.store.clean_temp()[0] if repair else 0
        on_disk = list(self.store.iter_objects())
        hashed: dict[Path, str] = {}
        for done, (_, _, path) in enumerate(on_disk, 1):
            with contextlib.suppress(FileNotFoundError):
                hashed[path] = hash_file(path)
            if progress is not None:
                progress("hash", done, len(on_disk))
        orphan = missing = corrupt = 0
        with self.index.write() as tx:
            known = dict(tx.execute("SELECT digest, suffix FROM objects").fetchall())
            present = {(d, s): p for d, s, p in self.store.iter_objects()}
            bad: set[str] = set()
            for (digest, suffix), path in present.items():
                if known.get(digest) != suffix:
                    orphan += 1
                    if repair:
                        path.unlink(missing_ok=True)
                elif path in hashed and hashed[path] != digest:
                    corrupt += 1
                    bad.add(digest)
            for digest, suffix in known.items():
                if (digest, suffix) not in present:
                    missing += 1
                    bad.add(digest)
            variants = tx.execute(
                "SELECT variant_key, audio_digest, midi_digest FROM variants"
            ).fetchall()
            broken = [
                key
                for key, audio, midi in variants
                if audio in bad or midi in bad or audio not in known or midi not in known
            ]
            referenced = {d for _, *digests in variants for d in digests}
            # a score whose variant is gone, or whose file is damaged, is dropped alone
            # (a variant without its score is whole: bridges compose the score again)
            scores = tx.execute(
                "SELECT s.digest, v.variant_key FROM scores s "
                "LEFT JOIN variants v ON v.variant_key = s.variant_key"
            ).fetchall()
            referenced |= {d for d, variant in scores if variant is not None}
            unused = [d for d in known if d not in referenced and d not in bad]
            orphan += len(unused)
            if repair:
                tx.execute(
                    "DELETE FROM scores WHERE variant_key NOT IN (SELECT variant_key FROM variants)"
                )
                for digest in bad:
                    self.store.remove(digest, known[digest])
                    tx.execute("DELETE FROM objects WHERE digest = ?", (digest,))
                    tx.execute("DELETE FROM scores WHERE digest = ?", (digest,))
                    self._score_memo.pop(digest, None)
                for key in broken:
                    self._drop_variants(tx, "variant_key = ?", (key,))
                for digest in unused:
                    self._drop_object_if_unused(tx, digest)
        return VerifyReport(len(on_disk), orphan, missing, corrupt, len(broken), temp_files, repair)
