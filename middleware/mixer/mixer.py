"""Scratch buffers and the few vectorised operations the director mixes blocks with."""

from __future__ import annotations

import numpy as np

#: Block sizes the director renders (frames per block, inclusive).
MIN_BLOCK_FRAMES = 64
MAX_BLOCK_FRAMES = 8192


class BlockMixer:
    """Sums sources into a block with scalar or per-sample gains, without allocating.

    Works on flat interleaved views (`block.reshape(-1)` of a C-contiguous (frames, 2)
    array): elementwise operations on 1-D contiguous arrays are numpy's fastest path, while
    broadcasting a (frames, 1) gain over two channels is slower and allocates a buffer.
    Per-sample gains are therefore interleaved too (each gain twice). One instance per
    session; its buffers hold `max_frames` stereo frames.
    """

    def __init__(self, max_frames: int = MAX_BLOCK_FRAMES) -> None:
        self.max_frames = max_frames
        values = 2 * max_frames
        self._product = np.zeros(values, dtype=np.float32)
        self.voice = np.zeros(values, dtype=np.float32)  # one voice's layers, summed
        self.gain = np.zeros(values, dtype=np.float32)  # per-sample gain scratch
        self.gain_b = np.zeros(values, dtype=np.float32)
        self.gain_c = np.zeros(values, dtype=np.float32)
        self.gain_d = np.zeros(values, dtype=np.float32)
        self.curve32 = np.zeros(max_frames, dtype=np.float32)  # mono curve scratch
        self.index32 = np.arange(max_frames, dtype=np.float32)
        self.duck = np.zeros(values, dtype=np.float32)
        self.ramp64 = np.zeros(values, dtype=np.float64)
        self.ramp32 = np.zeros(values, dtype=np.float32)
        self.index64 = np.repeat(np.arange(max_frames, dtype=np.float64), 2)  # 0 0 1 1 2 2 ...

    def add_scaled(self, out: np.ndarray, source: np.ndarray, gain: float) -> None:
        """out += source * gain (flat arrays of equal length)."""
        if gain == 0.0:
            return
        if gain == 1.0:
            np.add(out, source, out=out)
            return
        product = self._product[: out.shape[0]]
        np.multiply(source, np.float32(gain), out=product)
        np.add(out, product, out=out)

    def add_enveloped(self, out: np.ndarray, source: np.ndarray, gains: np.ndarray) -> None:
        """out += source * gains (flat arrays of equal length; gains interleaved)."""
        product = self._product[: out.shape[0]]
        np.multiply(source, gains, out=product)
        np.add(out, product, out=out)


def to_int16(block: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """Convert float32 (frames, 2) in [-1, 1] to int16 into `out`, rounding to nearest."""
    frames = block.shape[0]
    scaled = scratch[:frames]
    np.multiply(block, np.float32(32767.0), out=scaled)
    np.rint(scaled, out=scaled)
    np.clip(scaled, -32768.0, 32767.0, out=scaled)
    np.copyto(out[:frames], scaled, casting="unsafe")
    return out[:frames]
