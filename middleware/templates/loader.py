"""Read a template pack folder into a validated `TemplatePack`.

A pack is a folder::

    pack.toml        [pack] name/description/start_state, [defaults], [stingers.<name>],
                     [transitions."<from> -> <to>"], optionally [states.<name>] inline
    <state>.toml     one file per state; the file name is the state name

`load_pack` reads every file, checks every value, and raises one `TemplateError` listing
every problem it found (file, line, key, bad value, what is allowed) if there is any.
States inherit `[defaults]` (tempo, meter, key, bars, seed, variants, loudness...) and
override any of it. The format is documented in docs/templates.md.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine_core.errors import InvalidSpecError
from engine_core.spec import GenerationSpec
from middleware.errors import PromptError, TemplateError, TemplateProblem
from middleware.prompt.infer import Given, Inference, StemRequest, infer_state
from middleware.prompt.similarity import PromptScorer
from middleware.prompt.words import STYLES
from middleware.templates import fields as f
from middleware.templates.fields import INVALID, FileProblems
from middleware.templates.model import (
    WILDCARD,
    PackDefaults,
    StateTemplate,
    StingerTemplate,
    SyncPoint,
    TemplatePack,
    TransitionRule,
)
from middleware.templates.motifs import motif_use, read_motifs, with_motif
from middleware.templates.transitions import read_transitions

PACK_FILE = "pack.toml"
PACK_SECTIONS = ("pack", "defaults", "states", "stingers", "transitions", "motifs")
PACK_KEYS = ("name", "description", "start_state")
#: Keys a state (or stinger) inherits from [defaults] when it does not set them.
INHERITED_KEYS = (
    "bpm", "meter", "key", "bars", "seed", "variants", "sample_rate", "soundfont",
    "loudness_lufs", "true_peak_db", "variance",
)  # fmt: skip
DEFAULT_KEYS = INHERITED_KEYS
SPEC_KEYS = ("prompt", "tags", "stems", "energy", "density", "brightness", "groove", "style")
STATE_KEYS = (
    *INHERITED_KEYS, *SPEC_KEYS, "description", "one_shot", "next", "intensity",
    "variant_weights", "motif",
)  # fmt: skip
STINGER_KEYS = (
    *INHERITED_KEYS, *SPEC_KEYS, "description", "file", "sync", "duck_db", "gain_db",
)  # fmt: skip
STATE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SYNTAX_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
#: Musical keys a state may leave to its prompt (middleware.prompt infers them).
PROMPT_KEYS = ("bpm", "key", "meter", "bars")
_FALLBACK_VALUES: dict[str, Any] = {
    "bars": 4,
    "seed": 0,
    "variants": 3,
    "sample_rate": 48000,
    "soundfont": None,
    "loudness_lufs": -16.0,
    "true_peak_db": -1.0,
    "variance": 0.35,
}


@dataclass(frozen=True)
class _Source:
    """One TOML file (or inline table) being read."""

    problems: FileProblems
    data: Mapping[str, Any]
    prefix: tuple[str, ...] = ()  # key path of an inline state inside pack.toml


def load_pack(path: str | Path) -> TemplatePack:
    """Load and validate the pack at `path`: its folder, its pack.toml or one of its files.

    Raises `TemplateError` listing every problem in every file of the pack.
    """
    given = Path(path)
    root = given.parent if given.suffix == ".toml" and given.is_file() else given
    pack_file = root / PACK_FILE
    if not pack_file.is_file():
        where = str(given)
        raise TemplateError(
            [TemplateProblem(where, PACK_FILE, f"no {PACK_FILE} found (is {where} a pack folder?)")]
        )
    return _PackReader(root).read()


def _parse(file: Path) -> tuple[dict[str, Any] | None, FileProblems]:
    """Parse one TOML file; a syntax error becomes a problem with its line and column."""
    display = str(file)
    try:
        text = file.read_text(encoding="utf-8-sig")  # tolerate a byte-order mark
    except (OSError, UnicodeDecodeError) as error:
        problems = FileProblems(display)
        problems.add((), f"cannot read the file: {error}")
        return None, problems
    problems = FileProblems(display, text)
    try:
        return tomllib.loads(text), problems
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _SYNTAX_POSITION.search(message)
        line = int(position.group(1)) if position else None
        reason = _SYNTAX_POSITION.sub("", message).strip()
        if position:
            reason += f" at column {position.group(2)}"
        problems.problems.append(
            TemplateProblem(display, "(syntax)", f"TOML syntax error: {reason}", line=line)
        )
        return None, problems


class _PackReader:
    """Reads one pack folder; collects problems from every file before raising."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[FileProblems] = []
        self.defaults: dict[str, Any] = {}
        self._state_names: set[str] = set()  # every state defined, readable or not
        self._scorer: PromptScorer | None = None  # MiniLM, loaded only if a prompt needs it
        #: key path (or file) of each state/stinger -> what its prompt resolved
        self.inferences: dict[tuple[str, ...], Inference] = {}

    def read(self) -> TemplatePack:
        pack_data, pack_problems = _parse(self.root / PACK_FILE)
        self.files.append(pack_problems)
        pack_data = pack_data or {}
        pack = _Source(pack_problems, pack_data)
        pack_problems.check_keys(pack_data, PACK_SECTIONS, ())
        info = self._section(pack, "pack")
        pack_problems.check_keys(info, PACK_KEYS, ("pack",))
        self._read_defaults(pack)
        self.motifs = read_motifs(pack_problems, self._section(pack, "motifs"), self.root)

        states = self._read_states(pack)
        stingers = self._read_stingers(pack)
        transitions = read_transitions(
            pack_problems,
            self._section(pack, "transitions"),
            self._state_names,
            self._stinger_names,
            origin=PACK_FILE,
            grids={n: (s.spec.bpm, s.spec.meter, s.spec.bars) for n, s in states.items()},
        )
        self._check_next(states)

        name = self._string(pack, ("pack", "name"), info.get("name", self.root.name))
        description = self._string(pack, ("pack", "description"), info.get("description", ""))
        start_state = info.get("start_state")
        if start_state is None:
            start_state = "menu" if "menu" in states else next(iter(sorted(states)), "")
        elif start_state not in self._state_names:
            pack_problems.add(
                ("pack", "start_state"),
                f"unknown state {start_state!r}{f.suggest(str(start_state), self._state_names)}",
                value=start_state,
                allowed=", ".join(sorted(self._state_names)) or "(no states defined)",
            )
        if not states and all(not file.problems for file in self.files):
            pack_problems.add(
                ("states",), "the pack defines no states", allowed="<state>.toml files"
            )

        problems = [p for file in self.files for p in file.problems]
        if problems:
            raise TemplateError(problems)
        return TemplatePack(
            name=name,
            root=self.root,
            description=description,
            start_state=start_state,
            defaults=self._pack_defaults(),
            states=dict(sorted(states.items())),
            stingers=dict(sorted(stingers.items())),
            transitions=tuple(transitions),
            default_transition=TransitionRule(WILDCARD, WILDCARD),
            motifs=dict(sorted(self.motifs.items())),
        )

    # -- small readers --------------------------------------------------------------------

    def _section(self, source: _Source, name: str) -> Mapping[str, Any]:
        value = source.data.get(name, {})
        result = f.table(source.problems, (*source.prefix, name), value)
        return {} if result is INVALID else result

    def _string(self, source: _Source, path: tuple[str, ...], value: Any) -> str:
        checked = f.typed(source.problems, path, value, str)
        return "" if checked is INVALID else checked

    def _inherited(self, source: _Source, key: str, value: Any) -> Any:
        """Check one inheritable value (in [defaults], a state or a stinger)."""
        path = (*source.prefix, key)
        problems = source.problems
        if key in ("bpm", "meter", "key", "bars", "sample_rate", "variance"):
            return f.spec_field(problems, path, key, value)
        if key == "seed":
            return f.in_range(problems, path, value, int, *f.SEED_RANGE)
        if key == "variants":
            return f.in_range(problems, path, value, int, *f.VARIANTS_RANGE)
        if key == "loudness_lufs":
            return f.in_range(problems, path, value, float, *f.LOUDNESS_RANGE_LUFS)
        if key == "true_peak_db":
            return f.in_range(problems, path, value, float, *f.TRUE_PEAK_RANGE_DB)
        if key == "soundfont":
            text = f.typed(problems, path, value, str)
            if text is INVALID:
                return INVALID
            file = self.root / text
            if not file.is_file() or file.suffix.lower() != ".sf2":
                return problems.add(
                    path,
                    f"{text!r}: no .sf2 file there (paths are relative to the pack folder)",
                    value=text,
                    allowed="an existing .sf2 file, or leave it out for the General MIDI bank",
                )
            return str(file.resolve())
        raise KeyError(key)

    def _read_defaults(self, pack: _Source) -> None:
        section = self._section(pack, "defaults")
        pack.problems.check_keys(section, DEFAULT_KEYS, ("defaults",))
        inner = _Source(pack.problems, section, ("defaults",))
        for key, value in section.items():
            if key in DEFAULT_KEYS:
                self.defaults[key] = self._inherited(inner, key, value)

    def _pack_defaults(self) -> PackDefaults:
        d = {**_FALLBACK_VALUES, **self.defaults}
        return PackDefaults(
            sample_rate=d["sample_rate"],
            soundfont=d["soundfont"],
            seed=d["seed"],
            variants=d["variants"],
            loudness_lufs=d["loudness_lufs"],
            bpm=self.defaults.get("bpm"),
            meter=self.defaults.get("meter"),
            key=self.defaults.get("key"),
            bars=self.defaults.get("bars"),
            variance=self.defaults.get("variance"),
            true_peak_db=self.defaults.get("true_peak_db"),
        )

    # -- generation specs (states and stingers) ---------------------------------------------

    def _resolve(self, source: _Source, allowed: tuple[str, ...]) -> dict[str, Any] | None:
        """Check a state's or stinger's own keys and merge them over the pack defaults."""
        problems = source.problems
        problems.check_keys(source.data, allowed, source.prefix)
        values: dict[str, Any] = {**_FALLBACK_VALUES, **self.defaults}
        own: dict[str, Any] = {}
        for key, value in source.data.items():
            if key in INHERITED_KEYS:
                own[key] = self._inherited(source, key, value)
        values.update(own)
        if any(value is INVALID for value in values.values()):
            return None  # the problem is reported where the bad value is written
        return values

    def _spec(
        self, source: _Source, values: dict[str, Any] | None, *, one_shot: bool, kind: str
    ) -> GenerationSpec | None:
        """Check the spec keys of a state or stinger and build its `GenerationSpec`.

        `values` are the resolved inheritable values, None when one of them is invalid
        (already reported): the other keys are still checked, nothing is built.
        """
        problems = source.problems
        data = source.data
        start = len(problems.problems)
        path = source.prefix

        prompt = data.get("prompt")
        if prompt is None:
            problems.add((*path, "prompt"), f"missing: every {kind} needs a prompt")
        elif (
            f.typed(problems, (*path, "prompt"), prompt, str) is not INVALID and not prompt.strip()
        ):
            problems.add((*path, "prompt"), "is empty: describe the music in a sentence or two")
        tag_values = f.tags(problems, (*path, "tags"), data.get("tags", []))
        controls = {}
        for key in ("energy", "density", "brightness"):
            if key in data:
                controls[key] = f.spec_field(problems, (*path, key), key, data[key])
        groove = None
        if "groove" in data:
            groove = f.typed(problems, (*path, "groove"), data["groove"], str)
        style = None
        if "style" in data:
            style = data["style"]
            if style not in STYLES:
                problems.add(
                    (*path, "style"),
                    f"{style!r} is not a style family",
                    value=style,
                    allowed=", ".join(STYLES),
                )
        stems = self._stems(source)

        if len(problems.problems) > start or values is None:
            return None
        origin = {
            key: source.problems.file if key in data else f"{PACK_FILE} [defaults]"
            for key in (*PROMPT_KEYS, "tags", "stems", "style", "energy", "density", "brightness")
        }
        stated = {k: values.get(k) for k in PROMPT_KEYS if k in data or k in self.defaults}
        given = Given(
            bpm=stated.get("bpm"),
            key=stated.get("key"),
            meter=stated.get("meter"),
            bars=stated.get("bars"),
            tags=tag_values if "tags" in data else None,
            style=style,
            stems=stems,
            origin=origin,
            **controls,
        )
        try:
            inference = infer_state(
                prompt, given, scorer=self._prompt_scorer(), default_bars=values["bars"]
            )
        except PromptError as error:
            problems.add((*path, "prompt"), error.message, value=prompt)
            return None
        self.inferences[path or (source.problems.file,)] = inference
        try:
            return inference.spec(
                groove=groove,
                one_shot=one_shot,
                sample_rate=values["sample_rate"],
                soundfont=values["soundfont"],
                loudness_lufs=values["loudness_lufs"],
                true_peak_db=values["true_peak_db"],
                variance=values["variance"],
            )
        except InvalidSpecError as error:  # a rule that spans fields
            field = str(error.detail.get("field", ""))
            problems.add((*path, field) if field else path, error.message)
            return None

    def _prompt_scorer(self) -> PromptScorer:
        if self._scorer is None:
            self._scorer = PromptScorer()
        return self._scorer

    def _stems(self, source: _Source) -> tuple[StemRequest, ...] | None:
        """The written stems (None: the state leaves its arrangement to the prompt)."""
        path = (*source.prefix, "stems")
        raw = source.data.get("stems")
        if raw is None:
            return None
        stems_table = f.table(source.problems, path, raw)
        if stems_table is INVALID:
            return ()
        if not stems_table:
            source.problems.add(
                path,
                "is empty: add at least one [stems.<name>] table, or leave stems out "
                "to let the prompt choose them",
            )
        result = []
        for name, stem_raw in stems_table.items():
            stem = f.stem(source.problems, (*path, name), name, stem_raw)
            if stem is not INVALID:
                auto = stem_raw.get("instrument") == f.AUTO_INSTRUMENT
                result.append(StemRequest(stem, auto, "register" in stem_raw))
        # Sorted by name: the order stems are written in does not change the music (or hash).
        return tuple(sorted(result, key=lambda request: request.stem.name))

    # -- states -------------------------------------------------------------------------------

    def _state_sources(self, pack: _Source) -> dict[str, _Source]:
        sources: dict[str, _Source] = {}
        inline = self._section(pack, "states")
        self._state_names.update(inline)
        for name, data in inline.items():
            table = f.table(pack.problems, ("states", name), data)
            if table is not INVALID:
                sources[name] = _Source(pack.problems, table, ("states", name))
        for file in sorted(self.root.glob("*.toml")):
            if file.name == PACK_FILE or file.name.startswith("."):
                continue  # hidden files: editor backups and lock files
            data, problems = _parse(file)
            self.files.append(problems)
            name = file.stem
            self._state_names.add(name)  # known even when unreadable: no follow-on errors
            if name in sources:
                problems.add(
                    (),
                    f"state {name!r} is also defined inline in {PACK_FILE} [states.{name}]",
                    value=name,
                    allowed="one definition per state",
                )
            elif data is not None:
                sources[name] = _Source(problems, data)
        for name, source in sources.items():
            if not STATE_NAME.match(name):
                source.problems.add(
                    source.prefix,
                    f"{name!r} is not a valid state name",
                    value=name,
                    allowed="lower-case letters, digits and '_', starting with a letter",
                    line=1 if not source.prefix else None,
                )
        return sources

    def _read_states(self, pack: _Source) -> dict[str, StateTemplate]:
        states: dict[str, StateTemplate] = {}
        self._state_data: dict[str, _Source] = self._state_sources(pack)
        for name, source in self._state_data.items():
            state = self._state(name, source)
            if state is not None:
                states[name] = state
        return states

    def _state(self, name: str, source: _Source) -> StateTemplate | None:
        problems = source.problems
        data = source.data
        path = source.prefix
        values = self._resolve(source, STATE_KEYS)
        one_shot = f.typed(problems, (*path, "one_shot"), data.get("one_shot", False), bool)
        intensity = f.in_range(
            problems, (*path, "intensity"), data.get("intensity", 1.0), float, 0, 1
        )
        description = f.typed(problems, (*path, "description"), data.get("description", ""), str)
        nxt = data.get("next")
        if nxt is not None:
            nxt = f.typed(problems, (*path, "next"), nxt, str)
            if one_shot is False:
                problems.add(
                    (*path, "next"),
                    "only a one-shot state goes on to a 'next' state",
                    value=nxt,
                    allowed="set one_shot = true, or remove 'next'",
                )
        weights = None
        if "variant_weights" in data and values is not None:
            weights = self._weights(source, data["variant_weights"], values["variants"])
        spec = self._spec(source, values, one_shot=one_shot is True, kind="state")
        use = None
        if "motif" in data:
            use = motif_use(problems, (*path, "motif"), data["motif"], self.motifs)
            if use is not None and spec is not None:
                spec = with_motif(problems, (*path, "motif"), spec, use)
        if "motif" in data and use is None:
            return None
        if values is None or spec is None or INVALID in (one_shot, intensity, nxt, weights):
            return None
        return StateTemplate(
            name=name,
            spec=spec,
            seed=values["seed"],
            variants=values["variants"],
            source_file=source.problems.file,
            intensity=intensity,
            variant_weights=weights,
            next=nxt,
            description=" ".join(description.split()),
            inferred=self.inferences[path or (source.problems.file,)].values,
        )

    def _weights(self, source: _Source, raw: Any, variants: int) -> Any:
        path = (*source.prefix, "variant_weights")
        ok = isinstance(raw, list) and all(
            isinstance(w, int | float) and not isinstance(w, bool) and w >= 0 for w in raw
        )
        if not ok or len(raw) != variants or not any(raw):
            return source.problems.add(
                path,
                f"{raw!r} does not give one weight per variant",
                value=raw,
                allowed=f"a list of {variants} non-negative numbers, not all zero",
            )
        return tuple(float(w) for w in raw)

    def _check_next(self, states: Mapping[str, StateTemplate]) -> None:
        for name, source in self._state_data.items():
            nxt = source.data.get("next")
            if isinstance(nxt, str) and nxt not in self._state_names:
                source.problems.add(
                    (*source.prefix, "next"),
                    f"unknown state {nxt!r}{f.suggest(nxt, self._state_names)}",
                    value=nxt,
                    allowed=", ".join(sorted(self._state_names)),
                )
            elif source.data.get("one_shot") is True and nxt == name:
                source.problems.add(
                    (*source.prefix, "next"),
                    "a one-shot state cannot go on to itself",
                    value=nxt,
                )

    # -- stingers -----------------------------------------------------------------------------

    def _read_stingers(self, pack: _Source) -> dict[str, StingerTemplate]:
        stingers: dict[str, StingerTemplate] = {}
        self._stinger_names: set[str] = set()
        for name, raw in self._section(pack, "stingers").items():
            self._stinger_names.add(name)
            data = f.table(pack.problems, ("stingers", name), raw)
            if data is INVALID:
                continue
            stinger = self._stinger(name, _Source(pack.problems, data, ("stingers", name)))
            if stinger is not None:
                stingers[name] = stinger
        return stingers

    def _stinger(self, name: str, source: _Source) -> StingerTemplate | None:
        problems = source.problems
        data = source.data
        path = source.prefix
        start = len(problems.problems)
        values = self._resolve(source, STINGER_KEYS)
        sync = f.choice(problems, (*path, "sync"), data.get("sync", "next_beat"), SyncPoint)
        duck_db = f.in_range(
            problems, (*path, "duck_db"), data.get("duck_db", -6.0), float, *f.DUCK_RANGE_DB
        )
        gain_db = f.in_range(
            problems, (*path, "gain_db"), data.get("gain_db", 0.0), float, *f.GAIN_RANGE_DB
        )
        spec = None
        file = None
        if "file" in data:
            clash = [k for k in ("prompt", "stems", "tags") if k in data]
            if clash:
                problems.add(
                    (*path, "file"),
                    f"a stinger is either a 'file' or generated (prompt/tags/stems), not both; "
                    f"remove {', '.join(clash)} or file",
                    value=data["file"],
                )
            text = f.typed(problems, (*path, "file"), data["file"], str)
            if text is not INVALID:
                file = self.root / text
                if not file.is_file():
                    problems.add(
                        (*path, "file"),
                        f"{text!r}: no such file (paths are relative to the pack folder)",
                        value=text,
                        allowed="an existing audio file (wav, ogg, flac)",
                    )
        else:
            if values is not None and "bars" not in data:
                values["bars"] = 1  # a stinger is a one-bar hit unless told otherwise
            spec = self._spec(source, values, one_shot=True, kind="stinger")
        if len(problems.problems) > start or values is None:
            return None
        return StingerTemplate(
            name=name,
            spec=spec,
            file=file,
            seed=values["seed"],
            sync=sync,
            duck_db=duck_db,
            gain_db=gain_db,
        )
