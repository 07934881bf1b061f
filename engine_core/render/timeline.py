"""Where the synthesiser's sequencer starts and stops each note, to the sample.

RustySynth renders in blocks of 64 samples and applies MIDI events only between blocks:
an event at time `t` (seconds, accumulated from tick deltas in float64 exactly as its MIDI
reader does) is applied before the first block whose start time (also accumulated, in
steps of 64 / 48000 s) is at or after `t`. A note therefore starts at a block boundary,
and its length is a whole number of blocks. `event_blocks` reproduces both
accumulations, so the note renderer places each cached note where the full synthesis
would have started it.
"""

from __future__ import annotations

import functools

import numpy as np

BLOCK = 64
RESOLUTION = 960


@functools.lru_cache(maxsize=4)
def _block_starts(count: int, sample_rate: int) -> np.ndarray:
    step = 1.0 * BLOCK / sample_rate
    starts = np.empty(count)
    starts[0] = 0.0
    starts[1:] = step
    return np.add.accumulate(starts)  # sequential, as the sequencer adds them


def event_blocks(ticks: np.ndarray, tempo_us: int, sample_rate: int) -> np.ndarray:
    """The block index at which each event (sorted ticks, one tempo from tick 0) applies."""
    ticks = np.asarray(ticks, dtype=np.int64)
    if ticks.size == 0:
        return np.zeros(0, dtype=np.int64)
    tempo = 60000000.0 / tempo_us
    per_tick = 60.0 / (RESOLUTION * tempo)
    distinct, inverse = np.unique(ticks, return_inverse=True)
    deltas = np.diff(distinct, prepend=0).astype(np.float64) * per_tick
    times = np.add.accumulate(deltas)  # current_time += delta, event by event
    count = int(times[-1] * sample_rate / BLOCK) + 4
    starts = _block_starts(max(count, 16), sample_rate)
    return np.searchsorted(starts, times, side="left")[inverse]
