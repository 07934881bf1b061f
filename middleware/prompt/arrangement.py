"""Stems for an inferred state: named instruments placed in roles, missing roles filled.

A complete arrangement has a melody, a harmony bed (chords or a pad), a bass and — unless
the prompt rules them out — drums. Instruments the prompt names take the roles their words
ask for ("harp arpeggios", "fiddle leads") or the roles they prefer (a choir is a pad,
brass plays chords, a harp plays the tune when nothing else does, else arpeggios); roles
still empty are filled from the genre's palette. Extra named instruments become layers
that join at higher intensity. Timpani (General MIDI 47) is a pitched percussion layer
(`role = "percussion"`, `pitched`): tonic and dominant in the groove's rhythm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine_core.spec import STEM_PATTERNS, StemSpec
from middleware.prompt.parse import Mention
from middleware.prompt.words import ROLE_LAYERS, ROLE_REGISTERS, Palette

TIMPANI = 47
STRINGS = 48
#: instruments that carry their own drone: "bagpipes with a drone" drones on the bagpipes
DRONING = frozenset({20, 21, 104, 109, 110, 111})  # reed organ, accordion, sitar, bagpipe,
# fiddle, shanai
#: Roles that fill one of the three core slots.
_SLOTS = {"melody": "melody", "harmony": "bed", "pad": "bed", "bass": "bass"}


@dataclass(frozen=True)
class PlannedStem:
    stem: StemSpec
    evidence: str  # why this stem and instrument ("prompt word 'harp'", "genre palette")
    source: str  # "prompt", "palette"


def fit_register(role: str, low: int, high: int, height: str | None = None) -> tuple[int, int]:
    """The role's register moved inside an instrument's range (the whole range if narrower);
    `height` "low" / "high" puts a narrower one (¾ of the width) at the bottom / top of the
    range ("low clarinet"), so a line fitted into it sounds there."""
    role_low, role_high = ROLE_REGISTERS[role]
    width = role_high - role_low
    if high - low <= width:
        return low, high
    if height is not None:  # the bottom / top three quarters of the role's width
        narrow = round(width * 0.75)
        return (low, low + narrow) if height == "low" else (high - narrow, high)
    centre = (role_low + role_high) / 2
    centre = min(max(centre, low + width / 2), high - width / 2)
    return round(centre - width / 2), round(centre + width / 2)


def _stem(
    name: str, role: str, program: int, register: tuple[int, int], *, extra: bool = False
) -> StemSpec:
    intensity, gain_db, pan = ROLE_LAYERS[role]
    if extra:
        intensity = (0.6, 1.0)
    return StemSpec(
        name=name,
        role=role,
        program=0 if role in ("drums", "percussion") else program,
        register=register,
        intensity=intensity,
        gain_db=gain_db,
        pan=pan,
        optional=extra and role in ("counter", "arp"),
    )


def _slug(word: str) -> str:
    return word.replace(" ", "_").replace("-", "_")


def plan_stems(
    mentions: Sequence[Mention],
    palette: Palette,
    palette_evidence: str,
    *,
    drums: bool,
    drums_evidence: str,
    energy: float,
    melody_word: tuple[str, int] | None = None,
) -> list[PlannedStem]:
    """The stems of an inferred arrangement, named after their instrument or role."""
    pitched: list[Mention] = []
    for mention in mentions:
        if mention.negated or mention.instrument.family == "drums":
            continue
        if all(m.instrument.program != mention.instrument.program for m in pitched):
            pitched.append(mention)
    slots: dict[str, Mention | None] = {"melody": None, "bed": None, "bass": None}
    roles: dict[int, str] = {}  # mention position -> role

    def take(mention: Mention, role: str) -> bool:
        slot = _SLOTS.get(role)
        if slot is None or slots[slot] is not None or mention.instrument.program == TIMPANI:
            return False
        slots[slot] = mention
        roles[mention.position] = role
        return True

    for mention in pitched:  # stated roles and first preferences
        take(mention, mention.role or mention.instrument.roles[0])
    for mention in pitched:  # then any preferred role still free
        if mention.position not in roles and mention.role is None:
            any(take(mention, role) for role in mention.instrument.roles)

    planned: list[PlannedStem] = []
    names: set[str] = set()

    def add(name: str, stem: StemSpec, evidence: str, source: str) -> None:
        unique, counter = name, 2
        while unique in names:
            unique, counter = f"{name}_{counter}", counter + 1
        names.add(unique)
        planned.append(PlannedStem(_replace_name(stem, unique), evidence, source))

    droning = next((m.instrument for m in pitched if m.instrument.program in DRONING), None)
    for mention in pitched:
        instrument = mention.instrument
        if mention.word in ("drone", "drones") and droning is not None:
            instrument = droning  # a bare "drone" sounds on the named instrument that drones
        role = roles.get(mention.position)
        extra = role is None
        if extra:
            role = mention.role or instrument.roles[0]
            if role == "melody":
                role = "counter"
        register = fit_register(role, instrument.low, instrument.high, mention.height)
        stem = _stem(_slug(mention.word), role, instrument.program, register, extra=extra)
        if mention.pattern in STEM_PATTERNS.get(role, ()):
            stem = _replace(stem, pattern=mention.pattern)
        if instrument.program == TIMPANI:
            stem = _timpani(stem)
        how = f"named {mention.word!r}" + (f" ({mention.role} stated)" if mention.role else "")
        how += f" ({mention.height} in its range)" if mention.height else ""
        how += f" ({stem.pattern} line)" if stem.pattern else ""
        add(_slug(mention.word), stem, how, "prompt")

    if slots["melody"] is None:
        if melody_word is not None:
            word, program = melody_word
            stem = _stem("melody", "melody", program, ROLE_REGISTERS["melody"])
            add("melody", stem, f"{word!r} calls for this melody instrument", "prompt")
        else:
            stem = _stem("melody", "melody", palette.melody, ROLE_REGISTERS["melody"])
            add("melody", stem, f"melody of the {palette_evidence} palette", "palette")
    bed = palette.bed
    if slots["bed"] is None:
        if energy < 0.3:
            bed = "pad"  # calm music holds its chords
        program = palette.pad if bed == "pad" else palette.harmony
        add(
            bed,
            _stem(bed, bed, program, ROLE_REGISTERS[bed]),
            f"{bed} of the {palette_evidence} palette",
            "palette",
        )
    elif energy >= 0.6 and roles.get(slots["bed"].position) == "pad":  # type: ignore[union-attr]
        pad_program = slots["bed"].instrument.program  # type: ignore[union-attr]
        program = palette.harmony if palette.harmony != pad_program else STRINGS
        stem = _stem("harmony", "harmony", program, ROLE_REGISTERS["harmony"])
        add(
            "harmony",
            _replace(stem, intensity=(0.5, 1.0)),
            "chords under the pad at high intensity",
            "palette",
        )
    if slots["bass"] is None:
        stem = _stem("bass", "bass", palette.bass, ROLE_REGISTERS["bass"])
        add("bass", stem, f"bass of the {palette_evidence} palette", "palette")
    if palette.arp is not None and energy >= 0.5 and all(p.stem.role != "arp" for p in planned):
        stem = _stem("arp", "arp", palette.arp, ROLE_REGISTERS["arp"], extra=True)
        add("arp", stem, f"arpeggio layer of the {palette_evidence} palette", "palette")

    wanted_drums = [m for m in mentions if not m.negated and m.instrument.family == "drums"]
    if drums:
        stem = _replace(_stem("drums", "drums", 0, ROLE_REGISTERS["drums"]), program=palette.kit)
        if energy >= 0.6:
            stem = _replace(stem, intensity=(0.0, 1.0))
        evidence = drums_evidence
        if palette.kit:
            evidence += f"; kit {palette.kit} of the {palette_evidence} palette"
        add("drums", stem, evidence, "prompt")
    if any(m.instrument.roles[0] == "percussion" for m in wanted_drums):
        word = next(m.word for m in wanted_drums if m.instrument.roles[0] == "percussion")
        stem = _stem("percussion", "percussion", 0, ROLE_REGISTERS["percussion"])
        add("percussion", stem, f"named {word!r}", "prompt")
    return planned


def _timpani(stem: StemSpec) -> StemSpec:
    """Timpani as pitched percussion, joining at intensity 0.4."""
    return _replace(
        stem,
        role="percussion",
        pitched=True,
        register=(41, 57),
        intensity=(0.4, 1.0),
        optional=False,
        pan=0.0,
    )


def _replace(stem: StemSpec, **changes: object) -> StemSpec:
    from dataclasses import replace

    return replace(stem, **changes)  # type: ignore[arg-type]


def _replace_name(stem: StemSpec, name: str) -> StemSpec:
    return stem if stem.name == name else _replace(stem, name=name)
