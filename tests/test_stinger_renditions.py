"""Stinger renditions: a stinger made for each state it plays over, chosen by the director.

The fast tests run the real loader, cache keys, director and service (over real ZeroMQ)
on synthetic audio cut to each template's exact tempo, meter and length; the slow ones
generate real renditions with the real engine and check their notes and their landing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_bake_support import write_pack

from engine_core.arrange.harmony import scale_of
from engine_core.spec import Key
from engine_core.variant import VariantSet
from middleware.cache.keys import EngineKey, set_key
from middleware.client import AsyncClient
from middleware.director import events as ev
from middleware.director.director import Director
from middleware.director.synthetic import synthetic_variant_set
from middleware.director.timing import LoopGrid
from middleware.service.config import ServiceConfig
from middleware.service.director_player import director_player_factory
from middleware.service.library import StaticLibrary
from middleware.service.server import Service
from middleware.templates.loader import load_pack
from middleware.templates.model import TemplatePack
from middleware.templates.renditions import (
    find,
    pack_renditions,
    rendition,
    rendition_name,
    split_rendition_name,
)
from tests.service_support import cheap_fill, fantasy_pack

ENGINE = EngineKey("engine", "weights", "")
BLOCK = 1031  # frames per rendered block: off every beat of the bundled tempi


def _synthetic(name: str, spec, variants: int = 1) -> VariantSet:  # spec: GenerationSpec
    return synthetic_variant_set(
        name, bpm=spec.bpm, meter=spec.meter, bars=spec.bars, variants=variants,
        sample_rate=spec.sample_rate, stems={s.name: s.intensity for s in spec.stems},
        one_shot=spec.one_shot, fill=cheap_fill,
    )  # fmt: skip


def _sets(pack: TemplatePack, *, renditions: bool = True) -> dict[str, VariantSet]:
    sets = {name: _synthetic(name, state.spec, 2) for name, state in pack.states.items()}
    sets |= {n: _synthetic(n, s.spec) for n, s in pack.stingers.items() if s.spec is not None}
    if renditions:
        sets |= {r.name: _synthetic(r.name, r.spec) for r in pack_renditions(pack)}
    return sets


def _play(director: Director, until: int) -> list:
    block = np.zeros((BLOCK, 2), dtype=np.float32)
    while director.position < until:
        director.render(block)
    return director.drain_events()


def _host_beats(pack: TemplatePack, host: str, upto: int) -> set[int]:
    spec = pack.state(host).spec
    grid = LoopGrid.from_tempo(spec.bpm, spec.meter, spec.bars, spec.sample_rate)
    loops = upto // grid.loop_samples + 1
    return {k * grid.loop_samples + b for k in range(loops) for b in grid.beat_samples}


# -- what a rendition is -------------------------------------------------------------------


def test_a_rendition_takes_the_hosts_key_mode_tempo_and_meter() -> None:
    pack = fantasy_pack()
    for host in ("battle", "town", "explore", "boss"):
        made = rendition(pack, "level_up", host)
        state = pack.state(host).spec
        assert made is not None and made.name == f"level_up@{host}"
        assert (made.spec.key, made.spec.bpm, made.spec.meter) == (
            state.key,
            state.bpm,
            state.meter,
        )
        base = pack.stinger("level_up").spec
        assert (made.spec.bars, made.spec.prompt, made.spec.stems) == (
            base.bars,
            base.prompt,
            base.stems,
        )
        assert made.spec.one_shot and ("scale", "diatonic") in made.spec.extra


def test_a_pinned_key_stays_and_only_tempo_and_meter_follow(tmp_path: Path) -> None:
    pack_dir = write_pack(tmp_path / "pack")
    text = (pack_dir / "pack.toml").read_text()
    (pack_dir / "pack.toml").write_text(
        text.replace("[stingers.hit]\n", '[stingers.hit]\nkey = "F lydian"\n')
    )
    pack = load_pack(pack_dir)
    assert pack.stinger("hit").key_pinned
    assert not load_pack(write_pack(tmp_path / "plain")).stinger("hit").key_pinned
    made = rendition(pack, "hit", "battle")
    assert made is not None
    assert made.spec.key == "F lydian"
    assert made.spec.bpm == pack.state("battle").spec.bpm
    assert made.spec.meter == pack.state("battle").spec.meter


def test_a_file_stinger_has_no_renditions(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path / "pack"))
    assert rendition(pack, "chime", "menu") is None
    assert {r.stinger for r in pack_renditions(pack)} == {"hit"}
    assert len(pack_renditions(pack)) == len(pack.states)


def test_rendition_names_round_trip_and_never_clash_with_states() -> None:
    pack = fantasy_pack()
    assert split_rendition_name(rendition_name("level_up", "battle")) == ("level_up", "battle")
    assert split_rendition_name("battle") is None
    assert split_rendition_name("bridge:menu->town") is None
    found = find(pack, "item_found@town")
    assert found is not None and found.host == "town" and found.stinger == "item_found"
    assert find(pack, "item_found@nowhere") is None and find(pack, "battle") is None


def test_cache_keys_differ_per_host_and_from_the_base_stinger() -> None:
    pack = fantasy_pack()
    stinger = pack.stinger("level_up")
    keys = {host: set_key(rendition(pack, "level_up", host), ENGINE) for host in pack.states}
    assert len(set(keys.values())) == len(pack.states)
    assert set_key(stinger, ENGINE) not in keys.values()
    assert set_key(rendition(pack, "level_up", "battle"), ENGINE) == keys["battle"]  # stable
    # the host's tempo is part of the key, and so is the stinger's own spec
    faster = replace(pack.state("battle"), spec=replace(pack.state("battle").spec, bpm=160.0))
    moved = replace(pack, states={**pack.states, "battle": faster})
    assert set_key(rendition(moved, "level_up", "battle"), ENGINE) != keys["battle"]
    louder = replace(stinger, spec=replace(stinger.spec, prompt="a louder flourish"))
    edited = replace(pack, stingers={**pack.stingers, "level_up": louder})
    assert set_key(rendition(edited, "level_up", "battle"), ENGINE) != keys["battle"]


# -- the director's choice -------------------------------------------------------------------


@pytest.mark.parametrize("host", ["menu", "town", "explore", "battle"])
def test_the_director_lays_the_rendition_of_the_host_on_its_beat(host: str) -> None:
    pack = fantasy_pack()
    sets = _sets(pack)
    director = Director(pack, sets.get, start_state=host)
    _play(director, 3 * BLOCK)
    plan = director.play_stinger("level_up")
    assert plan is not None
    assert (plan.rendition, plan.host, plan.fallback) == (f"level_up@{host}", host, None)
    events = _play(director, plan.at_sample + 2 * BLOCK)
    beats = {e.sample for e in events if e.kind == ev.BEAT}
    assert plan.at_sample in beats  # on the host's beat clock, to the sample
    assert plan.at_sample in _host_beats(pack, host, plan.at_sample)


def test_without_its_rendition_the_base_stinger_plays_and_says_why() -> None:
    pack = fantasy_pack()
    sets = _sets(pack, renditions=False)
    director = Director(pack, sets.get, start_state="battle")
    _play(director, 3 * BLOCK)
    plan = director.play_stinger("level_up")
    assert plan is not None
    assert (plan.rendition, plan.host, plan.fallback) == (
        "level_up",
        "battle",
        "rendition not ready",
    )
    planned = [e for e in director.drain_events() if e.kind == ev.STINGER_PLANNED]
    assert planned[-1].data["fallback"] == "rendition not ready"
    assert planned[-1].data["rendition"] == "level_up"


def test_only_a_rendition_ready_is_enough_to_play() -> None:
    pack = fantasy_pack()
    sets = _sets(pack)
    del sets["level_up"]
    director = Director(pack, sets.get, start_state="town")
    plan = director.play_stinger("level_up")
    assert plan is not None and plan.rendition == "level_up@town"


def test_a_state_change_before_the_onset_lays_the_stinger_again_for_the_new_state() -> None:
    pack = fantasy_pack()
    sets = _sets(pack)
    director = Director(pack, sets.get, start_state="town")  # G major, 6/8, 112 bpm
    _play(director, 3 * BLOCK)
    change = director.set_state("battle")  # D minor, 4/4, 152 bpm; on town's next bar
    plan = director.play_stinger("boss_appears")  # next bar too: the very sample battle enters
    assert change is not None and plan is not None
    assert plan.at_sample == change.at_sample and plan.rendition == "boss_appears@town"
    events = _play(director, change.at_sample + 2 * BLOCK)
    moved = [e for e in events if e.kind == ev.STINGER_PLANNED and "replaces" in e.data]
    assert len(moved) == 1
    assert moved[0].data["rendition"] == "boss_appears@battle"
    assert moved[0].data["replaces"] == plan.at_sample
    assert moved[0].data["at_sample"] == change.at_sample  # battle's loop starts there
    stingers = [v for v in director._voices if not v.music]
    assert [v.rendition["rendition"] for v in stingers] == ["boss_appears@battle"]
    assert len(director._ducks) == 1


async def test_the_service_answers_with_the_rendition_over_real_zeromq() -> None:
    pack = fantasy_pack()
    library = StaticLibrary({(pack.name, n): s for n, s in _sets(pack).items()})
    config = ServiceConfig(bind="tcp://127.0.0.1:*", pub_bind="tcp://127.0.0.1:*")
    async with (
        Service([pack], library, director_player_factory, config) as service,
        AsyncClient(service.endpoint, name="tests/1.0", timeout_s=3.0) as client,
    ):
        await client.hello()
        plan = await client.stinger("item_found")
        assert plan["rendition"] == f"item_found@{pack.start_state}"
        assert plan["host"] == pack.start_state and plan["fallback"] is None
        await client.event("battle")
        await client.stream_start(lambda header, data: None, credits=8)  # the clock runs
        for _ in range(500):
            if (await client.status())["state"] == "battle":
                break
            await client.credit(8)
        assert (await client.status())["state"] == "battle"
        plan = await client.stinger("item_found")
        assert plan["rendition"] == "item_found@battle"


# -- real audio ------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_renditions_keep_every_pitched_note_in_the_host_scale() -> None:
    from engine_core.generate import Engine
    from middleware.director.stinger_measures import outside_scale, pitched_notes

    pack = fantasy_pack()
    with Engine() as engine:
        # a minor key in 4/4 and a major one in 6/8 (eval-stingers measures every pair)
        for stinger, host in (("level_up", "battle"), ("boss_appears", "town")):
            made = rendition(pack, stinger, host)
            variant_set = engine.generate(made.spec, state=made.name, seed=made.seed, variants=1)
            variant = variant_set.variants[0]
            notes = pitched_notes(variant)
            host_spec = pack.state(host).spec
            assert notes, made.name
            assert outside_scale(notes, host_spec.key_info) == 0, made.name
            assert set(n % 12 for n in notes) <= set(scale_of(Key.parse(host_spec.key)))
            assert (variant.meta.bpm, variant.meta.meter) == (host_spec.bpm, host_spec.meter)


@pytest.mark.slow
def test_the_real_director_plays_real_renditions_on_the_host_grid(tmp_path: Path) -> None:
    """The small bake pack, rendered by the real engine over real chorales (which carry
    accidentals): each host gets its rendition, on its beat, with no note off its scale."""
    from test_bake_support import chorale_engine

    from middleware.director.stinger_measures import measure_pair

    pack_dir = write_pack(tmp_path / "pack")
    battle = (pack_dir / "battle.toml").read_text()  # its own key: D minor is the default
    (pack_dir / "battle.toml").write_text(
        battle.replace("bpm = 140", 'bpm = 140\nkey = "E dorian"')
    )
    pack = load_pack(pack_dir)
    assert pack.state("battle").spec.key == "E dorian"
    sets: dict[str, VariantSet] = {}
    with chorale_engine() as engine:
        items = [*pack.states.values(), pack.stinger("hit"), *pack_renditions(pack)]
        for item in items:
            count = getattr(item, "variants", 1)
            sets[item.name] = engine.generate(
                item.spec, state=item.name, seed=item.seed, variants=count
            )
    rows = [measure_pair(pack, sets, r.stinger, r.host) for r in pack_renditions(pack)]
    assert {r.host for r in rows} == set(pack.states)
    for row in rows:
        assert row.played == f"hit@{row.host}" and row.fallback is None
        assert row.notes > 0 and row.outside == 0
        assert row.onset_error_samples == 0
        assert row.beat_error_samples <= 1  # two roundings of the same beat length


def test_session_scripts_ask_for_the_renditions_their_stingers_need() -> None:
    from middleware.director.session import parse_script

    pack = fantasy_pack()
    script = parse_script(
        {
            "duration_s": 4.0,
            "events": [{"at_s": 0.5, "stinger": "level_up"}, {"at_s": 1.0, "state": "battle"}],
        },
        pack,
    )
    assert set(script.renditions(pack)) == {f"level_up@{state}" for state in script.states(pack)}


# -- the diatonic pass -------------------------------------------------------------------------


def test_the_diatonic_pass_moves_chromatic_notes_to_the_nearest_scale_tone() -> None:
    from engine_core.arrange.arranger import ArrangedNote, ArrangedStem, Arrangement
    from engine_core.arrange.diatonic import keep_in_scale, nearest_in_scale
    from engine_core.spec import StemSpec

    d_minor = scale_of(Key.parse("D minor"))
    assert nearest_in_scale(61, d_minor) == 60  # C#: the raised leading tone falls back to C
    assert nearest_in_scale(63, d_minor) == 62  # Eb: a tie between D and E goes down
    assert nearest_in_scale(66, d_minor) == 65  # F# -> F
    assert nearest_in_scale(69, d_minor) == 69  # A is in the scale

    def note(start: float, pitch: int) -> ArrangedNote:
        return ArrangedNote(start, 1.0, pitch, 90)

    harp = StemSpec("harp", "arp")
    drums = StemSpec("drums", "drums")
    arrangement = Arrangement(
        bpm=120.0, meter="4/4", key="D minor", bars=1,
        stems=(
            ArrangedStem(harp, (note(0, 61), note(0, 60), note(1, 66), note(2, 69))),
            ArrangedStem(drums, (note(0, 42), note(1, 37))),  # drum sounds, not pitches
        ),
    )  # fmt: skip
    kept = keep_in_scale(arrangement, Key.parse("D minor"))
    assert [(n.start_beats, n.pitch) for n in kept.stems[0].notes] == [(0, 60), (1, 65), (2, 69)]
    assert kept.stems[1].notes == arrangement.stems[1].notes
