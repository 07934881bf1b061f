"""Encode baked audio to bytes, deterministically: OGG Vorbis (default), WAV or FLAC.

Ogg streams carry a random serial number, so two encodes of the same samples differ by a
few bytes. `normalize_ogg` rewrites every page with one fixed serial (and its checksum),
which makes baked OGG files byte-identical across runs, machines and worker processes.
WAV files carry the loop in a `smpl` chunk (`engine_core.export.wav`).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from middleware.bake.errors import BakeError

AUDIO_FORMATS: tuple[str, ...] = ("ogg", "wav", "flac")
#: The serial number every baked Ogg stream gets ("OSTN").
OGG_SERIAL = 0x4E54534F
_OGG_QUALITY = 0.6  # libvorbis VBR quality 0-1 (about 160 kbit/s stereo at 48 kHz)
_OGG_BLOCK_FRAMES = 16384


@lru_cache(maxsize=1)
def _ogg_crc_table() -> tuple[int, ...]:
    table = []
    for index in range(256):
        register = index << 24
        for _ in range(8):
            register = (register << 1) ^ 0x04C11DB7 if register & 0x80000000 else register << 1
        table.append(register & 0xFFFFFFFF)
    return tuple(table)


def _ogg_crc(page: bytes) -> int:
    table = _ogg_crc_table()
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[((crc >> 24) & 0xFF) ^ byte]
    return crc


def normalize_ogg(data: bytes, serial: int = OGG_SERIAL) -> bytes:
    """Give every page of a single-stream Ogg file the same serial and recompute checksums."""
    out = bytearray(data)
    position = 0
    while position < len(out):
        if out[position : position + 4] != b"OggS":
            raise BakeError("encoder produced a malformed Ogg stream", {"offset": position})
        segments = out[position + 26]
        body = sum(out[position + 27 : position + 27 + segments])
        size = 27 + segments + body
        out[position + 14 : position + 18] = struct.pack("<I", serial)
        out[position + 22 : position + 26] = b"\0\0\0\0"
        crc = _ogg_crc(bytes(out[position : position + size]))
        out[position + 22 : position + 26] = struct.pack("<I", crc)
        position += size
    return bytes(out)


def encode_audio(
    samples: np.ndarray,
    sample_rate: int,
    audio_format: str,
    *,
    loop_points: Sequence[int] | None = None,
) -> bytes:
    """Encode float32 (frames, channels) samples; `loop_points` = (start, end) for loops."""
    if audio_format not in AUDIO_FORMATS:
        raise BakeError(
            f"unknown audio format {audio_format!r}",
            {"value": audio_format, "allowed": list(AUDIO_FORMATS)},
        )
    import soundfile

    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    buffer = io.BytesIO()
    if audio_format == "ogg":
        # libsndfile's Vorbis encoder crashes on long single writes: feed it in blocks
        with soundfile.SoundFile(
            buffer,
            "w",
            samplerate=sample_rate,
            channels=clipped.shape[1],
            format="OGG",
            subtype="VORBIS",
            compression_level=1.0 - _OGG_QUALITY,
        ) as ogg:
            for start in range(0, clipped.shape[0], _OGG_BLOCK_FRAMES):
                ogg.write(clipped[start : start + _OGG_BLOCK_FRAMES])
        return normalize_ogg(buffer.getvalue())
    if audio_format == "flac":
        soundfile.write(buffer, clipped, sample_rate, format="FLAC", subtype="PCM_24")
        return buffer.getvalue()
    from engine_core.export.wav import wav_bytes

    loop = (int(loop_points[0]), int(loop_points[1])) if loop_points is not None else None
    return wav_bytes(clipped, sample_rate, loop=loop)


def decode_audio(data: bytes) -> tuple[np.ndarray, int]:
    """Decode baked bytes to float32 (frames, channels) and the sample rate."""
    import soundfile

    samples, sample_rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return samples, int(sample_rate)
