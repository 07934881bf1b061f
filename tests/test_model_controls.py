"""The control vocabulary: condition tokens, the precedence fields > tags > prompt, and that
controls reach the model (a different request, the same seed: different music)."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine_core.data.pianoroll import BAR_SHAPE, ONSET, TRACK_LOW
from engine_core.model.controls import (
    SCALARS,
    TAG_CONTROLS,
    TOKEN_FEATURES,
    TOKENS,
    Controls,
    controls_for_spec,
    controls_from_tags,
    raw_measures,
    scalar_features,
    to_percentile,
)
from engine_core.model.text import PromptInterpreter
from tests.test_model_support import (
    model_spec,
    one_torch_thread,  # noqa: F401 (autouse fixture)
    tiny_composer,
)

LOUD_TEXT = Controls(
    mode="minor", meter="3/4", style="folk", energy=0.95, density=0.9, register=0.9
)


def test_features_are_one_token_per_control_with_a_known_flag() -> None:
    features = Controls(mode="minor", meter="6/8", style="folk", energy=0.3).features()
    assert features.shape == (len(TOKENS), TOKEN_FEATURES) and features.dtype == np.float32
    assert list(features[:, 0]) == [1, 1, 1, 1, 0, 0]
    assert not features[TOKENS.index("density")].any()
    assert features[TOKENS.index("mode"), 1:].sum() == 1.0
    assert not Controls().features().any()


def test_the_guidance_null_keeps_only_the_meter() -> None:
    request = Controls(mode="major", meter="3/4", style="chorale", energy=0.2, density=0.4)
    assert request.unconditional() == Controls(meter="3/4")


def test_scalar_features_tell_values_apart_and_clamp_to_the_range() -> None:
    values = [scalar_features(v) for v in np.linspace(0, 1, 11)]
    for a in range(len(values)):
        for b in range(a + 1, len(values)):
            assert np.abs(values[a] - values[b]).max() > 0.05
    assert np.array_equal(scalar_features(1.7), scalar_features(1.0))
    assert np.array_equal(scalar_features(-0.2), scalar_features(0.0))


def test_explicit_fields_win_over_tags_and_tags_over_the_prompt() -> None:
    spec = model_spec(
        key="D major", meter="4/4", energy=0.2, tags=("epic", "dark", "celtic"), density=None
    )
    controls = controls_for_spec(spec, LOUD_TEXT)
    assert controls.mode == "major" and controls.meter == "4/4"  # never the text's
    assert controls.energy == 0.2  # the field, not epic's 0.85 nor the text's 0.95
    assert controls.density == 0.8  # epic's tag, not the text's 0.9
    assert controls.register == 0.25  # dark's tag
    assert controls.style == "folk"  # celtic's tag


def test_the_prompt_fills_what_fields_and_tags_leave_open() -> None:
    controls = controls_for_spec(model_spec(key="C minor"), LOUD_TEXT)
    assert (controls.energy, controls.density, controls.register) == (0.95, 0.9, 0.9)
    assert controls.style == "folk" and controls.mode == "minor"
    bare = controls_for_spec(model_spec())
    assert bare.style == "chorale" and all(getattr(bare, s) is None for s in SCALARS)


def test_tags_average_their_scalars_and_ignore_unknown_tags() -> None:
    controls = controls_from_tags(("calm", "aggressive", "no-such-tag"))
    assert controls.energy == pytest.approx((0.15 + 0.95) / 2)
    assert controls_from_tags(("no-such-tag",)) == Controls()
    for tag, pairs in TAG_CONTROLS.items():
        for name, _ in pairs:
            assert name in TOKENS, tag


@pytest.mark.parametrize(
    "change",
    [
        {"energy": 0.9},
        {"density": 0.9},
        {"brightness": 0.9},
        {"key": "C minor"},
        {"tags": ("folk",)},
    ],
)
def test_a_control_changes_the_music_for_the_same_seed(change: dict[str, object]) -> None:
    composer = tiny_composer()
    base = model_spec(energy=0.1, density=0.1, brightness=0.1)
    plain = composer.compose(base, seed=2, variants=1)[0]
    changed = composer.compose(replace(base, **change), seed=2, variants=1)[0]  # type: ignore[arg-type]
    assert composer.controls(replace(base, **change)) != composer.controls(base)  # type: ignore[arg-type]
    assert changed.notes != plain.notes


def test_raw_measures_follow_what_they_measure() -> None:
    quiet = np.zeros((2, *BAR_SHAPE), dtype=np.uint8)
    quiet[:, 0, ONSET, 0, 10] = 1
    busy = quiet.copy()
    busy[:, 0, ONSET, ::2, 20] = 1
    busy[:, 1, ONSET, ::4, 5] = 1
    low, high = raw_measures(quiet, "4/4"), raw_measures(busy, "4/4")
    assert low[0] == pytest.approx(1 / 16) and high[0] == pytest.approx(8 / 16)
    assert low[1] == 1 and high[1] == 1 + 8 + 4
    assert low[2] == TRACK_LOW[0] + 10 and high[2] > low[2]
    table = np.stack([np.linspace(0, 1, 11), np.linspace(0, 20, 11), np.linspace(53, 89, 11)])
    assert bool((to_percentile(high, table) > to_percentile(low, table)).all())


@pytest.mark.slow
def test_the_prompt_is_read_by_minilm_and_fields_still_win(tmp_path: Path) -> None:
    prompts = PromptInterpreter(cache_dir=tmp_path)
    calm = prompts.controls("a calm, slow and peaceful night in a quiet village")
    fast = prompts.controls("a fast, intense and urgent battle with driving drums")
    assert calm.energy is not None and fast.energy is not None and calm.energy < fast.energy
    assert (calm.mode, calm.meter, fast.mode, fast.meter) == (None,) * 4
    assert prompts.controls("") == Controls()
    cached = PromptInterpreter(cache_dir=tmp_path)  # reads the disk cache, no MiniLM
    assert cached.controls("a fast, intense and urgent battle with driving drums") == fast
    assert cached._model is None
    composer = tiny_composer()
    composer.prompts = prompts
    spec = model_spec(prompt="a fast, intense and urgent battle with driving drums")
    assert composer.controls(spec).energy == fast.energy
    assert composer.controls(replace(spec, energy=0.05)).energy == 0.05
