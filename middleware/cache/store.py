"""Content-addressed files under a cache root: staged to a temporary name, then published.

Layout::

    <root>/objects/ab/ab12...ef.npy   audio: float32 (stems + 1, frames, 2), the mix last
    <root>/objects/cd/cd34...01.mid   MIDI bytes
    <root>/tmp/<pid>-<token>.part     files being written (removed if their writer died)

A file's name is the SHA-256 (32 hex) of its bytes, so a name says what is inside and
`verify` can re-hash it. Staging writes and fsyncs a temporary file outside the index lock;
publishing renames it into `objects/` (atomic) while the index's write lock is held, so a
file under `objects/` that no index row names can only be left by a crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

DIGEST_CHARS = 32
TEMP_SUFFIX = ".part"
#: Marks a publish in progress (renames into objects/ before the index commit); a marker
#: left by a dead process means files it renamed may be orphans.
PUBLISH_SUFFIX = ".publishing"
#: A temporary file older than this is removed even if a process with its pid exists
#: (the pid was reused, or the writer hung).
STALE_TEMP_S = 6 * 3600.0


@dataclass(frozen=True)
class StagedFile:
    """A fully written, fsynced temporary file waiting to be published."""

    temp_path: Path
    digest: str
    suffix: str
    size_bytes: int


class _HashingWriter:
    """A write-only file wrapper that hashes what passes through (numpy writes to it)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()
        self.size_bytes = 0

    def write(self, data: bytes | memoryview) -> int:
        self._digest.update(data)
        self.size_bytes += len(data)
        return self._handle.write(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()[:DIGEST_CHARS]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def hash_file(path: Path) -> str:
    """SHA-256 (32 hex) of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:DIGEST_CHARS]


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ObjectStore:
    """The files of a cache root. Stateless apart from its paths; safe across processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects_dir = root / "objects"
        self.tmp_dir = root / "tmp"
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

        self._objects_text = str(self.objects_dir)

    def path_for(self, digest: str, suffix: str) -> Path:
        return self.objects_dir / digest[:2] / f"{digest}{suffix}"

    def object_path(self, digest: str, suffix: str) -> str:
        """`path_for` as a string, without pathlib's cost (the read path's hot spot)."""
        return f"{self._objects_text}/{digest[:2]}/{digest}{suffix}"

    # -- staging --------------------------------------------------------------------------

    def _temp_path(self) -> Path:
        return self.tmp_dir / f"{os.getpid()}-{secrets.token_hex(8)}{TEMP_SUFFIX}"

    def stage_array(self, array: np.ndarray) -> StagedFile:
        """Write `array` as a `.npy` file to a temporary name, fsynced, hashed on the way."""
        return self._stage(lambda writer: np.lib.format.write_array(writer, array), ".npy")

    def stage_bytes(self, data: bytes, suffix: str) -> StagedFile:
        return self._stage(lambda writer: writer.write(data), suffix)

    def _stage(self, write, suffix: str) -> StagedFile:  # type: ignore[no-untyped-def]
        temp_path = self._temp_path()
        try:
            with temp_path.open("wb") as handle:
                writer = _HashingWriter(handle)
                write(writer)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            temp_path.unlink(missing_ok=True)
            raise
        return StagedFile(temp_path, writer.hexdigest(), suffix, writer.size_bytes)

    def discard(self, staged: StagedFile) -> None:
        staged.temp_path.unlink(missing_ok=True)

    # -- publishing (call with the index write lock held) ---------------------------------

    @contextlib.contextmanager
    def publishing(self) -> Iterator[None]:
        """Mark a publish in progress, so a crash before the index commit is noticed."""
        marker = self.tmp_dir / f"{os.getpid()}-{secrets.token_hex(8)}{PUBLISH_SUFFIX}"
        marker.touch()
        try:
            yield
        finally:
            marker.unlink(missing_ok=True)

    def publish(self, staged: StagedFile) -> Path:
        """Rename a staged file to its content name (replacing a damaged copy, if any)."""
        target = self.path_for(staged.digest, staged.suffix)
        target.parent.mkdir(exist_ok=True)
        os.replace(staged.temp_path, target)
        return target

    def sync_dirs(self, paths: list[Path]) -> None:
        for directory in {path.parent for path in paths}:
            fsync_dir(directory)

    def remove(self, digest: str, suffix: str) -> bool:
        try:
            self.path_for(digest, suffix).unlink()
        except FileNotFoundError:
            return False
        return True

    # -- scanning ---------------------------------------------------------------------------

    def iter_objects(self) -> Iterator[tuple[str, str, Path]]:
        """Every published file as (digest, suffix, path)."""
        for shard in sorted(self.objects_dir.iterdir()):
            if not shard.is_dir():
                continue
            for path in sorted(shard.iterdir()):
                digest, dot, ext = path.name.partition(".")
                yield digest, f"{dot}{ext}", path

    def clean_temp(self, *, include_own: bool = False) -> tuple[int, bool]:
        """Remove temporary files whose writer is gone (dead pid or older than a limit).

        Returns (files removed, whether a dead writer was publishing: orphans may exist).
        """
        removed = 0
        interrupted = False
        now = time.time()
        own_pid = os.getpid()
        for path in self.tmp_dir.iterdir():
            pid_text = path.name.split("-", 1)[0]
            pid = int(pid_text) if pid_text.isdigit() else -1
            try:
                age_s = now - path.stat().st_mtime
            except FileNotFoundError:
                continue
            dead = pid <= 0 or not pid_alive(pid) or (include_own and pid == own_pid)
            if dead or age_s > STALE_TEMP_S:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    if path.suffix == PUBLISH_SUFFIX:
                        interrupted = True
                    else:
                        removed += 1
        return removed, interrupted

    def total_file_bytes(self) -> int:
        total = 0
        for _, _, path in self.iter_objects():
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return total
