"""SoundFont synthesis: Standard MIDI File bytes in, float32 stereo frames out.

The synthesiser is RustySynth (a Rust port of FluidSynth) inside the `midirenderer`
wheel. It always renders at `RENDER_SAMPLE_RATE` (48 kHz); other rates are made by
`engine_core.render.resample`.
The default bank is FluidR3_GM when installed, else TimGM6mb from the `pretty_midi` wheel
(see `engine_core.render.bank`); a template or the engine may name any other `.sf2` file.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine_core.errors import SoundFontError
from engine_core.render.bank import default_bank_path, resolve_bank_path

RENDER_SAMPLE_RATE = 48000
#: int16 PCM -> float in [-1, 1): exact in float32.
PCM_SCALE = np.float32(1.0 / 32768.0)


def default_soundfont_path() -> Path:
    """The default General MIDI bank: FluidR3_GM when installed, else TimGM6mb."""
    return default_bank_path()


@dataclass(frozen=True, eq=False)
class SoundFont:
    """The bytes of one `.sf2` bank, checked to be a RIFF `sfbk` file.

    Compared and hashed by identity: the renderers' per-bank caches take it as a key, and
    comparing two loads of the same bank by value would compare their bytes (141 MB for
    FluidR3_GM) on every lookup."""

    path: Path
    data: bytes

    @classmethod
    def load(cls, path: str | Path | None = None) -> SoundFont:
        """Read and check a SoundFont; `None` means the default General MIDI bank.

        Raises `SoundFontError` (with the path in its detail) when the file is missing,
        unreadable or not a SoundFont 2 bank.
        """
        resolved = resolve_bank_path(path)
        detail = {"path": str(resolved)}
        try:
            data = resolved.read_bytes()
        except FileNotFoundError:
            raise SoundFontError(f"SoundFont not found: {resolved}", detail) from None
        except OSError as error:
            raise SoundFontError(f"cannot read SoundFont {resolved}: {error}", detail) from None
        if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"sfbk":
            raise SoundFontError(
                f"not a SoundFont 2 bank (no RIFF 'sfbk' header): {resolved}", detail
            )
        return cls(resolved, data)

    @functools.cached_property
    def layout(self):  # -> BankLayout
        """The bank's preset, instrument and sample tables, parsed once per object (the
        sample data stays in `data`, not copied)."""
        from engine_core.render.sf2 import BankLayout

        return BankLayout.parse(self.data, str(self.path))

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 (hex, 12 chars) of the bank: identifies it in engine versions."""
        return hashlib.sha256(self.data).hexdigest()[:12]

    def render(self, midi: bytes) -> np.ndarray:
        """Synthesise a Standard MIDI File: float32 (frames, 2) at `RENDER_SAMPLE_RATE`.

        The synthesiser stops at the file's last event, so callers that want release and
        reverb tails put an event (e.g. a controller) where the audio should end.
        """
        return self.render_pcm(midi).astype(np.float32) * PCM_SCALE

    def render_pcm(self, midi: bytes) -> np.ndarray:
        """The synthesiser's own output: int16 (frames, 2) at `RENDER_SAMPLE_RATE`.

        `render_pcm(midi) * PCM_SCALE` in float32 is `render(midi)`, exactly.
        """
        import midirenderer

        try:
            wave_bytes = midirenderer.render_wave_from(self.data, midi)
        except RuntimeError as error:
            raise SoundFontError(
                f"SoundFont {self.path} failed to render: {error}", {"path": str(self.path)}
            ) from None
        return _pcm_frames(wave_bytes, self.path)


def _pcm_frames(wave_bytes: bytes, path: Path) -> np.ndarray:
    """The int16 (frames, 2) samples of the synthesiser's WAV file: a read-only view of
    its bytes (the `wave` module would copy them, tens of MB per call)."""
    detail = {"path": str(path)}
    fmt: tuple[int, int, int] | None = None
    offset = 12
    while offset + 8 <= len(wave_bytes):
        chunk, size = struct.unpack_from("<4sI", wave_bytes, offset)
        body = offset + 8
        if chunk == b"fmt " and size >= 16:
            _, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", wave_bytes, body)
            fmt = (rate, channels, bits // 8)
        elif chunk == b"data":
            if fmt != (RENDER_SAMPLE_RATE, 2, 2):
                rate, channels, width = fmt or (0, 0, 0)
                raise SoundFontError(
                    f"synthesiser returned {channels} channel(s) of {8 * width}-bit audio at "
                    f"{rate} Hz, expected 16-bit stereo at {RENDER_SAMPLE_RATE} Hz",
                    detail,
                )
            frames = min(size, len(wave_bytes) - body) // 4
            return np.frombuffer(wave_bytes, dtype="<i2", count=2 * frames, offset=body).reshape(
                -1, 2
            )
        offset = body + size + (size & 1)
    raise SoundFontError(f"SoundFont {path}: the synthesiser returned no audio", detail)
