"""Render task planning: stem cost estimates from the bank's zones, and render workers
that keep their heap."""

import multiprocessing
from dataclasses import replace

import pytest

from engine_core.arrange.arranger import arrange
from engine_core.render.pool import keep_heap
from engine_core.render.soundfont import SoundFont
from engine_core.render.stem_cost import stem_cost
from engine_core.render.stems import TAIL_SECONDS
from tests.chorale_scores import band_spec, chorale_score


def _arrangement():
    spec = band_spec(bars=4)
    return arrange(chorale_score(bars=4), spec, seed=3, variant_index=0)


def test_more_and_longer_notes_cost_more_and_silence_costs_the_effects_alone() -> None:
    bank = SoundFont.load()
    arrangement = _arrangement()
    index = next(i for i, s in enumerate(arrangement.stems) if s.notes and not s.is_drum)
    stem = arrangement.stems[index]
    costs = {}
    for name, notes in {
        "silent": (),
        "as arranged": stem.notes,
        "twice as long": tuple(replace(n, duration_beats=2 * n.duration_beats) for n in stem.notes),
        "doubled": stem.notes + tuple(replace(n, pitch=n.pitch + 12) for n in stem.notes),
    }.items():
        changed = replace(stem, notes=notes)
        stems = (*arrangement.stems[:index], changed, *arrangement.stems[index + 1 :])
        costs[name] = stem_cost(replace(arrangement, stems=stems), index, bank, TAIL_SECONDS)
    seconds = arrangement.loop_beats * 60.0 / arrangement.bpm + TAIL_SECONDS
    assert costs["silent"] == pytest.approx(0.02 + 3.8e-3 * seconds)
    assert costs["silent"] < costs["as arranged"] < costs["twice as long"]
    assert costs["as arranged"] < costs["doubled"]


def test_a_render_worker_can_keep_its_heap() -> None:
    # in a process of its own: the setting lasts for the process
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(keep_heap) is True
