"""A variant set on disk: audio per variant (mix and stems), MIDI, and `variants.json`.

Layout under the output directory::

    variants.json                  manifest: state, hash, seed, format, per-variant metadata,
                                   file names and the seam report
    variant_0/mix.<ext>            the normalised mix (WAV: loop points in a smpl chunk)
    variant_0/stems/<stem>.<ext>   each stem, same gain as the mix
    variant_0/loop.mid             the arranged loop, one track per stem

OGG and FLAC have no standard loop chunk; their loop points are in the manifest
(`loop_start`, `loop_end`, in samples).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine_core.errors import InvalidSpecError
from engine_core.export.wav import FORMATS, write_audio
from engine_core.render.seam import seam_report
from engine_core.variant import Variant, VariantSet

MANIFEST_NAME = "variants.json"
MANIFEST_VERSION = 1


def _variant_files(variant: Variant, root: Path, audio_format: str) -> dict[str, Any]:
    meta = variant.meta
    folder = root / f"variant_{meta.index}"
    loop = (meta.loop_start, meta.loop_end) if meta.is_loop else None
    mix = write_audio(
        folder / f"mix.{audio_format}",
        variant.mix,
        meta.sample_rate,
        audio_format=audio_format,
        loop=loop,
    )
    stems = {
        name: write_audio(
            folder / "stems" / f"{name}.{audio_format}",
            audio,
            meta.sample_rate,
            audio_format=audio_format,
            loop=loop,
        )
        for name, audio in variant.stems.items()
    }
    midi = folder / "loop.mid"
    midi.write_bytes(variant.midi)
    entry: dict[str, Any] = {
        "index": meta.index,
        "mix": mix.relative_to(root).as_posix(),
        "stems": {name: p.relative_to(root).as_posix() for name, p in stems.items()},
        "midi": midi.relative_to(root).as_posix(),
        "meta": meta.to_json(),
    }
    if meta.is_loop:
        entry["seam"] = seam_report(
            variant.mix, meta.bar_samples, meta.sample_rate, beat_samples=meta.beat_samples
        ).to_json()
    return entry


def write_variant_set(
    variant_set: VariantSet,
    out_dir: str | Path,
    *,
    audio_format: str = "wav",
    progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """Write every variant and the manifest; returns the manifest's path."""
    if audio_format not in FORMATS:
        raise InvalidSpecError(
            f"unknown audio format {audio_format!r}", {"allowed": sorted(FORMATS)}
        )
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    entries = []
    total = len(variant_set.variants)
    for done, variant in enumerate(variant_set.variants, start=1):
        entries.append(_variant_files(variant, root, audio_format))
        if progress is not None:
            progress("write", done, total)
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "state": variant_set.state,
        "generation_hash": variant_set.generation_hash,
        "seed": variant_set.seed,
        "format": audio_format,
        "variants": entries,
    }
    path = root / MANIFEST_NAME
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path
