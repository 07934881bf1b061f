"""The bundled template packs load, validate and describe what their designers meant."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_core.spec import ALL_TAGS
from middleware.templates.loader import load_pack
from middleware.templates.model import EnterAt, Fade, LeaveAt

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_fantasy_rpg_has_every_state_it_promises() -> None:
    pack = load_pack(TEMPLATES / "fantasy_rpg")
    assert set(pack.states) == {"menu", "town", "explore", "battle", "boss", "victory", "defeat"}
    assert pack.start_state == "menu"


@pytest.mark.parametrize("file", ["pack.toml", "battle.toml"])
def test_pack_can_be_loaded_from_one_of_its_files(file: str) -> None:
    by_folder = load_pack(TEMPLATES / "fantasy_rpg")
    by_file = load_pack(TEMPLATES / "fantasy_rpg" / file)
    assert {n: s.generation_hash for n, s in by_folder.states.items()} == {
        n: s.generation_hash for n, s in by_file.states.items()
    }


def test_fantasy_rpg_one_shots_go_on_to_a_next_state() -> None:
    pack = load_pack(TEMPLATES / "fantasy_rpg")
    assert (pack.state("victory").one_shot, pack.state("victory").next) == (True, "explore")
    assert (pack.state("defeat").one_shot, pack.state("defeat").next) == (True, "menu")
    looping = [s for s in pack.states.values() if not s.one_shot]
    assert all(s.next is None for s in looping)


def test_fantasy_rpg_transitions_use_every_sync_enter_and_fade_kind() -> None:
    pack = load_pack(TEMPLATES / "fantasy_rpg")
    rules = pack.transitions
    assert {r.leave_at for r in rules} == set(LeaveAt)
    assert {r.enter_at for r in rules} == set(EnterAt)
    assert {r.fade for r in rules} == set(Fade)
    fillers = {r.filler for r in rules if r.filler is not None}
    assert any(f.stinger for f in fillers) and any(f.bridge_bars for f in fillers)


def test_fantasy_rpg_battle_layers_build_with_intensity() -> None:
    pack = load_pack(TEMPLATES / "fantasy_rpg")
    for name in ("battle", "boss"):
        lows = sorted(stem.intensity[0] for stem in pack.state(name).spec.stems)
        assert lows[0] == 0.0 and lows[-1] >= 0.5, name  # a base layer and late layers


@pytest.mark.parametrize("name", ["fantasy_rpg", "neon_runner"])
def test_bundled_pack_uses_only_vocabulary_tags(name: str) -> None:
    pack = load_pack(TEMPLATES / name)
    specs = [s.spec for s in pack.states.values()]
    specs += [s.spec for s in pack.stingers.values() if s.spec is not None]
    for spec in specs:
        assert spec.tags and set(spec.tags) <= ALL_TAGS


def test_neon_runner_has_every_state_it_promises() -> None:
    pack = load_pack(TEMPLATES / "neon_runner")
    assert set(pack.states) == {"menu", "run", "chase", "boss", "game_over"}
    assert pack.state("game_over").next == "menu"


def test_neon_runner_run_and_chase_share_a_grid_for_same_position_switches() -> None:
    pack = load_pack(TEMPLATES / "neon_runner")
    run, chase = pack.state("run").spec, pack.state("chase").spec
    assert (run.bpm, run.meter, run.bars, run.key) == (
        chase.bpm,
        chase.meter,
        chase.bars,
        chase.key,
    )
    assert pack.transition("run", "chase").enter_at is EnterAt.SAME_POSITION
