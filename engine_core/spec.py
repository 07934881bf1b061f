"""What the engine is asked to make: a `GenerationSpec` per state (or stinger) and its stems.

The middleware turns a designer's template into a `GenerationSpec`; the engine never sees
TOML. A spec holds exactly what changes the generated audio, so its canonical hash
(`GenerationSpec.generation_hash`) is the template's *generation hash*: transition rules,
comments, key order and the seed live elsewhere and do not change it.

Timing maths that every layer shares (beats to samples) live here too, as pure functions
with exact rational arithmetic, so the engine's loop points, the director's sync points and
the baked manifests agree to the sample.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from engine_core.errors import InvalidSpecError
from engine_core.motif import MotifError, MotifUse, fit_meter

# ---------------------------------------------------------------------------------------
# Vocabularies (documented in docs/templates.md)
# ---------------------------------------------------------------------------------------

#: The meters the model was trained on (its meter control token, in this order).
METERS: tuple[str, ...] = ("4/4", "3/4", "6/8")
#: Every meter a template may use: the trained ones, then meters the composer writes in a
#: trained host meter and re-bars (`engine_core.model.rebar`; docs/engine.md).
SUPPORTED_METERS: tuple[str, ...] = (*METERS, "2/4", "12/8", "5/4", "7/8")
#: Beat groups of a bar, in beats (the felt pulse; eighths in 7/8). Each group's first
#: beat is strong: 5/4 = 3+2 (beats 1 and 4), 7/8 = 2+2+3 (eighths 1, 3 and 5), 12/8 =
#: 2+2 dotted quarters (beats 1 and 3). The trained meters keep their own accent rules.
METER_GROUPS: dict[str, tuple[int, ...]] = {
    "4/4": (2, 2), "3/4": (3,), "6/8": (2,), "2/4": (2,), "12/8": (2, 2), "5/4": (3, 2),
    "7/8": (2, 2, 3),
}  # fmt: skip
LOOP_BARS: tuple[int, ...] = (1, 2, 4, 8, 16)
MODES: tuple[str, ...] = ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian")
PITCH_CLASSES: dict[str, int] = {
    "C": 0, "B#": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "Fb": 4, "F": 5,
    "E#": 5, "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10,
    "B": 11, "Cb": 11,
}  # fmt: skip

#: Stem roles: which part of the score a stem voices.
STEM_ROLES: tuple[str, ...] = (
    "melody",  # the tune (score track "melody")
    "counter",  # a counter-line derived from melody and harmony
    "harmony",  # chords voiced from the score's harmony track
    "pad",  # sustained chords, one per bar or half bar
    "arp",  # the harmony broken into an arpeggio
    "bass",  # the score's bass track
    "drums",  # General MIDI drum kit, from the groove library
    "percussion",  # hand percussion from the groove library (pitched: timpani, in the key)
)
#: named lines a stem may ask for, by role (`StemSpec.pattern`): a walking bass steps in
#: quarter notes from chord root to chord root (`engine_core.arrange.walking`); a drone
#: holds the tonic (a pad: and its fifth) under the chords (`engine_core.arrange.drone`)
STEM_PATTERNS: dict[str, tuple[str, ...]] = {"bass": ("walking", "drone"), "pad": ("drone",)}

#: Style tags a template may use, by category. The conditioning maps each onto the
#: model's control vector (see docs/model_card.md); unknown tags are template errors.
TAG_VOCABULARY: dict[str, tuple[str, ...]] = {
    "genre": (
        "orchestral", "chorale", "folk", "celtic", "medieval", "renaissance", "baroque",
        "chiptune", "synthwave", "electronic", "ambient", "rock", "jazz", "lofi", "cinematic",
        "waltz", "march", "jig", "shanty", "horror", "tribal",
    ),
    "mood": (
        "calm", "peaceful", "happy", "playful", "heroic", "triumphant", "epic", "tense",
        "dark", "ominous", "mysterious", "sad", "melancholic", "aggressive", "urgent",
        "dreamy", "nostalgic",
    ),
    "texture": (
        "sparse", "dense", "driving", "flowing", "staccato", "legato", "sustained", "space",
    ),
    "register": ("low", "mid", "high", "bright", "warm"),
}  # fmt: skip
ALL_TAGS: frozenset[str] = frozenset(t for tags in TAG_VOCABULARY.values() for t in tags)


# ---------------------------------------------------------------------------------------
# Meter, key and time
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Meter:
    """A time signature. Beats are the felt pulse: quarters in x/4, dotted quarters in 6/8."""

    numerator: int
    denominator: int

    @classmethod
    def parse(cls, text: str) -> Meter:
        if text not in SUPPORTED_METERS:
            raise InvalidSpecError(
                f"unsupported meter {text!r}: the engine plays {', '.join(SUPPORTED_METERS)}",
                {"field": "meter", "allowed": list(SUPPORTED_METERS), "value": text},
            )
        num, den = text.split("/")
        return cls(int(num), int(den))

    @property
    def text(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    @property
    def compound(self) -> bool:
        return self.denominator == 8 and self.numerator % 3 == 0

    @property
    def beats_per_bar(self) -> int:
        return self.numerator // 3 if self.compound else self.numerator

    @property
    def steps_per_beat(self) -> int:
        """Sixteenth-note grid steps in one beat (6 for a dotted quarter)."""
        return 6 if self.compound else 16 // self.denominator

    @property
    def steps_per_bar(self) -> int:
        return self.beats_per_bar * self.steps_per_beat

    @property
    def trained(self) -> bool:
        """The model composes this meter directly (else in a host meter, re-barred)."""
        return self.text in METERS

    @property
    def groups(self) -> tuple[int, ...]:
        """The bar's beat groups, in beats (5/4: (3, 2); 7/8: (2, 2, 3))."""
        return METER_GROUPS[self.text]

    @property
    def group_starts(self) -> tuple[int, ...]:
        """Grid steps inside the bar where a beat group starts (the strong beats)."""
        starts, beat = [], 0
        for size in self.groups:
            starts.append(beat * self.steps_per_beat)
            beat += size
        return tuple(starts)


#: The trained meter a new meter is composed in (`engine_core.model.rebar`).
HOST_METERS: dict[str, str] = {"2/4": "4/4", "12/8": "6/8", "5/4": "4/4", "7/8": "4/4"}


def model_meter(meter: str) -> str:
    """The meter the model composes `meter` in: itself when trained, else its host."""
    return HOST_METERS.get(meter, meter)


@dataclass(frozen=True)
class Key:
    """A tonic pitch class and a mode, parsed from text such as ``"D minor"``."""

    tonic: int
    mode: str
    name: str

    @classmethod
    def parse(cls, text: str) -> Key:
        parts = text.split()
        if len(parts) != 2 or parts[0] not in PITCH_CLASSES or parts[1].lower() not in MODES:
            raise InvalidSpecError(
                f"cannot read key {text!r}: expected '<tonic> <mode>' such as 'D minor'",
                {"value": text, "tonics": sorted(PITCH_CLASSES), "modes": list(MODES)},
            )
        return cls(PITCH_CLASSES[parts[0]], parts[1].lower(), f"{parts[0]} {parts[1].lower()}")

    @property
    def is_minor(self) -> bool:
        """Minor-third modes (the model's binary mode condition)."""
        return self.mode in ("minor", "dorian", "phrygian")


def samples_per_beat(bpm: float, sample_rate: int) -> Fraction:
    """Exact length of one beat in samples (a rational number)."""
    return Fraction(60 * sample_rate) / Fraction(str(bpm))


def beat_to_sample(beat: int | Fraction, bpm: float, sample_rate: int) -> int:
    """Sample index of beat number `beat` (0-based) from a loop's start, rounded half up.

    Every layer uses this one function, so a beat lands on the same sample everywhere.
    """
    exact = Fraction(beat) * samples_per_beat(bpm, sample_rate)
    return int(exact + Fraction(1, 2)) if exact >= 0 else -int(-exact + Fraction(1, 2))


def loop_length_samples(bars: int, meter: Meter, bpm: float, sample_rate: int) -> int:
    """Length of a loop of `bars` bars in samples: bars x beats x 60/bpm x sr, rounded."""
    return beat_to_sample(bars * meter.beats_per_bar, bpm, sample_rate)


# ---------------------------------------------------------------------------------------
# Specs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StemSpec:
    """One instrument group of a loop: what it plays, on which instrument, when it sounds.

    `intensity` is the half-open range [low, high) of the 0-1 intensity parameter in which
    the stem is on (high == 1.0 includes 1.0); the director fades it in and out at the edges.
    """

    name: str
    role: str
    program: int = 0  # General MIDI program 0-127 (drum kit number for drums/percussion)
    register: tuple[int, int] = (48, 84)  # lowest and highest MIDI note
    intensity: tuple[float, float] = (0.0, 1.0)
    gain_db: float = 0.0
    pan: float = 0.0  # -1 (left) .. 1 (right)
    optional: bool = False  # the template accepts that this stem may come out silent
    pitched: bool = False  # a percussion stem on a melodic program (timpani): plays pitches
    pattern: str | None = None  # a named line for the role (`STEM_PATTERNS`): "walking" bass

    @property
    def is_drums(self) -> bool:
        """Plays a General MIDI drum kit (channel 10); pitched percussion does not."""
        return self.role in ("drums", "percussion") and not self.pitched


@dataclass(frozen=True)
class GenerationSpec:
    """Everything that determines a variant set's audio, except the seed.

    `energy`, `density` and `brightness` are 0-1 controls; ``None`` means "derive from
    the prompt and tags". Explicit values always win over what the text implies.
    """

    prompt: str
    tags: tuple[str, ...]
    bpm: float
    meter: str
    key: str
    bars: int
    stems: tuple[StemSpec, ...]
    energy: float | None = None
    density: float | None = None
    brightness: float | None = None
    groove: str | None = None  # a named groove from the library; None = chosen by tags
    one_shot: bool = False  # plays once (stingers, victory): rendered with its tail, no loop
    sample_rate: int = 48000
    soundfont: str | None = None  # path to an .sf2; None = the default bank (render.bank)
    loudness_lufs: float = -16.0
    true_peak_db: float = -1.0
    variance: float = 0.35  # retake variance between variants of a set (0 = identical)
    extra: tuple[tuple[str, Any], ...] = field(default=())  # backend-specific, hashed
    motif: MotifUse | None = None  # a leitmotif to quote (engine_core.motif), hashed

    def __post_init__(self) -> None:
        self.validate()

    @property
    def meter_info(self) -> Meter:
        return Meter.parse(self.meter)

    @property
    def key_info(self) -> Key:
        return Key.parse(self.key)

    @property
    def loop_samples(self) -> int:
        return loop_length_samples(self.bars, self.meter_info, self.bpm, self.sample_rate)

    def validate(self) -> None:
        """Raise `InvalidSpecError` naming the first field that is out of range."""
        Meter.parse(self.meter)
        Key.parse(self.key)
        if not 20 <= self.bpm <= 300:
            raise InvalidSpecError(f"bpm {self.bpm} outside 20-300", {"field": "bpm"})
        if self.bars not in LOOP_BARS:
            raise InvalidSpecError(f"bars {self.bars} not one of {LOOP_BARS}", {"field": "bars"})
        if self.sample_rate not in (22050, 32000, 44100, 48000):
            raise InvalidSpecError(
                f"sample_rate {self.sample_rate} not supported", {"field": "sample_rate"}
            )
        for name in ("energy", "density", "brightness"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise InvalidSpecError(f"{name} {value} outside 0-1", {"field": name})
        if not 0.0 <= self.variance <= 1.0:
            raise InvalidSpecError(f"variance {self.variance} outside 0-1", {"field": "variance"})
        if not self.stems:
            raise InvalidSpecError("a spec needs at least one stem", {"field": "stems"})
        seen: set[str] = set()
        for stem in self.stems:
            if stem.name in seen:
                raise InvalidSpecError(f"duplicate stem {stem.name!r}", {"field": "stems"})
            seen.add(stem.name)
            if stem.role not in STEM_ROLES:
                raise InvalidSpecError(
                    f"stem {stem.name!r}: unknown role {stem.role!r}",
                    {"field": "stems", "allowed": list(STEM_ROLES)},
                )
            if stem.pattern is not None and stem.pattern not in STEM_PATTERNS.get(stem.role, ()):
                allowed = [
                    f"{role}: {name}" for role, names in STEM_PATTERNS.items() for name in names
                ]
                raise InvalidSpecError(
                    f"stem {stem.name!r}: no pattern {stem.pattern!r} for the role {stem.role!r}",
                    {"field": "stems", "allowed": allowed},
                )
            if stem.pitched and stem.role != "percussion":
                raise InvalidSpecError(
                    f"stem {stem.name!r}: only a percussion stem can be pitched",
                    {"field": "stems"},
                )
            low, high = stem.intensity
            if not 0.0 <= low < high <= 1.0:
                raise InvalidSpecError(
                    f"stem {stem.name!r}: intensity range {stem.intensity} invalid",
                    {"field": "stems"},
                )
        if self.motif is not None:
            self._validate_motif(self.motif)

    def _validate_motif(self, use: MotifUse) -> None:
        """`MotifError` when the motif cannot be quoted in this loop by these stems."""
        Key.parse(use.motif.key)
        Meter.parse(use.motif.meter)
        meter = self.meter_info
        use = MotifUse(fit_meter(use.motif, self.meter), use.voice, use.every_bars, use.vary)
        use.validate(
            loop_steps=self.bars * meter.steps_per_bar,
            steps_per_bar=meter.steps_per_bar,
            bars=self.bars,
        )
        voices = [s for s in self.stems if s.role == use.voice]
        if not voices:
            raise MotifError(
                "bad_motif_use",
                f"motif {use.motif.name!r} is quoted in the {use.voice}, but no stem has "
                f"the role {use.voice!r}",
                field="motif",
            )
        widest = max(s.register[1] - s.register[0] for s in voices)
        if use.motif.span > widest:
            raise MotifError(
                "motif_out_of_range",
                f"motif {use.motif.name!r} spans {use.motif.span} semitones, wider than the "
                f"{use.voice} stem's register ({widest} semitones)",
                field="motif",
                motif=use.motif.name,
            )

    def canonical(self) -> dict[str, Any]:
        """A JSON-able dict with a fixed key order: the input of the generation hash."""
        data = asdict(self)
        data["tags"] = sorted(self.tags)
        data["bpm"] = float(self.bpm)
        data["extra"] = sorted([list(item) for item in self.extra])
        for stem in data["stems"]:
            if stem["pattern"] is None:
                del stem["pattern"]  # stems without a pattern keep the hash they always had
        if self.motif is None:
            del data["motif"]  # specs without a motif keep the hash they always had
        else:
            del data["motif"]["motif"]["name"]  # renaming a motif re-generates nothing
        return data

    def generation_hash(self) -> str:
        """SHA-256 (hex, 16 chars) of the canonical spec."""
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
