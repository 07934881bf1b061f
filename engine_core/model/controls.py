"""The control vocabulary: what the denoiser is conditioned on, and how a spec fills it.

Six condition tokens, each a 16-float vector whose first entry says "known" (1) or
"unspecified" (0, every other entry 0 too: the classifier-free-guidance null):

| token | values | measured on the data as |
| --- | --- | --- |
| mode | major, minor | Krumhansl-Schmuckler key finding per piece |
| meter | 4/4, 3/4, 6/8 | the piece's time signature |
| style | chorale, folk, renaissance, custom | the source collection |
| energy | 0-1 | melody onsets per grid step (drive), as a percentile within the style family |
| density | 0-1 | notes per bar over all tracks (texture), as a percentile within the style family |
| register | 0-1 | mean melody pitch, as a percentile within the style family |

The scalar controls are measured per training window against the windows of the same
style family, so a request for energy 0.9 with the chorale style asks for the rhythmic
drive of the busiest tenth of chorales. `GenerationSpec` fields (and a style named in
`GenerationSpec.extra` as ``("style", family)``) win over tags, tags win over the prompt
text (see `controls_for_spec`).

Pure numpy: no torch here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine_core.data.corpus import STYLE_FAMILIES
from engine_core.data.pianoroll import ONSET, TRACK_LOW
from engine_core.spec import METERS, GenerationSpec, Meter, model_meter

TOKEN_FEATURES = 16
TOKENS: tuple[str, ...] = ("mode", "meter", "style", "energy", "density", "register")
SCALARS: tuple[str, ...] = ("energy", "density", "register")
MODE_LABELS: tuple[str, ...] = ("major", "minor")

#: style tag -> (control, value): what each template tag asks of the model
TAG_CONTROLS: dict[str, tuple[tuple[str, object], ...]] = {
    "orchestral": (("style", "chorale"),),
    "chorale": (("style", "chorale"),),
    "baroque": (("style", "chorale"),),
    "cinematic": (("style", "chorale"),),
    "folk": (("style", "folk"),),
    "celtic": (("style", "folk"),),
    "medieval": (("style", "renaissance"),),
    "renaissance": (("style", "renaissance"),),
    "chiptune": (("energy", 0.8),),
    "synthwave": (("energy", 0.65),),
    "electronic": (("energy", 0.7),),
    "ambient": (("energy", 0.1), ("density", 0.2)),
    "rock": (("energy", 0.8),),
    "jazz": (("density", 0.6),),
    "lofi": (("energy", 0.3),),
    "waltz": (("energy", 0.45),),
    "march": (("energy", 0.7),),
    "jig": (("style", "folk"), ("energy", 0.75)),
    "shanty": (("style", "folk"), ("energy", 0.6)),
    "horror": (("register", 0.2), ("energy", 0.35), ("density", 0.25)),
    "tribal": (("energy", 0.8),),
    "calm": (("energy", 0.15),),
    "peaceful": (("energy", 0.15),),
    "happy": (("energy", 0.6),),
    "playful": (("energy", 0.7),),
    "heroic": (("energy", 0.75),),
    "triumphant": (("energy", 0.8), ("register", 0.7)),
    "epic": (("energy", 0.85), ("density", 0.8)),
    "tense": (("energy", 0.7),),
    "dark": (("register", 0.25),),
    "ominous": (("register", 0.2), ("energy", 0.4)),
    "mysterious": (("density", 0.35),),
    "sad": (("energy", 0.2),),
    "melancholic": (("energy", 0.25),),
    "aggressive": (("energy", 0.95),),
    "urgent": (("energy", 0.9),),
    "dreamy": (("energy", 0.2), ("density", 0.3)),
    "nostalgic": (("energy", 0.35),),
    "sparse": (("density", 0.15),),
    "dense": (("density", 0.85),),
    "driving": (("energy", 0.85),),
    "flowing": (("energy", 0.55),),
    "staccato": (("energy", 0.7),),
    "legato": (("energy", 0.3),),
    "sustained": (("energy", 0.15),),
    "low": (("register", 0.15),),
    "mid": (("register", 0.5),),
    "high": (("register", 0.85),),
    "bright": (("register", 0.75),),
    "warm": (("register", 0.35),),
}


@dataclass(frozen=True)
class Controls:
    """A request to the model; None = unspecified (the model chooses)."""

    mode: str | None = None
    meter: str | None = None
    style: str | None = None
    energy: float | None = None
    density: float | None = None
    register: float | None = None

    def features(self) -> np.ndarray:
        """(len(TOKENS), TOKEN_FEATURES) float32 condition tokens."""
        out = np.zeros((len(TOKENS), TOKEN_FEATURES), dtype=np.float32)
        for row, (value, labels) in enumerate(
            ((self.mode, MODE_LABELS), (self.meter, METERS), (self.style, STYLE_FAMILIES))
        ):
            if value is not None:
                out[row, 0] = 1.0
                out[row, 1 + labels.index(value)] = 1.0
        for offset, name in enumerate(SCALARS):
            value = getattr(self, name)
            if value is not None:
                out[3 + offset] = scalar_features(float(value))
        return out

    def unconditional(self) -> Controls:
        """The guidance null: everything unspecified except the meter (the bar grid)."""
        return Controls(meter=self.meter)

    def merged_over(self, other: Controls) -> Controls:
        """Self's known fields, else other's."""
        values = {
            name: getattr(self, name) if getattr(self, name) is not None else getattr(other, name)
            for name in TOKENS
        }
        return Controls(**values)


def scalar_features(value: float) -> np.ndarray:
    value = min(max(value, 0.0), 1.0)
    out = np.zeros(TOKEN_FEATURES, dtype=np.float32)
    out[0] = 1.0
    out[1] = value * 2 - 1
    harmonics = np.arange(1, (TOKEN_FEATURES - 2) // 2 + 1)
    out[2 : 2 + len(harmonics)] = np.sin(np.pi * harmonics * value)
    out[2 + len(harmonics) : 2 + 2 * len(harmonics)] = np.cos(np.pi * harmonics * value)
    return out


def controls_from_tags(tags: Sequence[str]) -> Controls:
    """Average what the tags ask for; unknown tags are ignored (templates validate them)."""
    values: dict[str, list[object]] = {}
    for tag in tags:
        for name, value in TAG_CONTROLS.get(tag, ()):
            values.setdefault(name, []).append(value)
    result: dict[str, object] = {}
    for name, items in values.items():
        if name in SCALARS:
            result[name] = float(np.mean([float(v) for v in items]))  # type: ignore[arg-type]
        else:
            result[name] = items[0]
    return Controls(**result)  # type: ignore[arg-type]


#: `GenerationSpec.extra` key naming the style family explicitly (a template's `style`).
STYLE_EXTRA = "style"


def spec_style(spec: GenerationSpec) -> str | None:
    """The style family the spec names in `extra` (``("style", "chorale")``), if any."""
    value = dict(spec.extra).get(STYLE_EXTRA)
    return value if value in STYLE_FAMILIES else None


def controls_for_spec(spec: GenerationSpec, text: Controls | None = None) -> Controls:
    """Explicit spec fields, then tags, then what the prompt text implies (`text`)."""
    explicit = Controls(
        mode="minor" if spec.key_info.is_minor else "major",
        meter=model_meter(spec.meter),
        style=spec_style(spec),
        energy=spec.energy,
        density=spec.density,
        register=spec.brightness,
    )
    merged = explicit.merged_over(controls_from_tags(spec.tags))
    if text is not None:
        merged = merged.merged_over(replace(text, mode=None, meter=None))
    if merged.style is None:
        merged = replace(merged, style="chorale")  # full three-track texture by default
    return merged


# ---------------------------------------------------------------------------------------
# Measures: the same functions label the data and evaluate the model's output
# ---------------------------------------------------------------------------------------


def raw_measures(rolls: np.ndarray, meter: str) -> np.ndarray:
    """(energy, density, register) raw values of a window of bar rolls (bars, *BAR_SHAPE)."""
    steps = Meter.parse(meter).steps_per_bar
    onsets = np.asarray(rolls)[:, :, ONSET, :steps] >= 0.5  # (bars, tracks, steps, pitches)
    bars = max(onsets.shape[0], 1)
    melody = onsets[:, 0]
    energy = melody.any(axis=-1).sum() / (bars * steps)
    density = onsets.sum() / bars
    pitches = np.nonzero(melody)[-1]
    middle = TRACK_LOW[0] + 12.0
    register = float(pitches.mean() + TRACK_LOW[0]) if len(pitches) else middle
    return np.array([energy, density, register], dtype=np.float64)


def to_percentile(raw: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Map raw measures (..., 3) to 0-1 with per-measure quantile tables (3, Q)."""
    raw = np.asarray(raw, dtype=np.float64)
    out = np.empty_like(raw)
    grid = np.linspace(0.0, 1.0, quantiles.shape[1])
    for index in range(quantiles.shape[0]):
        out[..., index] = np.interp(raw[..., index], quantiles[index], grid)
    return out
