"""Drum and percussion parts: which groove a stem plays, and how each variant plays it.

`groove_family` reads the state's style: genre tags first, then words of the prompt, then
the drum kit the template picked, then the other stems' instruments, then mood tags; the
result names its reason. `choose_groove` takes that family's groove for the stem's role
and meter (through `FAMILY_FALLBACK` when the family has none in that meter, never to a
rock backbeat for an orchestral state). `drum_part` lays the groove out over the loop and
varies it per variant, seeded by (seed, variant index, stem index) and scaled by the
spec's variance: an alternative groove of the family, an orchestration swap (ride for
hat...), dropped, moved and added hits, ghost notes, A/B bars, a different fill at each
phrase end and cymbal accents. Pitched-percussion stems (timpani) play the chord roots
and fifths of the score in the groove's rhythm. Velocities follow the meter's accents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine_core.arrange.grooves import (
    FAMILIES,
    HIT_VELOCITY,
    PHRASE_BARS,
    ROLL,
    TIMPANI,
    Groove,
    fill_bars,
    kit_note,
    level_for,
    named_groove,
)
from engine_core.arrange.harmony import MODE_INTERVALS
from engine_core.errors import InvalidSpecError
from engine_core.spec import GenerationSpec, Meter, StemSpec

#: A part note: (onset step, duration steps, pitch or percussion key, velocity 0-1).
PartNote = tuple[float, float, int, float]
#: Pitch classes of the chord sounding in [start step, end step), bass first (may be empty).
ChordTones = Callable[[int, int], Sequence[int]]

#: Genre tags -> groove family.
TAG_FAMILY: dict[str, str] = {
    "waltz": "waltz", "march": "march", "jig": "jig", "shanty": "jig", "horror": "horror",
    "tribal": "tribal", "ambient": "ambient", "electronic": "electronic",
    "synthwave": "electronic", "chiptune": "electronic", "rock": "rock", "jazz": "jazz",
    "lofi": "jazz", "orchestral": "orchestral", "cinematic": "orchestral",
    "chorale": "orchestral", "baroque": "orchestral", "celtic": "folk", "folk": "folk",
    "medieval": "folk", "renaissance": "folk",
}  # fmt: skip

#: Words of a prompt (lower case) -> groove family, read when no genre tag decides.
PROMPT_WORDS: dict[str, str] = {
    **{w: "waltz" for w in ("waltz", "waltzes", "ballroom")},
    **{w: "march" for w in ("march", "marching", "military", "parade", "regiment")},
    **{w: "jig" for w in ("jig", "jigs", "shanty", "shanties", "tarantella", "hornpipe")},
    **{w: "horror" for w in ("horror", "creepy", "haunted", "eerie", "spooky", "dread")},
    **{w: "tribal" for w in ("tribal", "taiko", "tribe", "jungle", "shaman", "ritual")},
    **{
        w: "ambient"
        for w in ("ambient", "drone", "drones", "atmospheric", "weightless", "ethereal")
    },
    **{
        w: "electronic"
        for w in (
            "synth", "synths", "synthwave", "electronic", "electro", "techno", "edm",
            "chiptune", "8-bit", "arcade", "cyberpunk", "neon", "retrowave",
        )
    },
    **{w: "rock" for w in ("rock", "guitar", "guitars", "metal", "punk", "grunge")},
    **{w: "jazz" for w in ("jazz", "jazzy", "swing", "lofi", "lo-fi", "bossa", "lounge")},
    **{
        w: "orchestral"
        for w in (
            "orchestra", "orchestral", "symphonic", "symphony", "cinematic", "strings",
            "brass", "horns", "choir", "timpani", "fanfare", "epic",
        )
    },
    **{
        w: "folk"
        for w in ("folk", "celtic", "tavern", "bodhran", "fiddle", "medieval", "bard", "irish")
    },
}  # fmt: skip

#: Drum kit programs that name a style (a drums or percussion stem's `program`).
KIT_FAMILY: dict[int, str] = {48: "orchestral", 24: "electronic", 25: "electronic",
                              16: "rock", 32: "jazz", 40: "jazz"}  # fmt: skip

#: General MIDI program ranges of pitched stems -> the family they suggest.
INSTRUMENT_FAMILY: tuple[tuple[range, str], ...] = (
    (range(40, 50), "orchestral"),  # strings, harp, timpani, ensembles
    (range(52, 54), "orchestral"),  # choir, voice
    (range(55, 62), "orchestral"),  # orchestra hit, brass
    (range(68, 74), "orchestral"),  # reeds and flutes
    (range(24, 32), "rock"),  # guitars
    (range(33, 38), "rock"),  # electric basses
    (range(38, 40), "electronic"),  # synth basses
    (range(50, 52), "electronic"),  # synth strings
    (range(62, 64), "electronic"),  # synth brass
    (range(80, 104), "electronic"),  # synth leads, pads, effects
    (range(64, 68), "jazz"),  # saxophones
    (range(104, 112), "folk"),  # sitar, banjo, fiddle, bagpipe...
    (range(74, 80), "folk"),  # recorder, pan flute, whistle, ocarina
    (range(21, 24), "folk"),  # accordion, harmonica
)

#: Mood and texture words (tags or prompt) -> family, the last resort before the default.
MOOD_FAMILY: dict[str, str] = {
    **{
        m: "orchestral"
        for m in (
            "epic", "heroic", "triumphant", "tense", "dark", "ominous", "mysterious", "sad",
            "melancholic", "boss", "battle", "fight", "war", "dungeon", "castle", "dragon",
            "kingdom", "quest", "hero", "legend",
        )
    },
    **{m: "ambient" for m in ("calm", "peaceful", "dreamy", "sparse", "sustained", "space")},
    **{m: "folk" for m in ("happy", "playful", "village", "town")},
    **{m: "rock" for m in ("aggressive", "driving", "urgent", "race", "racing")},
}  # fmt: skip

DEFAULT_FAMILY = "rock"

#: Where a family goes when it has no groove of a role in a meter (tried in order).
FAMILY_FALLBACK: dict[str, tuple[str, ...]] = {
    "waltz": ("orchestral",),
    "march": ("orchestral",),
    "jig": ("folk", "orchestral"),
    "folk": ("jig", "orchestral"),
    "horror": ("ambient", "orchestral"),
    "tribal": ("orchestral",),
    "ambient": ("orchestral",),
    "electronic": ("rock", "jazz"),
    "rock": ("electronic", "jazz"),
    "jazz": ("rock", "electronic"),
    "orchestral": ("tribal", "march"),
}

#: Per-variant orchestration swaps: instrument -> what some variants play instead.
SWAPS: dict[str, tuple[str, ...]] = {
    "hat": ("ride", "pedal_hat"),
    "ride": ("hat", "ride_bell"),
    "open_hat": ("ride",),
    "shaker": ("cabasa", "tamb"),
    "tamb": ("shaker",),
    "rim": ("claves", "woodblock"),
    "clap": ("snare",),
    "conga_mute": ("conga_high",),
    "conga_high": ("bongo_high",),
    "triangle": ("triangle_mute",),
    "tom_low": ("tom_mid",),
    "woodblock_low": ("woodblock",),
    "pedal_hat": ("hat",),
    "snare": ("rim",),
}
#: Instruments that carry the bottom of a groove (variation moves and adds hits here).
LOW_DRUMS = frozenset({"kick", "bass_drum", "floor_tom", "conga_low", "timp_root"})
#: Instruments that take ghost notes.
GHOST_DRUMS = frozenset({"snare", "conga_mute", "rim", "tom_low"})
#: How strongly the variance drives each kind of variation.
CHANGE_RATE = 2.0
FIRST_VARIANT_SHARE = 0.25
#: Pitched percussion already follows each variant's chords: it varies its rhythm less.
PITCHED_SHARE = 0.75
DROP_RATE = 0.45
MOVE_RATE = 0.5
ADD_RATE = 0.2
GHOST_RATE = 0.2
SCATTER_RATE = 1.4
#: Velocity offsets from the meter: strong beats up, off-beat sixteenths down.
STRONG_BEAT_BOOST = 0.1
OFFBEAT_CUT = 0.08
#: Pitched percussion register used when a stem gives the default (48-84).
PITCHED_REGISTER = (41, 57)


@dataclass(frozen=True)
class StyleChoice:
    family: str
    reason: str  # what decided it, e.g. "tag 'orchestral'", "prompt word 'battle'"


@dataclass(frozen=True)
class DrumPart:
    groove: str  # the groove the variant plays (its family's main one or an alternative)
    family: str
    reason: str
    notes: tuple[PartNote, ...]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)?", text.lower())


def _vote(names: Sequence[str], table: dict[str, str]) -> tuple[str, str] | None:
    """The family most names point to (ties: `FAMILIES` order) and its first name."""
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for name in names:
        family = table.get(name)
        if family is not None:
            counts[family] = counts.get(family, 0) + 1
            first.setdefault(family, name)
    if not counts:
        return None
    best = max(counts, key=lambda f: (counts[f], -FAMILIES.index(f)))
    return best, first[best]


def _instrument_family(spec: GenerationSpec) -> tuple[str, str] | None:
    votes: dict[str, int] = {}
    for stem in spec.stems:
        if stem.is_drums:
            continue
        for programs, family in INSTRUMENT_FAMILY:
            if stem.program in programs:
                votes[family] = votes.get(family, 0) + 1
                break
    if not votes:
        return None
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], FAMILIES.index(kv[0])))
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None  # no clear majority
    return ranked[0][0], f"{ranked[0][1]} {ranked[0][0]} instrument(s)"


def groove_family(spec: GenerationSpec, stem: StemSpec | None = None) -> StyleChoice:
    """The style family of a state's drums, and what decided it.

    In order: genre tags; genre words of the prompt; the kit of `stem` (or of the spec's
    first drum stem) when it names a style (48 orchestra, 24/25 electronic, 16 power,
    32/40 jazz/brush); a clear majority of the other stems' instruments; mood tags and
    mood words of the prompt; else `DEFAULT_FAMILY` (reason "default").
    """
    found = _vote(spec.tags, TAG_FAMILY)
    if found:
        return StyleChoice(found[0], f"tag {found[1]!r}")
    words = _words(spec.prompt)
    found = _vote(words, PROMPT_WORDS)
    if found:
        return StyleChoice(found[0], f"prompt word {found[1]!r}")
    kits = [stem] if stem is not None and not stem.pitched else []
    kits += [s for s in spec.stems if s.is_drums]
    for kit in kits:
        if kit.is_drums and kit.program in KIT_FAMILY:
            return StyleChoice(KIT_FAMILY[kit.program], f"kit {kit.program}")
    found = _instrument_family(spec)
    if found:
        return StyleChoice(*found)
    found = _vote([*spec.tags, *words], MOOD_FAMILY)
    if found:
        return StyleChoice(found[0], f"mood {found[1]!r}")
    return StyleChoice(DEFAULT_FAMILY, "default")


def groove_role(stem: StemSpec) -> str:
    return "pitched" if stem.pitched else stem.role


def _candidates(library: Sequence[Groove], family: str, role: str, meter: str) -> list[Groove]:
    own = [g for g in library if g.role == role and g.meter == meter and g.family == family]
    shared = [
        g
        for g in library
        if g.role == role and g.meter == meter and family in g.families and g not in own
    ]
    return own + shared


def family_grooves(
    library: Sequence[Groove], family: str, role: str, meter: str
) -> tuple[str, list[Groove]]:
    """The family actually used (after fallbacks) and its grooves, main groove first."""
    for name in (family, *FAMILY_FALLBACK.get(family, ())):
        found = _candidates(library, name, role, meter)
        if found:
            return name, found
    found = [g for g in library if g.role == role and g.meter == meter]
    if not found:
        raise InvalidSpecError(f"the groove library has no {role} groove in {meter}")
    return found[0].family, found


def choose_groove(
    library: Sequence[Groove], spec: GenerationSpec, stem: StemSpec
) -> tuple[Groove, list[Groove], StyleChoice]:
    """The main groove of `stem`, the alternatives variants may play, and the style reason.

    A drums stem uses `spec.groove` when set (alone: no alternatives). Otherwise the
    family's grooves for the stem's role and meter are ranked by how many of the spec's
    tags (and the stem name's words) they carry, library order breaking ties; the
    alternatives are the other grooves of the same family sharing most instruments.
    """
    role = groove_role(stem)
    if spec.groove is not None and role == "drums":
        groove = named_groove(tuple(library), spec.groove, spec.meter)
        return groove, [], StyleChoice(groove.family, f"groove {spec.groove!r}")
    style = groove_family(spec, stem)
    family, found = family_grooves(library, style.family, role, spec.meter)
    if family != style.family:
        style = StyleChoice(family, f"{style.reason}, no {style.family} {role} groove in "
                            f"{spec.meter}")  # fmt: skip
    wanted = set(spec.tags) | set(_words(stem.name.replace("_", " ")))
    own = [g for g in found if g.family == family] or found
    ranked = sorted(own, key=lambda g: (-len(wanted & set(g.tags)), own.index(g)))
    main = ranked[0]
    alternatives = [
        g for g in ranked[1:] if len(g.instruments & main.instruments) * 2 >= len(main.instruments)
    ]
    return main, alternatives, style


# ---------------------------------------------------------------------------------------
# Variation
# ---------------------------------------------------------------------------------------

Patterns = dict[str, str]


def _set(pattern: str, index: int, char: str) -> str:
    return pattern[:index] + char + pattern[index + 1 :]


def _mutate(
    patterns: Patterns,
    rng: np.random.Generator,
    amount: float,
    steps_per_beat: int,
    *,
    sparse: bool = False,
) -> Patterns:
    """Drop, move and add hits and ghost notes (`sparse`: no added hits or ghost notes);
    beat-one accents and rolls stay put."""
    result: Patterns = {}
    for instrument, pattern in sorted(patterns.items()):
        chars = pattern
        for index, char in enumerate(pattern):
            on_beat = index % steps_per_beat == 0
            if char in ".rX" or (index == 0 and not (sparse and char in "og")):
                continue  # beat one stays, except a texture's soft hits
            roll = rng.random()
            if sparse and roll < min(1.0, amount * SCATTER_RATE):
                empty = [i for i in range(len(chars)) if chars[i] == "."]
                if empty:  # a texture hit lands somewhere else in the bar
                    target = empty[int(rng.integers(len(empty)))]
                    chars = _set(_set(chars, index, "."), target, char)
            elif not on_beat and roll < amount * DROP_RATE * 0.5:
                chars = _set(chars, index, ".")
            elif instrument in LOW_DRUMS and roll < amount * (DROP_RATE * 0.5 + MOVE_RATE):
                target = index + (2 if rng.random() < 0.5 else -2)
                if 0 < target < len(chars) and chars[target] == ".":
                    chars = _set(_set(chars, index, "."), target, char)
        for index in range(1, len(chars)):
            if chars[index] != "." or sparse:
                continue
            if instrument in LOW_DRUMS and index % 2 == 0 and rng.random() < amount * ADD_RATE:
                chars = _set(chars, index, "o")
            elif instrument in GHOST_DRUMS and rng.random() < amount * GHOST_RATE:
                chars = _set(chars, index, "g")
        result[instrument] = chars
    return result


def _swap_choice(patterns: Patterns, rng: np.random.Generator) -> tuple[str, str] | None:
    """A re-orchestration of the busiest swappable instrument: (instrument, replacement)."""
    swappable = [i for i in patterns if i in SWAPS]
    if not swappable:
        return None
    busiest = max(sorted(swappable), key=lambda i: sum(c != "." for c in patterns[i]))
    options = [o for o in SWAPS[busiest] if o not in patterns]
    if not options:
        return None
    return busiest, options[int(rng.integers(len(options)))]


def _rename(patterns: Patterns, swap: tuple[str, str] | None) -> Patterns:
    if swap is None:
        return patterns
    old, new = swap
    return {new if i == old else i: p for i, p in patterns.items()}


def _second_section(bar: int, bars: int) -> bool:
    """Bars of the loop's second section: odd 4-bar phrases, or the second half."""
    if bars >= 2 * PHRASE_BARS:
        return (bar // PHRASE_BARS) % 2 == 1
    return bar >= bars // 2


def _swell_bar(
    main: Patterns, fill: Patterns, steps_per_beat: int, rng: np.random.Generator
) -> Patterns:
    """A sparse texture's phrase end: the written swell, starting later by a random number
    of roll steps, over the texture until it starts."""
    steps = len(next(iter(fill.values()), "")) or len(next(iter(main.values()), ""))
    rolls = [i for p in fill.values() for i, c in enumerate(p) if c == ROLL]
    if not rolls:
        return _fill_bar(main, fill, "beat", steps_per_beat, rng)
    first, last = min(rolls), max(rolls)
    start = first + int(rng.integers(0, max(last - first - 1, 1)))
    names = set(main) | set(fill)
    bar: Patterns = {}
    for name in names:
        texture = main.get(name, "." * steps)[:start]
        swell = fill.get(name, "." * steps)[start:]
        bar[name] = texture + swell
    return bar


def _fill_bar(
    main: Patterns,
    fill: Patterns,
    kind: str,
    steps_per_beat: int,
    rng: np.random.Generator,
) -> Patterns:
    """A phrase-end bar: the whole fill, its second half or last beat over the groove,
    a roll into the seam, or a break (the groove stops on the last beat)."""
    steps = len(next(iter(main.values()), "")) or len(next(iter(fill.values()), ""))
    if kind == "fill" and fill:
        return dict(fill)
    if kind in ("half", "beat") and fill:
        beats = steps // steps_per_beat
        keep = (beats // 2 if kind == "half" else beats - 1) * steps_per_beat
        names = set(main) | set(fill)
        return {i: main.get(i, "." * steps)[:keep] + fill.get(i, "." * steps)[keep:] for i in names}
    if kind == "roll":
        drum = next((i for i in ("snare", "timp_root", "tom_low", "conga_low") if i in main),
                    next(iter(sorted(main)), "snare"))  # fmt: skip
        length = steps_per_beat * (1 if rng.random() < 0.5 else 2)
        result = {i: p[: steps - length] + "." * length for i, p in main.items()}
        base = result.get(drum, "." * steps)
        result[drum] = base[: steps - length] + ROLL * (length - 1) + "x"
        return result
    # a break: the groove stops for the last beat, one hit on its first step
    cut = steps - steps_per_beat
    result = {i: p[:cut] + "." * steps_per_beat for i, p in main.items()}
    low = next((i for i in sorted(main) if i in LOW_DRUMS), None)
    if low is not None:
        result[low] = result[low][:cut] + "x" + "." * (steps_per_beat - 1)
    return result


FILL_KINDS = ("fill", "half", "beat", "roll", "break")
LOW_FILL_KINDS = ("beat", "roll", "break", "none")
#: Ambient and horror textures stay sparse: no added hits (their few hits move instead),
#: and each phrase ends with the written swell, starting at a varied point.
SPARSE_FAMILIES = frozenset({"ambient", "horror"})
SPARSE_FILL_KINDS = ("fill", "swell")


def _bar_plan(
    groove: Groove,
    level: str,
    bars: int,
    steps_per_beat: int,
    rng: np.random.Generator,
    amount: float,
    swap: bool,
) -> tuple[list[Patterns], set[int]]:
    """The pattern of every bar, and the bars that start a phrase after a fill.

    With `swap`, the loop's second section (see `_second_section`) is re-orchestrated
    (the drummer moves from hat to ride for the second phrase)."""
    main = dict(groove.levels[level])
    vary = amount > 0
    if vary:
        sparse = groove.family in SPARSE_FAMILIES
        main = _mutate(main, rng, amount, steps_per_beat, sparse=sparse)
        second = _mutate(main, rng, amount * 0.6, steps_per_beat, sparse=sparse)
    else:
        second = main
    change = _swap_choice(main, rng) if vary and swap else None
    fill = dict(groove.fill)
    ends = fill_bars(bars)
    plan: list[Patterns] = []
    after_fill: set[int] = set()
    for bar in range(bars):
        section = change if _second_section(bar, bars) else None
        a_bar, b_bar = _rename(main, section), _rename(second, section)
        bar_fill = {main_name(i, a_bar): p for i, p in fill.items()}
        if bar in ends:
            kinds = FILL_KINDS if level != "low" else LOW_FILL_KINDS
            if groove.family in SPARSE_FAMILIES:
                kinds = SPARSE_FILL_KINDS
            kind = kinds[int(rng.integers(len(kinds)))] if vary else kinds[0]
            if kind == "none":
                plan.append(b_bar if bar % 2 else a_bar)
                continue
            if kind == "swell":
                plan.append(_swell_bar(a_bar, bar_fill, steps_per_beat, rng))
            else:
                plan.append(_fill_bar(a_bar, bar_fill, kind, steps_per_beat, rng))
            after_fill.add((bar + 1) % bars)
        else:
            plan.append(b_bar if bar % 2 else a_bar)
    return plan, after_fill


def main_name(instrument: str, main: Patterns) -> str:
    """A fill instrument renamed when the main patterns swapped it (ride for hat...)."""
    if instrument in main:
        return instrument
    for swapped in SWAPS.get(instrument, ()):
        if swapped in main:
            return swapped
    return instrument


def _accent(index: int, steps_per_beat: int, meter: Meter) -> float:
    """Velocity offset of a step from the meter (4/4: 1 > 3 > 2,4; 3/4: 1; 6/8: 1 and 4;
    re-barred meters: 1 > the other beat groups' first beats, e.g. 7/8 eighths 3 and 5)."""
    if index % steps_per_beat:
        return -OFFBEAT_CUT if index % 2 else 0.0
    beat = index // steps_per_beat
    if beat == 0:
        return STRONG_BEAT_BOOST
    if not meter.trained:  # re-barred meters: each beat group's first beat
        return STRONG_BEAT_BOOST * 0.6 if index % meter.steps_per_bar in meter.group_starts else 0.0
    if meter.beats_per_bar == 4 and beat == 2:
        return STRONG_BEAT_BOOST / 2
    if meter.compound:  # 6/8: the second dotted-quarter beat is strong too
        return STRONG_BEAT_BOOST * 0.8
    return 0.0


@dataclass(frozen=True)
class _Hit:
    step: float
    duration: float
    instrument: str
    velocity: float


def _hits(plan: list[Patterns], groove: Groove, meter: Meter, crash_bars: set[int]) -> list[_Hit]:
    steps_per_beat = meter.steps_per_beat
    swing_unit = 1 if steps_per_beat % 3 == 0 else 2
    hits: list[_Hit] = []
    for bar, patterns in enumerate(plan):
        steps = len(next(iter(patterns.values()), "")) or meter.steps_per_bar
        origin = bar * steps
        for instrument, pattern in sorted(patterns.items()):
            run = [i for i, c in enumerate(pattern) if c == ROLL]
            for index, char in enumerate(pattern):
                if char == ".":
                    continue
                if char == ROLL:
                    position = run.index(index) / max(len(run) - 1, 1)
                    velocity = 0.3 + 0.55 * position  # a swell
                    for half in (0.0, 0.5):
                        hits.append(_Hit(origin + index + half, 0.5, instrument, velocity))
                    continue
                delay = 0.0
                if not index % swing_unit and (index // swing_unit) % 2 == 1:
                    delay = groove.swing * swing_unit
                velocity = HIT_VELOCITY[char] + _accent(index, steps_per_beat, meter)
                hits.append(_Hit(origin + index + delay, 1.0, instrument, velocity))
        if bar in crash_bars:
            hits.append(_Hit(float(origin), 2.0, "crash", 0.9))
    return hits


def timpani_pitch_class(
    instrument: str, chord: Sequence[int], tonic: int, scale: Sequence[int]
) -> int:
    """What a timpani hit plays: the tonic (`timp_root`) or the dominant (`timp_fifth`),
    swapped for the other when only that one is in the sounding chord, and the chord's
    bass (or its fifth) when it holds neither and that bass is in the key's scale."""
    dominant = (tonic + 7) % 12
    wanted, other = (dominant, tonic) if instrument == "timp_fifth" else (tonic, dominant)
    if not chord or wanted in chord:
        return wanted
    if other in chord:
        return other
    bass = chord[0]
    pitch_class = (bass + 7) % 12 if instrument == "timp_fifth" else bass
    return pitch_class if pitch_class in scale else wanted


def _timpani_class(
    instrument: str,
    step: float,
    chord_tones: ChordTones | None,
    tonic: int,
    scale: Sequence[int],
    steps_per_beat: int,
) -> int:
    beat_start = int(step) // steps_per_beat * steps_per_beat
    chord = list(chord_tones(beat_start, beat_start + steps_per_beat)) if chord_tones else []
    return timpani_pitch_class(instrument, chord, tonic, scale)


def _pitched_note(pitch_class: int, instrument: str, tonic: int, register: tuple[int, int]) -> int:
    """A timpani pitch low in the register: the tonic drum at the bottom, the dominant
    drum the nearest fifth to it (a fourth below when the register allows)."""
    low, high = register
    tonic_pitch = low + (tonic - low) % 12
    pitch = low + (pitch_class - low) % 12
    if pitch > high:
        pitch -= 12
    if instrument == "timp_fifth" and pitch - 12 >= low and pitch - 12 >= tonic_pitch - 7:
        pitch -= 12
    return max(pitch, low)


def _scale_intervals(mode: str) -> tuple[int, ...]:
    return MODE_INTERVALS[mode]


def pitched_register(stem: StemSpec) -> tuple[int, int]:
    return PITCHED_REGISTER if stem.register == StemSpec("_", "pad").register else stem.register


def drum_part(
    spec: GenerationSpec,
    stem: StemSpec,
    *,
    library: Sequence[Groove],
    energy: float,
    seed: int,
    variant_index: int,
    stem_index: int,
    chord_tones: ChordTones | None = None,
) -> DrumPart:
    """The part of a drums, percussion or pitched-percussion stem for one variant.

    Deterministic for (spec, stem, seed, variant_index, stem_index). At `spec.variance`
    0 every variant plays the main groove as written (fills at phrase ends included).
    `chord_tones(start_step, end_step)` gives the pitch classes of the chord sounding
    there, bass first: timpani (pitched stems and the orchestra kit's) follow it (see
    `timpani_pitch_class`); without it they keep to the tonic and dominant.
    """
    meter = spec.meter_info
    steps_per_beat = meter.steps_per_beat
    main, alternatives, style = choose_groove(library, spec, stem)
    rng = np.random.default_rng([seed & 0xFFFFFFFF, variant_index, stem_index, 0xD2])
    amount = float(spec.variance)
    # one large change per variant (another groove of the family, or a re-orchestration),
    # then small ones; variant 0 keeps the main groove with light variation
    change = "none"
    if variant_index > 0 and rng.random() < min(1.0, amount * CHANGE_RATE):
        swappable = any(i in SWAPS for i in main.levels[level_for(energy)]) and spec.bars > 1
        options = ["alternative"] * bool(alternatives) + ["swap"] * swappable
        if options:
            change = options[int(rng.integers(len(options)))]
    groove = main
    if change == "alternative":
        groove = alternatives[int(rng.integers(len(alternatives)))]
    level = level_for(energy)
    plan, after_fill = _bar_plan(
        groove,
        level,
        spec.bars,
        steps_per_beat,
        rng,
        amount
        * (PITCHED_SHARE if stem.pitched else 1.0)
        * (1.0 if variant_index > 0 else FIRST_VARIANT_SHARE),
        swap=change == "swap",
    )
    crash_bars = after_fill if groove.crash and level != "low" else set()
    key = spec.key_info
    scale = [(key.tonic + i) % 12 for i in _scale_intervals(key.mode)]
    notes: list[PartNote] = []
    register = pitched_register(stem)
    for hit in _hits(plan, groove, meter, crash_bars):
        if stem.pitched and hit.instrument not in TIMPANI:
            continue
        if hit.instrument in TIMPANI:
            pitch_class = _timpani_class(
                hit.instrument, hit.step, chord_tones, key.tonic, scale, steps_per_beat
            )
            if stem.pitched:
                pitch = _pitched_note(pitch_class, hit.instrument, key.tonic, register)
            else:
                pitch = kit_note(hit.instrument, stem.program, pitch_class, exact=True)
        else:
            pitch = kit_note(hit.instrument, stem.program, key.tonic)
        velocity = float(min(max(hit.velocity * groove.gain, 0.05), 1.0))
        notes.append((hit.step, hit.duration, pitch, velocity))
    return DrumPart(groove.name, style.family, style.reason, tuple(notes))
