"""`ostinato bake`: real packs, the real engine, real files, real worker processes.

One reference bake of a small pack (module fixture) is checked for what it contains; the
behaviour tests (determinism, incremental re-bake, resume, Dask) bake again and compare
output trees byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_bake_support import CHORALE_ENGINE, tree_digest, write_pack

from engine_core.spec import beat_to_sample
from middleware.bake import BakeError, BakeOptions, BakeOutputError, bake_pack, plan_bake
from middleware.bake.audio import decode_audio
from middleware.bake.manifest import validate_manifest
from middleware.cli import main
from middleware.templates.loader import load_pack

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The pack baked once in this process, through a fresh variant cache."""
    root = tmp_path_factory.mktemp("reference")
    pack_dir = write_pack(root / "pack")
    options = BakeOptions(workers=1, cache_dir=root / "cache", engine_factory=CHORALE_ENGINE)
    report = bake_pack(load_pack(pack_dir), root / "out", options)
    assert {r.origin for r in report.results} == {"generated", "encoded"}
    return {"root": root, "pack": pack_dir, "out": root / "out", "cache": root / "cache"}


def _manifest(out: Path) -> dict:
    return json.loads((out / "tiny" / "manifest.json").read_text())


# -- planning and errors (no generation) -----------------------------------------------------


def test_the_documented_schema_is_the_one_the_baker_validates_with() -> None:
    root = Path(__file__).resolve().parents[1]
    documented = root / "docs" / "manifest.schema.json"
    shipped = root / "middleware" / "schemas" / "manifest.schema.json"
    assert documented.read_bytes() == shipped.read_bytes()
    with pytest.raises(BakeOutputError):  # the schema has teeth: a manifest without states fails
        validate_manifest({"manifest_version": 1, "pack": {"name": "x"}})


def test_dry_run_lists_every_job_and_writes_nothing(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path / "pack"))
    report = bake_pack(pack, tmp_path / "out", BakeOptions(), dry_run=True)
    rows = {(row["kind"], row["name"]): row for row in report.plan.describe()}
    assert set(rows) == {
        ("state", "battle"),
        ("state", "menu"),
        ("state", "victory"),
        ("stinger", "chime"),
        ("stinger", "hit"),
        ("rendition", "hit@battle"),  # the generated stinger over each state (a file has none)
        ("rendition", "hit@menu"),
        ("rendition", "hit@victory"),
    }
    assert rows[("state", "battle")]["stems"] == 2  # layered: stems are baked
    assert rows[("state", "victory")]["variants"] == 1  # a one-shot plays once
    assert rows[("stinger", "chime")]["source"] == "file"
    assert not (tmp_path / "out").exists()


def test_cli_dry_run_prints_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pack_dir = write_pack(tmp_path / "pack")
    main(["bake", str(pack_dir), "--out", str(tmp_path / "out"), "--dry-run"])
    printed = capsys.readouterr().out
    assert "state battle" in printed and "stinger chime" in printed
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (BakeOptions(variants=0), "variants override 0"),
        (BakeOptions(workers=0), "workers 0"),
        (BakeOptions(scheduler="localhost:8786"), "not a tcp://"),
        (BakeOptions(audio_format="mp3"), "audio format 'mp3'"),
    ],
)
def test_bad_options_are_refused_before_any_work(
    tmp_path: Path, options: BakeOptions, message: str
) -> None:
    pack = load_pack(write_pack(tmp_path / "pack"))
    with pytest.raises(BakeError, match=message) as error:
        bake_pack(pack, tmp_path / "out", options)
    assert error.value.code == "bake_invalid"
    assert not (tmp_path / "out").exists()


def test_a_pack_too_big_for_godot_is_refused_with_the_way_out(tmp_path: Path) -> None:
    pack_dir = write_pack(tmp_path / "pack")
    for index in range(5):
        shutil.copy(pack_dir / "menu.toml", pack_dir / f"area{index}.toml")
    pack = load_pack(pack_dir)
    with pytest.raises(BakeError, match="63 clips") as error:
        plan_bake(pack, BakeOptions(variants=9))
    assert "--no-godot" in error.value.message
    plan_bake(pack, BakeOptions(variants=9, godot=False))  # fine without Godot resources


def test_a_folder_that_is_not_a_bake_is_never_replaced(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path / "pack"))
    precious = tmp_path / "out" / "tiny" / "notes.txt"
    precious.parent.mkdir(parents=True)
    precious.write_text("not music")
    with pytest.raises(BakeOutputError, match="not a baked pack"):
        bake_pack(pack, tmp_path / "out", BakeOptions())
    assert precious.read_text() == "not music"


def test_cli_reports_a_broken_pack_before_baking_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good = write_pack(tmp_path / "good")
    bad = write_pack(tmp_path / "bad")
    (bad / "battle.toml").write_text('prompt = "x"\nbpm = 900\n')
    with pytest.raises(SystemExit) as done:
        main(["bake", str(good), str(bad), "--out", str(tmp_path / "out")])
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert "bad_template" in err and "battle.toml" in err and "bpm" in err
    assert not (tmp_path / "out").exists()  # the good pack was not baked either


def test_ogg_encoding_is_byte_identical_and_keeps_every_frame() -> None:
    import numpy as np

    from middleware.bake.audio import encode_audio

    rng = np.random.default_rng(3)
    samples = (0.2 * rng.standard_normal((30001, 2))).astype(np.float32)
    first = encode_audio(samples, 48000, "ogg")
    assert first == encode_audio(samples, 48000, "ogg")  # libvorbis alone picks random serials
    decoded, rate = decode_audio(first)
    assert rate == 48000 and decoded.shape == samples.shape
    assert float(np.corrcoef(decoded[:, 0], samples[:, 0])[0, 1]) > 0.95


def test_long_loops_encode_to_ogg() -> None:
    """libsndfile's Vorbis encoder crashes the process on a 60 s write in one call."""
    import numpy as np

    from middleware.bake.audio import encode_audio

    samples = (0.1 * np.random.default_rng(4).standard_normal((48000 * 60, 2))).astype(np.float32)
    decoded, _ = decode_audio(encode_audio(samples, 48000, "ogg"))
    assert decoded.shape == samples.shape


# -- what a bake writes ----------------------------------------------------------------------


def test_manifest_validates_and_describes_the_pack(reference: dict[str, Path]) -> None:
    manifest = _manifest(reference["out"])
    validate_manifest(manifest)
    pack = load_pack(reference["pack"])
    assert manifest["pack"]["start_state"] == "menu"
    assert set(manifest["states"]) == set(pack.states)
    for name, state in manifest["states"].items():
        spec = pack.states[name].spec
        assert (state["bpm"], state["meter"], state["bars"]) == (spec.bpm, spec.meter, spec.bars)
        assert state["loop_samples"] == spec.loop_samples
        assert state["generation_hash"] == spec.generation_hash()
        beats = spec.bars * spec.meter_info.beats_per_bar
        for variant in state["variants"]:
            assert variant["beat_samples"] == [
                beat_to_sample(b, spec.bpm, spec.sample_rate) for b in range(beats)
            ]
            if not spec.one_shot:
                assert (variant["loop_start"], variant["loop_end"]) == (0, spec.loop_samples)
            assert variant["provenance"]["seed"] == pack.states[name].seed
            assert variant["provenance"]["engine_version"] == manifest["engine"]["engine_version"]
    assert len(manifest["states"]["menu"]["variants"]) == 2
    assert set(manifest["states"]["battle"]["variants"][0]["stems"]) == {"bass", "drums"}
    assert manifest["states"]["battle"]["stems"]["drums"]["intensity"] == [0.5, 1.0]
    assert manifest["states"]["menu"]["variants"][0]["stems"] == {}  # one stem: no layers
    assert manifest["stingers"]["chime"]["source"] == "file"
    assert manifest["stingers"]["hit"]["provenance"]["seed"] == 11
    rules = {(t["from"], t["to"]): t for t in manifest["transitions"]}
    assert rules[("menu", "battle")]["filler_stinger"] == "hit"
    assert rules[("*", "victory")]["leave_at"] == "next_phrase"


def test_every_listed_file_is_there_with_its_hash(reference: dict[str, Path]) -> None:
    out = reference["out"] / "tiny"
    manifest = _manifest(reference["out"])
    listed = []
    for state in manifest["states"].values():
        for variant in state["variants"]:
            listed += [variant["file"], *variant["stems"].values()]
    listed += [stinger["file"] for stinger in manifest["stingers"].values()]
    listed += [
        rendition["file"]
        for stinger in manifest["stingers"].values()
        for rendition in stinger["renditions"].values()
    ]
    digests = tree_digest(out)
    for record in listed:
        assert digests[record["path"]] == record["sha256"]
        assert (out / record["path"]).stat().st_size == record["bytes"]
    audio = {p for p in digests if p.endswith(".ogg")}
    assert audio == {record["path"] for record in listed}  # nothing unlisted


def test_the_bake_holds_each_generated_stinger_made_for_every_state(
    reference: dict[str, Path],
) -> None:
    out = reference["out"] / "tiny"
    manifest = _manifest(reference["out"])
    hit, chime = manifest["stingers"]["hit"], manifest["stingers"]["chime"]
    assert set(hit["renditions"]) == set(manifest["states"])
    assert chime["renditions"] == {} and chime["key_pinned"] is False  # a file plays as it is
    for state_name, rendition in hit["renditions"].items():
        state = manifest["states"][state_name]
        assert (rendition["key"], rendition["bpm"], rendition["meter"]) == (
            state["key"],
            state["bpm"],
            state["meter"],
        )
        assert rendition["file"]["path"] == f"audio/stingers/hit/{state_name}.ogg"
        samples, rate = decode_audio((out / rendition["file"]["path"]).read_bytes())
        assert samples.shape[0] == rendition["frames"]
        assert rendition["music_samples"] == beat_to_sample(
            state["beats_per_bar"], state["bpm"], rate
        )  # one bar at the host's tempo
        assert (out / (rendition["file"]["path"] + ".import")).is_file()  # Godot imports it


def test_audio_decodes_to_the_loop_length(reference: dict[str, Path]) -> None:
    out = reference["out"] / "tiny"
    manifest = _manifest(reference["out"])
    battle = manifest["states"]["battle"]
    for variant in battle["variants"]:
        mix, rate = decode_audio((out / variant["file"]["path"]).read_bytes())
        assert rate == 48000 and mix.shape == (variant["frames"], 2)
        assert variant["frames"] == battle["loop_samples"]
        assert float(abs(mix).max()) > 0.01  # real music, not silence
        for stem in variant["stems"].values():
            samples, _ = decode_audio((out / stem["path"]).read_bytes())
            assert samples.shape == mix.shape
    chime, _ = decode_audio((out / manifest["stingers"]["chime"]["file"]["path"]).read_bytes())
    assert chime.shape == (24000, 2)


def test_rebake_with_nothing_changed_generates_nothing(reference: dict[str, Path]) -> None:
    before = tree_digest(reference["out"] / "tiny")
    report = bake_pack(
        load_pack(reference["pack"]),
        reference["out"],
        BakeOptions(workers=2, engine_factory=CHORALE_ENGINE),
    )
    assert {r.origin for r in report.results} == {"output"}
    assert report.generated == ()
    assert tree_digest(reference["out"] / "tiny") == before


def test_a_deleted_output_is_rebuilt_from_the_cache(
    reference: dict[str, Path], tmp_path: Path
) -> None:
    options = BakeOptions(workers=1, cache_dir=reference["cache"], engine_factory=CHORALE_ENGINE)
    report = bake_pack(load_pack(reference["pack"]), tmp_path / "out", options)
    by_kind = {(r.kind, r.name): r.origin for r in report.results}
    assert by_kind[("state", "battle")] == "cache"
    assert by_kind[("stinger", "chime")] == "encoded"  # the designer's file, re-encoded
    assert tree_digest(tmp_path / "out" / "tiny") == tree_digest(reference["out"] / "tiny")


def test_changing_one_state_rebakes_only_that_state(
    reference: dict[str, Path], tmp_path: Path
) -> None:
    pack_dir = tmp_path / "pack"
    shutil.copytree(reference["pack"], pack_dir)
    shutil.copytree(reference["out"], tmp_path / "out")
    before = _manifest(tmp_path / "out")
    menu = pack_dir / "menu.toml"
    menu.write_text(menu.read_text().replace("a calm folk tune", "a gentle folk tune"))
    report = bake_pack(
        load_pack(pack_dir), tmp_path / "out", BakeOptions(workers=1, engine_factory=CHORALE_ENGINE)
    )
    origins = {r.name: r.origin for r in report.results}
    assert origins == {
        "battle": "output",
        "menu": "generated",
        "victory": "output",
        "chime": "output",
        "hit": "output",
        # a stinger's rendition follows its host's key, tempo and meter, not its prompt
        "hit@battle": "output",
        "hit@menu": "output",
        "hit@victory": "output",
    }
    after = _manifest(tmp_path / "out")
    assert after["states"]["battle"] == before["states"]["battle"]
    assert after["states"]["menu"]["generation_hash"] != before["states"]["menu"]["generation_hash"]


def test_cli_bake_shows_progress_and_a_summary(
    reference: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    args = ["bake", str(reference["pack"]), "--out", str(out), "--workers", "1"]
    args += ["--engine", CHORALE_ENGINE]
    main([*args, "--cache", str(reference["cache"])])
    printed = capsys.readouterr().out
    assert "baked tiny" in printed  # the summary table
    assert "state battle" in printed and "cache" in printed
    assert "8 jobs: 7 from the cache, 1 encoded from files" in printed  # 3 renditions
    assert "next 2-bar phrase" in printed  # the Godot approximation note
    assert tree_digest(out / "tiny") == tree_digest(reference["out"] / "tiny")


@pytest.mark.slow
def test_two_bakes_write_byte_identical_trees(reference: dict[str, Path], tmp_path: Path) -> None:
    bake_pack(
        load_pack(reference["pack"]),
        tmp_path / "out",
        BakeOptions(workers=2, engine_factory=CHORALE_ENGINE),
    )
    assert tree_digest(tmp_path / "out" / "tiny") == tree_digest(reference["out"] / "tiny")


@pytest.mark.slow
def test_dask_local_cluster_bake_equals_the_local_bake(
    reference: dict[str, Path], tmp_path: Path
) -> None:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        options = BakeOptions(scheduler=cluster.scheduler_address, engine_factory=CHORALE_ENGINE)
        report = bake_pack(load_pack(reference["pack"]), tmp_path / "out", options)
    assert {r.origin for r in report.results} == {"generated", "encoded"}
    assert tree_digest(tmp_path / "out" / "tiny") == tree_digest(reference["out"] / "tiny")


@pytest.mark.slow
def test_an_interrupted_bake_resumes_and_never_leaves_a_partial_pack(
    reference: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    work = out / ".tiny.bake-work"
    command = [sys.executable, "-m", "middleware.cli", "bake", str(reference["pack"])]
    command += ["--out", str(out), "--workers", "1", "--no-cache", "--engine", CHORALE_ENGINE]
    tests = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), str(tests.parent)])}
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            finished = [p for p in work.glob("*") if ".tmp-" not in p.name] if work.exists() else []
            if finished:
                break
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert finished, "the bake finished no job before the deadline"
    assert not (out / "tiny").exists()  # killed mid-bake: no output folder at all

    report = bake_pack(
        load_pack(reference["pack"]), out, BakeOptions(workers=1, engine_factory=CHORALE_ENGINE)
    )
    origins = [r.origin for r in report.results]
    assert origins.count("resumed") >= 1
    assert not work.exists()
    assert tree_digest(out / "tiny") == tree_digest(reference["out"] / "tiny")


# -- Godot resources, read back with godot-parser ----------------------------------------------


def _parse_godot(path: Path):
    """Parse a text resource with godot-parser, taught Godot 4's typed dictionary keys.

    godot-parser 0.1.7 reads only string keys; Godot 4 writes `_transitions` with
    `Vector2i(from, to)` keys. The extension parses such a key as a tuple
    ("Vector2i", from, to) and leaves the rest of its grammar untouched.
    """
    import warnings

    from pyparsing import DelimitedList, QuotedString, Suppress, Word, alphanums, alphas

    with warnings.catch_warnings():  # godot-parser 0.1.7 uses pyparsing's old argument names
        warnings.simplefilter("ignore", DeprecationWarning)
        import godot_parser
        from godot_parser import values

        typed_key = (
            Word(alphas, alphanums) + Suppress("(") + DelimitedList(values.value) + Suppress(")")
        ).set_parse_action(lambda tokens: [tuple(tokens)])
        values.key_val.expr = (
            (QuotedString('"', esc_char="\\") | typed_key) + Suppress(":") + values.value
        )
        return godot_parser.load(str(path))


def _godot_entry(pack, source: str, target: str, clips: dict[str, int]) -> dict:
    """Godot's transition entry for the template rule source -> target, derived here."""
    rule = pack.transition(source, target)
    spec = pack.states[source].spec
    beats = {"beats": 1, "bars": spec.meter_info.beats_per_bar, "seconds": spec.bpm / 60}
    fade_beats = round(rule.fade_length.value * beats[rule.fade_length.unit.value], 6)
    # docs/templates.md: next_phrase is Godot's END when the loop is one phrase, else NEXT_BAR
    phrase = 3 if spec.bars == rule.phrase_bars else 2
    from_time = {"immediate": 0, "next_beat": 1, "next_bar": 2, "next_phrase": phrase}
    entry = {
        "fade_beats": fade_beats,
        "fade_mode": ["none", "in", "out", "cross", "auto"].index(rule.fade.value),
        "from_time": from_time.get(rule.leave_at.value, 3),
        "to_time": {"same_position": 0, "start": 1}[rule.enter_at.value],
    }
    if rule.filler and rule.filler.stinger:
        entry |= {"use_filler_clip": True, "filler_clip": clips[f"stinger.{rule.filler.stinger}"]}
    if rule.hold_previous:
        entry["hold_previous"] = True
    return entry


def test_godot_interactive_stream_holds_the_clips_and_rules_of_the_template(
    reference: dict[str, Path],
) -> None:
    out = reference["out"] / "tiny"
    pack = load_pack(reference["pack"])
    godot = _parse_godot(out / "tiny.tres")
    assert godot.get_sections()[0].header.name == "gd_resource"
    assert godot.get_sections()[0].header["type"] == "AudioStreamInteractive"
    ext = {s.header["id"]: s.header["path"] for s in godot.get_sections("ext_resource")}
    props = godot.find_section("resource").properties
    count = props["clip_count"]
    names = [props[f"clip_{i}/name"] for i in range(count)]
    assert names == ["battle", "battle.v1", "menu", "menu.v1", "victory", "stinger.chime",
                     "stinger.hit"]  # fmt: skip
    clips = {name: index for index, name in enumerate(names)}
    assert props["initial_clip"] == clips["menu"]
    for index in range(count):
        path = ext[props[f"clip_{index}/stream"].id]
        assert (out / path).is_file() and path.endswith(".ogg")
    # variants rotate at the loop end; the one-shot goes on to its `next` state
    assert (props["clip_2/auto_advance"], props["clip_2/next_clip"]) == (1, clips["menu.v1"])
    assert (props["clip_3/auto_advance"], props["clip_3/next_clip"]) == (1, clips["menu"])
    assert props[f"clip_{clips['victory']}/next_clip"] == clips["menu"]

    transitions = props["_transitions"]
    for source in pack.states:
        for variant in range(len(_manifest(reference["out"])["states"][source]["variants"])):
            from_clip = clips[source if variant == 0 else f"{source}.v{variant}"]
            for target in pack.states:
                if target == source:
                    continue
                got = transitions[("Vector2i", from_clip, clips[target])]
                assert got == _godot_entry(pack, source, target, clips), (source, target)
    assert (
        transitions[("Vector2i", clips["menu"], clips["battle"])]["filler_clip"]
        == clips["stinger.hit"]
    )
    assert ("Vector2i", -1, -1) in transitions


def test_godot_approximations_are_reported(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path / "pack"))
    notes = bake_pack(pack, tmp_path / "out", BakeOptions(), dry_run=True).notes
    assert "Godot: menu -> victory leaves on the next bar, not the next 2-bar phrase" in "\n".join(
        notes
    )
    assert not any("battle -> victory" in note for note in notes)  # 2-bar loop: exact


def test_godot_clips_carry_loop_and_tempo_for_beat_and_bar_sync(
    reference: dict[str, Path],
) -> None:
    import configparser

    out = reference["out"] / "tiny"
    manifest = _manifest(reference["out"])
    expectations = {
        "audio/battle/battle_v0.ogg": ("true", 140.0, 8, 4),
        "audio/battle/battle_v1.drums.ogg": ("true", 140.0, 8, 4),
        "audio/menu/menu_v1.ogg": ("true", 120.0, 4, 4),
        "audio/victory/victory_v0.ogg": ("false", 120.0, 4, 4),
        "audio/stingers/hit.ogg": ("false", 120.0, 4, 4),
    }
    for path, (loop, bpm, beat_count, bar_beats) in expectations.items():
        parser = configparser.ConfigParser()
        parser.read(out / (path + ".import"))
        assert parser["remap"]["importer"] == '"oggvorbisstr"'
        params = parser["params"]
        assert params["loop"] == loop
        assert float(params["loop_offset"]) == 0.0
        assert float(params["bpm"]) == bpm
        assert (int(params["beat_count"]), int(params["bar_beats"])) == (beat_count, bar_beats)
    assert manifest["godot"]["interactive"] == "tiny.tres"


def test_godot_layers_and_playlists(reference: dict[str, Path]) -> None:
    out = reference["out"] / "tiny"
    manifest = _manifest(reference["out"])
    assert manifest["godot"]["layers"] == {
        "battle": ["battle_v0.layers.tres", "battle_v1.layers.tres"]
    }
    layers = _parse_godot(out / "battle_v1.layers.tres")
    assert layers.get_sections()[0].header["type"] == "AudioStreamSynchronized"
    ext = {s.header["id"]: s.header["path"] for s in layers.get_sections("ext_resource")}
    props = layers.find_section("resource").properties
    assert props["stream_count"] == 2
    streams = [ext[props[f"stream_{i}/stream"].id] for i in range(2)]
    assert streams == ["audio/battle/battle_v1.bass.ogg", "audio/battle/battle_v1.drums.ogg"]
    # battle starts at intensity 0.5: bass [0, 1) and drums [0.5, 1] both sound
    assert [props[f"stream_{i}/volume"] for i in range(2)] == [0.0, 0.0]

    assert set(manifest["godot"]["playlists"]) == {"battle", "menu"}
    playlist = _parse_godot(out / "menu.playlist.tres")
    assert playlist.get_sections()[0].header["type"] == "AudioStreamPlaylist"
    ext = {s.header["id"]: s.header["path"] for s in playlist.get_sections("ext_resource")}
    props = playlist.find_section("resource").properties
    assert props["loop"] is True and props["stream_count"] == 2
    assert [ext[props[f"stream_{i}"].id] for i in range(2)] == [
        "audio/menu/menu_v0.ogg",
        "audio/menu/menu_v1.ogg",
    ]


def test_godot_music_scene_plays_the_pack_with_the_addons_baked_player(
    reference: dict[str, Path],
) -> None:
    """`<pack>.music.tscn`: the addon's OstinatoBakedMusic node reading this folder's
    manifest (layers, stingers with ducking and the director's rules live in the node)."""
    out = reference["out"] / "tiny"
    manifest = _manifest(reference["out"])
    assert manifest["godot"]["player"] == "tiny.music.tscn"
    scene = _parse_godot(out / "tiny.music.tscn")
    assert scene.get_sections()[0].header.name == "gd_scene"
    scripts = {s.header["id"]: s.header["path"] for s in scene.get_sections("ext_resource")}
    node = scene.find_section("node")
    assert node.header["type"] == "Node"
    script = scripts[node.properties["script"].id]
    assert script == "res://addons/ostinato/ostinato_baked_music.gd"
    addon_file = ROOT / "bindings" / "godot" / script.removeprefix("res://")
    assert "class_name OstinatoBakedMusic" in addon_file.read_text(encoding="utf-8")
    assert (out / node.properties["manifest_path"]) == out / "manifest.json"


@pytest.mark.slow
def test_a_bake_records_the_engine_key_the_service_looks_up(tmp_path: Path) -> None:
    """`serve --no-pregen` right after a bake reported `sets_ready 0/4`: only scheduler
    workers recorded the engine key the service resolves without loading torch. A bake job
    with the shipped engine records it too (real engine, one small job)."""
    from middleware.bake import work
    from middleware.cache import EngineKey, VariantCache
    from middleware.cache.engine import engine_fingerprint, recorded_engine_key

    pack = load_pack(write_pack(tmp_path / "pack"))
    plan = plan_bake(pack, BakeOptions())
    job = min(
        (j for j in plan.state_jobs + plan.stinger_jobs if j.spec is not None),
        key=lambda j: j.music_seconds * j.variants,
    )
    cache_dir = tmp_path / "cache"
    _, origin = work._generate(job, str(cache_dir), None, work.DEFAULT_ENGINE_FACTORY)
    assert origin == "generated"
    with VariantCache(cache_dir) as cache:
        recorded = recorded_engine_key(cache, engine_fingerprint())
        assert recorded == EngineKey.from_engine(work._engine())
        assert cache.has_set(job, recorded, variants=job.variants)
