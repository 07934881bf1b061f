"""Meters the model was not trained on: compose in a trained host meter, then re-bar.

The model knows 4/4, 3/4 and 6/8 (its meter control token; a bar is at most 16 sixteenth
steps). A score in another meter is composed in a host meter and its note stream is cut
into the new bars, segment by segment (`HostPlan.segments`):

- 2/4 = a 4/4 bar in diminution: one 4/4 bar a bar at twice the speed (the host's quarters
  become eighths, a sixteenth off the eighth grid merges into the eighth before it). Cut
  in half bars instead (tried first), the model's lines moved at 4/4's pace and put 0.35-0.42
  of their onsets on beat 1, above the upper quartile of 2/4 folk tunes (0.28); in
  diminution they move like a polka or a quick march (0.19-0.33, corpus median 0.25).
- 12/8 = two 6/8 bars per bar: the 6/8 stream cut every 24 steps; the second 6/8 bar's
  downbeat is the 12/8 bar's third (strong) beat.
- 5/4 (3+2) = one 4/4 bar a bar, its first half stretched to three beats (host beat 2 is
  played twice: beats 2 and 3 of the 5/4 bar), its second half kept as the group of two.
  The host's half-bar harmony lands on the two groups.
- 7/8 (2+2+3) = one 4/4 bar a bar minus its last eighth: host beats 1 and 2 are the two
  groups of two eighths, host beats 3-4 less one eighth the group of three.

Notes keep their pitch and velocity; an onset inside a segment is copied to the segment's
place in the new bar, and its end is carried along the segments (a note held across a
dropped eighth ends where the next segment starts; a repeated beat is played again). Notes
of one pitch never overlap after the cut. `to_host` is the inverse cut (exact for 12/8;
2/4 doubles onsets and lengths back; for 5/4 the repeated beat is dropped, for 7/8 the
missing eighth stays empty), used
to inpaint bars of a score in a new meter (bridges).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine_core.score import MotifQuote, Score, ScoreNote
from engine_core.spec import HOST_METERS, Meter

#: new meter -> (stream cut?, host steps per new step, per-bar segments); the host meter is
#: `HOST_METERS`. A stream cut reads the host's note stream straight on (bar b starts at
#: host step b x its own length); otherwise bar b is cut from host bar b. Segments are
#: (host start, host end) grid steps, laid end to end in the new bar, `scale` host steps
#: to one new step (2: diminution).
_PLANS: dict[str, tuple[bool, int, tuple[tuple[int, int], ...]]] = {
    "2/4": (False, 2, ((0, 16),)),
    "12/8": (True, 1, ((0, 24),)),
    "5/4": (False, 1, ((0, 8), (4, 8), (8, 16))),
    "7/8": (False, 1, ((0, 14),)),
}


@dataclass(frozen=True)
class HostPlan:
    """How a loop of `bars` bars in `meter` is cut from a loop in the `host` meter."""

    meter: str
    bars: int
    host: str
    host_bars: int
    #: (host start, host end, target start) grid steps over the whole loop, in order
    segments: tuple[tuple[int, int, int], ...]
    scale: int = 1  # host steps per new step (2/4: 2, a diminution)

    @property
    def total(self) -> int:
        return self.bars * Meter.parse(self.meter).steps_per_bar

    @property
    def host_total(self) -> int:
        return self.host_bars * Meter.parse(self.host).steps_per_bar

    def host_bars_of(self, bar: int) -> tuple[int, ...]:
        """The host bars bar `bar` is cut from."""
        host_steps = Meter.parse(self.host).steps_per_bar
        steps = Meter.parse(self.meter).steps_per_bar
        found: set[int] = set()
        for hs, he, ts in self.segments:
            if bar * steps <= ts < (bar + 1) * steps:
                found |= set(range(hs // host_steps, (he - 1) // host_steps + 1))
        return tuple(sorted(b for b in found if b < self.host_bars))


def host_plan(meter: str, bars: int) -> HostPlan:
    """The host meter and segments of a new meter (`InvalidSpecError` for unknown meters)."""
    info = Meter.parse(meter)
    host = HOST_METERS[info.text]
    stream, scale, per_bar = _PLANS[info.text]
    host_steps = Meter.parse(host).steps_per_bar
    steps = info.steps_per_bar
    host_bars = -(-bars * steps // host_steps) if stream else bars
    segments: list[tuple[int, int, int]] = []
    for bar in range(bars):
        origin = bar * steps if stream else bar * host_steps
        target = bar * steps
        for start, end in per_bar:
            segments.append((origin + start, origin + end, target))
            target += (end - start) // scale
    return HostPlan(info.text, bars, host, host_bars, tuple(segments), scale)


def _target_end(plan: HostPlan, index: int, host_end: int) -> int:
    """Where a note that ends on host step `host_end` ends, walking on from segment `index`."""
    count = len(plan.segments)
    for walk in range(index, index + 2 * count):
        lap, position = divmod(walk, count)
        hs, he, ts = plan.segments[position]
        hs, he, ts = hs + lap * plan.host_total, he + lap * plan.host_total, ts + lap * plan.total
        if walk > index and host_end <= hs:
            return ts  # ended in a gap (a dropped eighth) or on this segment's start
        if hs <= host_end <= he:
            return ts + -(-(host_end - hs) // plan.scale)
    return plan.segments[index][2] + plan.total


def _separate(notes: list[ScoreNote], steps: int, total: int) -> list[ScoreNote]:
    """Notes of one track and pitch cut where the next one starts (no overlaps)."""
    by_voice: dict[tuple[str, int], list[ScoreNote]] = {}
    for note in sorted(notes, key=lambda n: (n.bar, n.step)):
        by_voice.setdefault((note.track, note.pitch), []).append(note)
    kept: list[ScoreNote] = []
    for voice in by_voice.values():
        onsets = [n.bar * steps + n.step for n in voice]
        for i, note in enumerate(voice):
            nxt = onsets[i + 1] if i + 1 < len(voice) else onsets[0] + total
            room = nxt - onsets[i]
            duration = min(note.duration_steps, room) if room > 0 else note.duration_steps
            kept.append(
                ScoreNote(
                    note.bar, note.step, note.track, note.pitch, max(1, duration), note.velocity
                )
            )
    return sorted(kept)


def _map_quotes(
    quotes: Sequence[MotifQuote], place: dict[int, int], total: int
) -> tuple[MotifQuote, ...]:
    mapped = []
    for quote in quotes:
        onsets = tuple(sorted(place[o] for o in quote.onsets if o in place))
        if not onsets:
            continue
        end = max(onsets[-1] + 1, min(total, place.get(quote.end, total)))
        mapped.append(MotifQuote(onsets[0], end, onsets, quote.form, quote.track))
    return tuple(mapped)


def to_meter(score: Score, plan: HostPlan) -> Score:
    """A host-meter score cut into `plan.meter` bars."""
    host_steps = score.steps_per_bar
    steps = Meter.parse(plan.meter).steps_per_bar
    notes: list[ScoreNote] = []
    first_place: dict[int, int] = {}
    taken: set[tuple[str, int, int]] = set()
    for note in sorted(score.notes, key=lambda n: (n.bar, n.step)):
        onset = note.bar * host_steps + note.step
        for index, (hs, he, ts) in enumerate(plan.segments):
            if not hs <= onset < he:
                continue
            target = ts + (onset - hs) // plan.scale
            if (note.track, note.pitch, target) in taken:
                continue  # a diminution merged it into the note before
            taken.add((note.track, note.pitch, target))
            first_place.setdefault(onset, target)
            end = _target_end(plan, index, onset + note.duration_steps)
            bar, step = divmod(target, steps)
            notes.append(
                ScoreNote(bar, step, note.track, note.pitch, max(1, end - target), note.velocity)
            )
    return Score(
        meter=plan.meter,
        bars=plan.bars,
        mode=score.mode,
        notes=tuple(_separate(notes, steps, plan.total)),
        motif_quotes=_map_quotes(score.motif_quotes, first_place, plan.total),
    )


def to_host(score: Score, plan: HostPlan) -> Score:
    """A score in `plan.meter` carried back into host bars (the inverse cut; a host step
    filled by two segments keeps the first, a host step no segment covers stays empty)."""
    steps = score.steps_per_bar
    host_steps = Meter.parse(plan.host).steps_per_bar
    covered: set[int] = set()
    notes: list[ScoreNote] = []
    spans = [(hs, he, ts) for hs, he, ts in plan.segments]
    scale = plan.scale
    for hs, he, ts in spans:
        fresh = set(range(hs, he)) - covered
        for note in score.notes:
            onset = note.bar * steps + note.step
            host = hs + (onset - ts) * scale
            if ts <= onset < ts + (he - hs) // scale and host in fresh and host < plan.host_total:
                bar, step = divmod(host, host_steps)
                duration = note.duration_steps * scale
                notes.append(ScoreNote(bar, step, note.track, note.pitch, duration, note.velocity))
        covered |= fresh
    return Score(
        meter=plan.host,
        bars=plan.host_bars,
        mode=score.mode,
        notes=tuple(_separate(notes, host_steps, plan.host_total)),
    )
