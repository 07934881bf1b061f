"""Encoded files for `fetch`: a variant's loop as WAV, OGG Vorbis or FLAC bytes.

Encoding runs in a worker thread, never on the event loop, and the last few encoded files
are kept so that fetching every chunk of one file costs one encode.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

#: soundfile (format, subtype) per wire format
ENCODINGS: dict[str, tuple[str, str]] = {
    "wav": ("WAV", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "flac": ("FLAC", "PCM_16"),
}
ENCODED_FILES_KEPT = 8


@dataclass(frozen=True)
class EncodedFile:
    data: bytes
    sha256: str
    loop_start: int
    loop_end: int
    sample_rate: int


def encode_audio(mix: np.ndarray, sample_rate: int, file_format: str) -> bytes:
    """float32 (frames, 2) -> the bytes of an encoded file."""
    import soundfile

    container, subtype = ENCODINGS[file_format]
    buffer = io.BytesIO()
    safe = np.clip(np.nan_to_num(mix, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    soundfile.write(buffer, safe, sample_rate, format=container, subtype=subtype)
    return buffer.getvalue()


class EncodedFiles:
    """A small LRU of encoded files keyed by (pack, name, variant, format)."""

    def __init__(self, capacity: int = ENCODED_FILES_KEPT) -> None:
        self.capacity = capacity
        self._files: OrderedDict[tuple[str, str, int, str], asyncio.Future] = OrderedDict()

    def get_or_encode(self, key: tuple[str, str, int, str], variant: Any) -> asyncio.Future:
        found = self._files.get(key)
        if found is not None and not (found.done() and found.exception() is not None):
            self._files.move_to_end(key)
            return found
        loop = asyncio.get_running_loop()
        meta = variant.meta

        def encode() -> EncodedFile:
            data = encode_audio(variant.mix, meta.sample_rate, key[3])
            return EncodedFile(
                data,
                hashlib.sha256(data).hexdigest(),
                meta.loop_start,
                meta.loop_end,
                meta.sample_rate,
            )

        future = loop.run_in_executor(None, encode)
        self._files[key] = future
        while len(self._files) > self.capacity:
            self._files.popitem(last=False)
        return future
