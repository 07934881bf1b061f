"""What the gallery shows of a cached variant set: waveforms, per-stem notes, audio.

Read from the cached `VariantSet` itself (its mix, stems and MIDI), never regenerated:
a min/max waveform of the mix at a fixed width, each stem's notes from the variant's
Standard MIDI File (one track per stem, named after it), and WAV audio of the mix or of
any chosen stems (solo and mute are the page choosing which stems to hear).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import mido
import numpy as np

from engine_core.variant import Variant, VariantSet
from middleware.studio.errors import UnknownVariantPathError
from middleware.templates.model import TemplatePack

WAVEFORM_COLUMNS = 480


def waveform(mix: np.ndarray, columns: int = WAVEFORM_COLUMNS) -> dict[str, list[float]]:
    """Per-column min and max of the mono mix (rounded: this is a picture)."""
    mono = mix.mean(axis=1) if mix.ndim == 2 else mix
    usable = (len(mono) // columns) * columns
    if usable == 0:
        return {"min": [], "max": []}
    cells = mono[:usable].reshape(columns, -1)
    return {
        "min": np.round(cells.min(axis=1), 4).tolist(),
        "max": np.round(cells.max(axis=1), 4).tolist(),
    }


def stem_notes(midi: bytes, stems: Sequence[str] = ()) -> dict[str, list[list[float]]]:
    """stem name -> [[start_s, duration_s, pitch, velocity], ...] from the variant's MIDI.

    Tracks are named after their stems; an unnamed track with notes takes the next of
    `stems` in order (files written by other tools).
    """
    song = mido.MidiFile(file=io.BytesIO(midi))
    tempo = 500000
    for message in song.tracks[0] if song.tracks else []:
        if message.type == "set_tempo":
            tempo = message.tempo
            break
    notes: dict[str, list[list[float]]] = {}
    spare = [name for name in stems if name not in {t.name for t in song.tracks}]
    for track in song.tracks:
        name = track.name
        tick = 0
        open_notes: dict[tuple[int, int], tuple[int, int]] = {}
        found: list[list[float]] = []
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                open_notes[(message.channel, message.note)] = (tick, message.velocity)
            elif message.type in ("note_off", "note_on"):
                started = open_notes.pop((message.channel, message.note), None)
                if started is not None:
                    start = mido.tick2second(started[0], song.ticks_per_beat, tempo)
                    end = mido.tick2second(tick, song.ticks_per_beat, tempo)
                    found.append([round(start, 4), round(end - start, 4), message.note, started[1]])
        if found:
            name = name or (spare.pop(0) if spare else f"track{len(notes)}")
            notes[name] = found
    return notes


def variant_view(variant: Variant) -> dict[str, Any]:
    meta = variant.meta
    return {
        "index": meta.index,
        "seed": meta.seed,
        "bars": meta.bars,
        "bpm": meta.bpm,
        "key": meta.key,
        "duration_s": meta.loop_end / meta.sample_rate,
        "loudness_lufs": meta.loudness_lufs,
        "stems": list(variant.stems),
        "waveform": waveform(variant.mix[: meta.loop_end]),
        "notes": stem_notes(variant.midi, list(variant.stems)) if variant.midi else {},
    }


def variant_gallery(found: VariantSet, pack: TemplatePack) -> dict[str, Any]:
    return {
        "state": found.state,
        "generation_hash": found.generation_hash,
        "seed": found.seed,
        "variants": [variant_view(variant) for variant in found.variants],
    }


def variant_wav(variant: Variant, stems: Sequence[str] | None = None) -> bytes:
    """The variant's loop as a WAV file: its mix, or the sum of `stems` (solo / mute)."""
    from middleware.service.encoded_files import encode_audio

    meta = variant.meta
    if stems is None:
        audio = variant.mix
    else:
        unknown = [name for name in stems if name not in variant.stems]
        if unknown:
            raise UnknownVariantPathError(
                f"no stem {unknown[0]!r} in this variant",
                {"stem": unknown[0], "stems": list(variant.stems)},
            )
        audio = np.zeros_like(variant.mix)
        for name in stems:
            audio = audio + variant.stems[name]
    return encode_audio(audio[: meta.loop_end], meta.sample_rate, "wav")
