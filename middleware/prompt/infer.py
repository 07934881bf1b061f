"""Prompt -> a resolved state: tempo, key, meter, bars, tags, controls and stems, with sources.

`infer_state(prompt, given)` returns an `Inference`: every value a `GenerationSpec` needs
and, for each, where it came from. Precedence, strongest first:

1. **field** — what the template states (`given`): always wins;
2. **tag** — the template's tags (the precise control);
3. **prompt word** — what `parse.read_prompt` found ("85 BPM", "in G minor", "waltz",
   "gentle harp", "no drums");
4. **MiniLM similarity** — the sentence embedding (`similarity.PromptScorer`): a genre, the
   mode, energy/density/register, used only where no word decided;
5. **default** — a fixed fallback.

A state that omits `stems` is *composed from the prompt*: its tags (when it gives none),
energy, density and brightness are resolved too, and its stems are planned
(`arrangement.plan_stems`). A state that gives stems only gets what it omits (bpm, key,
meter, bars, and `instrument = "auto"` programs), so fully written templates keep their
generation hash. The engine receives the resolved `GenerationSpec`; its hash covers all
of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from statistics import mean
from typing import Any

from engine_core.model.controls import TAG_CONTROLS
from engine_core.spec import ALL_TAGS, GenerationSpec, StemSpec
from middleware.prompt.arrangement import fit_register, plan_stems
from middleware.prompt.parse import PromptReading, read_prompt
from middleware.prompt.similarity import PromptScorer, Scores
from middleware.prompt.words import (
    DEFAULT_PALETTE,
    GENRE_BPM,
    GENRE_DRUMS,
    GENRE_HINTS,
    GENRE_STYLE,
    GENRE_TONIC,
    GENRES,
    LOUD_GENRES,
    MODE_TONIC,
    PALETTES,
    QUIET_GENRES,
    ROLE_REGISTERS,
    WORDS,
    Palette,
)

DEFAULT_BPM = 100.0
DEFAULT_METER = "4/4"
DEFAULT_MODE = "major"
#: When MiniLM names no genre clearly: (highest energy, genre) — a calm prompt is ambient,
#: an intense one cinematic, anything between orchestral (game music's neutral palette).
ENERGY_GENRES: tuple[tuple[float, str], ...] = (
    (0.35, "ambient"),
    (0.7, "orchestral"),
    (1.0, "cinematic"),
)
#: Tag meters (the precise control): these genre tags fix the meter when the state does not.
TAG_METERS = {"waltz": "3/4", "jig": "6/8", "shanty": "6/8", "march": "4/4"}
#: Meters whose beat (the bpm's unit) is not the felt pulse: the bpm a felt tempo asks for
#: is this many times larger (7/8 counts eighth notes; see docs/templates.md).
BEAT_UNITS: dict[str, float] = {"7/8": 2.0}


class Source(StrEnum):
    """Where a resolved value came from (strongest first)."""

    FIELD = "field"
    TAG = "tag"
    PROMPT = "prompt word"
    MINILM = "MiniLM similarity"
    DEFAULT = "default"


@dataclass(frozen=True)
class InferredValue:
    """One resolved value and its source: `templates show` prints these."""

    key: str  # "bpm", "key", "meter", "bars", "tags", "energy", ..., "stems.<name>"
    value: Any  # JSON-able
    source: Source
    evidence: str  # the words, tag, similarity or file it came from

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "source": self.source.value,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class StemRequest:
    """A stem the template writes; `auto_instrument`: its program is left to the prompt."""

    stem: StemSpec
    auto_instrument: bool = False
    register_given: bool = True


@dataclass(frozen=True)
class Given:
    """What the template states; None = left to the prompt. `origin`: key -> where written."""

    bpm: float | None = None
    key: str | None = None
    meter: str | None = None
    bars: int | None = None
    tags: tuple[str, ...] | None = None
    energy: float | None = None
    density: float | None = None
    brightness: float | None = None
    style: str | None = None  # the model's style family: chorale, folk, renaissance
    stems: tuple[StemRequest, ...] | None = None
    origin: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Inference:
    """The resolved musical values of a state, and where each came from."""

    prompt: str
    bpm: float
    key: str
    meter: str
    bars: int
    tags: tuple[str, ...]
    stems: tuple[StemSpec, ...]
    energy: float | None
    density: float | None
    brightness: float | None
    values: tuple[InferredValue, ...]
    style: str | None = None

    def spec(self, **rest: Any) -> GenerationSpec:
        """The `GenerationSpec` (pass the non-musical fields: sample_rate, groove...)."""
        if self.style is not None:
            rest["extra"] = (*rest.get("extra", ()), ("style", self.style))
        return GenerationSpec(
            prompt=self.prompt,
            tags=self.tags,
            bpm=self.bpm,
            meter=self.meter,
            key=self.key,
            bars=self.bars,
            stems=self.stems,
            energy=self.energy,
            density=self.density,
            brightness=self.brightness,
            **rest,
        )

    def value(self, key: str) -> InferredValue:
        for item in self.values:
            if item.key == key:
                return item
        raise KeyError(key)

    def to_json(self) -> list[dict[str, Any]]:
        return [v.to_json() for v in self.values]


class _Resolver:
    def __init__(self, reading: PromptReading, given: Given, scorer: PromptScorer | None) -> None:
        self.reading = reading
        self.given = given
        self._scorer = scorer
        self._scores: Scores | None = None
        self.values: list[InferredValue] = []
        self.composed = given.stems is None

    # -- helpers ------------------------------------------------------------------------

    @property
    def scores(self) -> Scores:
        if self._scores is None:
            scorer = self._scorer or PromptScorer()
            self._scores = scorer.scores(self.reading.text)
        return self._scores

    def record(self, key: str, value: Any, source: Source, evidence: str) -> Any:
        self.values.append(InferredValue(key, value, source, evidence))
        return value

    def field(self, key: str) -> str:
        return self.given.origin.get(key, "template")

    def word_values(self, attribute: str) -> list[tuple[str, Any]]:
        return [
            (w, getattr(e, attribute))
            for w, e in self.reading.words
            if getattr(e, attribute) is not None
        ]

    # -- tags and genre -----------------------------------------------------------------

    def word_tags(self) -> list[tuple[str, str]]:
        """(tag, word) pairs the prompt's words imply, first mention first."""
        found: dict[str, str] = {}
        for word, effect in self.reading.words:
            for tag in effect.tags:
                if tag in ALL_TAGS:
                    found.setdefault(tag, word)
        return list(found.items())

    def resolve_genre(self) -> tuple[str | None, Source, str]:
        if self.given.tags:
            for tag in self.given.tags:
                if tag in GENRES:
                    return tag, Source.TAG, f"tag {tag!r}"
        for tag, word in self.word_tags():
            if tag in GENRES:
                return tag, Source.PROMPT, repr(word)
        tokens = set(self.reading.tokens)
        for word, genre in GENRE_HINTS.items():
            if word in tokens:
                return genre, Source.PROMPT, f"{word!r} suggests {genre}"
        energies = [float(v) for _, v in self.word_values("energy")]
        level = mean(energies) if energies else 0.5
        exclude = LOUD_GENRES if level < 0.35 else QUIET_GENRES if level > 0.7 else frozenset()
        best = self.scores.best_genre(exclude)
        if best is not None:
            return best[0], Source.MINILM, f"genre {best[0]!r} {best[1]:.2f}"
        (top, first), (runner, second) = self.scores.ranked_genres(exclude)[:2]
        fallback = next(genre for limit, genre in ENERGY_GENRES if level <= limit)
        unsure = f"MiniLM unsure ({top} {first:.2f}, {runner} {second:.2f})"
        source = Source.PROMPT if energies else Source.DEFAULT
        return fallback, source, f"{unsure}: energy {level:.2f} takes {fallback}"

    def resolve_tags(self, genre: str | None, genre_source: Source) -> tuple[str, ...]:
        if self.given.tags is not None:
            tags = tuple(self.given.tags)
            self.record("tags", list(tags), Source.FIELD, self.field("tags"))
            return tags
        if not self.composed:
            return ()  # a written arrangement without tags keeps none (hash unchanged)
        pairs = self.word_tags()
        tags = [t for t, _ in pairs]
        evidence = ", ".join(f"{t} <- {w!r}" for t, w in pairs)
        source = Source.PROMPT
        if genre is not None and genre not in tags:
            tags.insert(0, genre)
            evidence = f"{genre} <- {genre_source.value}" + (f"; {evidence}" if evidence else "")
            source = genre_source if not pairs else Source.PROMPT
        self.record("tags", tags, source if tags else Source.DEFAULT, evidence or "none")
        return tuple(tags)

    # -- scalar controls ----------------------------------------------------------------

    def scalar(
        self, name: str, word_attr: str, tag_control: str, minilm: str
    ) -> tuple[float, Source, str]:
        given = getattr(self.given, name)
        if given is not None:
            return given, Source.FIELD, self.field(name)
        tag_values = [
            float(v)
            for tag in self.given.tags or ()
            for control, v in TAG_CONTROLS.get(tag, ())
            if control == tag_control
        ]
        if tag_values:
            return (
                round(mean(tag_values), 4),
                Source.TAG,
                "tags " + ", ".join(self.given.tags or ()),
            )
        words = self.word_values(word_attr)
        if words:
            value = round(mean(float(v) for _, v in words), 4)
            return value, Source.PROMPT, ", ".join(repr(w) for w, _ in words)
        implied = [
            (word, float(v))
            for tag, word in self.word_tags()
            for control, v in TAG_CONTROLS.get(tag, ())
            if control == tag_control
        ]
        if implied:
            value = round(mean(v for _, v in implied), 4)
            return value, Source.PROMPT, ", ".join(repr(w) for w, _ in implied)
        from_model = getattr(self.scores, minilm)
        if from_model is not None:
            return from_model, Source.MINILM, f"{minilm} anchors"
        return 0.5, Source.DEFAULT, "middle"

    # -- musical values -----------------------------------------------------------------

    def resolve_meter(self) -> str:
        if self.given.meter is not None:
            return self.record("meter", self.given.meter, Source.FIELD, self.field("meter"))
        for tag in self.given.tags or ():
            if tag in TAG_METERS:
                return self.record("meter", TAG_METERS[tag], Source.TAG, f"tag {tag!r}")
        found = self.reading.meter
        if found is not None:
            note = f" ({self.reading.meter_note})" if self.reading.meter_note else ""
            return self.record("meter", found.value, Source.PROMPT, f"{found.words!r}{note}")
        return self.record("meter", DEFAULT_METER, Source.DEFAULT, "common time")

    def resolve_bpm(
        self, genre: str | None, genre_source: Source, energy: tuple, meter: str
    ) -> float:
        if self.given.bpm is not None:
            return self.record("bpm", float(self.given.bpm), Source.FIELD, self.field("bpm"))
        units = BEAT_UNITS.get(meter, 1.0)
        if self.reading.bpm is not None:
            stated, words = float(self.reading.bpm.value), self.reading.bpm.words
            if units == 1.0 or "eighth" in words.lower():
                return self.record("bpm", stated, Source.PROMPT, repr(words))
            if stated * units > 300:
                note = f"{words!r} (over 300 as quarter notes: taken as eighths)"
                return self.record("bpm", stated, Source.PROMPT, note)
            # "150 bpm" counts quarter notes, as a DAW's tempo does; the bpm of a 7/8 state
            # counts eighths
            note = f"{words!r} (quarter notes, as a DAW counts them: {stated * units:g} eighths)"
            return self.record("bpm", stated * units, Source.PROMPT, note)
        tempo_words = self.word_values("bpm")
        if tempo_words:
            value = float(min(300, round(units * mean(float(v) for _, v in tempo_words))))
            return self.record(
                "bpm", value, Source.PROMPT, ", ".join(repr(w) for w, _ in tempo_words)
            )
        level, level_source, level_evidence = energy
        felt = (0.8 if meter in ("6/8", "12/8") else 1.0) * units
        from_energy = min(300.0, (60 + 100 * level) * felt)
        if genre is not None:
            base = min(300.0, GENRE_BPM[genre] * units)
            if level_source in (Source.FIELD, Source.TAG, Source.PROMPT):
                value = float(round(0.4 * base + 0.6 * from_energy))
                return self.record(
                    "bpm",
                    value,
                    genre_source,
                    f"{genre} tempo {base:g} with energy {level:.2f} ({level_evidence})",
                )
            return self.record("bpm", float(base), genre_source, f"{genre} tempo")
        source = level_source if level_source is not Source.FIELD else Source.FIELD
        return self.record(
            "bpm", float(round(from_energy)), source, f"from energy {level:.2f} ({level_evidence})"
        )

    def resolve_key(self, genre: str | None) -> str:
        if self.given.key is not None:
            return self.record("key", self.given.key, Source.FIELD, self.field("key"))
        reading = self.reading
        if reading.mode is not None:
            mode, mode_source, mode_evidence = (
                reading.mode.value,
                Source.PROMPT,
                repr(reading.mode.words),
            )
        else:
            tag_modes = [
                (t, WORDS[t].mode) for t in self.given.tags or () if t in WORDS and WORDS[t].mode
            ]
            word_modes = self.word_values("mode")
            if tag_modes:
                mode, mode_source = _majority(tag_modes), Source.TAG
                mode_evidence = ", ".join(f"tag {t!r}" for t, _ in tag_modes)
            elif word_modes:
                mode, mode_source = _majority(word_modes), Source.PROMPT
                mode_evidence = ", ".join(repr(w) for w, _ in word_modes)
            elif (scored := self.scores.mode()) is not None:
                mode, mode_source = scored[0], Source.MINILM
                mode_evidence = f"{scored[0]} anchor closer by {scored[1]:.3f}"
            else:
                mode, mode_source, mode_evidence = DEFAULT_MODE, Source.DEFAULT, "major"
        if reading.tonic is not None:
            tonic = str(reading.tonic.value)
            tonic_evidence = f"tonic {reading.tonic.words!r}"
        elif genre in GENRE_TONIC:
            major, minor = GENRE_TONIC[genre]
            tonic = minor if mode in ("minor", "dorian", "phrygian") else major
            tonic_evidence = f"{genre} tonic"
        else:
            tonic = MODE_TONIC[mode]
            tonic_evidence = f"{mode}'s home tonic"
        source = Source.PROMPT if reading.tonic is not None else mode_source
        return self.record(
            "key", f"{tonic} {mode}", source, f"mode: {mode_evidence}; {tonic_evidence}"
        )

    def resolve_bars(self, default_bars: int) -> int:
        if self.given.bars is not None:
            return self.record("bars", self.given.bars, Source.FIELD, self.field("bars"))
        if self.reading.bars is not None:
            return self.record(
                "bars", self.reading.bars.value, Source.PROMPT, repr(self.reading.bars.words)
            )
        return self.record("bars", default_bars, Source.DEFAULT, f"{default_bars} bars")

    def resolve_drums(
        self, genre: str | None, genre_source: Source, energy: float
    ) -> tuple[bool, Source, str]:
        reading = self.reading
        if reading.no_drums:
            return False, Source.PROMPT, repr(reading.no_drums)
        named = [m.word for m in reading.wanted if m.instrument.roles[0] == "drums"]
        if named:
            return True, Source.PROMPT, f"named {named[0]!r}"
        for tag in self.given.tags or ():
            wants = WORDS[tag].drums if tag in WORDS else None
            if wants is not None:
                return wants, Source.TAG, f"tag {tag!r}"
        votes = self.word_values("drums")
        if votes:
            yes = [w for w, v in votes if v]
            no = [w for w, v in votes if not v]
            wanted = len(yes) > len(no) if len(yes) != len(no) else energy >= 0.5
            words = yes if wanted else no
            return wanted, Source.PROMPT, ", ".join(repr(w) for w in words)
        if genre in GENRE_DRUMS:
            return (
                GENRE_DRUMS[genre],
                genre_source,
                f"{genre} {'has' if GENRE_DRUMS[genre] else 'has no'} drums",
            )
        return (
            energy >= 0.45,
            Source.DEFAULT,
            f"energy {energy:.2f} {'>=' if energy >= 0.45 else '<'} 0.45",
        )

    # -- stems --------------------------------------------------------------------------

    def resolve_stems(
        self,
        genre: str | None,
        genre_source: Source,
        energy: float,
        drums: tuple[bool, Source, str],
    ) -> tuple[StemSpec, ...]:
        palette = PALETTES.get(genre or "", DEFAULT_PALETTE)
        palette_name = genre or "default"
        if self.given.stems is not None:
            return self._complete_given(palette, palette_name, genre_source)
        wants, drum_source, drum_evidence = drums
        self.record("drums", wants, drum_source, drum_evidence)
        melody_words = self.word_values("melody")
        planned = plan_stems(
            self.reading.mentions,
            palette,
            palette_name,
            drums=wants,
            drums_evidence=drum_evidence,
            energy=energy,
            melody_word=melody_words[0] if melody_words else None,
        )
        stems = []
        for item in planned:
            source = Source.PROMPT if item.source == "prompt" else genre_source
            if item.stem.is_drums:
                source = drum_source
            self.record(f"stems.{item.stem.name}", _stem_json(item.stem), source, item.evidence)
            stems.append(item.stem)
        return tuple(sorted(stems, key=lambda s: s.name))

    def _complete_given(
        self, palette: Palette, palette_name: str, genre_source: Source
    ) -> tuple[StemSpec, ...]:
        used: set[int] = set()
        result: list[StemSpec] = []
        requests = self.given.stems or ()
        for request in requests:
            stem = request.stem
            if not request.auto_instrument:
                self.record(
                    f"stems.{stem.name}", _stem_json(stem), Source.FIELD, self.field("stems")
                )
                result.append(stem)
                continue
            if stem.is_drums:
                chosen = replace(stem, program=0)
                self.record(
                    f"stems.{stem.name}", _stem_json(chosen), Source.DEFAULT, "standard kit"
                )
                result.append(chosen)
                continue
            mention = next(
                (
                    m
                    for m in self.reading.wanted
                    if m.position not in used
                    and m.instrument.family != "drums"
                    and (
                        m.role == stem.role or (m.role is None and stem.role in m.instrument.roles)
                    )
                ),
                None,
            )
            if mention is not None:
                used.add(mention.position)
                register = stem.register
                if not request.register_given:
                    register = fit_register(
                        stem.role, mention.instrument.low, mention.instrument.high
                    )
                chosen = replace(stem, program=mention.instrument.program, register=register)
                self.record(
                    f"stems.{stem.name}",
                    _stem_json(chosen),
                    Source.PROMPT,
                    f"named {mention.word!r}",
                )
            else:
                program = _palette_program(palette, stem.role)
                register = stem.register if request.register_given else ROLE_REGISTERS[stem.role]
                chosen = replace(stem, program=program, register=register)
                self.record(
                    f"stems.{stem.name}",
                    _stem_json(chosen),
                    genre_source,
                    f"{stem.role} of the {palette_name} palette",
                )
            result.append(chosen)
        return tuple(result)


def _palette_program(palette: Palette, role: str) -> int:
    return {
        "melody": palette.melody,
        "counter": palette.melody,
        "harmony": palette.harmony,
        "pad": palette.pad,
        "arp": palette.arp if palette.arp is not None else palette.harmony,
        "bass": palette.bass,
    }[role]


def _majority(pairs: Sequence[tuple[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for _, value in pairs:
        counts[value] = counts.get(value, 0) + 1
    return max(counts, key=lambda v: (counts[v], v == "minor"))


def _stem_json(stem: StemSpec) -> dict[str, Any]:
    from middleware.prompt.names import instrument_label

    found = {
        "role": stem.role,
        "program": stem.program,
        "instrument": instrument_label(stem),
        "register": list(stem.register),
        "intensity": list(stem.intensity),
        "gain_db": stem.gain_db,
        "pan": stem.pan,
        "optional": stem.optional,
    }
    if stem.pattern is not None:
        found["pattern"] = stem.pattern
    return found


def infer_state(
    prompt: str,
    given: Given | None = None,
    *,
    scorer: PromptScorer | None = None,
    default_bars: int = 4,
) -> Inference:
    """Resolve a state from its prompt and what the template gives (see module docstring).

    Raises `PromptError` for an empty or self-contradicting prompt. MiniLM is consulted only
    for values no field, tag or word decides (and its scores are cached on disk).
    """
    reading = read_prompt(prompt)
    given = given or Given()
    r = _Resolver(reading, given, scorer)
    genre, genre_source, genre_evidence = (None, Source.DEFAULT, "")
    needs_genre = (
        given.bpm is None
        or given.key is None
        or given.stems is None
        or any(s.auto_instrument for s in given.stems or ())
    )
    if needs_genre:
        genre, genre_source, genre_evidence = r.resolve_genre()
        r.record("genre", genre, genre_source, genre_evidence)
    tags = r.resolve_tags(genre, genre_source)
    meter = r.resolve_meter()
    bars = r.resolve_bars(default_bars)
    needs_energy = r.composed or given.bpm is None
    energy = r.scalar("energy", "energy", "energy", "energy") if needs_energy else None
    bpm = (
        r.resolve_bpm(genre, genre_source, energy, meter)
        if given.bpm is None
        else r.record("bpm", float(given.bpm), Source.FIELD, r.field("bpm"))
    )
    key = r.resolve_key(genre)
    controls: dict[str, float | None] = {
        "energy": given.energy,
        "density": given.density,
        "brightness": given.brightness,
    }
    if r.composed and energy is not None:
        controls["energy"] = energy[0]
        r.record("energy", energy[0], energy[1], energy[2])
        for name, word_attr, tag_control, minilm in (
            ("density", "density", "density", "density"),
            ("brightness", "brightness", "register", "register"),
        ):
            value, source, evidence = r.scalar(name, word_attr, tag_control, minilm)
            controls[name] = value
            r.record(name, value, source, evidence)
    else:
        for name in ("energy", "density", "brightness"):
            if controls[name] is not None:
                r.record(name, controls[name], Source.FIELD, r.field(name))
    level = controls["energy"] if controls["energy"] is not None else (energy[0] if energy else 0.5)
    drums = (
        r.resolve_drums(genre, genre_source, level) if r.composed else (False, Source.DEFAULT, "")
    )
    stems = r.resolve_stems(genre, genre_source, level, drums)
    style = given.style
    if style is not None:
        r.record("style", style, Source.FIELD, r.field("style"))
    elif r.composed:
        style = GENRE_STYLE.get(genre or "", "chorale")
        evidence = (
            f"{genre} music" if genre in GENRE_STYLE else "full texture: melody, harmony, bass"
        )
        r.record("style", style, genre_source if genre in GENRE_STYLE else Source.DEFAULT, evidence)
    return Inference(
        prompt=reading.text,
        bpm=bpm,
        key=key,
        meter=meter,
        bars=bars,
        tags=tags,
        stems=stems,
        energy=controls["energy"],
        density=controls["density"],
        brightness=controls["brightness"],
        values=tuple(r.values),
        style=style,
    )
