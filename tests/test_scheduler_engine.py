"""The scheduler with the real engine: arrangement, SoundFont rendering, real workers.

The first test runs the engine's stages after the model on real chorale scores (music21's
corpus, `chorale_scores.ChoraleComposer`); the second runs the default `Engine()` with
the shipped diffusion weights.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from middleware.cache import VariantCache
from middleware.scheduler import EventKind, Priority, Scheduler
from middleware.templates.loader import load_pack

CHORALE_ENGINE = "test_cache_support:make_chorale_engine"


def short_states(names: tuple[str, ...]) -> dict:
    """Pack states cut to one bar and two variants: the whole engine path at a test's cost."""
    pack = load_pack("templates/fantasy_rpg")
    return {
        name: dataclasses.replace(
            pack.state(name),
            spec=dataclasses.replace(pack.state(name).spec, bars=1, motif=None),
            variants=2,
        )
        for name in names
    }


def generate_and_check(root, engine_factory: str, names: tuple[str, ...]):
    states = short_states(names)
    with Scheduler(root, workers=2, engine_factory=engine_factory) as scheduler:
        events = scheduler.subscribe()
        futures = {n: scheduler.submit(s, Priority.CURRENT) for n, s in states.items()}
        results = {n: f.result(timeout=300) for n, f in futures.items()}
        engine_key = scheduler.engine_key
    assert all(r.generated and r.attempts == 1 for r in results.values())
    seen = []
    while not events.empty():
        seen.append(events.get())
    assert {e.stage for e in seen if e.kind is EventKind.PROGRESS} >= {"render", "export"}
    assert sorted(e.variant_index for e in seen if e.kind is EventKind.VARIANT_READY) == sorted(
        [0, 1] * len(names)
    )
    with VariantCache(root) as cache:
        for name, state in states.items():
            found = cache.get_set(state, engine_key)
            assert found is not None and len(found.variants) == 2
            variant = found.variants[1]
            assert variant.meta.state == name
            assert variant.meta.weights_version == engine_key.weights_version
            assert variant.mix.dtype == np.float32 and variant.mix.shape == (variant.meta.frames, 2)
            assert float(np.abs(variant.mix).max()) > 0.01  # real, audible audio
            assert set(variant.stems) == {s.name for s in state.spec.stems}
            assert variant.midi.startswith(b"MThd")
            scores = cache.get_scores(state, engine_key)  # kept for the bridges that need them
            assert scores is not None and [s.bars for s in scores] == [1, 1]
        assert cache.verify().clean
    return engine_key


@pytest.mark.slow
def test_workers_render_real_scores_into_the_cache(tmp_path):
    key = generate_and_check(tmp_path, CHORALE_ENGINE, ("battle", "victory"))
    assert key.weights_version == "chorales-music21"
