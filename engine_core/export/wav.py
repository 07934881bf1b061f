"""Audio files: WAV with a `smpl` loop chunk, FLAC and OGG Vorbis, through soundfile.

soundfile bundles libsndfile (with FLAC, Vorbis and Opus) in its wheel, so files are
written in-process, with no ffmpeg subprocess and no codec missing at run time. libsndfile
cannot write a `smpl` chunk from Python, so `wav_bytes` appends it by hand: the layout is
the RIFF sampler chunk (Microsoft/IBM multimedia spec) that Godot, Unity, FMOD, Wwise and
most samplers read: one forward loop, `dwStart` = first sample of the loop, `dwEnd` = its
last sample (inclusive), play count 0 = forever.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np

from engine_core.errors import InvalidSpecError

FORMATS: dict[str, tuple[str, str]] = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
}
MIDI_UNITY_NOTE = 60


def smpl_chunk(sample_rate: int, loop_start: int, loop_end: int) -> bytes:
    """A RIFF `smpl` chunk (header + data) with one forward loop [loop_start, loop_end)."""
    if not 0 <= loop_start < loop_end:
        raise InvalidSpecError(f"loop [{loop_start}, {loop_end}) is empty or negative")
    sample_period_ns = round(1_000_000_000 / sample_rate)
    header = struct.pack(
        "<9I", 0, 0, sample_period_ns, MIDI_UNITY_NOTE, 0, 0, 0, 1, 0
    )  # manufacturer, product, period, unity note, pitch fraction, SMPTE x2, loops, extra
    loop = struct.pack("<6I", 0, 0, loop_start, loop_end - 1, 0, 0)
    body = header + loop
    return b"smpl" + struct.pack("<I", len(body)) + body


def wav_bytes(
    audio: np.ndarray,
    sample_rate: int,
    *,
    loop: tuple[int, int] | None = None,
    subtype: str = "PCM_16",
) -> bytes:
    """A WAV file of `audio` (frames, channels); with `loop`, a `smpl` chunk is appended."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, _clip(audio), sample_rate, format="WAV", subtype=subtype)
    data = bytearray(buffer.getvalue())
    if loop is not None:
        data += smpl_chunk(sample_rate, *loop)
        data[4:8] = struct.pack("<I", len(data) - 8)
    return bytes(data)


def _clip(audio: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)


def write_audio(
    path: Path,
    audio: np.ndarray,
    sample_rate: int,
    *,
    audio_format: str = "wav",
    loop: tuple[int, int] | None = None,
) -> Path:
    """Write `audio` as `audio_format` (wav, flac, ogg); loop points go into WAV only."""
    import soundfile

    if audio_format not in FORMATS:
        raise InvalidSpecError(
            f"unknown audio format {audio_format!r}", {"allowed": sorted(FORMATS)}
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if audio_format == "wav":
        path.write_bytes(wav_bytes(audio, sample_rate, loop=loop))
        return path
    container, subtype = FORMATS[audio_format]
    soundfile.write(path, _clip(audio), sample_rate, format=container, subtype=subtype)
    return path
