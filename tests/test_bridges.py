"""Generated bridges: which pairs need one, their specs and cache keys, their tempo ramp,
the inpainting frame, the director playing them on the planned sample, pre-generation
ordering, and (slow) a real bridge written by the shipped model and rendered."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_core.arrange.arranger import map_pitch
from engine_core.arrange.harmony import MODE_INTERVALS
from engine_core.bridge.frame import build_frame, unmap_pitch
from engine_core.bridge.tempo import TempoRamp
from engine_core.score import Score, ScoreNote
from engine_core.spec import MODES, Key, beat_to_sample
from middleware.bridges.requests import BridgeRequest, bridge_pairs, bridge_requests
from middleware.cache.keys import EngineKey, set_key
from middleware.director import events as ev
from middleware.director.director import Director, bridge_name
from middleware.director.synthetic import synthetic_variant_set
from middleware.scheduler import Priority, pack_requests
from middleware.scheduler.scheduler import _after, request_key
from middleware.templates.loader import load_pack

ROOT = Path(__file__).resolve().parents[1]
SR = 48000
ENGINE = EngineKey("engine", "weights", "sf")
TONE = "test_cache_support:make_tone_engine"


@pytest.fixture(scope="module")
def fantasy():
    return load_pack(ROOT / "templates" / "fantasy_rpg")


@pytest.fixture(scope="module")
def neon():
    return load_pack(ROOT / "templates" / "neon_runner")


# ------------------------------------------------------------------ which bridges


def test_both_bundled_packs_ask_for_bridges(fantasy, neon) -> None:
    assert bridge_pairs(fantasy) == [("explore", "town", 2), ("town", "explore", 2)]
    assert bridge_pairs(neon) == [("boss", "run", 4)]


def test_a_bridge_is_named_as_the_director_looks_it_up(fantasy) -> None:
    request = bridge_requests(fantasy)[1]
    assert request.name == bridge_name("town", "explore") == "bridge:town->explore"
    assert request.variants == 1 and request.seed == fantasy.states["explore"].seed


def test_a_bridge_spec_is_the_targets_stems_as_a_one_shot_of_its_bars(fantasy) -> None:
    request = BridgeRequest(fantasy.states["town"], fantasy.states["explore"], 2)
    target = fantasy.states["explore"].spec
    assert request.spec.one_shot and request.spec.bars == 2
    assert request.spec.stems == target.stems and request.spec.meter == target.meter
    assert request.spec.key == target.key
    assert 88 < request.spec.bpm < 112  # the ramp's mean tempo, between the two


# ------------------------------------------------------------------ cache keys


def _with_spec(state, **changes):
    return dataclasses.replace(state, spec=dataclasses.replace(state.spec, **changes))


def test_the_cache_key_changes_with_either_state_and_only_with_them(fantasy) -> None:
    town, explore = fantasy.states["town"], fantasy.states["explore"]
    base = set_key(BridgeRequest(town, explore, 2), ENGINE)
    faster_source = BridgeRequest(_with_spec(town, bpm=120.0), explore, 2)
    other_target = BridgeRequest(town, _with_spec(explore, prompt="a new prompt"), 2)
    reseeded = BridgeRequest(dataclasses.replace(town, seed=town.seed + 1), explore, 2)
    longer = BridgeRequest(town, explore, 4)
    keys = {set_key(r, ENGINE) for r in (faster_source, other_target, reseeded, longer)}
    assert base not in keys and len(keys) == 4
    # the same pair again (another state of the pack edited): the same key
    assert set_key(BridgeRequest(town, explore, 2), ENGINE) == base


def test_a_state_edit_changes_the_bridges_it_touches_in_a_loaded_pack(tmp_path, fantasy) -> None:
    import shutil

    copy = tmp_path / "fantasy_rpg"
    shutil.copytree(ROOT / "templates" / "fantasy_rpg", copy)
    town = copy / "town.toml"
    town.write_text(town.read_text().replace("bpm = 112", "bpm = 116"))
    edited = load_pack(copy)
    before = {r.name: set_key(r, ENGINE) for r in bridge_requests(fantasy)}
    after = {r.name: set_key(r, ENGINE) for r in bridge_requests(edited)}
    assert before.keys() == after.keys()
    assert all(before[name] != after[name] for name in before)  # both touch town


# ------------------------------------------------------------------ tempo ramp


def test_equal_tempi_give_the_constant_tempo_grid() -> None:
    ramp = TempoRamp(120.0, 120.0, 2, "4/4")
    assert ramp.mean_bpm == 120.0
    assert ramp.beat_samples(SR) == tuple(beat_to_sample(b, 120, SR) for b in range(8))
    assert ramp.bar_samples(SR)[-1] == ramp.length_samples(SR) == 192000


@given(
    st.floats(40, 200), st.floats(40, 200), st.sampled_from([1, 2, 4]),
    st.sampled_from(["4/4", "3/4", "6/8"]),
)  # fmt: skip
def test_a_ramp_moves_from_the_source_pulse_to_the_target_pulse(start, end, bars, meter) -> None:
    ramp = TempoRamp(start, end, bars, meter)
    beats = (*ramp.beat_samples(SR), ramp.length_samples(SR))
    gaps = np.diff(beats)
    assert beats[0] == 0 and np.all(gaps > 0)
    assert ramp.bar_samples(SR)[-1] == ramp.length_samples(SR)
    assert abs(ramp.bpm_at(0) - start) < 1e-9 and abs(ramp.bpm_at(ramp.total_beats) - end) < 1e-9
    if bars > 1:  # the last bar is in the target's tempo
        last_bar = gaps[-ramp.beats_per_bar :]
        assert np.all(np.abs(last_bar - 60 * SR / end) <= 0.01 * 60 * SR / end + 2)
    assert min(start, end) - 1e-3 <= ramp.mean_bpm <= max(start, end) + 1e-3


# ------------------------------------------------------------------ the frame


@given(st.integers(3, 7), st.integers(0, 6), st.sampled_from(MODES),
       st.sampled_from(["major", "minor"]), st.integers(0, 11))  # fmt: skip
def test_unmap_pitch_inverts_the_key_mapping_on_scale_tones(
    octave, degree, mode, score_mode, tonic
) -> None:
    pitch = 12 * octave + MODE_INTERVALS[score_mode][degree]  # a scale tone of the score
    key = Key(tonic, mode, f"x {mode}")
    assert unmap_pitch(map_pitch(pitch, score_mode, key), score_mode, key) == pitch


def _bar_of(bar: int, pitch: int) -> list[ScoreNote]:
    return [ScoreNote(bar, 0, "melody", pitch, 4), ScoreNote(bar, 0, "bass", pitch - 24, 8)]


def test_the_frame_keeps_the_source_end_and_target_start_in_the_targets_frame() -> None:
    melody = (60, 62, 64, 65)
    source = Score("4/4", 4, "major", tuple(n for b in range(4) for n in _bar_of(b, melody[b])))
    target = Score("6/8", 4, "major", tuple(n for b in range(4) for n in _bar_of(b, 67)))
    d_major, g_major = Key(2, "major", "D major"), Key(7, "major", "G major")
    frame = build_frame(source, d_major, target, g_major, 2)
    assert frame.score.meter == "6/8" and frame.score.bars == 4
    assert frame.keep_bars == (0, 3) and frame.bridge_first_bar == 1
    first = [n for n in frame.score.notes if n.bar == 0 and n.track == "melody"]
    # source bar 3's F (in the C frame) sounds G in D major: G major's tonic, C in its frame
    sounding = map_pitch(65, "major", d_major)
    assert [n.pitch for n in first] == [unmap_pitch(sounding, "major", g_major)] == [72]
    assert not [n for n in frame.score.notes if n.bar in (1, 2)]  # the bars to write
    assert {n.pitch for n in frame.score.notes if n.bar == 3 and n.track == "melody"} == {67}


# ------------------------------------------------------------------ pre-generation order


def test_pregen_lists_bridges_after_every_state_and_makes_them_wait(fantasy) -> None:
    requests = pack_requests(fantasy)
    names = [item.name for item, _ in requests]
    bridges = [i for i, name in enumerate(names) if name.startswith("bridge:")]
    assert [names[i] for i in bridges] == ["bridge:explore->town", "bridge:town->explore"]
    assert min(bridges) > max(names.index(s) for s in fantasy.states)
    assert all(requests[i][1] is Priority.BACKGROUND for i in bridges)
    item = requests[bridges[1]][0]
    town, explore = fantasy.states["town"], fantasy.states["explore"]
    assert _after(item) == (request_key(town), request_key(explore))
    assert _after(town) == ()


# ------------------------------------------------------------------ the director


def _fills(level: float):
    def fill(stem: int, variant: int, frames: int, beats: tuple[int, ...]) -> np.ndarray:
        audio = np.zeros((frames, 2), dtype=np.float32)
        if stem == 0:
            audio[:, 1] = level * (1 + variant)  # each variant its own level
        return audio

    return fill


def _synthetic_sets(pack, bridge_set, target_level: float = 0.125) -> dict:
    sets = {}
    for name, state in pack.states.items():
        spec = state.spec
        level = target_level if name == "explore" else 0.0
        sets[name] = synthetic_variant_set(
            name, bpm=spec.bpm, meter=spec.meter, bars=spec.bars, variants=state.variants,
            stems={s.name: s.intensity for s in spec.stems}, fill=_fills(level),
            one_shot=spec.one_shot,
        )  # fmt: skip
    if bridge_set is not None:
        sets[bridge_name("town", "explore")] = bridge_set
    return sets


def _render(director: Director, frames: int) -> np.ndarray:
    out = np.zeros((frames, 2), dtype=np.float32)
    block = np.zeros((1024, 2), dtype=np.float32)
    for start in range(0, frames, 1024):
        director.render(block)
        out[start : start + 1024] = block[: min(1024, frames - start)]
    return out


def _town_to_explore(fantasy, sets) -> tuple[Director, np.ndarray, list]:
    director = Director(fantasy, sets.get, sample_rate=SR, seed=3, start_state="town")
    director.set_state("explore", at_sample=SR)  # town leaves at its loop end
    audio = _render(director, 16 * SR)
    return director, audio, director.drain_events()


def test_the_director_reports_the_bridge_and_enters_the_target_at_its_end(fantasy) -> None:
    request = BridgeRequest(fantasy.states["town"], fantasy.states["explore"], 2)
    spec = request.spec
    bridge = synthetic_variant_set(
        request.name, bpm=spec.bpm, meter=spec.meter, bars=2, variants=1, one_shot=True,
        stems={s.name: s.intensity for s in spec.stems}, fill=_fills(0.0),
    )  # fmt: skip
    _, _, events = _town_to_explore(fantasy, _synthetic_sets(fantasy, bridge))
    planned = next(
        e for e in events if e.kind == ev.TRANSITION_PLANNED and e.data["to"] == "explore"
    )
    start = next(e for e in events if e.kind == ev.BRIDGE_START)
    entered = next(e for e in events if e.kind == ev.STATE and e.data["state"] == "explore")
    loop = fantasy.states["town"].spec.loop_samples
    assert planned.data["at_sample"] == start.sample == loop  # town's loop end
    assert start.data["ends_at"] == loop + bridge.variants[0].meta.bar_samples[-1]
    assert entered.sample == start.data["ends_at"] and entered.data["variant"] == 0
    assert ev.BRIDGE_FALLBACK not in [e.kind for e in events]


def test_without_its_bridge_the_director_falls_back_and_says_so(fantasy) -> None:
    _, _, events = _town_to_explore(fantasy, _synthetic_sets(fantasy, None))
    kinds = [e.kind for e in events]
    assert ev.BRIDGE_FALLBACK in kinds and ev.BRIDGE_START not in kinds


# ------------------------------------------------------------------ real bridges (slow)


@pytest.fixture(scope="module")
def real_bridge(fantasy):
    from engine_core.bridge import generate_bridge
    from engine_core.generate import Engine

    request = BridgeRequest(fantasy.states["town"], fantasy.states["explore"], 2)
    with Engine() as engine:
        variant_set, composed = generate_bridge(
            engine, *request.bridge, name=request.name, seed=request.seed
        )
    return request, variant_set, composed


@pytest.mark.slow
def test_the_model_writes_a_bridge_into_the_targets_stems(real_bridge) -> None:
    request, variant_set, composed = real_bridge
    variant = variant_set.variants[0]
    meta = variant.meta
    ramp = TempoRamp(112.0, 88.0, 2, "4/4")
    assert variant_set.state == request.name and len(variant_set.variants) == 1
    assert not meta.is_loop and meta.bars == 2 and meta.key == "E dorian"
    assert meta.bar_samples == ramp.bar_samples(SR) and meta.beat_samples == ramp.beat_samples(SR)
    assert meta.generation_hash == request.spec.generation_hash()
    assert set(variant.stems) == {s.name for s in request.spec.stems}
    assert variant.mix.shape[0] > meta.bar_samples[-1]  # it rings on past its last bar line
    for a, b in zip(meta.bar_samples, meta.bar_samples[1:], strict=False):  # music in every bar
        assert float(np.sqrt(np.mean(variant.mix[a:b] ** 2))) > 0.01
    assert composed.score.bars == 2 and composed.score.notes
    costs = [abs(j.source_join - j.reference.median) for j in composed.candidates]
    assert len(costs) == 6 and 0 <= composed.chosen < 6


@pytest.mark.slow
def test_the_director_plays_the_real_bridge_on_the_planned_sample(fantasy, real_bridge) -> None:
    _, bridge_set, _ = real_bridge
    _director, audio, events = _town_to_explore(fantasy, _synthetic_sets(fantasy, bridge_set))
    _, silent_target, _ = _town_to_explore(fantasy, _synthetic_sets(fantasy, bridge_set, 0.0))
    start = next(e for e in events if e.kind == ev.BRIDGE_START)
    at, ends = start.sample, start.data["ends_at"]
    mix = bridge_set.variants[0].mix
    assert mix[:400].any() or mix[400:24000].any()
    assert ends - at == bridge_set.variants[0].meta.bar_samples[-1]
    assert not np.any(silent_target[:at])  # town is silent here: nothing before the bridge
    heard = silent_target[at : at + 24000, 0]

    def match(lag: int) -> float:
        return float(np.dot(heard[400:23600], mix[400 + lag : 23600 + lag, 0]))

    assert max(range(-200, 201), key=match) == 0  # the bridge starts on the planned sample
    target = audio - silent_target  # explore alone: a constant on the right channel
    assert not np.any(target[:ends])
    assert target[ends, 1] > 0  # audible on the sample the bridge ends
    assert abs(float(np.median(target[ends + 48 : ends + 4800, 1])) - 0.125) < 0.01  # variant 0


# ------------------------------------------------------------------ bake (slow)

BRIDGE_RULE = """
[transitions."battle -> menu"]
leave_at = "loop_end"
fade = "out"
fade_length = "1 beat"
filler = { bridge_bars = 2 }
"""


@pytest.mark.slow
def test_a_bake_writes_the_bridge_clip_its_manifest_entry_and_the_godot_filler(
    tmp_path: Path,
) -> None:
    from test_bake_support import CHORALE_ENGINE, write_pack

    from middleware.bake import BakeOptions, bake_pack
    from middleware.bake.audio import decode_audio

    pack_dir = write_pack(tmp_path / "pack")
    (pack_dir / "pack.toml").write_text((pack_dir / "pack.toml").read_text() + BRIDGE_RULE)
    pack = load_pack(pack_dir)
    options = BakeOptions(workers=1, engine_factory=CHORALE_ENGINE)
    report = bake_pack(pack, tmp_path / "out", options)
    assert [job.name for job in report.plan.jobs if job.kind == "bridge"] == ["battle.menu"]
    out = tmp_path / "out" / "tiny"
    manifest = json.loads((out / "manifest.json").read_text())
    bridge = manifest["bridges"]["battle->menu"]
    assert (bridge["source"], bridge["target"], bridge["bars"]) == ("battle", "menu", 2)
    assert bridge["file"]["path"] == "audio/bridges/battle/menu.ogg"
    audio, rate = decode_audio((out / bridge["file"]["path"]).read_bytes())
    assert rate == SR and audio.shape[0] == bridge["frames"] > bridge["music_samples"]
    ramp = TempoRamp(140.0, 120.0, 2, "4/4")  # battle's tempo into menu's
    assert bridge["bar_samples"] == list(ramp.bar_samples(SR))
    assert bridge["music_samples"] == ramp.length_samples(SR)
    assert (bridge["bpm_start"], bridge["bpm_end"]) == (140.0, 120.0)
    request = BridgeRequest(pack.states["battle"], pack.states["menu"], 2)
    assert bridge["provenance"]["generation_hash"] == request.spec.generation_hash()
    clips = manifest["godot"]["clips"]
    assert "bridge.battle.menu" in clips
    index = clips.index("bridge.battle.menu")
    text = (out / "tiny.tres").read_text()
    assert f'clip_{index}/name = &"bridge.battle.menu"' in text or (
        f'clip_{index}/name = "bridge.battle.menu"' in text
    )
    battle, menu = clips.index("battle"), clips.index("menu")
    entry = text[text.index(f"Vector2i({battle}, {menu})") :].split("}", 1)[0]
    assert f'"filler_clip": {index}' in entry and '"use_filler_clip": true' in entry


# ------------------------------------------------------------------ pre-generation (processes)


def test_the_scheduler_starts_a_bridge_only_after_both_its_states_are_made(tmp_path: Path) -> None:
    """Two workers: one is kept busy by `battle` (a slow state) while the other runs out of
    states; the bridge out of battle waits for it instead of taking the idle worker."""
    from test_bake_support import write_pack

    from middleware.scheduler import EventKind, Scheduler

    pack_dir = write_pack(tmp_path / "pack")
    (pack_dir / "pack.toml").write_text((pack_dir / "pack.toml").read_text() + BRIDGE_RULE)
    battle = pack_dir / "battle.toml"
    battle.write_text(battle.read_text().replace("driving tense", "slow driving tense"))
    pack = load_pack(pack_dir)
    with Scheduler(tmp_path / "cache", workers=2, engine_factory=TONE) as scheduler:
        events = []
        scheduler.add_listener(events.append)
        futures = scheduler.submit_many(pack_requests(pack))
        for future in futures.values():
            future.result(timeout=120)
    when = {(e.state, e.kind): i for i, e in enumerate(events)}
    bridge = "bridge:battle->menu"
    assert (bridge, EventKind.SET_READY) in when
    assert when[(bridge, EventKind.STARTED)] > when[("battle", EventKind.SET_READY)]
    assert when[(bridge, EventKind.STARTED)] > when[("menu", EventKind.SET_READY)]
    # and the idle worker did other work meanwhile: the stinger started before battle ended
    assert when[("hit", EventKind.STARTED)] < when[("battle", EventKind.SET_READY)]
