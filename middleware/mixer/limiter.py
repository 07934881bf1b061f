"""A stateless soft clipper: transparent below a threshold, a tanh knee up to a ceiling.

Stateless on purpose: each output sample depends only on the input sample, so the result
does not depend on block boundaries and two renders of one event log match bit for bit.
The ceiling sits 1 dB below -1 dBFS so that the *true* (inter-sample) peak stays at or
below -1 dBFS too for material up to +3 dB over full scale (an equal-power crossfade of two
correlated full-scale loops peaks at +3 dB); `tests/test_mixer.py` checks it with 4x
oversampling. A clipper cannot bound the true peak of heavily overdriven input (the clipped
waveform has inter-sample overs); the engine normalises every variant to -1 dBTP, so the
director's sums stay within that range.
"""

from __future__ import annotations

import numpy as np

#: Highest sample value the clipper lets through, in dBFS.
CEILING_DB = -2.0
#: Where the knee starts, in dBFS: quieter samples pass unchanged.
THRESHOLD_DB = -6.0


def db_to_gain(gain_db: float) -> float:
    return float(10.0 ** (gain_db / 20.0))


class SoftClipper:
    """Applies the knee in place to blocks of up to `max_frames` stereo frames."""

    def __init__(
        self, max_frames: int, *, threshold_db: float = THRESHOLD_DB, ceiling_db: float = CEILING_DB
    ) -> None:
        if not threshold_db < ceiling_db <= 0.0:
            raise ValueError("need threshold_db < ceiling_db <= 0")
        self.threshold = np.float32(db_to_gain(threshold_db))
        self.ceiling = np.float32(db_to_gain(ceiling_db))
        self._span = np.float32(self.ceiling - self.threshold)
        self._inv_span = np.float32(1.0 / float(self._span))
        self._magnitude = np.zeros((max_frames, 2), dtype=np.float32)
        self._over = np.zeros((max_frames, 2), dtype=bool)

    def process(self, block: np.ndarray) -> bool:
        """Soft-clip `block` (frames, 2) in place; returns whether any sample was touched."""
        frames = block.shape[0]
        magnitude = self._magnitude[:frames]
        np.abs(block, out=magnitude)
        if magnitude.max() <= self.threshold:
            return False
        over = self._over[:frames]
        np.greater(magnitude, self.threshold, out=over)
        np.subtract(magnitude, self.threshold, out=magnitude)
        np.multiply(magnitude, self._inv_span, out=magnitude)
        np.tanh(magnitude, out=magnitude)
        np.multiply(magnitude, self._span, out=magnitude)
        np.add(magnitude, self.threshold, out=magnitude)
        np.copysign(magnitude, block, out=magnitude)
        np.copyto(block, magnitude, where=over)
        return True
