"""The Godot baked player's pure GDScript (baked_timing.gd, baked_plan.gd), run through
tests/gdscript_twin.py on vectors the service director's own functions produce.

The same vectors are written to tests/vectors/godot_baked.json, which the GDScript suite
(bindings/godot/tests/test_ostinato.gd) checks inside Godot when GODOT_BIN is set.
Manifest numbers are given to the GDScript as floats, as Godot's JSON parser gives them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from middleware.director.intensity import stem_gain
from middleware.director.timing import next_sync_sample
from middleware.director.voice import Duck
from middleware.mixer.curves import click_guard_samples, equal_power_in, equal_power_out
from middleware.templates.model import LeaveAt, SyncPoint
from tests import gdscript_twin
from tests.test_unity_baked import (
    HIT_MUSIC_SAMPLES,
    RATE,
    STATES,
    _expected_transition,
    _grid,
    _manifest,
    _pack,
)

ROOT = Path(__file__).resolve().parents[1]
ADDON = ROOT / "bindings" / "godot" / "addons" / "ostinato"
VECTORS = ROOT / "tests" / "vectors" / "godot_baked.json"
FADE_NAMES = {"None": "none", "In": "in", "Out": "out", "Cross": "cross"}


@pytest.fixture(scope="module")
def plan_gd() -> Any:
    return gdscript_twin.load(ADDON / "baked_plan.gd")


def _as_godot_json(value: Any) -> Any:
    """JSON as Godot's parser returns it: every number a float."""
    return json.loads(json.dumps(value), parse_int=float)


def build_vectors() -> dict[str, Any]:
    """Cases and the director's answers (middleware.director timing, voice and mixer)."""
    pack = _pack()
    guard = click_guard_samples(RATE)
    transitions = []
    names = list(STATES)
    for source in names:
        for target in names:
            if source == target:
                continue
            for origin in (0, 1234, 96000):
                for now in (0, 1, 11999, 12000, 12001, 47999, 96000, 100001, 250000, 1_000_003):
                    expected = _expected_transition(
                        pack, source, origin, origin + now, target, guard
                    )
                    transitions.append(
                        {
                            "source": source,
                            "origin": origin,
                            "now": origin + now,
                            "target": target,
                            "sync": int(expected[1]),
                            "enter": int(expected[2]),
                            "offset": int(expected[3]),
                            "plan_origin": int(expected[4]),
                            "fade": FADE_NAMES[expected[5]],
                            "out_fade": int(expected[6]),
                            "in_fade": int(expected[7]),
                            "filler": "" if expected[8] == "-" else expected[8],
                        }
                    )
    stingers = []
    for state in ("calm", "waltz", "jig"):
        for origin in (0, 777):
            for now in (0, 5, 24000, 24001, 250000):
                at = origin + next_sync_sample(now, SyncPoint.NEXT_BAR, _grid(state))
                stingers.append(
                    {"state": state, "origin": origin, "now": origin + now, "name": "hit", "at": at}
                )
    ramp = max(1, round(10.0 * RATE / 1000))
    duck = Duck(1000, 1000 + 3000, 10 ** (-9 / 20), ramp)
    samples = [0, 999, 1000, 1001, 1239, 1479, 1480, 2500, 3999, 4000, 4001, 4239, 4479, 4480]
    ducks = [{"sample": s, "gain": _duck_gain(duck, s)} for s in samples]
    fades = []
    for length in (1, 48, 4801):
        rising, falling = equal_power_in(length), equal_power_out(length)
        for k in sorted({0, min(1, length - 1), length // 2, length - 1}):
            fades.append(
                {"length": length, "k": k, "in": float(rising[k]), "out": float(falling[k])}
            )
    stems = [
        {"intensity": x, "low": low, "high": high, "gain": stem_gain(x, low, high)}
        for x in (0.0, 0.25, 0.3, 0.35, 0.4, 0.69, 0.7, 0.75, 1.0)
        for low, high in ((0.0, 1.0), (0.3, 1.0), (0.0, 0.7), (0.4, 0.7))
    ]
    fade_lengths = [
        {
            "value": v,
            "unit": u,
            "bpm": bpm,
            "beats_per_bar": bpb,
            "samples": _fade_length(v, u, bpm, bpb),
        }
        for v, u in ((1, "bars"), (2, "beats"), (1.5, "seconds"), (0.5, "bars"), (3, "beats"))
        for bpm, bpb in ((120.0, 4), (90.0, 3), (137.5, 6), (101.3, 4))
    ]
    return {
        "sample_rate": RATE,
        "guard": guard,
        "duck_ramp": ramp,
        "duck": {"at": 1000, "hold_end": 4000, "depth": 10 ** (-9 / 20)},
        "manifest": _manifest(pack),
        "transitions": transitions,
        "stingers": stingers,
        "ducks": ducks,
        "fades": fades,
        "stems": stems,
        "fade_lengths": fade_lengths,
    }


def _duck_gain(duck: Duck, sample: int) -> float:
    constant = duck.gain_at(sample)
    if constant is not None:
        return float(constant)
    return float(duck.ramp_slice(sample, 2)[0])


def _fade_length(value: float, unit: str, bpm: float, beats_per_bar: int) -> int:
    from middleware.templates.model import FadeLength, LengthUnit

    return FadeLength(value, LengthUnit(unit)).to_samples(bpm, beats_per_bar, RATE)


def test_committed_vectors_are_the_directors_answers() -> None:
    """tests/vectors/godot_baked.json (read by the GDScript suite in Godot) is current."""
    assert json.loads(VECTORS.read_text()) == json.loads(json.dumps(build_vectors()))


def test_transitions_land_where_the_director_puts_them(plan_gd: Any) -> None:
    vectors = build_vectors()
    manifest = _as_godot_json(vectors["manifest"])
    modes = set()
    for case in vectors["transitions"]:
        plan = plan_gd.plan_transition(
            manifest, case["source"], case["origin"], case["now"], case["target"], False
        )
        got = [
            plan[k]
            for k in ("sync", "enter", "offset", "origin", "fade", "out_fade", "in_fade", "filler")
        ]
        want = [
            case[k]
            for k in (
                "sync",
                "enter",
                "offset",
                "plan_origin",
                "fade",
                "out_fade",
                "in_fade",
                "filler",
            )
        ]
        assert got == want, case  # sample error 0
        modes.add(_pack().transition(case["source"], case["target"]).leave_at)
    assert modes == set(LeaveAt)
    assert len(vectors["transitions"]) == 360


def test_first_state_starts_at_once_and_filler_delays_entry(plan_gd: Any) -> None:
    manifest = _as_godot_json(build_vectors()["manifest"])
    first = plan_gd.plan_transition(manifest, "", 0, 4800, "calm", False)
    assert (first["sync"], first["enter"], first["fade"]) == (4800, 4800, "none")
    filled = plan_gd.plan_transition(manifest, "calm", 0, 10, "jig", False)
    assert filled["filler"] == "hit"
    assert filled["enter"] - filled["sync"] == HIT_MUSIC_SAMPLES


def test_a_one_shot_hands_over_at_its_end(plan_gd: Any) -> None:
    manifest = _as_godot_json(build_vectors()["manifest"])
    plan = plan_gd.plan_transition(manifest, "fanfare", 5000, 5000, "calm", True)
    assert plan["sync"] == 5000 + _grid("fanfare").loop_samples
    assert plan_gd.follow_state(manifest, "fanfare", "waltz") == "waltz"


def test_stingers_land_on_their_sync_point_and_duck(plan_gd: Any) -> None:
    vectors = build_vectors()
    manifest = _as_godot_json(vectors["manifest"])
    for case in vectors["stingers"]:
        plan = plan_gd.plan_stinger(manifest, case["state"], case["origin"], case["now"], "hit")
        assert plan["at"] == case["at"], case
        assert plan["hold_end"] == case["at"] + HIT_MUSIC_SAMPLES
        assert plan["depth"] == pytest.approx(10 ** (-6 / 20))
    timing = plan_gd.Timing
    duck = vectors["duck"]
    for case in vectors["ducks"]:
        got = timing.duck_gain(
            case["sample"], duck["at"], duck["hold_end"], duck["depth"], vectors["duck_ramp"]
        )
        assert got == pytest.approx(case["gain"], abs=1e-6), case
    # two stingers at once: the music gain is the product of both ducks, like the director
    both = [[1000.0, 4000.0, duck["depth"]], [2000.0, 3000.0, 0.5]]
    assert timing.ducks_gain(2500, both, 480) == pytest.approx(duck["depth"] * 0.5)


def test_fades_stem_gains_and_fade_lengths_match_the_mixer(plan_gd: Any) -> None:
    vectors = build_vectors()
    timing = plan_gd.Timing
    for case in vectors["fades"]:
        assert timing.fade_gain(100 + case["k"], 100, case["length"], True) == pytest.approx(
            case["in"], abs=1e-6
        )
        assert timing.fade_gain(100 + case["k"], 100, case["length"], False) == pytest.approx(
            case["out"], abs=1e-6
        )
    for case in vectors["stems"]:
        got = timing.stem_gain(case["intensity"], case["low"], case["high"])
        assert got == pytest.approx(case["gain"], abs=1e-12), case
    for case in vectors["fade_lengths"]:
        got = timing.fade_samples(
            float(case["value"]), case["unit"], case["bpm"], case["beats_per_bar"], RATE
        )
        assert got == case["samples"], case
    assert timing.guard_samples(RATE) == vectors["guard"]


def test_variant_rotation_is_weighted_and_never_repeats(plan_gd: Any) -> None:
    rng = np.random.default_rng(3)
    picks = [float(x) for x in rng.random(400)]
    order = plan_gd.variant_sequence(3, [], picks)
    assert all(a != b for a, b in zip(order, order[1:] + order[:1], strict=True))
    assert set(order) == {0, 1, 2}
    weighted = plan_gd.variant_sequence(3, [1.0, 2.0, 0.0], picks)
    assert 2 not in weighted and set(weighted) == {0, 1}
    counts = np.bincount(plan_gd.variant_sequence(4, [1.0, 1.0, 1.0, 5.0], picks), minlength=4)
    assert counts[3] > counts[0] + counts[1]  # the heavy variant plays about every other loop


def test_the_twin_is_strict_about_godot_types(plan_gd: Any) -> None:
    """An `int` slot given a float fails here as the GDScript would misbehave in Godot."""
    timing = plan_gd.Timing
    with pytest.raises(TypeError):
        timing.floor_div(1.5, 2)
    assert timing.floor_div(-7, 2) == -4 and math.isclose(timing.db_to_gain(-6.0), 10**-0.3)


def test_a_stinger_plays_its_rendition_for_the_state_else_its_own_file(plan_gd: Any) -> None:
    older = _as_godot_json(build_vectors()["manifest"])  # from before renditions: no field
    manifest = _as_godot_json(build_vectors()["manifest"])
    manifest["stingers"]["hit"]["renditions"] = {
        "calm": {"file": {"path": "audio/stingers/hit/calm.ogg"}, "frames": 30000.0,
                 "music_samples": 24000.0},
    }  # fmt: skip
    over_calm = plan_gd.plan_stinger(manifest, "calm", 0, 10, "hit")
    assert (over_calm["rendition"], over_calm["path"]) == (
        "hit@calm",
        "audio/stingers/hit/calm.ogg",
    )
    assert over_calm["hold_end"] - over_calm["at"] == 24000
    assert over_calm["end"] - over_calm["at"] == 30000
    for plan in (
        plan_gd.plan_stinger(manifest, "jig", 0, 10, "hit"),  # no rendition for this state
        plan_gd.plan_stinger(manifest, "", 0, 10, "hit"),  # nothing plays (a filler)
        plan_gd.plan_stinger(older, "calm", 0, 10, "hit"),
    ):
        assert (plan["rendition"], plan["path"]) == ("hit", "audio/stingers/hit.ogg")
        assert plan["hold_end"] - plan["at"] == HIT_MUSIC_SAMPLES
    assert over_calm["at"] == plan_gd.plan_stinger(older, "calm", 0, 10, "hit")["at"]
