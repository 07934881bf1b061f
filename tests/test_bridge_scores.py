"""Scores kept beside the audio, and bridges built from them.

The cache keeps each variant's composer score (`Variant.score`, `VariantCache.get_scores`);
a bridge reads its states' scores from there instead of composing both loops again, and
inpaints its candidates in one batched sampling call. Both shortcuts must make the very
bridge the long way makes; a cache written before scores were kept still works."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from chorale_scores import band_spec, chorale_score
from hypothesis import given
from hypothesis import strategies as st
from test_cache_support import make_state, tone_set

from engine_core.errors import InvalidSpecError
from engine_core.score import TRACKS, MotifQuote, Score, ScoreNote
from engine_core.variant import VariantSet
from middleware.bridges.requests import BridgeRequest
from middleware.cache import EngineKey, VariantCache
from middleware.cache.cache import SCORE_SUFFIX
from middleware.templates.loader import load_pack

ROOT = Path(__file__).resolve().parents[1]
ENGINE = EngineKey("engine", "weights", "sf")

notes = st.builds(
    ScoreNote,
    bar=st.integers(0, 7),
    step=st.integers(0, 15),
    track=st.sampled_from(TRACKS),
    pitch=st.integers(0, 127),
    duration_steps=st.integers(1, 64),
    velocity=st.floats(0.0, 1.0, allow_nan=False),
)
quotes = st.builds(
    MotifQuote,
    start=st.integers(0, 127),
    end=st.integers(0, 128),
    onsets=st.lists(st.integers(0, 127), max_size=6).map(tuple),
    form=st.sampled_from(("original", "sequence", "inversion", "augmentation")),
    track=st.sampled_from(("melody", "bass")),
)


@given(
    st.lists(notes, max_size=40).map(lambda n: tuple(sorted(n))),
    st.lists(quotes, max_size=3).map(tuple),
    st.sampled_from(("4/4", "3/4", "6/8")),
    st.sampled_from(("major", "minor")),
)
def test_a_score_survives_json_exactly(notes, quotes, meter, mode) -> None:
    import json

    score = Score(meter, 8, mode, notes, quotes)
    assert Score.from_json(json.loads(json.dumps(score.to_json()))) == score


def test_score_data_of_another_format_is_refused() -> None:
    data = chorale_score(bars=1).to_json()
    with pytest.raises(ValueError, match="format"):
        Score.from_json({**data, "format": 99})
    with pytest.raises(ValueError, match="malformed"):
        Score.from_json({**data, "notes": [[0, 0, "melody"]]})


# ------------------------------------------------------------------ the cache keeps scores


def _scored(state, scores) -> VariantSet:
    """The state's tone set with a score on each variant (None: that variant has none)."""
    made = tone_set(state)
    variants = tuple(
        dataclasses.replace(v, score=s) for v, s in zip(made.variants, scores, strict=True)
    )
    return dataclasses.replace(made, variants=variants)


def _two_scores() -> list[Score]:
    return [chorale_score(bars=1), chorale_score("bach/bwv269", bars=1)]


def test_the_cache_keeps_each_variants_score(tmp_path: Path) -> None:
    state = make_state(variants=2)
    scores = _two_scores()
    with VariantCache(tmp_path) as cache:
        cache.put_set(state, ENGINE, _scored(state, scores))
        assert cache.get_set(state, ENGINE) is not None  # the audio reads as before
        assert cache.verify(repair=False).clean  # score files are indexed, not orphans
    with VariantCache(tmp_path) as cache:  # another process reads them back from the files
        assert cache.get_scores(state, ENGINE) == scores
        other = dataclasses.replace(state, seed=state.seed + 1)
        assert cache.get_scores(other, ENGINE) is None  # another set: nothing


def test_a_set_cached_without_scores_has_none(tmp_path: Path) -> None:
    old, partial = make_state("old", variants=2), make_state("partial", variants=2)
    with VariantCache(tmp_path) as cache:
        cache.put_set(old, ENGINE, tone_set(old))  # as a cache written before scores were kept
        cache.put_set(partial, ENGINE, _scored(partial, [chorale_score(bars=1), None]))
        assert cache.get_set(old, ENGINE) is not None
        assert cache.get_scores(old, ENGINE) is None
        assert cache.get_scores(partial, ENGINE) is None  # every variant's, or none


def test_a_damaged_score_is_dropped_and_the_audio_stays(tmp_path: Path) -> None:
    state = make_state(variants=2)
    with VariantCache(tmp_path) as cache:
        cache.put_set(state, ENGINE, _scored(state, _two_scores()))
    files = sorted((tmp_path / "objects").rglob(f"*{SCORE_SUFFIX}"))
    assert len(files) == 2
    files[0].write_bytes(files[0].read_bytes().replace(b'"bars":1', b'"bars":2'))
    with VariantCache(tmp_path) as cache:
        assert cache.get_scores(state, ENGINE) is None
        assert cache.get_set(state, ENGINE) is not None
        assert not files[0].exists()
        assert cache.verify(repair=False).clean


def test_clearing_the_cache_removes_the_score_files(tmp_path: Path) -> None:
    state = make_state(variants=2)
    with VariantCache(tmp_path) as cache:
        cache.put_set(state, ENGINE, _scored(state, _two_scores()))
        assert cache.clear() == 1
        assert not list((tmp_path / "objects").rglob("*.*"))
        assert cache.size_bytes() == 0


def test_the_engine_returns_the_score_each_variant_was_arranged_from() -> None:
    from engine_core.generate import Engine

    scores = [chorale_score(bars=1), chorale_score("bach/bwv347", bars=1)]
    with Engine() as engine:
        made = engine.render_scores(band_spec(bars=1), scores, state="s", seed=0)
    assert [v.score for v in made.variants] == scores


def test_loops_must_hold_every_variant_of_both_sets() -> None:
    from chorale_scores import ChoraleComposer

    from engine_core.bridge import compose_bridge

    pack = load_pack(ROOT / "templates" / "fantasy_rpg")
    source, target, bars = BridgeRequest(pack.states["town"], pack.states["explore"], 2).bridge
    with pytest.raises(InvalidSpecError, match="loops"):
        compose_bridge(ChoraleComposer(), source, target, bars, seed=1, loops=([], []))


# ------------------------------------------------------------------ real bridges (slow)


class _Counting:
    """The shipped composer, counting the loops it composes (`one_at_a_time`: without its
    batched `inpaint_many`, so each candidate is its own sampling call)."""

    def __init__(self, composer, *, one_at_a_time: bool = False) -> None:  # type: ignore[no-untyped-def]
        self._composer = composer
        self.weights_version = composer.weights_version
        self.inpaint = composer.inpaint
        if not one_at_a_time:
            self.inpaint_many = composer.inpaint_many
        self.composed = 0

    def compose(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.composed += 1
        return self._composer.compose(*args, **kwargs)


@pytest.fixture(scope="module")
def town_explore():
    from engine_core.generate import one_model_thread
    from engine_core.model.composer import DiffusionComposer

    pack = load_pack(ROOT / "templates" / "fantasy_rpg")
    request = BridgeRequest(pack.states["town"], pack.states["explore"], 2)
    composer = DiffusionComposer.load()
    with one_model_thread():  # as Engine.generate composes a set
        loops = {
            name: composer.compose(s.spec, seed=s.seed, variants=s.variants)
            for name, s in (("town", request.source), ("explore", request.target))
        }
    return request, composer, loops


@pytest.mark.slow
def test_batched_candidates_equal_one_sampling_call_each(town_explore) -> None:
    from engine_core.bridge import compose_bridge

    request, composer, loops = town_explore
    source, target, bars = request.bridge
    pair = (loops["town"], loops["explore"])
    batched = compose_bridge(composer, source, target, bars, seed=request.seed, loops=pair)
    one_by_one = compose_bridge(
        _Counting(composer, one_at_a_time=True), source, target, bars, seed=request.seed,
        loops=pair,
    )  # fmt: skip
    assert batched.score == one_by_one.score and batched.chosen == one_by_one.chosen
    for a, b in zip(batched.candidates, one_by_one.candidates, strict=True):
        assert a.source_join == pytest.approx(b.source_join, abs=1e-9)
        assert a.target_join == pytest.approx(b.target_join, abs=1e-9)
    assert batched.joins.passed  # the pack's bridge keeps both joins inside the IQR


@pytest.mark.slow
def test_a_bridge_from_cached_scores_is_the_recomposed_bridge(tmp_path, town_explore) -> None:
    """Pre-generation's path (scores read from the cache) against the fallback (loops
    composed again): the same audio; an old cache without scores takes the fallback."""
    from engine_core.generate import Engine
    from middleware.bridges.generate import cached_scores, generate_item

    request, composer, loops = town_explore
    kept, old = tmp_path / "kept", tmp_path / "old"
    with VariantCache(kept) as with_scores, VariantCache(old) as without:
        for name, state in (("town", request.source), ("explore", request.target)):
            with_scores.put_set(state, ENGINE, _scored(state, loops[name]))
            without.put_set(state, ENGINE, tone_set(state))
        made = {}
        for label, cache in (("kept", with_scores), ("old", without), ("none", None)):
            counting = _Counting(composer)
            with Engine(composer=counting) as engine:  # type: ignore[arg-type]
                lookup = cached_scores(cache, ENGINE) if cache is not None else None
                made[label] = (generate_item(engine, request, scores=lookup), counting.composed)
    (kept_set, kept_composed), (old_set, old_composed) = made["kept"], made["old"]
    none_set, none_composed = made["none"]
    assert (kept_composed, old_composed, none_composed) == (0, 2, 2)
    for other in (old_set, none_set):
        assert np.array_equal(kept_set.variants[0].mix, other.variants[0].mix)
        assert kept_set.variants[0].score == other.variants[0].score
    assert kept_set.generation_hash == request.spec.generation_hash()
