"""Pads: sustained chords, voice-led, whose voicing keeps moving.

One chord a bar (half bars when dense): each voicing is the one nearest the previous
(smallest total movement) among the chord's positions in the register, with a cost for
keeping the previous top note and for top notes already used often. So the top line moves
even over a repeated chord, and no top note is held in more than half the bars. Common tones
are held over (tied), the others move legato into the next chord. Later variants of a set
voice some bars with another top note (the best voicing whose top differs), struck anew.
"""

from __future__ import annotations

from engine_core.arrange.accents import accented
from engine_core.arrange.choices import Choices
from engine_core.arrange.material import Material
from engine_core.arrange.voicing import lead, voicings
from engine_core.spec import StemSpec


def pad_part(material: Material, stem: StemSpec, choices: Choices):
    """(onset step, duration steps, pitch, velocity) notes of a pad."""
    meter = material.meter
    low, high = stem.register
    bar = meter.steps_per_bar
    length = bar // 2 if material.density >= 0.7 and meter.numerator == 4 else bar
    size = 4 if high - low >= 17 else 3
    centre = low + (high - low) * (0.35 + 0.05 * choices.pick(5))
    held: dict[int, int] = {}
    previous = None
    notes: list[tuple[float, float, int, float]] = []
    open_notes: dict[int, int] = {}
    swaps = choices.alternate_bars(material.bars)
    for onset in range(0, material.total, length):
        chord = material.progression.at(onset).chord
        options = voicings(chord.tones, low, high, size, span=17) or voicings(
            chord.tones, low, high, 3, span=24
        )
        voicing = lead(previous, options, centre=centre, held_top=held, top_weight=4.0)
        if swaps[onset // bar]:  # later variants voice some bars with another top note
            others = [o for o in options if o[-1] != voicing[-1]]
            voicing = (
                lead(previous, others, centre=centre, held_top=held, top_weight=4.0) or voicing
            )
        if not voicing:
            continue
        held[voicing[-1]] = held.get(voicing[-1], 0) + 1
        previous = voicing
        velocity = accented("pad", onset, meter, material.bars)
        sounding = {}
        for pitch in voicing:
            if pitch in open_notes and not swaps[onset // bar]:  # a common tone is tied
                index = open_notes[pitch]
                start, duration, _, level = notes[index]
                notes[index] = (start, duration + length, pitch, level)
                sounding[pitch] = index
            else:
                notes.append((float(onset), float(length) + 0.25, int(pitch), velocity))
                sounding[pitch] = len(notes) - 1
        open_notes = sounding
    return notes
