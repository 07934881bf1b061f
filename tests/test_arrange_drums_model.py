"""Drums of the bundled packs with the shipped model: styled, varied, in the key.

The diffusion composer writes the scores (as `Engine()` does); the arranger plays them.
Three variants of three states (the electronic, jazz, waltz... grooves are covered on real
chorales and cadences in test_arrange_drums.py, which runs without the model).
"""

from functools import lru_cache
from pathlib import Path

import pytest

from engine_core.arrange.arranger import MODE_INTERVALS, arrange
from engine_core.arrange.grooves import DRUM_NOTES, load_library
from engine_core.evaluation.stem_overlap import set_stem_overlap
from middleware.templates.loader import load_pack

PACKS = Path(__file__).parents[1] / "templates"
STATES = [
    ("fantasy_rpg", "battle"),
    ("fantasy_rpg", "town"),
    ("fantasy_rpg", "explore"),
]

pytestmark = pytest.mark.slow


@lru_cache(maxsize=1)
def composer():  # -> DiffusionComposer
    from engine_core.model.composer import DiffusionComposer

    return DiffusionComposer.load()


@lru_cache(maxsize=8)
def arranged(pack: str, state: str, seed: int = 7):  # -> (spec, [Arrangement])
    spec = load_pack(PACKS / pack).state(state).spec
    scores = composer().compose(spec, seed=seed, variants=3)
    library = load_library()
    return spec, [
        arrange(score, spec, seed=seed, variant_index=index, grooves=library)
        for index, score in enumerate(scores)
    ]


@pytest.mark.parametrize(("pack", "state"), STATES)
def test_bundled_drum_stems_differ_between_variants_within_range(pack: str, state: str) -> None:
    spec, arrangements = arranged(pack, state)
    steps_per_beat = arrangements[0].meter_info.steps_per_beat
    checked = 0
    for index, stem in enumerate(spec.stems):
        if stem.role not in ("drums", "percussion"):
            continue
        variants = [a.stems[index].notes for a in arrangements]
        assert min(len(v) for v in variants) >= 8, stem.name
        overlap = set_stem_overlap(variants, steps_per_beat)
        assert 0.2 <= overlap <= 0.8, (stem.name, overlap)
        checked += 1
    assert checked


def test_the_orchestral_battle_has_orchestral_drums_and_war_drums() -> None:
    spec, arrangements = arranged("fantasy_rpg", "battle")
    names = [s.name for s in spec.stems]
    for arrangement in arrangements:
        drums = arrangement.stems[names.index("drums")]
        war = arrangement.stems[names.index("war_drums")]
        assert drums.groove.startswith("orchestral") and war.groove == "war_drums"
        assert {n.pitch for n in war.notes}.isdisjoint({DRUM_NOTES["tamb"], DRUM_NOTES["cowbell"]})


def test_the_overworld_timpani_play_in_the_key() -> None:
    spec, arrangements = arranged("fantasy_rpg", "explore")
    key = spec.key_info
    scale = {(key.tonic + i) % 12 for i in MODE_INTERVALS[key.mode]}
    index = [s.name for s in spec.stems].index("timpani")
    for arrangement in arrangements:
        stem = arrangement.stems[index]
        assert not stem.is_drum and stem.groove == "timpani_four"
        assert stem.notes and {n.pitch % 12 for n in stem.notes} <= scale
