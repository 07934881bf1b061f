"""Bar piano rolls: the fixed-size tensor one bar of a score becomes for the autoencoder.

A bar is a uint8 array of shape ``(TRACKS, CHANNELS, MAX_STEPS, PITCHES)``:

- tracks: melody, harmony, bass (`engine_core.score.TRACKS`);
- channels: 0 = onset (a note starts on this step), 1 = active (the note sounds on this
  step; a note tied over a bar line is active without an onset in the next bar);
- steps: the sixteenth-note grid, padded to 16 (3/4 and 6/8 bars use the first 12);
- pitches: a 36-semitone window per track (`TRACK_LOW`), in the tonic-C frame.

Pure numpy: importing this module never imports torch or music21.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from engine_core.score import TRACKS, Score, ScoreNote
from engine_core.spec import Meter

MAX_STEPS = 16
PITCHES = 36
CHANNELS = 2
ONSET, ACTIVE = 0, 1
#: Lowest MIDI pitch of each track's 36-semitone window (tonic-C frame).
TRACK_LOW: tuple[int, ...] = (53, 43, 28)
BAR_SHAPE: tuple[int, int, int, int] = (len(TRACKS), CHANNELS, MAX_STEPS, PITCHES)
BAR_CELLS = int(np.prod(BAR_SHAPE))

# Krumhansl-Kessler key profiles (C major / C minor), used to find tonic and mode.
_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class TrackNote:
    """A note on a track, in absolute sixteenth steps from the piece's first bar line."""

    track: int
    pitch: int
    start_step: int
    duration_steps: int


def fit_pitch(pitch: int, track: int) -> int:
    """Move `pitch` by octaves into the track's window."""
    low = TRACK_LOW[track]
    while pitch < low:
        pitch += 12
    while pitch >= low + PITCHES:
        pitch -= 12
    return pitch


def notes_to_bars(notes: Iterable[TrackNote], bars: int, steps_per_bar: int) -> np.ndarray:
    """Rasterise notes into ``(bars, *BAR_SHAPE)`` uint8 rolls; notes past the end are cut."""
    roll = np.zeros((bars, *BAR_SHAPE), dtype=np.uint8)
    total = bars * steps_per_bar
    for note in notes:
        pitch = fit_pitch(note.pitch, note.track) - TRACK_LOW[note.track]
        start = note.start_step
        end = min(start + max(note.duration_steps, 1), total)
        if start < 0 or start >= total:
            continue
        bar, step = divmod(start, steps_per_bar)
        roll[bar, note.track, ONSET, step, pitch] = 1
        for position in range(start, end):
            bar, step = divmod(position, steps_per_bar)
            roll[bar, note.track, ACTIVE, step, pitch] = 1
    return roll


def bars_to_notes(
    rolls: np.ndarray,
    steps_per_bar: int,
    *,
    circular: bool = True,
    velocity: float = 0.8,
) -> list[ScoreNote]:
    """Read notes back from ``(bars, *BAR_SHAPE)`` rolls (booleans or probabilities >= 0.5).

    A note starts at an onset and lasts while the pitch stays active without a new onset.
    With `circular`, a note may run round the loop's end into bar 0 (a loop is a circle).
    """
    on = np.asarray(rolls)[:, :, ONSET, :steps_per_bar] >= 0.5  # (bars, tracks, steps, pitch)
    active = np.asarray(rolls)[:, :, ACTIVE, :steps_per_bar] >= 0.5
    bars = on.shape[0]
    total = bars * steps_per_bar
    # (tracks, total, pitch) in time order
    on_t = on.transpose(1, 0, 2, 3).reshape(len(TRACKS), total, PITCHES)
    active_t = active.transpose(1, 0, 2, 3).reshape(len(TRACKS), total, PITCHES) | on_t
    notes: list[ScoreNote] = []
    for track, pos, pitch in zip(*np.nonzero(on_t), strict=True):
        duration = 1
        while duration < total:
            nxt = pos + duration
            if nxt >= total:
                if not circular:
                    break
                nxt -= total
            if on_t[track, nxt, pitch] or not active_t[track, nxt, pitch]:
                break
            duration += 1
        bar, step = divmod(int(pos), steps_per_bar)
        notes.append(
            ScoreNote(
                bar=bar,
                step=step,
                track=TRACKS[track],
                pitch=int(pitch) + TRACK_LOW[track],
                duration_steps=duration,
                velocity=velocity,
            )
        )
    notes.sort()
    return notes


def track_activity(score: Score, track: str) -> np.ndarray:
    """Boolean ``(bars, steps_per_bar, PITCHES)``: where `track`'s notes sound, on the score's
    own grid (bars of any width: a 12/8 or 5/4 score is wider than the roll's 16 steps);
    the same pitch window as `score_to_bars`, notes past the loop end wrap into bar 0."""
    steps, total = score.steps_per_bar, score.total_steps
    index = TRACKS.index(track)
    roll = np.zeros((score.bars, steps, PITCHES), dtype=bool)
    for note in score.track(track):
        pitch = fit_pitch(note.pitch, index) - TRACK_LOW[index]
        start = score.onset_step(note)
        for position in range(start, start + max(note.duration_steps, 1)):
            bar, step = divmod(position % total, steps)
            roll[bar, step, pitch] = True
    return roll


def score_to_bars(score: Score) -> np.ndarray:
    """A score's bars as rolls; notes that run past the loop end wrap into bar 0."""
    steps = score.steps_per_bar
    total = score.total_steps
    notes = [
        TrackNote(TRACKS.index(n.track), n.pitch, score.onset_step(n), n.duration_steps)
        for n in score.notes
    ]
    rolls = notes_to_bars(notes, score.bars, steps)
    for note in score.notes:
        start = score.onset_step(note)
        overflow = start + note.duration_steps - total
        if overflow > 0:
            track = TRACKS.index(note.track)
            pitch = fit_pitch(note.pitch, track) - TRACK_LOW[track]
            for position in range(min(overflow, total)):
                bar, step = divmod(position, steps)
                rolls[bar, track, ACTIVE, step, pitch] = 1
    return rolls


def find_key(pitch_weights: np.ndarray) -> tuple[int, str, float]:
    """Krumhansl-Schmuckler key finding on a 12-bin pitch-class histogram.

    Returns (tonic pitch class, "major" | "minor", correlation).
    """
    weights = np.asarray(pitch_weights, dtype=float)
    if weights.sum() <= 0:
        return 0, "major", 0.0
    best = (0, "major", -2.0)
    for mode, profile in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)):
        for tonic in range(12):
            corr = float(np.corrcoef(weights, np.roll(profile, tonic))[0, 1])
            if corr > best[2]:
                best = (tonic, mode, corr)
    return best


def pitch_class_histogram(notes: Sequence[ScoreNote] | Sequence[TrackNote]) -> np.ndarray:
    """Duration-weighted pitch-class histogram."""
    hist = np.zeros(12)
    for note in notes:
        hist[note.pitch % 12] += max(note.duration_steps, 1)
    return hist


def score_mode(score: Score) -> str:
    """The mode a listener would hear in a tonic-C score: C major vs C minor profile fit."""
    return histogram_mode(pitch_class_histogram(score.notes))


def histogram_mode(hist: np.ndarray, tonic: int = 0) -> str:
    """Major vs minor profile fit of a pitch-class histogram whose tonic is known."""
    hist = np.roll(np.asarray(hist, dtype=float), -tonic)
    if hist.sum() == 0:
        return "major"
    major = float(np.corrcoef(hist, _MAJOR_PROFILE)[0, 1])
    minor = float(np.corrcoef(hist, _MINOR_PROFILE)[0, 1])
    return "minor" if minor > major else "major"


def valid_step_mask(meter: str) -> np.ndarray:
    """Boolean (MAX_STEPS,) mask of the grid steps a bar of `meter` uses."""
    mask = np.zeros(MAX_STEPS, dtype=bool)
    mask[: Meter.parse(meter).steps_per_bar] = True
    return mask
