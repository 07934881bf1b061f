"""Metric accents, phrase arcs and articulation for pitched parts.

A note's velocity (0-1, before the energy scaling in the arranger) is
``ROLE_LEVEL[role] x beat_accent(step) x phrase_arc(bar)``:

- beat accents follow the meter: 4/4 beat 1 > beat 3 > beats 2 and 4 > off-beats;
  3/4 beat 1 > beats 2 and 3; 6/8 the two dotted-quarter beats (eighths 1 and 4) over
  the other eighths; the re-barred meters by beat group (`Meter.groups`): beat 1 > the
  other groups' first beats > the remaining beats > off-beats (2/4: 1 > 2; 12/8: 1 > 3 >
  2, 4; 5/4 = 3+2: 1 > 4 > 2, 3, 5; 7/8 = 2+2+3: eighth 1 > eighths 3, 5 > the others);
- the phrase arc swells over each 4 bars (rising to the third bar) and relaxes in the
  loop's last bar, the cadence into the seam (2/4 bars are short: an arc step is two of
  them, a phrase 8 bars);
- articulation by role: arps and ostinatos detached (`DETACHED` of the gap to the next
  onset), pads and lines legato (a line's note is held to the next onset when the gap is
  at most half a beat; a melody note shorter than an eighth across a gap of up to a
  beat).
"""

from __future__ import annotations

from functools import lru_cache

from engine_core.spec import Meter

ROLE_LEVEL: dict[str, float] = {
    "melody": 0.86,
    "counter": 0.72,
    "harmony": 0.7,
    "pad": 0.62,
    "arp": 0.7,
    "bass": 0.8,
}
DETACHED = 0.55
PHRASE = (0.95, 1.0, 1.04, 0.98)
CADENCE_BAR = 0.96


def beat_accent(step: float, meter: Meter) -> float:
    """Accent of a grid position inside the bar (1.0 on beat 1)."""
    position = round(step) % meter.steps_per_bar
    per_beat = meter.steps_per_beat
    if position == 0:
        return 1.0
    if not meter.trained:
        return _grouped_accent(position, meter)
    if meter.compound:
        if position == per_beat:
            return 0.9  # 6/8: the second dotted-quarter beat
        return 0.76 if position % 2 == 0 else 0.7
    if position % per_beat == 0:
        if meter.numerator == 4 and position == 2 * per_beat:
            return 0.9  # 4/4: beat 3
        return 0.8
    return 0.74 if position % (per_beat // 2 or 1) == 0 else 0.7


def _grouped_accent(position: int, meter: Meter) -> float:
    """Accent inside a bar of a re-barred meter, by beat group (position > 0)."""
    if position in meter.group_starts:
        return 0.9
    if position % meter.steps_per_beat == 0:
        return 0.8
    if meter.compound:
        return 0.76 if position % 2 == 0 else 0.7
    return 0.74 if position % 2 == 0 else 0.7


def phrase_arc(bar: int, bars: int) -> float:
    """Swell over 4-bar phrases; the loop's last bar relaxes into the seam."""
    if bars < 4:
        return 1.0 if bar == 0 else 0.97
    level = PHRASE[bar % 4]
    if bar == bars - 1:
        level *= CADENCE_BAR
    return level


@lru_cache(maxsize=4096, typed=True)
def accented(role: str, step: float, meter: Meter, bars: int, weight: float = 1.0) -> float:
    """The 0-1 velocity of a `role` note starting on grid `step` (kept per position: a
    loop's notes fall on the same few grid steps of the bar again and again; `typed`, so
    an int and a float step are kept apart and each gets what the function returns)."""
    bar = int(step // meter.steps_per_bar) % max(bars, 1)
    if meter.text == "2/4" and bars >= 2:
        bar, bars = bar // 2, bars // 2
    level = ROLE_LEVEL.get(role, 0.75) * beat_accent(step, meter) * phrase_arc(bar, bars)
    return max(0.05, min(1.0, level * weight))


def legato(
    notes: list[tuple[float, float, int, float]],
    total: int,
    max_gap: float,
    clipped: tuple[float, float] = (0.0, 0.0),
) -> list[tuple[float, float, int, float]]:
    """Hold each note to the next onset when the gap is at most `max_gap` steps; a note
    shorter than `clipped[0]` steps also across a gap of up to `clipped[1]` (a clipped
    note before a rest sounds like a slip, not a phrase)."""
    onsets = sorted({n[0] for n in notes})
    result = []
    for onset, duration, pitch, velocity in notes:
        later = [o for o in onsets if o > onset]
        following = later[0] if later else (onsets[0] + total if onsets else onset + duration)
        gap = following - (onset + duration)
        if 0 < gap <= (clipped[1] if duration < clipped[0] else max_gap):
            duration = following - onset
        result.append((onset, duration, pitch, velocity))
    return result
