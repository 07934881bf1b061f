"""Training-time augmentation of bar rolls: octave transposition within each track's range.

The data is moved to a common tonic (C) when it is parsed, so transposing by a few
semitones would change the key the mode label describes. Octave shifts keep tonic and
mode: each track of each bar moves up or down an octave when none of its notes would
leave the track's 36-semitone window, so the autoencoder sees every line in every
register it can sound in.
"""

from __future__ import annotations

import numpy as np

from engine_core.data.pianoroll import BAR_SHAPE, PITCHES

OCTAVE = 12
TRACK_COUNT = BAR_SHAPE[0]


def octave_augment(
    bars: np.ndarray, rng: np.random.Generator, *, probability: float = 0.5
) -> np.ndarray:
    """A copy of `bars` (batch, *BAR_SHAPE) with tracks moved by an octave where they fit.

    Each (bar, track) is shifted with `probability`, up or down with equal odds; a shift
    that would push a note out of the window is not applied.
    """
    out = bars.copy()
    batch = len(bars)
    for track in range(TRACK_COUNT):
        roll = out[:, track]  # (batch, channels, steps, pitches)
        draw = rng.random(batch)
        up = draw < probability / 2
        down = (draw >= probability / 2) & (draw < probability)
        fits_up = ~roll[..., PITCHES - OCTAVE :].reshape(batch, -1).any(axis=1)
        fits_down = ~roll[..., :OCTAVE].reshape(batch, -1).any(axis=1)
        move_up = up & fits_up
        move_down = down & fits_down
        if move_up.any():
            out[move_up, track] = np.roll(roll[move_up], OCTAVE, axis=-1)
        if move_down.any():
            out[move_down, track] = np.roll(roll[move_down], -OCTAVE, axis=-1)
    return out
