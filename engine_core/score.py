"""The symbolic loop the model writes and the arranger voices: a `Score` of bars.

Pitches are absolute MIDI numbers in a *tonic-C* frame (the model transposes all training
music to C with the mode kept as a label); the arranger moves them to the template's key
and into each stem's register. Time is a sixteenth-note grid (`Meter.steps_per_bar`).
A note may run past the loop's last bar: it wraps round the seam (a loop is a circle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine_core.spec import Meter

#: Score tracks the model writes, in order.
TRACKS: tuple[str, ...] = ("melody", "harmony", "bass")
#: version of `Score.to_json`'s layout
SCORE_FORMAT = 1


@dataclass(frozen=True, order=True)
class ScoreNote:
    bar: int
    step: int  # grid step inside the bar, 0 .. steps_per_bar-1
    track: str  # one of TRACKS
    pitch: int  # MIDI note number, tonic-C frame
    duration_steps: int  # >= 1; may run past the loop end (wraps round the seam)
    velocity: float = 0.8  # 0-1


@dataclass(frozen=True)
class MotifQuote:
    """Where a score quotes its spec's motif (`engine_core.arrange.motif`)."""

    start: int  # grid step of the quote's first note from the loop start
    end: int  # grid step where its last note ends (at most the loop's length)
    onsets: tuple[int, ...]  # grid steps of the quoted notes (the arranger keeps them)
    form: str  # "original", "sequence", "inversion" or "augmentation"
    track: str  # the score track holding it: "melody" or "bass"


@dataclass(frozen=True)
class Score:
    meter: str
    bars: int
    mode: str  # "major" or "minor" (the model's mode condition)
    notes: tuple[ScoreNote, ...]
    motif_quotes: tuple[MotifQuote, ...] = ()  # motif notes the arranger must keep

    @property
    def meter_info(self) -> Meter:
        return Meter.parse(self.meter)

    @property
    def steps_per_bar(self) -> int:
        return self.meter_info.steps_per_bar

    @property
    def total_steps(self) -> int:
        return self.bars * self.steps_per_bar

    def track(self, name: str) -> tuple[ScoreNote, ...]:
        return tuple(n for n in self.notes if n.track == name)

    def onset_step(self, note: ScoreNote) -> int:
        return note.bar * self.steps_per_bar + note.step

    def onset_roll(self, pitch_low: int = 0, pitch_high: int = 128) -> np.ndarray:
        """Boolean onsets, shape (tracks, total_steps, pitch_high - pitch_low)."""
        roll = np.zeros((len(TRACKS), self.total_steps, pitch_high - pitch_low), dtype=bool)
        for note in self.notes:
            if pitch_low <= note.pitch < pitch_high:
                roll[TRACKS.index(note.track), self.onset_step(note), note.pitch - pitch_low] = True
        return roll

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (notes as rows); `from_json` gives back an equal `Score` (floats
        survive JSON exactly)."""
        return {
            "format": SCORE_FORMAT,
            "meter": self.meter,
            "bars": self.bars,
            "mode": self.mode,
            "notes": [
                [n.bar, n.step, n.track, n.pitch, n.duration_steps, n.velocity] for n in self.notes
            ],
            "motif_quotes": [
                [q.start, q.end, list(q.onsets), q.form, q.track] for q in self.motif_quotes
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Score:
        """The score `to_json` wrote; `ValueError` for another format or a malformed row."""
        if data.get("format") != SCORE_FORMAT:
            raise ValueError(f"score format {data.get('format')!r}, expected {SCORE_FORMAT}")
        try:
            notes = tuple(
                ScoreNote(int(bar), int(step), str(track), int(pitch), int(dur), float(vel))
                for bar, step, track, pitch, dur, vel in data["notes"]
            )
            quotes = tuple(
                MotifQuote(int(start), int(end), tuple(int(o) for o in onsets), str(form), str(tr))
                for start, end, onsets, form, tr in data.get("motif_quotes", ())
            )
            return cls(str(data["meter"]), int(data["bars"]), str(data["mode"]), notes, quotes)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"malformed score data: {error}") from None
