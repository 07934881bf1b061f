"""`fetch`: a variant's loop as an encoded file (WAV, OGG Vorbis, FLAC), served in chunks.

Any set of the pack can be fetched by name: a state, a stinger, a stinger's rendition
(`level_up@battle`) or a bridge (`bridge:explore->battle`); see `middleware.set_names`.

Files are encoded by `middleware.service.encoded_files` (off the event loop, kept in a
small LRU), so fetching every chunk of one file costs one encode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from middleware.protocol.errors import (
    BadFieldError,
    DamagedError,
    NotReadyError,
    UnknownVariantError,
)
from middleware.service.encoded_files import EncodedFile
from middleware.set_names import resolve_set

if TYPE_CHECKING:
    from middleware.service.context import ServiceContext


async def fetch_chunk(
    service: ServiceContext, pack_name: str, body: dict[str, Any]
) -> dict[str, Any]:
    pack = service.packs[pack_name]
    name = body["state"]
    resolve_set(pack, name)  # a state, stinger, `<stinger>@<state>` or `bridge:<a>-><b>`
    variant_set = service.library.variant_set(pack_name, name)
    if variant_set is None and service.library.damaged(pack_name, name):
        raise DamagedError(
            f"the cached audio of {name!r} was damaged; it is being generated again",
            {"name": name},
        )
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
