"""The tempo of a bridge: an accelerando or ritardando from the source's pulse to the target's.

The felt beat (quarter in x/4, dotted quarter in 6/8) starts at the source's tempo on the
bridge's first sample and moves linearly, per beat, to the target's tempo at the start of
the bridge's last bar (over the whole bar for a one-bar bridge); the last bar is in the
target's tempo, so the target enters in time. Equal tempi give a constant tempo.

The renderer plays notes on a constant-tempo grid, so a ramp is rendered by *warping*
beats: the bridge is rendered at its mean tempo (the tempo that gives the same length),
each note moved to the mean-tempo beat that falls on its ramped time. `TempoRamp` is pure
maths (exact to the sample at beat and bar lines: every position is rounded once, from
the same function).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine_core.spec import Meter, loop_length_samples


@dataclass(frozen=True)
class TempoRamp:
    """A linear tempo ramp over a bridge of `bars` bars of `meter`."""

    start_bpm: float
    end_bpm: float
    bars: int
    meter: str

    @property
    def beats_per_bar(self) -> int:
        return Meter.parse(self.meter).beats_per_bar

    @property
    def total_beats(self) -> int:
        return self.bars * self.beats_per_bar

    @property
    def ramp_beats(self) -> int:
        """Beats over which the tempo moves (all but the last bar; the whole of one bar)."""
        return self.beats_per_bar * max(self.bars - 1, 1)

    def bpm_at(self, beat: float) -> float:
        share = min(max(beat / self.ramp_beats, 0.0), 1.0)
        return self.start_bpm + (self.end_bpm - self.start_bpm) * share

    def seconds_at(self, beat: float) -> float:
        """Seconds from the bridge's start to `beat` (0 .. total_beats)."""
        ramp = min(beat, self.ramp_beats)
        slope = (self.end_bpm - self.start_bpm) / self.ramp_beats  # bpm per beat
        if abs(slope) < 1e-12:
            seconds = 60.0 * ramp / self.start_bpm
        else:
            seconds = 60.0 / slope * math.log((self.start_bpm + slope * ramp) / self.start_bpm)
        if beat > self.ramp_beats:
            seconds += 60.0 * (beat - self.ramp_beats) / self.end_bpm
        return seconds

    @property
    def mean_bpm(self) -> float:
        """The constant tempo of the same length, rounded to 1e-4 bpm (it names the spec)."""
        return round(60.0 * self.total_beats / self.seconds_at(self.total_beats), 4)

    def length_samples(self, sample_rate: int) -> int:
        """The bridge's musical length: that of `bars` bars at the mean tempo."""
        return loop_length_samples(self.bars, Meter.parse(self.meter), self.mean_bpm, sample_rate)

    def sample_at(self, beat: float, sample_rate: int) -> int:
        """The sample of `beat`, scaled so the last beat line is `length_samples` exactly."""
        total = self.seconds_at(self.total_beats)
        return round(self.seconds_at(beat) / total * self.length_samples(sample_rate))

    def warped_beat(self, beat: float) -> float:
        """Where `beat` falls on the mean-tempo grid the renderer plays."""
        total = self.seconds_at(self.total_beats)
        return self.seconds_at(beat) / total * self.total_beats

    def beat_samples(self, sample_rate: int) -> tuple[int, ...]:
        return tuple(self.sample_at(b, sample_rate) for b in range(self.total_beats))

    def bar_samples(self, sample_rate: int) -> tuple[int, ...]:
        per_bar = self.beats_per_bar
        return tuple(self.sample_at(b * per_bar, sample_rate) for b in range(self.bars + 1))
