"""Figures: arpeggio/ostinato patterns and chord comping, drawn from the current chord.

An arp (or ostinato) stem plays one figure: a bar-long order through the chord's voiced
tones (0 = lowest, 3 = highest, 4 = the second an octave up) at a rate set by the energy
(sixteenths when driving, eighths in between, a slower pulse when calm). The figure
recurs every bar with the tones of that bar's chord (voiced nearest the previous chord, so
it follows chord changes without jumping); the last bar of each 4-bar phrase plays it
varied (turned round in its second half), so the pattern recurs with variation. Each
set shares a main figure shape; later variants play an alternative shape in some bars.

A harmony stem without a harmony track comps: block chords in a pattern of the meter
(whole bars when calm; beats 1 and 3 in 4/4, oom-pah-pah in 3/4, the jig strum in 6/8).
"""

from __future__ import annotations

from engine_core.arrange.accents import DETACHED, accented
from engine_core.arrange.bassline import energy_level
from engine_core.arrange.choices import Choices
from engine_core.arrange.material import Material
from engine_core.arrange.voicing import lead, voicings
from engine_core.spec import StemSpec

#: tone orders a figure cycles through
SHAPES: tuple[tuple[int, ...], ...] = (
    (0, 1, 2, 3),  # up
    (0, 2, 1, 3),  # broken
    (0, 1, 2, 3, 2, 1),  # up and down
    (0, 2, 3, 2),  # alberti-like
    (0, 3, 1, 3, 2, 3, 1, 3),  # pedal on the top
    (0, 1, 2, 4, 2, 1),  # up to the octave
)
#: meter -> energy level -> steps between figure notes
RATES: dict[str, tuple[int, int, int]] = {
    "4/4": (4, 2, 1), "3/4": (2, 2, 1), "6/8": (2, 2, 1),
    "2/4": (4, 2, 1), "12/8": (2, 2, 1), "5/4": (4, 2, 1), "7/8": (2, 2, 1),
}  # fmt: skip

#: comping: meter -> energy level -> (beat, beats, weight) block chords in a bar
COMPING: dict[str, tuple[tuple[tuple[float, float, float], ...], ...]] = {
    "4/4": (
        ((0, 4, 1.0),),
        ((0, 2, 1.0), (2, 2, 1.0)),
        ((0, 1.5, 1.0), (1.5, 1.5, 1.0), (3, 1, 1.0)),
    ),
    "3/4": (
        ((0, 3, 1.0),),
        ((0, 1, 1.0), (1, 1, 0.95), (2, 1, 0.95)),
        ((0, 1, 1.0), (1, 1, 1.0), (2, 1, 1.0)),
    ),
    "6/8": (
        ((0, 2, 1.0),),
        ((0, 1, 1.0), (1, 1, 1.0)),
        ((0, 2 / 3, 1.0), (2 / 3, 1 / 3, 1.0), (1, 2 / 3, 1.0), (5 / 3, 1 / 3, 1.0)),
    ),
    # the re-barred meters (engine_core.model.rebar): chords on the beat groups
    "2/4": (
        ((0, 2, 1.0),),
        ((0, 1, 1.0), (1, 1, 0.95)),
        ((0.5, 0.5, 0.95), (1.5, 0.5, 0.95)),  # the polka / march after-beat
    ),
    "12/8": (
        ((0, 4, 1.0),),
        ((0, 2, 1.0), (2, 2, 1.0)),
        tuple((b + o, d, 1.0) for b in range(4) for o, d in ((0, 2 / 3), (2 / 3, 1 / 3))),
    ),
    "5/4": (  # 3+2
        ((0, 3, 1.0), (3, 2, 0.95)),
        ((0, 1.5, 1.0), (1.5, 1.5, 0.95), (3, 2, 1.0)),
        ((0, 1, 1.0), (1, 1, 0.95), (2, 1, 0.95), (3, 1, 1.0), (4, 1, 0.95)),
    ),
    "7/8": (  # 2+2+3 eighths
        ((0, 4, 1.0), (4, 3, 0.95)),
        ((0, 2, 1.0), (2, 2, 0.95), (4, 3, 1.0)),
        ((0, 2, 1.0), (2, 2, 1.0), (4, 2, 1.0), (6, 1, 0.9)),
    ),
}


def _chord_tones(material: Material, stem: StemSpec, onset: int, previous, centre: float):
    low, high = stem.register
    chord = material.progression.at(onset).chord
    options = voicings(chord.tones, low, high, 4, span=16) or voicings(
        chord.tones, low, high, 3, span=24
    )
    chosen = lead(previous, options, centre=centre, top_weight=0.0)
    return chosen or ()


def arp_part(material: Material, stem: StemSpec, choices: Choices):
    """(onset step, duration steps, pitch, velocity) notes of an arpeggio figure."""
    meter = material.meter
    low, high = stem.register
    centre = low + (high - low) * 0.4
    level = energy_level(material.energy)
    rate = RATES[meter.text][level]
    main = choices.pick(len(SHAPES))
    other = choices.alternative(main, len(SHAPES))
    bar = meter.steps_per_bar
    positions = list(range(0, bar, rate))
    if level == 0 and len(positions) > 4:
        positions = positions[:4] + positions[4::2]
    notes = []
    previous = None
    swaps = choices.alternate_pairs(material.bars)
    for bar_start in range(0, material.total, bar):
        bar_index = bar_start // bar
        varied = material.bars >= 4 and bar_index % 4 == 3
        shape = SHAPES[other if swaps[bar_index] else main]
        current = None
        for count, position in enumerate(positions):
            onset = bar_start + position
            span_start = material.progression.at(onset).start
            if current is None or onset == span_start or position == 0:
                current = _chord_tones(material, stem, onset, previous, centre)
                previous = current
            if not current:
                continue
            index = shape[count % len(shape)]
            if varied and count >= len(positions) // 2:
                index = shape[(len(positions) - 1 - count) % len(shape)]
                index = min(index + 1, 4)
            pitch = current[index] if index < 4 and index < len(current) else current[1] + 12
            if pitch > high:
                pitch = current[-1]
            following = positions[count + 1] if count + 1 < len(positions) else bar
            length = max(1.0, (following - position) * DETACHED)
            velocity = accented("arp", onset, meter, material.bars)
            notes.append((float(onset), float(length), int(pitch), velocity))
    return notes


def comping_part(material: Material, stem: StemSpec, choices: Choices):
    """Block chords in the meter's comping pattern, voice-led from chord to chord."""
    meter = material.meter
    low, high = stem.register
    centre = low + (high - low) * 0.45
    level = energy_level(material.energy)
    per_beat = meter.steps_per_beat
    size = 3 + choices.pick(2)
    notes = []
    previous = None
    swaps = choices.alternate_bars(material.bars)
    for bar_start in range(0, material.total, meter.steps_per_bar):
        # later variants lighten or fill some bars with the neighbouring level's pattern
        shift = (1 if level < 2 else -1) if swaps[bar_start // meter.steps_per_bar] else 0
        for beat, beats, weight in COMPING[meter.text][level + shift]:
            onset = bar_start + round(beat * per_beat)
            length = max(1, round(beats * per_beat))
            chord = material.progression.at(onset).chord
            options = voicings(chord.tones, low, high, size, span=14) or voicings(
                chord.tones, low, high, 3, span=24
            )
            voicing = lead(previous, options, centre=centre, top_weight=1.0)
            previous = voicing or previous
            velocity = accented("harmony", onset, meter, material.bars, weight)
            notes += [(float(onset), float(length) * 0.95, int(p), velocity) for p in voicing]
    return notes
