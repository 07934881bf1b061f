"""The synthesiser's chorus, applied to a whole stem with vectorised numpy.

RustySynth (inside `midirenderer`) mixes every voice dry, into a stereo chorus bus (voice
gain x chorus send) and into a mono reverb bus, and adds each processed bus at the master
volume (0.5). `chorus(bus)` is its chorus exactly: a delay line read at
48000 x (2 ms + 1.9 ms x sin(2 pi t / 120000)) samples, linearly interpolated, the right
channel a quarter period ahead. It follows absolute time (t = 0 at the stem's start),
which is why it is applied to the stem, not to cached notes.

The reverb is not modelled here: a voice only feeds the reverb bus while
0.015 x send x its gain is at least 1e-3 (the synthesiser skips quieter contributions),
so the bus is a gated, per-voice signal that cannot be rebuilt from the dry output. The
note renderer takes each note's reverb from the synthesiser itself instead (`note_renderer`).
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 48000
#: Chorus: delay 2 ms, depth 1.9 ms, 0.4 Hz, right channel a quarter period ahead.
CHORUS_DELAY = 0.002
CHORUS_DEPTH = 0.0019
CHORUS_FREQUENCY = 0.4


@functools.cache
def _chorus_table(sample_rate: int) -> np.ndarray:
    length = round(sample_rate / CHORUS_FREQUENCY)
    phase = 2.0 * np.pi * np.arange(length) / length
    return (sample_rate * (CHORUS_DELAY + CHORUS_DEPTH * np.sin(phase))).astype(np.float32)


def chorus(bus: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The chorus output (already at master volume) of a (frames, 2) float32 bus."""
    table = _chorus_table(sample_rate).astype(np.float64)
    frames = bus.shape[0]
    out = np.empty((frames, 2), dtype=np.float32)
    t = np.arange(frames)
    for channel, start in ((0, 0), (1, table.size // 4)):
        delay = table[(t + start) % table.size]
        position = t - delay
        index = np.floor(position).astype(np.int64)
        fraction = position - index
        signal = np.concatenate([np.zeros(1, np.float64), bus[:, channel].astype(np.float64)])
        first = signal[np.clip(index, -1, frames - 1) + 1]
        second = signal[np.clip(index + 1, -1, frames - 1) + 1]
        out[:, channel] = (first + fraction * (second - first)).astype(np.float32)
    return out
