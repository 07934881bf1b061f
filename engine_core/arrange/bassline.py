"""Bass lines: the chord roots in a bass pattern of the meter, led smoothly.

A pattern is a bar of (beat, length in beats, tone): `R` the root, `5` the fifth, `8` the
root an octave up, `A` an approach note, the scale tone next to the following chord's
root (from below when the line rises to it, from above when it falls; a fifth when the
chord does not change). Patterns get busier with energy; each variant draws its own from
the patterns of its level: the set shares a main pattern, later variants swap in an
alternative in some bars (`choices`). Every root is taken in the octave
nearest the previous root (not the fifth or octave above it, so the line does not climb
bar by bar), in the lower part of the stem's register (at most `ROOT_REACH` above its home), and
never over an octave from the
note before; each 4-bar phrase starts again from the register's home pitch.
"""

from __future__ import annotations

from engine_core.arrange.accents import accented
from engine_core.arrange.choices import Choices
from engine_core.arrange.harmony import scale_of
from engine_core.arrange.material import Material
from engine_core.arrange.voicing import nearest
from engine_core.spec import StemSpec

#: the line starts from its home pitch every phrase of this many bars
PHRASE_BARS = 4
#: a root lies at most this far above the line's home (else an octave lower)
ROOT_REACH = 7

Pattern = tuple[tuple[float, float, str], ...]  # (beat, beats, tone)

#: meter -> energy level (0 low, 1 mid, 2 high) -> patterns
PATTERNS: dict[str, tuple[tuple[Pattern, ...], ...]] = {
    "4/4": (
        (((0, 4, "R"),), ((0, 2, "R"), (2, 2, "5"))),
        (
            ((0, 2, "R"), (2, 1, "5"), (3, 1, "A")),
            ((0, 1.5, "R"), (1.5, 0.5, "R"), (2, 1, "5"), (3, 1, "A")),
            ((0, 1, "R"), (1, 1, "5"), (2, 1, "8"), (3, 1, "A")),
        ),
        (
            tuple((i * 0.5, 0.5, t) for i, t in enumerate("RR8R5R8A")),
            tuple((i * 0.5, 0.5, t) for i, t in enumerate("R8R85R5A")),
            ((0, 0.75, "R"), (0.75, 0.75, "R"), (1.5, 0.5, "8"), (2, 1, "5"), (3, 1, "A")),
        ),
    ),
    "3/4": (
        (((0, 3, "R"),), ((0, 2, "R"), (2, 1, "5"))),
        (((0, 2, "R"), (2, 1, "5")), ((0, 1, "R"), (1, 1, "5"), (2, 1, "A"))),
        (
            ((0, 1, "R"), (1, 1, "5"), (2, 1, "A")),
            ((0, 1, "R"), (1, 0.5, "8"), (1.5, 0.5, "5"), (2, 1, "A")),
        ),
    ),
    "6/8": (
        (((0, 2, "R"),), ((0, 1, "R"), (1, 1, "5"))),
        (((0, 1, "R"), (1, 1, "5")), ((0, 2 / 3, "R"), (2 / 3, 1 / 3, "5"), (1, 1, "A"))),
        (
            ((0, 2 / 3, "R"), (2 / 3, 1 / 3, "5"), (1, 2 / 3, "R"), (5 / 3, 1 / 3, "A")),
            ((0, 2 / 3, "R"), (2 / 3, 1 / 3, "8"), (1, 2 / 3, "5"), (5 / 3, 1 / 3, "A")),
        ),
    ),
    # the re-barred meters (engine_core.model.rebar), on their beat groups
    "2/4": (
        (((0, 2, "R"),), ((0, 1, "R"), (1, 1, "5"))),
        (((0, 1, "R"), (1, 1, "5")), ((0, 1, "R"), (1, 0.5, "5"), (1.5, 0.5, "A"))),
        (
            tuple((i * 0.5, 0.5, t) for i, t in enumerate("R85A")),
            ((0, 0.75, "R"), (0.75, 0.25, "R"), (1, 1, "5")),
        ),
    ),
    "12/8": (  # even a slow blues moves: roots and fifths on the strong beats
        (((0, 2, "R"), (2, 2, "5")), ((0, 3, "R"), (3, 1, "A"))),
        (
            ((0, 1, "R"), (1, 1, "5"), (2, 1, "8"), (3, 1, "A")),
            ((0, 2 / 3, "R"), (2 / 3, 1 / 3, "5"), (1, 1, "R"), (2, 1, "5"), (3, 1, "A")),
        ),
        (  # the boogie shuffle: long-short pairs
            tuple((b + o, d, t) for b, pair in enumerate(("RR", "55", "88", "5A"))
                  for (o, d), t in zip(((0, 2 / 3), (2 / 3, 1 / 3)), pair, strict=True)),
            ((0, 2 / 3, "R"), (2 / 3, 1 / 3, "8"), (1, 1, "5"), (2, 2 / 3, "R"),
             (8 / 3, 1 / 3, "8"), (3, 1, "A")),
        ),
    ),
    "5/4": (  # 3+2
        (((0, 3, "R"), (3, 2, "5")), ((0, 5, "R"),)),
        (
            ((0, 2, "R"), (2, 1, "5"), (3, 1, "R"), (4, 1, "A")),
            ((0, 1, "R"), (1, 1, "5"), (2, 1, "8"), (3, 2, "5")),
        ),
        (
            ((0, 1, "R"), (1, 0.5, "R"), (1.5, 0.5, "5"), (2, 1, "8"), (3, 1, "R"), (4, 1, "A")),
            ((0, 1.5, "R"), (1.5, 1.5, "5"), (3, 1, "8"), (4, 1, "A")),
        ),
    ),
    "7/8": (  # 2+2+3 eighths (a beat is an eighth)
        (((0, 4, "R"), (4, 3, "5")), ((0, 7, "R"),)),
        (
            ((0, 2, "R"), (2, 2, "5"), (4, 3, "R")),
            ((0, 2, "R"), (2, 2, "8"), (4, 2, "5"), (6, 1, "A")),
        ),
        (
            ((0, 1, "R"), (1, 1, "R"), (2, 2, "5"), (4, 1, "8"), (5, 1, "5"), (6, 1, "A")),
            ((0, 2, "R"), (2, 1, "5"), (3, 1, "8"), (4, 2, "R"), (6, 1, "A")),
        ),
    ),
}  # fmt: skip


def energy_level(energy: float) -> int:
    return 0 if energy < 0.35 else 1 if energy < 0.7 else 2


def _approach(target: int, previous: int, scale: tuple[int, ...]) -> int:
    """The scale tone next to `target`, on the side the line comes from."""
    direction = -1 if target >= previous else 1
    pitch = target + direction
    while pitch % 12 not in scale:
        pitch += direction
    return pitch


def _within_octave(pitch: int, previous: float, low: int, high: int) -> int:
    """`pitch`, an octave nearer `previous` when it lies over an octave away (and the
    register has room): a bass never leaps more than an octave."""
    while abs(pitch - previous) > 12:
        moved = pitch + (12 if previous > pitch else -12)
        if not low <= moved <= high:
            break
        pitch = moved
    return pitch


def bass_part(material: Material, stem: StemSpec, choices: Choices):
    """(onset step, duration steps, pitch, velocity) notes of a bass line."""
    meter = material.meter
    per_beat = meter.steps_per_beat
    patterns = PATTERNS[meter.text][energy_level(material.energy)]
    main = choices.pick(len(patterns))
    other = choices.alternative(main, len(patterns))
    low, high = stem.register
    home = low + (high - low) * 0.35
    scale = scale_of(material.key)
    previous = anchor = home  # the note before; the root before (the line's register)
    notes = []
    progression = material.progression
    swaps = choices.alternate_pairs(material.bars)
    for bar_start in range(0, material.total, meter.steps_per_bar):
        if bar_start % (PHRASE_BARS * meter.steps_per_bar) == 0:
            anchor = home  # each phrase starts afresh, so variants meet again
        pattern = patterns[other if swaps[bar_start // meter.steps_per_bar] else main]
        for beat, beats, tone in pattern:
            onset = bar_start + round(beat * per_beat)
            length = max(1, round(beats * per_beat))
            span = progression.at(onset)
            # the root nearest the root before (not its fifth or octave, or the line climbs)
            root = nearest(span.chord.root, 0.6 * anchor + 0.4 * home, low, high)
            if root > home + ROOT_REACH and root - 12 >= low:
                root -= 12  # roots stay in the lower part of the register
            root = _within_octave(root, previous, low, high)
            following = progression.at(onset + length)
            changes = following.chord != span.chord
            if tone == "R":
                pitch = root
            elif tone == "8":
                pitch = root + 12 if root + 12 <= high else root
            elif tone == "5" or (tone == "A" and not changes):
                fifth = nearest(span.chord.fifth, root + 5, low, high)
                pitch = fifth
            else:
                target = nearest(following.chord.root, previous, low, high)
                pitch = _approach(target, previous, scale)
                if not low <= pitch <= high:
                    pitch = nearest(span.chord.fifth, root, low, high)
            pitch = _within_octave(pitch, previous, low, high)
            velocity = accented("bass", onset, meter, material.bars)
            notes.append((float(onset), float(length) * 0.92, int(pitch), velocity))
            previous, anchor = pitch, root
    return notes
