"""Output folders checked before any work: a long generation or bake must not end in a
traceback because `--out` names a file or a place this process cannot write."""

from __future__ import annotations

import tempfile
from pathlib import Path

from engine_core.errors import OstinatoError


class OutputPathError(OstinatoError):
    """`--out` is not a folder this process can create and write."""

    code = "bad_output"
    exit_code = 2


def writable_folder(path: Path, what: str = "--out") -> Path:
    """`path` as a folder this process can write (created if missing), else OutputPathError."""
    if path.exists() and not path.is_dir():
        raise OutputPathError(
            f"{what} {path} is a file, not a folder (give a folder to write into)",
            {"path": str(path)},
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".ostinato-write-check-"):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise OutputPathError(
            f"cannot write to {what} {path}: {reason}", {"path": str(path)}
        ) from error
    return path
