"""The validated, resolved form of a template pack: what every other module reads.

Authored data only (immutable); playback state lives in the director. The transition
model is Godot 4's AudioStreamInteractive, renamed into the template's vocabulary, so
baking to a `.tres` is a translation (see docs/templates.md for the mapping).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from engine_core.motif import Motif
from engine_core.spec import GenerationSpec, samples_per_beat
from middleware.errors import UnknownStateError, UnknownStingerError
from middleware.prompt.infer import InferredValue

WILDCARD = "*"


class LeaveAt(StrEnum):
    """When the playing music is left (Godot: from_time)."""

    IMMEDIATE = "immediate"
    NEXT_BEAT = "next_beat"
    NEXT_BAR = "next_bar"
    NEXT_PHRASE = "next_phrase"
    LOOP_END = "loop_end"


class EnterAt(StrEnum):
    """Where the incoming music starts (Godot: to_time)."""

    START = "start"
    SAME_POSITION = "same_position"


class Fade(StrEnum):
    """How the two overlap (Godot: fade_mode)."""

    NONE = "none"
    IN = "in"
    OUT = "out"
    CROSS = "cross"
    AUTO = "auto"


class LengthUnit(StrEnum):
    BEATS = "beats"
    BARS = "bars"
    SECONDS = "seconds"


class SyncPoint(StrEnum):
    """Where a stinger lands."""

    IMMEDIATE = "immediate"
    NEXT_BEAT = "next_beat"
    NEXT_BAR = "next_bar"


@dataclass(frozen=True)
class FadeLength:
    value: float
    unit: LengthUnit

    def to_samples(self, bpm: float, beats_per_bar: int, sample_rate: int) -> int:
        """Fade length in samples at the given tempo (the outgoing music's, by convention)."""
        if self.unit is LengthUnit.SECONDS:
            return round(self.value * sample_rate)
        beats = self.value if self.unit is LengthUnit.BEATS else self.value * beats_per_bar
        return round(beats * samples_per_beat(bpm, sample_rate))


@dataclass(frozen=True)
class Filler:
    """Something played between leaving and entering: a stinger, or a generated bridge."""

    stinger: str | None = None  # name of a pack stinger
    bridge_bars: int = 0  # > 0: a generated bridge of this many bars (falls back to a cross)


@dataclass(frozen=True)
class TransitionRule:
    source: str  # state name or "*"
    target: str  # state name or "*"
    leave_at: LeaveAt = LeaveAt.NEXT_BAR
    enter_at: EnterAt = EnterAt.START
    fade: Fade = Fade.CROSS
    fade_length: FadeLength = FadeLength(1.0, LengthUnit.BARS)
    phrase_bars: int = 4  # the phrase length `next_phrase` waits for
    filler: Filler | None = None
    hold_previous: bool = False  # Godot's hold_previous: return to the source afterwards
    origin: str = "default"  # where the rule was written ("file.toml" or "default")


@dataclass(frozen=True)
class StingerTemplate:
    """A short one-shot cue laid over the music on a beat or bar."""

    name: str
    spec: GenerationSpec | None  # generated from prompt/tags/bars; None when `file` is set
    file: Path | None  # a designer-supplied audio file instead
    seed: int
    sync: SyncPoint = SyncPoint.NEXT_BEAT
    duck_db: float = -6.0  # music gain under the stinger
    gain_db: float = 0.0


@dataclass(frozen=True)
class StateTemplate:
    name: str
    spec: GenerationSpec
    seed: int
    variants: int
    source_file: str
    intensity: float = 1.0  # initial intensity when the state is entered without one
    variant_weights: tuple[float, ...] | None = None  # rotation weights, one per variant
    next: str | None = None  # one-shot states: where to go after playing once
    description: str = ""  # the designer's note (not part of the generation hash)
    #: every resolved musical value and its source (field, tag, prompt word, MiniLM, default)
    inferred: tuple[InferredValue, ...] = ()

    @property
    def one_shot(self) -> bool:
        return self.spec.one_shot

    @property
    def generation_hash(self) -> str:
        return self.spec.generation_hash()


@dataclass(frozen=True)
class PackDefaults:
    sample_rate: int = 48000
    soundfont: str | None = None
    seed: int = 0
    variants: int = 3
    loudness_lufs: float = -16.0
    # Musical defaults states inherit when they do not set them (None: not set in the pack).
    bpm: float | None = None
    meter: str | None = None
    key: str | None = None
    bars: int | None = None
    variance: float | None = None
    true_peak_db: float | None = None


@dataclass(frozen=True)
class TemplatePack:
    name: str
    root: Path
    description: str
    start_state: str
    defaults: PackDefaults
    states: Mapping[str, StateTemplate]
    stingers: Mapping[str, StingerTemplate] = field(default_factory=dict)
    transitions: tuple[TransitionRule, ...] = ()
    default_transition: TransitionRule = TransitionRule(WILDCARD, WILDCARD)
    motifs: Mapping[str, Motif] = field(default_factory=dict)  # pack-level [motifs.<name>]

    def state(self, name: str) -> StateTemplate:
        try:
            return self.states[name]
        except KeyError:
            raise UnknownStateError(
                f"unknown state {name!r} in pack {self.name!r} "
                f"(states: {', '.join(sorted(self.states))})",
                {"state": name, "states": sorted(self.states)},
            ) from None

    def stinger(self, name: str) -> StingerTemplate:
        try:
            return self.stingers[name]
        except KeyError:
            raise UnknownStingerError(
                f"unknown stinger {name!r} in pack {self.name!r} "
                f"(stingers: {', '.join(sorted(self.stingers)) or 'none'})",
                {"stinger": name, "stingers": sorted(self.stingers)},
            ) from None

    def transition(self, source: str, target: str) -> TransitionRule:
        """The rule for source -> target: exact, (source, *), (*, target), (*, *), default."""
        rules = {(r.source, r.target): r for r in self.transitions}
        for key in ((source, target), (source, WILDCARD), (WILDCARD, target)):
            if key in rules:
                return rules[key]
        return rules.get((WILDCARD, WILDCARD), self.default_transition)

    def reachable_from(self, source: str) -> tuple[str, ...]:
        """States a session in `source` may go to next (for pre-generation priorities).

        Any state can be requested at any time; explicit rules and a one-shot's `next`
        mark the likely ones, which come first.
        """
        likely: list[str] = []
        state = self.states.get(source)
        if state is not None and state.next:
            likely.append(state.next)
        for rule in self.transitions:
            if rule.source in (source, WILDCARD) and rule.target in self.states:
                likely.append(rule.target)
        rest = [s for s in self.states if s != source]
        ordered = [s for s in dict.fromkeys(likely + rest) if s != source]
        return tuple(ordered)
