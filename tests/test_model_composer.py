"""DiffusionComposer over small random weights: shapes, seeds, variants, inpainting."""

from dataclasses import replace

import pytest

from engine_core.data.pianoroll import PITCHES, TRACK_LOW
from engine_core.errors import InvalidSpecError
from engine_core.score import TRACKS, Score
from tests.test_model_support import (
    TINY_SAMPLER,
    model_spec,
    one_torch_thread,  # noqa: F401 (autouse fixture)
    tiny_composer,
)

COMPOSER = tiny_composer()


def compose(seed: int = 1, variants: int = 3, **options: object) -> list[Score]:
    spec = options.pop("spec", model_spec())
    return COMPOSER.compose(spec, seed=seed, variants=variants, **options)  # type: ignore[arg-type]


def test_a_set_is_one_score_per_variant_in_the_spec_frame() -> None:
    scores = compose(spec=model_spec(key="A minor", bars=4), variants=3)
    assert len(scores) == 3
    for score in scores:
        assert (score.meter, score.bars, score.mode) == ("4/4", 4, "minor")
        assert score.notes
        for note in score.notes:
            track = TRACKS.index(note.track)
            assert 0 <= note.bar < 4 and 0 <= note.step < 16
            assert TRACK_LOW[track] <= note.pitch < TRACK_LOW[track] + PITCHES
            assert 1 <= note.duration_steps <= 4 * 16


@pytest.mark.parametrize("meter", ["3/4", "6/8"])
def test_a_twelve_step_meter_never_uses_the_padding_steps(meter: str) -> None:
    for score in compose(spec=model_spec(meter=meter), variants=2):
        assert score.meter == meter and score.notes
        assert max(note.step for note in score.notes) < 12


def test_the_same_seed_gives_identical_scores_and_another_seed_other_scores() -> None:
    first, again, other = compose(seed=5), compose(seed=5), compose(seed=6)
    assert first == again
    assert first[0].notes != other[0].notes


def test_variance_zero_gives_identical_variants_and_the_default_gives_different_ones() -> None:
    same = compose(variance=0.0)
    assert same[0] == same[1] == same[2]
    varied = compose(variance=0.6)
    assert varied[0].notes != varied[1].notes != varied[2].notes
    assert compose(variance=0.6)[0] == varied[0]


def test_the_spec_variance_is_the_default() -> None:
    spec = replace(model_spec(), variance=0.0)
    scores = compose(spec=spec)
    assert scores[0] == scores[1]


def test_progress_reports_every_sampler_step() -> None:
    calls: list[tuple[str, int, int]] = []
    compose(variants=1, progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert calls == [("compose", i, TINY_SAMPLER.steps) for i in range(1, TINY_SAMPLER.steps + 1)]
    calls.clear()
    compose(
        variants=1, steps=2, progress=lambda stage, done, total: calls.append((stage, done, total))
    )
    assert calls == [("compose", 1, 2), ("compose", 2, 2)]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"variants": 0}, "variants"),
        ({"variants": 65}, "variants"),
        ({"variance": 1.5}, "variance"),
        ({"steps": 0}, "steps"),
        ({"steps": 65}, "steps"),
    ],
)
def test_out_of_range_requests_name_their_field(options: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidSpecError) as caught:
        compose(**{"variants": 1, **options})
    assert caught.value.detail == {"field": field}


def test_inpainting_keeps_the_fixed_bars_note_for_note() -> None:
    spec = model_spec(bars=8)
    fixed = COMPOSER.compose(spec, seed=3, variants=1)[0]
    keep = [0, 1, 6]
    written = COMPOSER.inpaint(spec, fixed=fixed, keep_bars=keep, seed=9)
    assert (written.meter, written.bars, written.mode) == (fixed.meter, fixed.bars, fixed.mode)
    for bar in range(8):
        mine = [n for n in written.notes if n.bar == bar]
        theirs = [n for n in fixed.notes if n.bar == bar]
        if bar in keep:
            assert mine == theirs, bar
    free = [n for n in written.notes if n.bar not in keep]
    assert free and free != [n for n in fixed.notes if n.bar not in keep]
    again = COMPOSER.inpaint(spec, fixed=fixed, keep_bars=keep, seed=9)
    assert again == written


def test_inpainting_refuses_another_meter_and_bars_outside_the_score() -> None:
    fixed = compose(variants=1)[0]
    with pytest.raises(InvalidSpecError, match="spec asks for 3/4"):
        COMPOSER.inpaint(model_spec(meter="3/4"), fixed=fixed, keep_bars=[0], seed=1)
    with pytest.raises(InvalidSpecError, match="keep_bars"):
        COMPOSER.inpaint(model_spec(), fixed=fixed, keep_bars=[0, 4], seed=1)


def test_a_score_encodes_to_one_normalised_latent_per_bar() -> None:
    fixed = compose(variants=1)[0]
    latents = COMPOSER.encode_score(fixed)
    assert latents.shape == (fixed.bars, COMPOSER.checkpoint.denoiser.config.latent_dim)
