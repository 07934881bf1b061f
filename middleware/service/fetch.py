"""`fetch`: a variant's loop as an encoded file (WAV, OGG Vorbis, FLAC), served in chunks.

Encoding runs in a worker thread, never on the event loop, and the last few encoded files
are kept so that fetching every chunk of one file costs one encode.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from middleware.errors import UnknownStateError
from middleware.protocol.errors import BadFieldError, NotReadyError, UnknownVariantError

if TYPE_CHECKING:
    from middleware.service.server import Service

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
    soundfile.write(buffer, np.clip(mix, -1.0, 1.0), sample_rate, format=container, subtype=subtype)
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


async def fetch_chunk(service: Service, pack_name: str, body: dict[str, Any]) -> dict[str, Any]:
    pack = service.packs[pack_name]
    name = body["state"]
    if name not in pack.states and name not in pack.stingers:
        raise UnknownStateError(
            f"no state or stinger {name!r} in pack {pack_name!r}",
            {"state": name, "states": sorted([*pack.states, *pack.stingers])},
        )
    variant_set = service.library.variant_set(pack_name, name)
    if variant_set is None:
        raise NotReadyError(f"{name!r} is not generated yet", {"name": name})
    index = body["variant"]
    if index >= len(variant_set.variants):
        raise UnknownVariantError(
            f"{name!r} has {len(variant_set.variants)} variants, no variant {index}",
            {"variant": index, "variants": len(variant_set.variants)},
        )
    encoded: EncodedFile = await service.encoded_files.get_or_encode(
        (pack_name, name, index, body["format"]), variant_set.variants[index]
    )
    chunk_bytes = service.config.fetch_chunk_bytes
    chunks = max(1, -(-len(encoded.data) // chunk_bytes))
    chunk = body["chunk"]
    if chunk >= chunks:
        raise BadFieldError(
            f"chunk {chunk} out of range: the file has {chunks} chunks",
            {"field": "chunk", "expected": f"int in [0, {chunks - 1}]"},
        )
    return {
        "state": name,
        "variant": index,
        "format": body["format"],
        "chunk": chunk,
        "chunks": chunks,
        "total_bytes": len(encoded.data),
        "sha256": encoded.sha256,
        "loop_start": encoded.loop_start,
        "loop_end": encoded.loop_end,
        "sample_rate": encoded.sample_rate,
        "data": encoded.data[chunk * chunk_bytes : (chunk + 1) * chunk_bytes],
    }
