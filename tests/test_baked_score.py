# ruff: noqa: E501  (the embedded C# program and the rule table read best unwrapped)
"""Baked players play bridges and stinger renditions as the service's director does.

The oracle is the real `Director` (middleware/director/director.py) playing synthetic
sets with the templates' exact timing: where a transition's bridge starts and ends, where
the source stops, where the target enters (and with which variant), which rendition a
stinger plays, on which sample, and where a stinger planned over one state lands once
another state enters first. Its answers are the shared vectors
tests/vectors/baked_score.json; the Godot addon's pure GDScript (baked_plan.gd, run
through tests/gdscript_twin.py; the GDScript suite reads the same file in Godot) and the
Unity package's C# core (Runtime/Core/Baked, compiled with mcs and run with mono) must
give the same samples (error 0). After a change to the director's timing, rewrite the
vectors with `python -m tests.test_baked_score`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine_core.spec import GenerationSpec, StemSpec
from engine_core.variant import VariantSet
from middleware.bake.manifest import transition_record, validate_manifest
from middleware.director import events as ev
from middleware.director.director import Director, bridge_name
from middleware.director.synthetic import synthetic_variant_set
from middleware.director.timing import LoopGrid
from middleware.mixer.curves import click_guard_samples
from middleware.templates.model import (
    EnterAt,
    Fade,
    FadeLength,
    Filler,
    LeaveAt,
    LengthUnit,
    StateTemplate,
    StingerTemplate,
    SyncPoint,
    TemplatePack,
    TransitionRule,
)
from middleware.templates.renditions import rendition_name
from tests import gdscript_twin

ROOT = Path(__file__).resolve().parents[1]
ADDON = ROOT / "bindings" / "godot" / "addons" / "ostinato"
BAKED = ROOT / "bindings" / "unity" / "com.ostinato.client" / "Runtime" / "Core" / "Baked"
VECTORS = ROOT / "tests" / "vectors" / "baked_score.json"
RATE = 48000
TAIL = 3000  # frames a one-shot (bridge, stinger) rings past its last bar line

STATES = {
    # name: (bpm, meter, bars)
    "calm": (120.0, "4/4", 2),
    "waltz": (90.0, "3/4", 4),
    "jig": (137.5, "6/8", 1),
}
RULES = (
    TransitionRule("*", "*", LeaveAt.NEXT_BAR, EnterAt.START, Fade.CROSS, FadeLength(1, LengthUnit.BARS)),
    TransitionRule("calm", "waltz", LeaveAt.NEXT_BAR, EnterAt.SAME_POSITION, Fade.CROSS, FadeLength(2, LengthUnit.BEATS), filler=Filler(bridge_bars=2)),
    TransitionRule("waltz", "calm", LeaveAt.LOOP_END, EnterAt.START, Fade.OUT, FadeLength(1.5, LengthUnit.SECONDS), filler=Filler(bridge_bars=1)),
    TransitionRule("jig", "calm", LeaveAt.IMMEDIATE, EnterAt.START, Fade.AUTO, FadeLength(3, LengthUnit.BEATS), filler=Filler(bridge_bars=4)),
    TransitionRule("waltz", "jig", LeaveAt.NEXT_PHRASE, EnterAt.START, Fade.NONE, FadeLength(1, LengthUnit.BEATS), phrase_bars=2, filler=Filler(bridge_bars=1)),
    # asks for a bridge the bake has not got: the rule's fade plays (bridge.fallback)
    TransitionRule("calm", "jig", LeaveAt.NEXT_BEAT, EnterAt.SAME_POSITION, Fade.IN, FadeLength(0.5, LengthUnit.BARS), filler=Filler(bridge_bars=2)),
)  # fmt: skip
BAKED_BRIDGES = (("calm", "waltz"), ("waltz", "calm"), ("jig", "calm"), ("waltz", "jig"))
HOSTS = ("calm", "jig")  # `hit` has renditions over these; over waltz the base plays


def _spec(bpm: float, meter: str, bars: int, one_shot: bool = False) -> GenerationSpec:
    stems = (StemSpec("bass", "bass"), StemSpec("lead", "melody"))
    return GenerationSpec(
        prompt="x", tags=(), bpm=bpm, meter=meter, key="D minor", bars=bars, stems=stems,
        one_shot=one_shot,
    )  # fmt: skip


def _pack() -> TemplatePack:
    states = {
        name: StateTemplate(name, _spec(bpm, meter, bars), 1, 2, f"{name}.toml")
        for name, (bpm, meter, bars) in STATES.items()
    }
    hit = StingerTemplate(
        "hit", _spec(120.0, "4/4", 1, True), None, 5, SyncPoint.NEXT_BAR, duck_db=-6.0
    )
    return TemplatePack(
        name="score", root=Path("."), description="", start_state="calm", defaults=None,  # type: ignore[arg-type]
        states=states, stingers={"hit": hit}, transitions=RULES,
    )  # fmt: skip


def _one_shot(name: str, bpm: float, meter: str, bars: int) -> VariantSet:
    return synthetic_variant_set(
        name, bpm=bpm, meter=meter, bars=bars, variants=1, sample_rate=RATE,
        one_shot=True, tail_samples=TAIL,
    )  # fmt: skip


def _sets(pack: TemplatePack) -> dict[str, VariantSet]:
    sets = {
        name: synthetic_variant_set(
            name, bpm=bpm, meter=meter, bars=bars, variants=2, sample_rate=RATE
        )
        for name, (bpm, meter, bars) in STATES.items()
    }
    sets["hit"] = _one_shot("hit", 120.0, "4/4", 1)
    for host in HOSTS:
        bpm, meter, _ = STATES[host]
        sets[rendition_name("hit", host)] = _one_shot(rendition_name("hit", host), bpm, meter, 1)
    for source, target in BAKED_BRIDGES:
        bars = pack.transition(source, target).filler.bridge_bars  # type: ignore[union-attr]
        bpm, meter, _ = STATES[target]
        sets[bridge_name(source, target)] = _one_shot(bridge_name(source, target), bpm, meter, bars)
    return sets


def _file(path: str) -> dict[str, object]:
    return {"path": path, "sha256": "0" * 64, "bytes": 1000}


def _provenance() -> dict[str, object]:
    return {"generation_hash": "h", "seed": 1, "engine_version": "e", "weights_version": "w"}


def _one_shot_record(variant_set: VariantSet, path: str) -> dict[str, Any]:
    meta = variant_set.variants[0].meta
    return {
        "file": _file(path), "frames": int(variant_set.variants[0].mix.shape[0]),
        "music_samples": int(meta.bar_samples[-1]),
    }  # fmt: skip


def _manifest(pack: TemplatePack, sets: dict[str, VariantSet]) -> dict[str, Any]:
    """A schema-valid baked manifest of the sets the director plays."""
    states = {}
    for name, state in pack.states.items():
        spec = state.spec
        grid = LoopGrid.from_tempo(spec.bpm, spec.meter, spec.bars, RATE)
        states[name] = {
            "bpm": spec.bpm, "meter": spec.meter, "beats_per_bar": grid.beats_per_bar,
            "key": spec.key, "bars": spec.bars, "one_shot": False, "next": None,
            "intensity": 1.0, "loop_samples": grid.loop_samples, "variant_weights": None,
            "stems": {s.name: {"role": s.role, "intensity": list(s.intensity), "gain_db": 0.0}
                      for s in spec.stems},
            "variants": [
                {
                    "index": index, "file": _file(f"audio/{name}/{name}_v{index}.ogg"),
                    "frames": grid.loop_samples, "loop_start": 0, "loop_end": grid.loop_samples,
                    "beat_samples": list(grid.beat_samples),
                    "bar_samples": [*grid.bar_samples, grid.loop_samples],
                    "loudness_lufs": -16.0, "true_peak_db": -1.0, "stems": {},
                    "provenance": _provenance(),
                }
                for index in range(2)
            ],
            "generation_hash": "h", "seed": 1, "bake_key": "0" * 16,
        }  # fmt: skip
    renditions = {}
    for host in HOSTS:
        bpm, meter, _ = STATES[host]
        record = _one_shot_record(
            sets[rendition_name("hit", host)], f"audio/stingers/hit/{host}.ogg"
        )
        renditions[host] = {
            **record, "key": "D minor", "bpm": bpm, "meter": meter,
            "beats_per_bar": LoopGrid.from_tempo(bpm, meter, 1, RATE).beats_per_bar,
            "provenance": _provenance(), "bake_key": "0" * 16,
        }  # fmt: skip
    bridges = {}
    for source, target in BAKED_BRIDGES:
        variant_set = sets[bridge_name(source, target)]
        meta = variant_set.variants[0].meta
        bridges[f"{source}->{target}"] = {
            **_one_shot_record(variant_set, f"audio/bridges/{source}/{target}.ogg"),
            "source": source, "target": target, "bars": len(meta.bar_samples) - 1,
            "beat_samples": [int(x) for x in meta.beat_samples],
            "bar_samples": [int(x) for x in meta.bar_samples],
            "bpm_start": STATES[source][0], "bpm_end": STATES[target][0],
            "meter": STATES[target][1], "key": "D minor", "target_variant": 0,
            "provenance": _provenance(), "bake_key": "0" * 16,
        }  # fmt: skip
    manifest = {
        "format": "ostinato-baked-pack", "manifest_version": 1,
        "pack": {"name": "score", "description": "", "start_state": "calm"},
        "sample_rate": RATE, "audio_format": "ogg",
        "engine": {"engine_version": "e", "weights_version": "w"},
        "states": states,
        "stingers": {"hit": {
            **_one_shot_record(sets["hit"], "audio/stingers/hit.ogg"), "sync": "next_bar",
            "duck_db": -6.0, "gain_db": 0.0, "source": "generated", "provenance": _provenance(),
            "bake_key": "0" * 16, "key_pinned": False, "renditions": renditions,
        }},
        "transitions": [transition_record(rule) for rule in RULES],
        "default_transition": transition_record(pack.default_transition),
        "bridges": bridges,
        "godot": {"interactive": None, "clips": [], "playlists": {}, "layers": {}},
    }  # fmt: skip
    validate_manifest(manifest)
    return manifest


def _advance(director: Director, to: int) -> None:
    """Render until the director's clock is at or past session sample `to`."""
    block = np.zeros((4096, 2), dtype=np.float32)
    while director.clock().sample < to:
        director.render(block)


def _planned(events: list, target: str) -> int:
    """The sync sample of the transition to `target` the director planned."""
    return next(
        e.data["at_sample"]
        for e in events
        if e.kind == ev.TRANSITION_PLANNED and e.data["to"] == target
    )


def _transition_case(pack: TemplatePack, sets: dict, source: str, now: int, target: str) -> dict:
    director = Director(pack, sets.get, sample_rate=RATE, seed=1, start_state=source)
    director.set_state(target, at_sample=now)
    _advance(director, now + 1)
    events = director.drain_events()
    sync = _planned(events, target)
    planned_fade = next(
        e.data["fade_samples"]
        for e in events
        if e.kind == ev.TRANSITION_PLANNED and e.data["to"] == target
    )
    _advance(director, sync + 1)  # the transition starts on its sync sample
    events += director.drain_events()
    started = next(e for e in events if e.kind == ev.TRANSITION_STARTED and e.data["to"] == target)
    entered = next(e for e in events if e.kind == ev.STATE and e.data["state"] == target)
    bridge = next((e for e in events if e.kind == ev.BRIDGE_START), None)
    voices = director._voices
    incoming = next(v for v in voices if v.state == target)
    bridge_voice = next((v for v in voices if v.state.startswith("bridge:")), None)
    assert incoming.fade_in is not None and entered.sample == incoming.start
    fade = started.data["fade"]
    guard = click_guard_samples(RATE)
    out_fade = planned_fade if fade in ("cross", "out") else guard
    outgoing = next((v for v in voices if v.state == source), None)
    if outgoing is not None:  # (a guard-length fade-out has ended by now)
        assert outgoing.fade_out is not None
        assert (outgoing.fade_out.start, outgoing.fade_out.length) == (sync, out_fade)
    case = {
        "source": source, "origin": 0, "now": now, "target": target,
        "sync": sync, "enter": incoming.start, "offset": incoming.start - incoming.origin,
        "plan_origin": incoming.origin, "fade": fade,
        "out_fade": out_fade, "in_fade": incoming.fade_in.length, "source_stop": sync + out_fade,
        "bridge": "", "bridge_path": "", "bridge_end": sync, "variant": -1,
    }  # fmt: skip
    if bridge is not None:
        assert bridge_voice is not None and bridge.sample == bridge_voice.start == sync
        assert bridge.data["ends_at"] == incoming.start
        case.update(
            bridge=f"{source}->{target}", bridge_path=f"audio/bridges/{source}/{target}.ogg",
            bridge_end=bridge_voice.start + bridge_voice.length, variant=entered.data["variant"],
        )  # fmt: skip
    else:
        assert bridge_voice is None
    return case


def _stinger_case(pack: TemplatePack, sets: dict, state: str, now: int) -> dict:
    director = Director(pack, sets.get, sample_rate=RATE, seed=1, start_state=state)
    director.play_stinger("hit", at_sample=now)
    _advance(director, now + 1)
    plan = next(e for e in director.drain_events() if e.kind == ev.STINGER_PLANNED).data
    voice = next(v for v in director._voices if not v.music)
    assert voice.duck is not None
    return {
        "state": state, "origin": 0, "now": now, "name": "hit", "at": plan["at_sample"],
        "rendition": plan["rendition"], "host": plan["host"] or "",
        "fallback": plan["fallback"] or "", "hold_end": voice.duck.release.start,
        "end": voice.start + voice.length,
    }  # fmt: skip


def _relay_case(pack: TemplatePack, sets: dict, source: str, now: int, target: str) -> dict:
    """A stinger asked for over `source`, then `target` asked for at the same sample:
    the director lays the stinger again when the target enters at or before its onset."""
    director = Director(pack, sets.get, sample_rate=RATE, seed=1, start_state=source)
    director.play_stinger("hit", at_sample=now)
    director.set_state(target, at_sample=now)
    _advance(director, now + 1)
    events = director.drain_events()
    _advance(director, max(_planned(events, target), now) + 4096)
    events += director.drain_events()
    planned = [e for e in events if e.kind == ev.STINGER_PLANNED]
    first, final = planned[0].data, planned[-1].data
    incoming = next(v for v in director._voices if v.state == target)
    return {
        "source": source, "origin": 0, "now": now, "target": target,
        "target_origin": incoming.origin, "enter": incoming.start,
        "first_at": first["at_sample"], "first_rendition": first["rendition"],
        "at": final["at_sample"], "rendition": final["rendition"], "host": final["host"] or "",
        "fallback": final["fallback"] or "", "replaces": final.get("replaces", -1),
    }  # fmt: skip


def _during_bridge_case(pack: TemplatePack, sets: dict) -> dict:
    """A stinger asked for while a bridge plays: the director's current state is the target."""
    director = Director(pack, sets.get, sample_rate=RATE, seed=1, start_state="calm")
    director.set_state("waltz", at_sample=1000)
    _advance(director, 1001)
    _advance(director, _planned(director.drain_events(), "waltz") + 2000)
    incoming = next(v for v in director._voices if v.state == "waltz")
    now = director.clock().sample
    plan = director.play_stinger("hit")
    assert plan is not None and now < incoming.start
    return {
        "state": "waltz", "origin": incoming.origin, "now": now, "name": "hit",
        "at": plan.at_sample, "rendition": plan.rendition, "host": plan.host or "",
        "fallback": plan.fallback or "",
    }  # fmt: skip


def build_vectors() -> dict[str, Any]:
    pack = _pack()
    sets = _sets(pack)
    transitions = [
        _transition_case(pack, sets, source, now, target)
        for source, target in (*BAKED_BRIDGES, ("calm", "jig"))
        for now in (1, 11999, 24000, 50001, 130000)
    ]
    stingers = [
        _stinger_case(pack, sets, state, now) for state in STATES for now in (0, 5, 24001, 100000)
    ]
    relays = [
        _relay_case(pack, sets, source, now, target)
        for source, target in (("calm", "jig"), ("jig", "calm"), ("waltz", "jig"))
        for now in (0, 5000, 40000)
    ]
    return {
        "sample_rate": RATE,
        "guard": click_guard_samples(RATE),
        "manifest": _manifest(pack, sets),
        "transitions": transitions,
        "stingers": stingers,
        "during_bridge": [_during_bridge_case(pack, sets)],
        "relays": relays,
    }


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS.read_text())


@pytest.fixture(scope="module")
def plan_gd() -> Any:
    return gdscript_twin.load(ADDON / "baked_plan.gd")


def _as_godot_json(value: Any) -> Any:
    """JSON as Godot's parser returns it: every number a float."""
    return json.loads(json.dumps(value), parse_int=float)


def test_committed_vectors_are_the_directors_answers(vectors: dict[str, Any]) -> None:
    """tests/vectors/baked_score.json (read by the GDScript suite in Godot and by the C#
    check below) is what the director does now."""
    assert vectors == json.loads(json.dumps(build_vectors()))


def test_the_vectors_cover_bridges_fallbacks_renditions_and_relays(
    vectors: dict[str, Any],
) -> None:
    bridged = [c for c in vectors["transitions"] if c["bridge"]]
    assert {c["bridge"] for c in bridged} == {f"{a}->{b}" for a, b in BAKED_BRIDGES}
    assert all(c["variant"] == 0 and c["offset"] == 0 for c in bridged)
    assert all(c["enter"] > c["sync"] and c["bridge_end"] > c["enter"] for c in bridged)
    fallback = [c for c in vectors["transitions"] if not c["bridge"]]
    assert fallback and all(c["enter"] == c["sync"] for c in fallback)
    renditions = {c["rendition"] for c in vectors["stingers"]}
    assert renditions == {"hit@calm", "hit@jig", "hit"}
    assert {c["fallback"] for c in vectors["stingers"]} == {"", "rendition not ready"}
    relayed = [c for c in vectors["relays"] if c["replaces"] >= 0]
    assert relayed and all(c["rendition"] != c["first_rendition"] for c in relayed)
    assert any(c["replaces"] < 0 for c in vectors["relays"])  # onset before the entry


PLAN_KEYS = ("sync", "enter", "offset", "origin", "fade", "out_fade", "in_fade", "bridge",
             "bridge_path", "bridge_end", "variant")  # fmt: skip
CASE_KEYS = ("sync", "enter", "offset", "plan_origin", "fade", "out_fade", "in_fade",
             "bridge", "bridge_path", "bridge_end", "variant")  # fmt: skip


def test_gdscript_plays_each_bridge_on_the_directors_samples(
    plan_gd: Any, vectors: dict[str, Any]
) -> None:
    manifest = _as_godot_json(vectors["manifest"])
    for case in vectors["transitions"]:
        plan = plan_gd.plan_transition(
            manifest, case["source"], case["origin"], case["now"], case["target"], False
        )
        assert [plan[k] for k in PLAN_KEYS] == [case[k] for k in CASE_KEYS], case
        assert plan["sync"] + plan["out_fade"] == case["source_stop"]  # the source stops
        order = plan_gd.variant_sequence_from(plan["variant"], 2, [], [0.3, 0.9, 0.1, 0.6])
        if case["bridge"]:
            assert order[0] == 0  # the bridge leads into variant 0
    older = _as_godot_json(vectors["manifest"])
    del older["bridges"]  # a manifest from before bridges: the rule's fade, no bridge
    case = vectors["transitions"][0]
    plan = plan_gd.plan_transition(older, case["source"], 0, case["now"], case["target"], False)
    assert plan["bridge"] == "" and plan["enter"] == plan["sync"]


def test_gdscript_chooses_the_rendition_of_the_state_the_stinger_lands_over(
    plan_gd: Any, vectors: dict[str, Any]
) -> None:
    manifest = _as_godot_json(vectors["manifest"])
    for case in [*vectors["stingers"], *vectors["during_bridge"]]:
        plan = plan_gd.plan_stinger(
            manifest, case["state"], case["origin"], case["now"], case["name"]
        )
        got = [plan[k] for k in ("at", "rendition", "host", "fallback")]
        assert got == [case[k] for k in ("at", "rendition", "host", "fallback")], case
        if "hold_end" in case:
            assert [plan["hold_end"], plan["end"]] == [case["hold_end"], case["end"]], case
    for case in vectors["relays"]:
        first = plan_gd.plan_stinger(manifest, case["source"], case["origin"], case["now"], "hit")
        assert (first["at"], first["rendition"]) == (case["first_at"], case["first_rendition"])
        plan = plan_gd.relay_stinger(
            manifest, first, case["target"], case["target_origin"], case["enter"]
        )
        got = [plan[k] for k in ("at", "rendition", "host", "fallback", "replaces")]
        want = [case[k] for k in ("at", "rendition", "host", "fallback", "replaces")]
        assert got == want, case
    nothing = plan_gd.plan_stinger(manifest, "", 0, 77, "hit")
    assert (nothing["rendition"], nothing["fallback"], nothing["at"]) == (
        "hit",
        "no music playing",
        77,
    )


# -- the Unity package's C# core on the same vectors ------------------------------------------

PROGRAM = r"""
using System;
using System.Collections.Generic;
using System.IO;
using Ostinato.Client.Baked;

public static class ScoreCheck
{
    static long L(Dictionary<string, object> c, string k) { return (long)(double)c[k]; }
    static string S(Dictionary<string, object> c, string k) { string v = (string)c[k]; return v == "" ? null : v; }
    static string O(string s) { return s ?? ""; }
    const double Start = 12.345678;

    public static int Main(string[] args)
    {
        var root = (Dictionary<string, object>)BakedJson.Parse(File.ReadAllText(args[0]));
        var manifest = BakedManifest.Parse(File.ReadAllText(args[1]));
        int guard = (int)(double)root["guard"];
        foreach (Dictionary<string, object> c in (List<object>)root["transitions"])
        {
            var p = BakedScheduler.PlanTransition(manifest, S(c, "source"), L(c, "origin"), L(c, "now"), (string)c["target"], guard, Start);
            Console.WriteLine(string.Join("\t", new[] {
                "transition", p.SyncSample.ToString(), p.EnterSample.ToString(), p.OffsetSamples.ToString(), p.Origin.ToString(),
                p.Fade.ToString().ToLowerInvariant(), p.OutFadeSamples.ToString(), p.InFadeSamples.ToString(),
                p.Bridge != null ? p.Bridge.Key : "", p.Bridge != null ? p.Bridge.File.Path : "", p.BridgeEndSample.ToString(),
                p.TargetVariant.ToString(), (p.SyncSample + p.OutFadeSamples).ToString(),
                (BakedTiming.DspToSample(Start, p.BridgeEndDsp, manifest.SampleRate) - BakedTiming.DspToSample(Start, Start, manifest.SampleRate)).ToString() }));
        }
        var stingers = new List<object>((List<object>)root["stingers"]);
        stingers.AddRange((List<object>)root["during_bridge"]);
        foreach (Dictionary<string, object> c in stingers)
        {
            var p = BakedScheduler.PlanStinger(manifest, S(c, "state"), L(c, "origin"), L(c, "now"), (string)c["name"], Start);
            Console.WriteLine(string.Join("\t", new[] {
                "stinger", p.AtSample.ToString(), p.Rendition, O(p.Host), O(p.Fallback), p.HoldEndSample.ToString(), p.EndSample.ToString(), p.Take.File.Path }));
        }
        foreach (Dictionary<string, object> c in (List<object>)root["relays"])
        {
            var first = BakedScheduler.PlanStinger(manifest, S(c, "source"), L(c, "origin"), L(c, "now"), "hit", Start);
            var moved = BakedScheduler.RelayStinger(manifest, first, (string)c["target"], L(c, "target_origin"), L(c, "enter"), Start);
            var p = moved ?? first;
            Console.WriteLine(string.Join("\t", new[] {
                "relay", first.AtSample.ToString(), first.Rendition, p.AtSample.ToString(), p.Rendition, O(p.Host), O(p.Fallback), p.Replaces.ToString() }));
        }
        var none = BakedScheduler.PlanStinger(manifest, null, 0, 77, "hit", Start);
        Console.WriteLine("none\t" + none.AtSample + "\t" + none.Rendition + "\t" + O(none.Fallback));
        return 0;
    }
}
"""


@pytest.fixture(scope="module")
def score_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mcs, mono = shutil.which("mcs"), shutil.which("mono")
    if mcs is None or mono is None:
        pytest.fail("mono is not installed: run `make setup` (installs mono-mcs)")
    out = tmp_path_factory.mktemp("score_cs")
    library = out / "Ostinato.Baked.dll"
    subprocess.run(
        [mcs, "-target:library", "-warnaserror+", f"-out:{library}",
         *map(str, sorted(BAKED.glob("*.cs")))],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (out / "ScoreCheck.cs").write_text(PROGRAM)
    exe = out / "score_check.exe"
    subprocess.run(
        [mcs, f"-out:{exe}", f"-r:{library}", str(out / "ScoreCheck.cs")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return exe


def test_csharp_plays_bridges_and_renditions_on_the_directors_samples(
    score_check: Path, vectors: dict[str, Any], tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(vectors["manifest"]))
    done = subprocess.run(
        ["mono", str(score_check), str(VECTORS), str(manifest)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    lines = [line.split("\t") for line in done.stdout.splitlines()]
    transitions = [line[1:] for line in lines if line[0] == "transition"]
    assert len(transitions) == len(vectors["transitions"])
    for got, case in zip(transitions, vectors["transitions"], strict=True):
        want = [str(case[k]) for k in (*CASE_KEYS, "source_stop")]
        assert got[:12] == want, case  # sample error 0
        assert int(got[12]) == case["bridge_end"]  # its DSP time maps back to the sample
    stingers = [line[1:] for line in lines if line[0] == "stinger"]
    cases = [*vectors["stingers"], *vectors["during_bridge"]]
    assert len(stingers) == len(cases)
    for got, case in zip(stingers, cases, strict=True):
        want = [str(case[k]) for k in ("at", "rendition", "host", "fallback")]
        assert got[:4] == want, case
        if "hold_end" in case:
            assert got[4:6] == [str(case["hold_end"]), str(case["end"])], case
        host = case["host"] if case["rendition"] != "hit" else None
        assert got[6] == (f"audio/stingers/hit/{host}.ogg" if host else "audio/stingers/hit.ogg")
    relays = [line[1:] for line in lines if line[0] == "relay"]
    for got, case in zip(relays, vectors["relays"], strict=True):
        want = [str(case[k]) for k in ("first_at", "first_rendition", "at", "rendition", "host",
                                       "fallback", "replaces")]  # fmt: skip
        assert got == want, case
    assert [line for line in lines if line[0] == "none"] == [
        ["none", "77", "hit", "no music playing"]
    ]


if __name__ == "__main__":  # python -m tests.test_baked_score: rewrite the shared vectors
    VECTORS.write_text(json.dumps(build_vectors(), indent=1) + "\n")
