"""Pure timing maths of the director: sync points, musical positions, entry offsets.

Everything here works on a *state timeline*: sample 0 is the first sample of the state's
loop 0, and the loop repeats every `loop_samples` samples (all variants of a state share
tempo, meter and length, so rotating variants keeps the timeline). Beat and bar lines come
from `engine_core.spec.beat_to_sample` (or from a variant's metadata, which the engine
computes with the same function), so a sync point found here is the exact sample where the
engine put the beat: no drift, no rounding of our own.

All functions are pure and work on integers only; the property-based tests in
`tests/test_timing.py` check them across 60-180 bpm and 3/4, 4/4 and 6/8.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from fractions import Fraction

from engine_core.spec import Meter, beat_to_sample
from engine_core.variant import VariantMeta
from middleware.director.errors import DirectorError
from middleware.templates.model import LeaveAt, SyncPoint


@dataclass(frozen=True)
class LoopGrid:
    """Beat and bar lines of one loop, in samples from the loop's first sample.

    `beat_samples` and `bar_samples` hold the lines inside `[0, loop_samples)`; both start
    at 0. A one-shot's grid uses its musical length (its last bar line) as `loop_samples`.
    """

    beat_samples: tuple[int, ...]
    bar_samples: tuple[int, ...]
    loop_samples: int
    beats_per_bar: int

    def __post_init__(self) -> None:
        if self.loop_samples <= 0 or not self.beat_samples or not self.bar_samples:
            raise DirectorError(
                "a loop grid needs a positive length and at least one beat and bar",
                {"loop_samples": self.loop_samples},
            )
        if self.beat_samples[0] != 0 or self.bar_samples[0] != 0:
            raise DirectorError("a loop grid's first beat and bar must be at sample 0")

    @property
    def bars(self) -> int:
        return len(self.bar_samples)

    @classmethod
    def from_tempo(cls, bpm: float, meter: str, bars: int, sample_rate: int) -> LoopGrid:
        """The grid the engine writes for a loop of `bars` bars (same rounding, same samples)."""
        beats_per_bar = Meter.parse(meter).beats_per_bar
        beats = bars * beats_per_bar
        beat_samples = tuple(beat_to_sample(b, bpm, sample_rate) for b in range(beats))
        bar_samples = beat_samples[::beats_per_bar]
        loop = beat_to_sample(beats, bpm, sample_rate)
        return cls(beat_samples, bar_samples, loop, beats_per_bar)

    @classmethod
    def from_meta(cls, meta: VariantMeta) -> LoopGrid:
        """The grid of a generated variant, from the beat and bar lines in its metadata."""
        if meta.is_loop:
            length = meta.loop_end - meta.loop_start
        else:
            length = meta.bar_samples[-1] if len(meta.bar_samples) > 1 else meta.loop_end
        beats_per_bar = max(1, meta.beats_per_bar)
        beat_samples = tuple(s - meta.loop_start for s in meta.beat_samples)
        bar_samples = tuple(s - meta.loop_start for s in meta.bar_samples)
        return cls(
            tuple(s for s in beat_samples if 0 <= s < length),
            tuple(s for s in bar_samples if 0 <= s < length),
            length,
            beats_per_bar,
        )


@dataclass(frozen=True)
class MusicalPosition:
    """Where a timeline sample falls: loop number, bar (counted from the timeline start),
    beat inside the bar (0-based), and samples past that beat."""

    loop: int
    bar: int
    beat: int
    offset_samples: int


def _next_line(position: int, lines: tuple[int, ...], period: int, every: int = 1) -> int:
    """First line at or after `position` on a periodic grid, keeping every `every`-th line.

    Lines are numbered globally (loop n's line i is number n * len(lines) + i); only
    numbers divisible by `every` count.
    """
    loop, inside = divmod(position, period)
    number = loop * len(lines) + bisect_left(lines, inside)
    number = -(-number // every) * every
    loop, index = divmod(number, len(lines))
    return loop * period + lines[index]


def next_sync_sample(
    position: int, leave_at: LeaveAt | SyncPoint, grid: LoopGrid, *, phrase_bars: int = 4
) -> int:
    """The first sample at or after `position` where music may leave (or a stinger land).

    `immediate` is `position` itself; `next_beat`/`next_bar` the next beat or bar line;
    `next_phrase` the next bar whose number (from the timeline start) is a multiple of
    `phrase_bars`; `loop_end` the next loop boundary. A position exactly on a line is
    that line: an event on the downbeat leaves on that downbeat.
    """
    mode = str(leave_at)
    if mode == "immediate":
        return position
    if mode == "next_beat":
        return _next_line(position, grid.beat_samples, grid.loop_samples)
    if mode == "next_bar":
        return _next_line(position, grid.bar_samples, grid.loop_samples)
    if mode == "next_phrase":
        if phrase_bars < 1:
            raise DirectorError(f"phrase_bars must be >= 1, not {phrase_bars}")
        return _next_line(position, grid.bar_samples, grid.loop_samples, phrase_bars)
    if mode == "loop_end":
        return _next_line(position, (0,), grid.loop_samples)
    raise DirectorError(f"unknown sync mode {mode!r}", {"value": mode})


def musical_position(position: int, grid: LoopGrid) -> MusicalPosition:
    """Loop, bar, beat-in-bar and offset of a timeline sample (position >= 0)."""
    loop, inside = divmod(position, grid.loop_samples)
    bar_in_loop = bisect_right(grid.bar_samples, inside) - 1
    beat_index = bisect_right(grid.beat_samples, inside) - 1
    beat_in_bar = beat_index - bisect_left(grid.beat_samples, grid.bar_samples[bar_in_loop])
    return MusicalPosition(
        loop=loop,
        bar=loop * grid.bars + bar_in_loop,
        beat=beat_in_bar,
        offset_samples=inside - grid.beat_samples[beat_index],
    )


def _beat_length(grid: LoopGrid, beat_index: int) -> int:
    nxt = (
        grid.beat_samples[beat_index + 1]
        if beat_index + 1 < len(grid.beat_samples)
        else grid.loop_samples
    )
    return nxt - grid.beat_samples[beat_index]


def same_position_offset(position: int, source: LoopGrid, target: LoopGrid) -> int:
    """Where the target loop enters so it keeps the source's bar and beat.

    The source's bar number (modulo the target's bars) and beat in the bar (modulo the
    target's beats per bar) pick the target beat; the fraction of the beat already played
    carries over scaled to the target's beat length (so different tempi line up on the
    next beat). Returns an offset in `[0, target.loop_samples)`.
    """
    where = musical_position(position, source)
    bar = where.bar % target.bars
    first_beat = bisect_left(target.beat_samples, target.bar_samples[bar])
    last_beat = (
        bisect_left(target.beat_samples, target.bar_samples[bar + 1])
        if bar + 1 < target.bars
        else len(target.beat_samples)
    )
    beat_index = first_beat + where.beat % max(1, last_beat - first_beat)
    source_beat = bisect_right(source.beat_samples, position % source.loop_samples) - 1
    fraction = Fraction(where.offset_samples, _beat_length(source, source_beat))
    carried = int(fraction * _beat_length(target, beat_index) + Fraction(1, 2))
    return (target.beat_samples[beat_index] + carried) % target.loop_samples


def phase_origin(at_sample: int, offset: int) -> int:
    """Session sample where a timeline starts so that `at_sample` is at timeline `offset`."""
    return at_sample - offset
