"""A drone: the key's tonic (and, on a pad, its fifth) held under the changing chords.

Bagpipes, a hurdy-gurdy, a tanpura, an organ pedal, a low cello in a cave: a drone does not
follow the harmony, it holds it down. A stem with `pattern = "drone"` (a `pad` or a `bass`;
"cello drone" or "a drone" in a prompt) holds the tonic low in its register — a pad adds
the fifth above (an open fifth, neither major nor minor) — for each 4-bar phrase, struck
again at every phrase start so a bowed or blown sound is renewed and the seam is a phrase
start. Later variants add the octave above the tonic in some phrases (`choices`). A plucked
drone (a sitar, a koto) is struck again on every beat, as a tanpura is.
"""

from __future__ import annotations

from engine_core.arrange.accents import accented
from engine_core.arrange.choices import Choices
from engine_core.arrange.material import Material
from engine_core.arrange.restrikes import plucked, restruck
from engine_core.arrange.voicing import nearest
from engine_core.spec import StemSpec

#: the drone is struck again every phrase of this many bars (the loop, if shorter)
PHRASE_BARS = 4
#: a drone sits this far up its register (its lower part)
HEIGHT = 0.25
#: a drone is quieter than a chord on the same stem
WEIGHT = 0.85


def drone_part(material: Material, stem: StemSpec, choices: Choices):
    """(onset step, duration steps, pitch, velocity) notes of a drone."""
    meter = material.meter
    low, high = stem.register
    tonic = nearest(material.key.tonic, low + (high - low) * HEIGHT, low, high)
    pitches = [tonic]
    if stem.role == "pad" and tonic + 7 <= high:
        pitches.append(tonic + 7)
    phrase = min(PHRASE_BARS, material.bars) * meter.steps_per_bar
    swaps = choices.alternate_bars(material.bars)
    notes: list[tuple[float, float, int, float]] = []
    for start in range(0, material.total, phrase):
        length = min(phrase, material.total - start)
        velocity = accented(stem.role, start, meter, material.bars, WEIGHT)
        sounding = list(pitches)
        octave = tonic + 12
        if stem.role == "pad" and swaps[start // meter.steps_per_bar] and octave <= high:
            sounding.append(octave)  # a later variant opens the drone out in this phrase
        notes += [(float(start), float(length), pitch, velocity) for pitch in sounding]
    if plucked(stem.program):  # a plucked drone (sitar, koto) rings on being struck again
        return restruck(notes, meter, material.bars, stem.role)
    return notes
