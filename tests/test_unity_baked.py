# ruff: noqa: E501  (the embedded C# program and the rule table read best unwrapped)
"""The Unity baked player's C# core (Runtime/Core/Baked), compiled with mcs and run with mono.

The core reads a schema-valid manifest and plans transitions and stingers; every planned
sample is checked against the service director's timing functions
(`middleware.director.timing`), the oracle the baked player must agree with, for every
sync mode, fade mode, same-position entry and filler stinger.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from engine_core.spec import GenerationSpec, StemSpec
from middleware.bake.manifest import transition_record, validate_manifest
from middleware.director.timing import LoopGrid, next_sync_sample, same_position_offset
from middleware.director.voice import Duck
from middleware.mixer.curves import click_guard_samples, equal_power_in, equal_power_out
from middleware.templates.model import (
    EnterAt,
    Fade,
    FadeLength,
    Filler,
    LeaveAt,
    LengthUnit,
    StateTemplate,
    SyncPoint,
    TemplatePack,
    TransitionRule,
)

ROOT = Path(__file__).resolve().parents[1]
BAKED = ROOT / "bindings" / "unity" / "com.ostinato.client" / "Runtime" / "Core" / "Baked"
RATE = 48000
SESSION_START_DSP = 12.345678

PROGRAM = r"""
using System;
using System.IO;
using Ostinato.Client.Baked;

public static class BakedCheck
{
    static string R(double x) { return x.ToString("R", System.Globalization.CultureInfo.InvariantCulture); }

    public static int Main(string[] args)
    {
        var manifest = BakedManifest.Parse(File.ReadAllText(args[0]));
        double start = double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
        foreach (string line in File.ReadAllLines(args[1]))
        {
            string[] f = line.Split('\t');
            if (f[0] == "transition")
            {
                string source = f[1] == "-" ? null : f[1];
                var p = BakedScheduler.PlanTransition(manifest, source, long.Parse(f[2]), long.Parse(f[3]), f[4], int.Parse(f[5]), start);
                Console.WriteLine(string.Join("\t", new[] {
                    "transition", p.SyncSample.ToString(), p.EnterSample.ToString(), p.OffsetSamples.ToString(),
                    p.Origin.ToString(), p.Fade.ToString(), p.OutFadeSamples.ToString(), p.InFadeSamples.ToString(),
                    p.FillerStinger ?? "-", R(p.SyncDsp), R(p.EnterDsp), R(p.InFadeEndDsp) }));
            }
            else if (f[0] == "stinger")
            {
                string state = f[1] == "-" ? null : f[1];
                var p = BakedScheduler.PlanStinger(manifest, state, long.Parse(f[2]), long.Parse(f[3]), f[4], start);
                Console.WriteLine("stinger\t" + p.AtSample + "\t" + R(p.AtDsp));
            }
            else if (f[0] == "dsp")
            {
                double dsp = double.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture);
                double lead = double.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture);
                Console.WriteLine("dsp\t" + BakedScheduler.SessionSampleAt(start, dsp, lead, manifest.SampleRate));
            }
            else if (f[0] == "variant")
            {
                var random = new Random(int.Parse(f[3]));
                var state = manifest.State(f[1]);
                int previous = int.Parse(f[2]);
                var picks = new System.Collections.Generic.List<string>();
                for (int i = 0; i < 200; i++)
                {
                    previous = BakedScheduler.NextVariant(state.Variants.Count, previous, state.VariantWeights, random);
                    picks.Add(previous.ToString());
                }
                Console.WriteLine("variant\t" + string.Join(",", picks));
            }
            else if (f[0] == "envelope")
            {
                // envelope <first> <chunk> <in start> <in length> <out start> <out length> <frames> [duck at,hold,depth,ramp]...
                var env = new GainEnvelope();
                env.FadeIn(long.Parse(f[3]), long.Parse(f[4]));
                if (f[5] != "-") env.FadeOut(long.Parse(f[5]), long.Parse(f[6]));
                for (int d = 8; d < f.Length; d++)
                {
                    string[] p = f[d].Split(',');
                    env.AddDuck(long.Parse(p[0]), long.Parse(p[1]), double.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture), long.Parse(p[3]));
                }
                long first = long.Parse(f[1]);
                int chunk = int.Parse(f[2]), frames = int.Parse(f[7]);
                var gains = new string[frames];
                for (int done = 0; done < frames; done += chunk)
                {
                    int n = Math.Min(chunk, frames - done);
                    var data = new float[n * 2];
                    for (int i = 0; i < data.Length; i++) data[i] = 1f;
                    env.Apply(data, 2, first + done);
                    for (int i = 0; i < n; i++) gains[done + i] = R(data[2 * i]);
                }
                Console.WriteLine("envelope\t" + string.Join(",", gains));
            }
            else if (f[0] == "dspsample")
            {
                double dsp = double.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture);
                Console.WriteLine("dspsample\t" + GainEnvelope.DspSample(dsp, int.Parse(f[2])));
            }
            else if (f[0] == "fadeout-twice")
            {
                var env = new GainEnvelope();
                env.FadeOut(1000, 500);
                env.FadeOut(1200, 100);   // a later request: the running fade keeps going
                string a = R(env.GainAt(1299)) + "," + R(env.GainAt(1499)) + "," + R(env.GainAt(1500));
                env.CancelFadeOutAfter(999); // not started yet at 999: dropped
                string b = R(env.GainAt(1499));
                Console.WriteLine("fadeout-twice\t" + a + "\t" + b);
            }
            else if (f[0] == "rendition")
            {
                var s = manifest.Stingers[f[1]].For(f[2] == "-" ? null : f[2]);
                Console.WriteLine("rendition\t" + s.Name + "\t" + s.File.Path + "\t" + s.MusicSamples + "\t" + s.Sync + "\t" + R(s.DuckDb));
            }
            else if (f[0] == "automatic")
            {
                var p = BakedScheduler.PlanTransition(manifest, f[1], long.Parse(f[2]), long.Parse(f[3]), f[4], 48, start, true);
                Console.WriteLine("automatic\t" + p.SyncSample + "\t" + p.EnterSample);
            }
            else if (f[0] == "stemgain")
            {
                var state = manifest.State(f[1]);
                double intensity = double.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture);
                var gains = new System.Collections.Generic.List<string>();
                foreach (var stem in state.Stems) gains.Add(R(stem.GainAt(intensity)));
                Console.WriteLine("stemgain\t" + string.Join(",", gains));
            }
            else if (f[0] == "resource")
            {
                Console.WriteLine("resource\t" + new BakedFile { Path = f[1] }.ResourcePath);
            }
            else if (f[0] == "stems")
            {
                var state = manifest.State(f[1]);
                double intensity = double.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture);
                var on = new System.Collections.Generic.List<string>();
                foreach (var stem in state.Stems) if (stem.AudibleAt(intensity)) on.Add(stem.Name);
                Console.WriteLine("stems\t" + string.Join(",", on));
            }
        }
        return 0;
    }
}
"""

STATES = {
    # name: (bpm, meter, bars, one_shot)
    "calm": (120.0, "4/4", 2, False),
    "waltz": (90.0, "3/4", 4, False),
    "jig": (137.5, "6/8", 1, False),
    "fanfare": (120.0, "4/4", 1, True),
}
RULES = (
    TransitionRule("*", "*", LeaveAt.NEXT_BAR, EnterAt.START, Fade.CROSS, FadeLength(1, LengthUnit.BARS)),
    TransitionRule("calm", "waltz", LeaveAt.NEXT_BEAT, EnterAt.SAME_POSITION, Fade.CROSS, FadeLength(2, LengthUnit.BEATS)),
    TransitionRule("waltz", "calm", LeaveAt.NEXT_PHRASE, EnterAt.START, Fade.OUT, FadeLength(1.5, LengthUnit.SECONDS), phrase_bars=2),
    TransitionRule("calm", "jig", LeaveAt.LOOP_END, EnterAt.START, Fade.IN, FadeLength(0.5, LengthUnit.BARS), filler=Filler(stinger="hit")),
    TransitionRule("jig", "*", LeaveAt.IMMEDIATE, EnterAt.SAME_POSITION, Fade.AUTO, FadeLength(3, LengthUnit.BEATS)),
    TransitionRule("*", "fanfare", LeaveAt.NEXT_BAR, EnterAt.START, Fade.NONE, FadeLength(1, LengthUnit.BEATS), hold_previous=True),
    TransitionRule("*", "calm", LeaveAt.NEXT_BEAT, EnterAt.SAME_POSITION, Fade.AUTO, FadeLength(2, LengthUnit.BEATS)),
)  # fmt: skip
HIT_MUSIC_SAMPLES = 24000


def _pack() -> TemplatePack:
    states = {}
    for name, (bpm, meter, bars, one_shot) in STATES.items():
        stems = (
            StemSpec("bass", "bass", intensity=(0.0, 1.0)),
            StemSpec("drums", "drums", intensity=(0.4, 1.0)),
            StemSpec("lead", "melody", intensity=(0.0, 0.7)),
        )
        spec = GenerationSpec(
            prompt=name, tags=(), bpm=bpm, meter=meter, key="D minor", bars=bars,
            stems=stems, one_shot=one_shot,
        )  # fmt: skip
        states[name] = StateTemplate(name, spec, seed=1, variants=3, source_file=f"{name}.toml")
    return TemplatePack(
        name="timing", root=Path("."), description="", start_state="calm", defaults=None,  # type: ignore[arg-type]
        states=states, transitions=RULES,
    )  # fmt: skip


def _grid(name: str) -> LoopGrid:
    bpm, meter, bars, _ = STATES[name]
    return LoopGrid.from_tempo(bpm, meter, bars, RATE)


def _file(path: str) -> dict[str, object]:
    return {"path": path, "sha256": "0" * 64, "bytes": 1000}


def _manifest(pack: TemplatePack) -> dict[str, object]:
    states = {}
    for name, state in pack.states.items():
        spec = state.spec
        grid = _grid(name)
        weights = [1.0, 2.0, 0.0] if name == "waltz" else None
        states[name] = {
            "bpm": spec.bpm, "meter": spec.meter, "beats_per_bar": grid.beats_per_bar,
            "key": spec.key, "bars": spec.bars, "one_shot": spec.one_shot, "next": None,
            "intensity": 0.5, "loop_samples": grid.loop_samples, "variant_weights": weights,
            "stems": {s.name: {"role": s.role, "intensity": list(s.intensity), "gain_db": 0.0}
                      for s in spec.stems},
            "variants": [
                {
                    "index": index, "file": _file(f"audio/{name}/{name}_v{index}.ogg"),
                    "frames": grid.loop_samples + (RATE if spec.one_shot else 0),
                    "loop_start": 0, "loop_end": grid.loop_samples + (RATE if spec.one_shot else 0),
                    "beat_samples": list(grid.beat_samples),
                    "bar_samples": [*grid.bar_samples, grid.loop_samples],
                    "loudness_lufs": -16.0, "true_peak_db": -1.0, "stems": {},
                    "provenance": {"generation_hash": spec.generation_hash(), "seed": 1,
                                   "engine_version": "e", "weights_version": "w"},
                }
                for index in range(3)
            ],
            "generation_hash": spec.generation_hash(), "seed": 1, "bake_key": "0" * 16,
        }  # fmt: skip
    manifest = {
        "format": "ostinato-baked-pack", "manifest_version": 1,
        "pack": {"name": "timing", "description": "", "start_state": "calm"},
        "sample_rate": RATE, "audio_format": "ogg",
        "engine": {"engine_version": "e", "weights_version": "w"},
        "states": states,
        "stingers": {"hit": {
            "file": _file("audio/stingers/hit.ogg"), "frames": 40000,
            "music_samples": HIT_MUSIC_SAMPLES, "sync": "next_bar", "duck_db": -6.0,
            "gain_db": 0.0, "source": "file", "provenance": None, "bake_key": "0" * 16,
        }},
        "transitions": [transition_record(rule) for rule in RULES],
        "default_transition": transition_record(pack.default_transition),
        "godot": {"interactive": None, "clips": [], "playlists": {}, "layers": {}},
    }  # fmt: skip
    validate_manifest(manifest)
    return manifest


def _expected_transition(
    pack: TemplatePack, source: str, origin: int, now: int, target: str, guard: int
) -> list[str]:
    """What the director does (middleware/director/director.py `_plan`/`_start_transition`)."""
    rule = pack.transition(source, target)
    src, dst = _grid(source), _grid(target)
    sync = origin + next_sync_sample(now - origin, rule.leave_at, src, phrase_bars=rule.phrase_bars)
    source_bpm = STATES[source][0]
    fade_samples = max(guard, rule.fade_length.to_samples(source_bpm, src.beats_per_bar, RATE))
    enter = sync + (HIT_MUSIC_SAMPLES if rule.filler and rule.filler.stinger else 0)
    fade = rule.fade
    if fade is Fade.AUTO:
        same = source_bpm == STATES[target][0] and src.beats_per_bar == dst.beats_per_bar
        fade = Fade.CROSS if same else Fade.OUT
    one_shot = STATES[target][3]
    offset = 0
    if rule.enter_at is EnterAt.SAME_POSITION and not one_shot:
        offset = same_position_offset(enter - origin, src, dst)
    out_fade = fade_samples if fade in (Fade.CROSS, Fade.OUT) else guard
    in_fade = fade_samples if fade in (Fade.CROSS, Fade.IN) else guard
    names = {Fade.NONE: "None", Fade.IN: "In", Fade.OUT: "Out", Fade.CROSS: "Cross"}
    return [
        "transition", str(sync), str(enter), str(offset), str(enter - offset), names[fade],
        str(out_fade), str(in_fade), rule.filler.stinger if rule.filler else "-",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def baked_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mcs, mono = shutil.which("mcs"), shutil.which("mono")
    if mcs is None or mono is None:
        pytest.fail("mono is not installed: run `make setup` (installs mono-mcs)")
    out = tmp_path_factory.mktemp("baked_cs")
    library = out / "Ostinato.Baked.dll"
    subprocess.run(
        [mcs, "-target:library", "-warnaserror+", f"-out:{library}",
         *map(str, sorted(BAKED.glob("*.cs")))],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (out / "BakedCheck.cs").write_text(PROGRAM)
    exe = out / "baked_check.exe"
    subprocess.run(
        [mcs, f"-out:{exe}", f"-r:{library}", str(out / "BakedCheck.cs")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return exe


def _run(
    exe: Path, tmp_path: Path, manifest: dict[str, object], lines: list[str]
) -> list[list[str]]:
    manifest_path = tmp_path / "manifest.json"
    manifest_path.write_text(json.dumps(manifest))
    cases = tmp_path / "cases.tsv"
    cases.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        ["mono", str(exe), str(manifest_path), str(cases), repr(SESSION_START_DSP)],
        check=True, capture_output=True, text=True, cwd=exe.parent,
    )  # fmt: skip
    return [line.split("\t") for line in done.stdout.splitlines()]


def test_transitions_land_where_the_director_puts_them(baked_check: Path, tmp_path: Path) -> None:
    pack = _pack()
    guard = click_guard_samples(RATE)
    cases = []
    origins = (0, 1234, 96000)
    nows = (0, 1, 11999, 12000, 12001, 47999, 96000, 100001, 250000, 1_000_003)
    names = list(STATES)
    for source in names:
        for target in names:
            if source == target:
                continue
            for origin in origins:
                for now in nows:
                    cases.append((source, origin, origin + now, target))
    lines = [f"transition\t{s}\t{o}\t{n}\t{t}\t{guard}" for s, o, n, t in cases]
    results = _run(baked_check, tmp_path, _manifest(pack), lines)
    assert len(results) == len(cases)
    modes_seen = set()
    for (source, origin, now, target), got in zip(cases, results, strict=True):
        expected = _expected_transition(pack, source, origin, now, target, guard)
        assert got[:9] == expected, (source, origin, now, target)
        sync, enter = int(got[1]), int(got[2])
        assert float(got[9]) == pytest.approx(SESSION_START_DSP + sync / RATE, abs=1e-9)
        assert float(got[10]) == pytest.approx(SESSION_START_DSP + enter / RATE, abs=1e-9)
        in_fade_end = SESSION_START_DSP + (enter + int(got[7])) / RATE
        assert float(got[11]) == pytest.approx(in_fade_end, abs=1e-9)
        modes_seen.add(pack.transition(source, target).leave_at)
    assert modes_seen == set(LeaveAt)  # every sync mode was exercised


def test_first_state_starts_at_once(baked_check: Path, tmp_path: Path) -> None:
    results = _run(baked_check, tmp_path, _manifest(_pack()), ["transition\t-\t0\t4800\tcalm\t48"])
    assert results[0][1:8] == ["4800", "4800", "0", "4800", "None", "48", "48"]


def test_stingers_land_on_their_sync_point(baked_check: Path, tmp_path: Path) -> None:
    cases = [(state, origin, now) for state in ("calm", "waltz", "jig")
             for origin in (0, 777) for now in (0, 5, 24000, 24001, 250000)]  # fmt: skip
    lines = [f"stinger\t{s}\t{o}\t{o + n}\thit" for s, o, n in cases]
    results = _run(baked_check, tmp_path, _manifest(_pack()), lines)
    for (state, origin, now), got in zip(cases, results, strict=True):
        expected = origin + next_sync_sample(now, SyncPoint.NEXT_BAR, _grid(state))
        assert int(got[1]) == expected
        assert float(got[2]) == pytest.approx(SESSION_START_DSP + expected / RATE, abs=1e-9)


def test_a_stinger_plays_its_rendition_for_the_state_else_its_own_file(
    baked_check: Path, tmp_path: Path
) -> None:
    manifest = _manifest(_pack())
    older = json.loads(json.dumps(manifest))  # a manifest from before renditions: no field
    hit = manifest["stingers"]["hit"]  # type: ignore[index]
    hit["key_pinned"] = False
    hit["renditions"] = {
        "calm": {
            "file": _file("audio/stingers/hit/calm.ogg"), "frames": 30000,
            "music_samples": 24000, "key": "C major", "bpm": 120.0, "meter": "4/4",
            "beats_per_bar": 4, "bake_key": "1" * 16,
            "provenance": {"generation_hash": "g", "seed": 1, "engine_version": "e",
                           "weights_version": "w"},
        }
    }  # fmt: skip
    validate_manifest(manifest)
    lines = ["rendition\thit\tcalm", "rendition\thit\tjig", "rendition\thit\t-"]
    got = _run(baked_check, tmp_path, manifest, lines)
    assert got[0][1:4] == ["hit@calm", "audio/stingers/hit/calm.ogg", "24000"]
    assert got[0][4:] == got[2][4:]  # sync and duck stay the stinger's
    assert got[1][1:3] == ["hit", "audio/stingers/hit.ogg"]  # no rendition for this state
    assert got[2][1:3] == ["hit", "audio/stingers/hit.ogg"]
    got = _run(baked_check, tmp_path, older, ["rendition\thit\tcalm"])
    assert got[0][1:3] == ["hit", "audio/stingers/hit.ogg"]


def test_dsp_time_maps_to_the_first_session_sample_at_or_after_it(
    baked_check: Path, tmp_path: Path
) -> None:
    lead = 0.05
    times = [SESSION_START_DSP + k / RATE - lead for k in (0, 1, 4800, 48000 * 60 + 7)]
    times.append(SESSION_START_DSP + 100.5 / RATE - lead)  # between two samples: rounds up
    lines = [f"dsp\t{t!r}\t{lead!r}" for t in times]
    results = _run(baked_check, tmp_path, _manifest(_pack()), lines)
    assert [int(r[1]) for r in results] == [0, 1, 4800, 48000 * 60 + 7, 101]


def test_variant_rotation_follows_weights_and_never_repeats(
    baked_check: Path, tmp_path: Path
) -> None:
    lines = ["variant\tcalm\t0\t7", "variant\twaltz\t0\t7"]
    calm, waltz = (r[1].split(",") for r in _run(baked_check, tmp_path, _manifest(_pack()), lines))
    assert all(a != b for a, b in itertools.pairwise(calm))
    assert set(calm) == {"0", "1", "2"}
    assert "2" not in waltz  # weight 0: never chosen


def test_stems_sound_inside_their_intensity_range(baked_check: Path, tmp_path: Path) -> None:
    lines = [f"stems\tcalm\t{x}" for x in (0.0, 0.4, 0.69, 0.7, 1.0)]
    results = _run(baked_check, tmp_path, _manifest(_pack()), lines)
    assert [r[1] if len(r) > 1 else "" for r in results] == [
        "bass,lead",
        "bass,drums,lead",
        "bass,drums,lead",
        "bass,drums",
        "bass,drums",
    ]


def _gains(line: list[str]) -> np.ndarray:
    return np.array([float(x) for x in line[1].split(",")])


def test_dsp_clock_fades_start_on_the_planned_sample(baked_check: Path, tmp_path: Path) -> None:
    """Fades used to step once per frame: the envelope runs in the audio thread, so the
    fade-in's first gain lands on its planned DSP sample (error 0), with the director's
    equal-power gains, whatever the audio buffer size."""
    first, frames = 10_000, 6000
    fade_in, fade_len, fade_out, out_len = 10_777, 2400, 13_501, 1200
    lines = [
        f"envelope\t{first}\t{chunk}\t{fade_in}\t{fade_len}\t{fade_out}\t{out_len}\t{frames}"
        for chunk in (1024, 937, 1)
    ]
    results = _run(baked_check, tmp_path, _manifest(_pack()), lines)
    gains = [_gains(r) for r in results]
    assert np.array_equal(gains[0], gains[1]) and np.array_equal(gains[0], gains[2])
    g = gains[0]
    start = fade_in - first
    assert np.all(g[:start] == 0.0) and g[start] > 0.0  # sample error 0
    np.testing.assert_allclose(g[start : start + fade_len], equal_power_in(fade_len), atol=1e-6)
    out = fade_out - first
    np.testing.assert_allclose(g[out : out + out_len], equal_power_out(out_len), atol=1e-6)
    assert np.all(g[out + out_len :] == 0.0)


def test_dsp_samples_of_planned_times_are_the_planned_samples(
    baked_check: Path, tmp_path: Path
) -> None:
    """A plan's DSP time maps back to its session sample on the DSP clock exactly."""
    syncs = [0, 1, 4799, 96_000, 1_000_003, 48_000 * 600 + 17]
    lines = [f"dspsample\t{SESSION_START_DSP + s / RATE!r}\t{RATE}" for s in syncs]
    lines.append(f"dspsample\t{SESSION_START_DSP!r}\t{RATE}")
    results = _run(baked_check, tmp_path, _manifest(_pack()), lines)
    base = int(results[-1][1])
    assert [int(r[1]) - base for r in results[:-1]] == syncs


def test_overlapping_stingers_duck_like_the_director(baked_check: Path, tmp_path: Path) -> None:
    """Two stingers at once (the second used to replace the first): both ducks apply and
    multiply, the director's rule, sample for sample."""
    ramp = 480
    ducks = ((1000, 4000, 10 ** (-6 / 20)), (2500, 3000, 10 ** (-9 / 20)))
    spec = "\t".join(f"{a},{h},{d!r},{ramp}" for a, h, d in ducks)
    results = _run(
        baked_check,
        tmp_path,
        _manifest(_pack()),
        [f"envelope\t0\t512\t-100\t1\t-\t0\t6000\t{spec}"],
    )
    got = _gains(results[0])
    expected = np.ones(6000)
    for at, hold, depth in ducks:
        duck = Duck(at, hold, depth, ramp)
        for n in range(6000):
            constant = duck.gain_at(n)
            expected[n] *= constant if constant is not None else float(duck.ramp_slice(n, 2)[0])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got[2990] == pytest.approx(ducks[0][2] * ducks[1][2], abs=1e-6)


def test_a_second_request_never_cuts_a_running_fade(baked_check: Path, tmp_path: Path) -> None:
    results = _run(baked_check, tmp_path, _manifest(_pack()), ["fadeout-twice"])
    kept, cancelled = results[0][1], results[0][2]
    g1299, g1499, g1500 = (float(x) for x in kept.split(","))
    assert g1299 == pytest.approx(
        float(equal_power_out(500)[299]), abs=1e-6
    )  # still the first fade
    assert g1499 == 0.0 and g1500 == 0.0
    assert float(cancelled) == 1.0  # a replaced transition's fade that had not started is dropped


def test_layers_follow_the_directors_stem_curve(baked_check: Path, tmp_path: Path) -> None:
    """Layers used to switch on and off; their level now follows the director's stem_gain."""
    from middleware.director.intensity import stem_gain

    levels = (0.0, 0.35, 0.4, 0.45, 0.65, 0.7, 0.75, 1.0)
    results = _run(
        baked_check, tmp_path, _manifest(_pack()), [f"stemgain\tcalm\t{x}" for x in levels]
    )
    spans = {"bass": (0.0, 1.0), "drums": (0.4, 1.0), "lead": (0.0, 0.7)}
    for level, got in zip(levels, results, strict=True):
        expected = [stem_gain(level, *spans[name]) for name in ("bass", "drums", "lead")]
        assert [float(x) for x in got[1].split(",")] == pytest.approx(expected, abs=1e-12)


def test_clips_load_from_the_packs_resources_folder(baked_check: Path, tmp_path: Path) -> None:
    """BakedMusicPlayer loads each clip with Resources.Load(folder + "/" + this path)."""
    paths = ["audio/battle/battle_v0.drums.ogg", "audio/stingers/hit.ogg", "audio/x/noext"]
    results = _run(baked_check, tmp_path, _manifest(_pack()), [f"resource\t{p}" for p in paths])
    assert [r[1] for r in results] == [
        "audio/battle/battle_v0.drums",
        "audio/stingers/hit",
        "audio/x/noext",
    ]


def test_a_one_shot_hands_over_at_its_end(baked_check: Path, tmp_path: Path) -> None:
    """One-shots used to play once and stop: the follow-up leaves at the one-shot's end
    (the director's automatic transition), whatever the rule's sync point says."""
    results = _run(
        baked_check, tmp_path, _manifest(_pack()), ["automatic\tfanfare\t5000\t5000\tcalm"]
    )
    end = 5000 + _grid("fanfare").loop_samples
    assert results[0][1:] == [str(end), str(end)]
