"""The inpainting frame of a bridge: the source's last bars, blank bars, the target's first bars.

Everything is moved into the *target's* frame before the composer sees it: the target's
meter (a source bar in another meter is read on the target's grid, each onset kept at the
same fraction of its bar), the target's tonic-C frame and score mode (a source pitch is
first placed in the source's key, as the arranger would, then read as a degree of the
target's key). So the composer hears where the music comes from and where it goes, in the
language of the music it goes to; the blank bars between are what it writes.

Also here: scores moved to sounding pitches (`sounding`), the form the join measure reads
when two keys meet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from engine_core.arrange.arranger import map_pitch
from engine_core.arrange.harmony import MODE_INTERVALS
from engine_core.score import Score, ScoreNote
from engine_core.spec import Key, Meter


def frame_layout(bridge_bars: int) -> tuple[int, int]:
    """(source context bars, target context bars): the frame is 4 bars long for bridges of
    1-2 bars and 8 for 4 (lengths the model was trained on)."""
    length = 4 if bridge_bars <= 2 else 8
    before = (length - bridge_bars) // 2
    return before, length - bridge_bars - before


def unmap_pitch(pitch: int, score_mode: str, key: Key) -> int:
    """The inverse of `map_pitch`: a sounding pitch in `key` read into the tonic-C frame of
    a score in `score_mode` (degrees keep their function, accidentals ride)."""
    shift = key.tonic if key.tonic <= 6 else key.tonic - 12
    relative = pitch - shift
    source = MODE_INTERVALS[key.mode]
    target = MODE_INTERVALS.get(score_mode, MODE_INTERVALS["major"])
    pitch_class = relative % 12
    degree = max(i for i, interval in enumerate(source) if interval <= pitch_class)
    return relative - pitch_class + target[degree] + (pitch_class - source[degree])


def step_degrees(pitch: int, steps: int, mode: str) -> int:
    """`pitch` (tonic-C frame, `mode`) moved `steps` degrees along the mode's scale."""
    scale = MODE_INTERVALS.get(mode, MODE_INTERVALS["major"])
    pitch_class = pitch % 12
    degree = max(i for i, interval in enumerate(scale) if interval <= pitch_class)
    moved = degree + steps
    octave, index = divmod(moved, len(scale))
    return pitch - pitch_class + 12 * octave + scale[index] + (pitch_class - scale[degree])


def regrid(step: int, from_steps: int, to_steps: int) -> int:
    """A grid step at the same fraction of the bar on another meter's grid."""
    return min(to_steps - 1, round(step * to_steps / from_steps))


def carry_bars(
    score: Score,
    bars: Sequence[int],
    *,
    key: Key,
    into_meter: str,
    into_mode: str,
    into_key: Key,
    first_bar: int,
) -> list[ScoreNote]:
    """Notes of `bars` of `score` (in `key`) placed at `first_bar`.. of a frame in another
    meter, key and score mode."""
    from_steps = score.steps_per_bar
    to_steps = Meter.parse(into_meter).steps_per_bar
    placed: list[ScoreNote] = []
    for offset, bar in enumerate(bars):
        for note in score.notes:
            if note.bar != bar:
                continue
            sounding_pitch = map_pitch(note.pitch, score.mode, key)
            pitch = unmap_pitch(sounding_pitch, into_mode, into_key)
            step = regrid(note.step, from_steps, to_steps)
            length = min(note.duration_steps, from_steps - note.step)
            duration = max(1, round(length * to_steps / from_steps))
            placed.append(
                ScoreNote(first_bar + offset, step, note.track, pitch, duration, note.velocity)
            )
    return placed


@dataclass(frozen=True)
class BridgeFrame:
    """The score the composer inpaints and which of its bars are kept."""

    score: Score
    keep_bars: tuple[int, ...]
    bridge_first_bar: int
    bridge_bars: int

    def with_sequence(self, step: int) -> BridgeFrame:
        """The frame with the bridge's first bar written as a *sequence*: the bar before it
        (the source's last) again, every note `step` scale degrees up or down, kept.

        The oldest modulating device: the source's figure restated on another degree,
        after which the composer writes the remaining bars into the target."""
        before = self.bridge_first_bar - 1
        moved = tuple(
            dataclasses.replace(
                n, bar=self.bridge_first_bar, pitch=step_degrees(n.pitch, step, self.score.mode)
            )
            for n in self.score.notes
            if n.bar == before
        )
        score = dataclasses.replace(self.score, notes=tuple(sorted(self.score.notes + moved)))
        keep = tuple(sorted({*self.keep_bars, self.bridge_first_bar}))
        return dataclasses.replace(self, score=score, keep_bars=keep)

    def bridge(self, written: Score) -> Score:
        """The bridge's own bars cut out of an inpainted frame (notes end at its end)."""
        first, count = self.bridge_first_bar, self.bridge_bars
        steps = written.steps_per_bar
        notes = []
        for note in written.notes:
            if first <= note.bar < first + count:
                room = (first + count - note.bar) * steps - note.step
                notes.append(
                    ScoreNote(
                        note.bar - first, note.step, note.track, note.pitch,
                        max(1, min(note.duration_steps, room)), note.velocity,
                    )
                )  # fmt: skip
        return Score(written.meter, count, written.mode, tuple(sorted(notes)))


def build_frame(
    source: Score, source_key: Key, target: Score, target_key: Key, bridge_bars: int
) -> BridgeFrame:
    """The frame for a bridge from `source`'s last bars to `target`'s first bars."""
    before, after = frame_layout(bridge_bars)
    notes = carry_bars(
        source,
        range(source.bars - before, source.bars),
        key=source_key,
        into_meter=target.meter,
        into_mode=target.mode,
        into_key=target_key,
        first_bar=0,
    )
    first_target = before + bridge_bars
    for note in target.notes:
        if note.bar < after:
            room = (after - note.bar) * target.steps_per_bar - note.step
            notes.append(
                ScoreNote(
                    note.bar + first_target, note.step, note.track, note.pitch,
                    max(1, min(note.duration_steps, room)), note.velocity,
                )
            )  # fmt: skip
    length = before + bridge_bars + after
    keep = tuple(range(before)) + tuple(range(first_target, length))
    frame = Score(target.meter, length, target.mode, tuple(sorted(notes)))
    return BridgeFrame(frame, keep, before, bridge_bars)


def sounding(score: Score, key: Key) -> Score:
    """`score` at sounding pitch in `key` (the arranger's key mapping), mode kept."""
    notes = tuple(
        ScoreNote(n.bar, n.step, n.track, map_pitch(n.pitch, score.mode, key), n.duration_steps,
                  n.velocity)
        for n in score.notes
    )  # fmt: skip
    return Score(score.meter, score.bars, score.mode, notes)
