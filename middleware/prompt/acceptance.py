"""The prompt acceptance set and its measures (`ostinato eval-prompts`).

The set (`acceptance.toml` beside this module) lists game-music prompts with what each
states outright. The measures, on the whole set:

- explicit BPM, key, mode and meter in the text parsed as written (goal 100%);
- each named instrument present as a stem of the right General MIDI family (goal >= 90%);
- "no drums"/ambient prompts without a drum stem, percussive/battle prompts with one (100%);
- calm vs frantic pairs differing the right way in tempo, density, velocity and drums;
- with rendering: every loop's seam check, the mode check (the arranged loop — every pitched
  stem, duration-weighted — is heard in the requested mode by the key profiles, and >= 85% of
  its pitched notes lie in the key's scale; the model's own loop before arranging is reported
  beside it) and no silent stem except those marked optional;
- genre and mood (sets that label them): the inferred genre is one the set accepts, the
  inferred mode has the expected third (major / minor);
- warm inference time per prompt (goal <= 50 ms).
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import median
from typing import Any

from middleware.prompt.infer import Inference, infer_state
from middleware.prompt.similarity import PromptScorer
from middleware.prompt.words import gm_family

ACCEPTANCE_PATH = Path(__file__).with_name("acceptance.toml")
#: Prompts the genre and mood inference was not tuned on (same format, genre/mood labelled).
HELDOUT_PATH = Path(__file__).with_name("heldout.toml")
IN_SCALE_GOAL = 0.85
SILENT_PEAK = 1e-4  # a stem whose peak stays below this (-80 dBFS) is silent
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class AcceptancePrompt:
    text: str
    bpm: float | None = None
    key: str | None = None
    mode: str | None = None
    meter: str | None = None
    instruments: dict[str, str] = field(default_factory=dict)
    drums: bool | None = None
    pair: str | None = None
    side: str | None = None
    genre: list[str] = field(default_factory=list)  # the genres a composer would accept
    mood: str | None = None  # "major"/"minor" when the mood clearly asks for one


def load_set(path: Path = ACCEPTANCE_PATH) -> tuple[AcceptancePrompt, ...]:
    from engine_core.errors import InvalidSpecError

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    allowed = set(AcceptancePrompt.__dataclass_fields__)
    for number, entry in enumerate(data.get("prompt", []), start=1):
        unknown = sorted(set(entry) - allowed)
        if unknown or "text" not in entry:
            raise InvalidSpecError(
                f"{path}: prompt {number}: unknown keys {unknown} or no text",
                {"allowed": sorted(allowed)},
            )
    return tuple(AcceptancePrompt(**entry) for entry in data.get("prompt", []))


@dataclass(frozen=True)
class RenderCheck:
    """What the rendered loops of one prompt showed."""

    seams_passed: int
    loops: int
    mode_ok: bool  # every loop is heard in the requested mode, with enough notes in scale
    in_scale: float  # share of arranged pitched notes in the key's scale
    silent_stems: tuple[str, ...]  # non-optional stems that never sound
    velocity: float  # mean MIDI velocity of the arranged pitched notes
    notes_per_bar: float  # arranged pitched notes per bar
    model_mode_ok: bool = True  # the model's own loop (before arranging) reads as requested


@dataclass(frozen=True)
class PromptResult:
    prompt: AcceptancePrompt
    inference: Inference
    infer_ms: float  # warm inference time
    explicit: tuple[tuple[str, Any, Any], ...]  # (field, expected, inferred)
    instruments: tuple[tuple[str, str, bool], ...]  # (word, family, present)
    drums_ok: bool | None
    render: RenderCheck | None = None
    genre_ok: bool | None = None  # the inferred genre is one the set accepts
    mood_ok: bool | None = None  # the inferred mode family is the expected one

    @property
    def genre(self) -> str | None:
        try:
            return self.inference.value("genre").value
        except KeyError:
            return None

    @property
    def has_drums(self) -> bool:
        return any(s.role == "drums" for s in self.inference.stems)


def _inferred_mode(inference: Inference) -> str:
    return inference.key.split()[1]


def check_prompt(prompt: AcceptancePrompt, inference: Inference, infer_ms: float) -> PromptResult:
    explicit = []
    if prompt.bpm is not None:
        explicit.append(("bpm", float(prompt.bpm), inference.bpm))
    if prompt.key is not None:
        explicit.append(("key", prompt.key, inference.key))
    if prompt.mode is not None:
        explicit.append(("mode", prompt.mode, _inferred_mode(inference)))
    if prompt.meter is not None:
        explicit.append(("meter", prompt.meter, inference.meter))
    families = {gm_family(s.program) for s in inference.stems if not s.is_drums}
    has_drum_stem = any(s.is_drums for s in inference.stems)
    instruments = tuple(
        (word, family, has_drum_stem if family == "drums" else family in families)
        for word, family in prompt.instruments.items()
    )
    drums_ok = None
    if prompt.drums is not None:
        drums_ok = any(s.role == "drums" for s in inference.stems) == prompt.drums
    result = PromptResult(prompt, inference, infer_ms, tuple(explicit), instruments, drums_ok)
    genre_ok = result.genre in prompt.genre if prompt.genre else None
    mood_ok = None
    if prompt.mood is not None:
        mood_ok = _mode_family(_inferred_mode(inference)) == prompt.mood
    return replace(result, genre_ok=genre_ok, mood_ok=mood_ok)


def _mode_family(mode: str) -> str:
    """major/minor of a mode: dorian, phrygian, aeolian and locrian have a minor third."""
    return "minor" if mode in ("minor", "dorian", "phrygian", "aeolian", "locrian") else "major"


def heard_mode(arrangement: Any, key: Any) -> str:
    """ "major"/"minor": what a listener hears in every pitched stem of an arrangement
    (duration-weighted), the key's tonic known. A major or minor key: the key profiles' fit
    (as the engine measures the model). A church mode (dorian, phrygian, lydian,
    mixolydian): its third, the interval that makes it major or minor — the profiles
    describe major and minor keys, and a dorian's major sixth pulls a tune with little
    third toward major."""
    import numpy as np

    from engine_core.data.pianoroll import histogram_mode

    heard = np.zeros(12)
    for stem in arrangement.stems:
        if not stem.is_drum:
            for note in stem.notes:
                heard[(note.pitch - key.tonic) % 12] += note.duration_beats
    if key.mode in ("major", "minor"):
        return histogram_mode(heard)
    return "minor" if heard[3] > heard[4] else "major"


def _render_check(engine: Any, inference: Inference, variants: int) -> RenderCheck:
    """Render the loops and check them; the mode is judged on what is heard (the arranged
    stems: the model's tune with the bass and chords written in the requested mode), and the
    model's own loop is reported beside it (a tune without a third reads either way)."""
    from engine_core.arrange.arranger import arrange
    from engine_core.arrange.harmony import MODE_INTERVALS
    from engine_core.evaluation.adherence import detected_mode
    from engine_core.render.seam import seam_report

    spec = inference.spec()
    scores = engine.composer.compose(spec, seed=0, variants=variants)
    variant_set = engine.render_scores(spec, scores, state="eval", seed=0)
    key = spec.key_info
    scale = {(key.tonic + i) % 12 for i in MODE_INTERVALS[key.mode]}
    wanted_mode = "minor" if key.is_minor else "major"
    seams, modes, model_modes, in_scale, velocities, counts = 0, True, True, [], [], []
    silent: set[str] = set()
    for index, (score, variant) in enumerate(zip(scores, variant_set.variants, strict=True)):
        meta = variant.meta
        report = seam_report(
            variant.mix, meta.bar_samples, meta.sample_rate, beat_samples=meta.beat_samples
        )
        seams += int(report.passed)
        detected = detected_mode(score)
        model_modes = model_modes and (detected is None or detected == wanted_mode)
        arrangement = arrange(score, spec, seed=0, variant_index=index)
        pitched = [n for s in arrangement.stems if not s.is_drum for n in s.notes]
        if pitched:
            modes = modes and heard_mode(arrangement, key) == wanted_mode
        in_scale.append(sum(n.pitch % 12 in scale for n in pitched) / max(len(pitched), 1))
        velocities.extend(n.velocity for n in pitched)
        counts.append(len(pitched) / spec.bars)
        for stem in spec.stems:
            audio = variant.stems[stem.name]
            if not stem.optional and float(abs(audio).max()) < SILENT_PEAK:
                silent.add(stem.name)
    share = min(in_scale) if in_scale else 0.0
    return RenderCheck(
        seams_passed=seams,
        loops=len(variant_set.variants),
        mode_ok=modes and share >= IN_SCALE_GOAL,
        in_scale=share,
        silent_stems=tuple(sorted(silent)),
        velocity=sum(velocities) / max(len(velocities), 1),
        notes_per_bar=sum(counts) / max(len(counts), 1),
        model_mode_ok=model_modes,
    )


def evaluate(
    prompts: Sequence[AcceptancePrompt],
    *,
    render: bool = True,
    variants: int = 1,
    bars: int = 8,
    scorer: PromptScorer | None = None,
    progress: Progress | None = None,
) -> list[PromptResult]:
    """Infer (and optionally render) every prompt; the results the report is built from."""
    scorer = scorer or PromptScorer()
    report = progress or (lambda stage, done, total: None)
    results = []
    for index, prompt in enumerate(prompts):
        infer_state(prompt.text, scorer=scorer, default_bars=bars)  # warm the caches
        start = time.perf_counter()
        inference = infer_state(prompt.text, scorer=scorer, default_bars=bars)
        elapsed_ms = (time.perf_counter() - start) * 1000
        results.append(check_prompt(prompt, inference, elapsed_ms))
        report("infer", index + 1, len(prompts))
    if render:
        import os

        from engine_core.generate import Engine

        workers = max(1, len(os.sched_getaffinity(0)))
        with Engine(render_workers=workers) as engine:
            for index, result in enumerate(results):
                check = _render_check(engine, result.inference, variants)
                results[index] = PromptResult(**{**result.__dict__, "render": check})
                report("render", index + 1, len(results))
    return results


def _percent(hits: int, total: int) -> str:
    return f"{100 * hits / total:.0f}% ({hits}/{total})" if total else "n/a"


def pair_checks(results: Sequence[PromptResult]) -> dict[str, dict[str, bool]]:
    """pair -> {measure: calm side below frantic side} for tempo, density, velocity, drums."""
    sides: dict[str, dict[str, PromptResult]] = {}
    for result in results:
        if result.prompt.pair and result.prompt.side:
            sides.setdefault(result.prompt.pair, {})[result.prompt.side] = result
    checks = {}
    for pair, both in sorted(sides.items()):
        calm, frantic = both.get("calm"), both.get("frantic")
        if calm is None or frantic is None:
            continue
        c, f = calm.inference, frantic.inference
        row = {
            "tempo": c.bpm < f.bpm,
            "density": (c.density or 0) < (f.density or 0),
            "drums": frantic.has_drums and not calm.has_drums,
        }
        if calm.render and frantic.render:
            row["velocity"] = calm.render.velocity < frantic.render.velocity
            row["notes per bar"] = calm.render.notes_per_bar < frantic.render.notes_per_bar
        checks[pair] = row
    return checks


def summary_rows(results: Sequence[PromptResult]) -> list[tuple[str, str, str]]:
    """(measure, result, goal) rows of the README table."""
    explicit = [e for r in results for e in r.explicit]
    explicit_hits = sum(expected == got for _, expected, got in explicit)
    named = [i for r in results for i in r.instruments]
    named_hits = sum(present for _, _, present in named)
    drums = [r.drums_ok for r in results if r.drums_ok is not None]
    pairs = pair_checks(results)
    pair_text = "; ".join(
        f"{measure} {sum(row.get(measure, False) for row in pairs.values())}/{len(pairs)}"
        for measure in ("tempo", "density", "velocity", "notes per bar", "drums")
        if any(measure in row for row in pairs.values())
    )
    times = [r.infer_ms for r in results]
    rows = [
        (
            "explicit BPM, key, mode and meter parsed as written",
            _percent(explicit_hits, len(explicit)),
            "100%",
        ),
        (
            "named instruments present with the right GM family",
            _percent(named_hits, len(named)),
            ">= 90%",
        ),
        ("drums / no drums as the prompt says", _percent(sum(drums), len(drums)), "100%"),
    ]
    genres = [r.genre_ok for r in results if r.genre_ok is not None]
    moods = [r.mood_ok for r in results if r.mood_ok is not None]
    if genres:
        rows.append(
            ("genre (palette) one the set accepts", _percent(sum(genres), len(genres)), "—")
        )
    if moods:
        rows.append(("mood: major/minor as the set expects", _percent(sum(moods), len(moods)), "—"))
    if pairs:
        rows.append((f"calm < frantic, {len(pairs)} pairs", pair_text, "all"))
    rows += [
        (
            "inference, second call (scores cached), median / max",
            f"{median(times):.1f} / {max(times):.1f} ms",
            "<= 50 ms",
        ),
    ]
    rendered = [r.render for r in results if r.render is not None]
    if rendered:
        loops = sum(c.loops for c in rendered)
        seams = sum(c.seams_passed for c in rendered)
        modes = sum(c.mode_ok for c in rendered)
        model_modes = sum(c.model_mode_ok for c in rendered)
        silent = [
            f"{r.prompt.text[:24]}…: {', '.join(r.render.silent_stems)}"
            for r in results
            if r.render and r.render.silent_stems
        ]
        rows += [
            ("seam check (every loop)", _percent(seams, loops), "100%"),
            (
                f"mode check (heard mode, >= {IN_SCALE_GOAL:.0%} notes in scale)",
                _percent(modes, len(rendered)),
                "100%",
            ),
            (
                "the model's own loop (before arranging) in the requested mode",
                _percent(model_modes, len(rendered)),
                "—",
            ),
            (
                "prompts without a silent non-optional stem",
                _percent(len(rendered) - len(silent), len(rendered)),
                "100%",
            ),
        ]
    return rows


def prompt_rows(results: Sequence[PromptResult]) -> list[tuple[str, ...]]:
    """(prompt, tempo/meter/key, tags, stems) per prompt: what was inferred."""
    from middleware.prompt.names import instrument_label

    rows = []
    for result in results:
        inference = result.inference
        stems = ", ".join(f"{s.name} ({s.role}: {instrument_label(s)})" for s in inference.stems)
        misses = [w for w, _, present in result.instruments if not present]
        misses += [f"{f} {e}≠{g}" for f, e, g in result.explicit if e != g]
        if result.drums_ok is False:
            misses.append("drums")
        if result.genre_ok is False:
            misses.append(f"genre {result.genre}")
        if result.mood_ok is False:
            misses.append("mood")
        if result.render is not None:
            check = result.render
            if check.seams_passed < check.loops:
                misses.append(f"seam {check.seams_passed}/{check.loops}")
            if not check.mode_ok:
                misses.append(f"mode ({check.in_scale:.0%} in scale)")
            if check.silent_stems:
                misses.append("silent: " + ", ".join(check.silent_stems))
        rows.append(
            (
                result.prompt.text,
                f"{inference.bpm:g} bpm, {inference.meter}, {inference.key}",
                ", ".join(inference.tags),
                stems,
                ", ".join(misses) or "✓",
            )
        )
    return rows


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)
