"""Scratch buffers and the few vectorised operations the director mixes blocks with."""

from __future__ import annotations

import numpy as np

#: Block sizes the director renders (frames per block, inclusive).
MIN_BLOCK_FRAMES = 64
MAX_BLOCK_FRAMES = 8192


class BlockMixer:
    """Sums sources into a block with scalar or per-sample gains, without allocating.

    One instance per session; its buffers hold `max_frames` stereo frames, so any segment
    of a block up to that size is mixed with views of preallocated memory.
    """

    def __init__(self, max_frames: int = MAX_BLOCK_FRAMES) -> None:
        self.max_frames = max_frames
        self._product = np.zeros((max_frames, 2), dtype=np.float32)
        self.voice = np.zeros((max_frames, 2), dtype=np.float32)  # one voice's sum
        self.gain = np.zeros(max_frames, dtype=np.float32)  # per-sample gain scratch
        self.gain_b = np.zeros(max_frames, dtype=np.float32)
        self.ramp64 = np.zeros(max_frames, dtype=np.float64)
        self.index64 = np.arange(max_frames, dtype=np.float64)

    def add_scaled(self, out: np.ndarray, source: np.ndarray, gain: float) -> None:
        """out += source * gain (both (frames, 2))."""
        if gain == 0.0:
            return
        if gain == 1.0:
            np.add(out, source, out=out)
            return
        product = self._product[: out.shape[0]]
        np.multiply(source, np.float32(gain), out=product)
        np.add(out, product, out=out)

    def add_enveloped(self, out: np.ndarray, source: np.ndarray, gains: np.ndarray) -> None:
        """out += source * gains[:, None] (a per-sample gain for both channels)."""
        product = self._product[: out.shape[0]]
        np.multiply(source, gains[:, None], out=product)
        np.add(out, product, out=out)

    @staticmethod
    def scale(block: np.ndarray, gains: np.ndarray | float) -> None:
        """block *= gains in place (a scalar or a per-sample vector)."""
        if isinstance(gains, np.ndarray):
            np.multiply(block, gains[:, None], out=block)
        elif gains != 1.0:
            np.multiply(block, np.float32(gains), out=block)


def to_int16(block: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """Convert float32 (frames, 2) in [-1, 1] to int16 into `out`, rounding to nearest."""
    frames = block.shape[0]
    scaled = scratch[:frames]
    np.multiply(block, np.float32(32767.0), out=scaled)
    np.rint(scaled, out=scaled)
    np.clip(scaled, -32768.0, 32767.0, out=scaled)
    np.copyto(out[:frames], scaled, casting="unsafe")
    return out[:frames]
