"""The Unity package's C# core, compiled with mcs and run with mono against real sockets.

The core library (`bindings/unity/com.ostinato.client/Runtime/Core`, no UnityEngine
reference) and a console harness are compiled once per session; every test drives the
harness as a subprocess against real pyzmq sockets or the real Ostinato service.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import msgpack
import pytest
import zmq

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bindings" / "unity" / "com.ostinato.client"
CORE = PACKAGE / "Runtime" / "Core"
HARNESS_SOURCES = ROOT / "bindings" / "unity" / "tests" / "Harness"
# Runtime/Core/Baked is compiled and tested with the bake tooling; the client core does
# not depend on it.
EXCLUDED_CORE_DIRS = {"Baked"}


def core_sources() -> list[Path]:
    return sorted(
        path
        for path in CORE.rglob("*.cs")
        if not EXCLUDED_CORE_DIRS.intersection(path.relative_to(CORE).parts)
    )


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mcs = shutil.which("mcs")
    mono = shutil.which("mono")
    if mcs is None or mono is None:
        pytest.fail("mono is not installed: run `make setup` (installs mono-mcs)")
    out = tmp_path_factory.mktemp("csharp")
    core_dll = out / "Ostinato.Core.dll"
    subprocess.run(
        [mcs, "-target:library", "-warnaserror+", f"-out:{core_dll}", *map(str, core_sources())],
        check=True,
        capture_output=True,
        text=True,
    )
    exe = out / "harness.exe"
    subprocess.run(
        [mcs, f"-out:{exe}", f"-r:{core_dll}", *map(str, sorted(HARNESS_SOURCES.glob("*.cs")))],
        check=True,
        capture_output=True,
        text=True,
    )
    return exe


def run_harness(
    exe: Path, *args: str, stdin: str | None = None, timeout_s: float = 30.0
) -> list[dict]:
    proc = subprocess.run(
        ["mono", str(exe), *args], input=stdin, capture_output=True, text=True, timeout=timeout_s
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert proc.returncode == 0, (proc.returncode, lines, proc.stderr)
    return lines


def test_core_has_no_unity_reference() -> None:
    for path in core_sources():
        text = path.read_text(encoding="utf-8")
        assert "using UnityEngine" not in text, path
        assert "UnityEngine." not in text, path


def test_msgpack_round_trip_matches_python_bytes(harness: Path) -> None:
    values = [
        {"type": "hello", "v": 1, "id": 7, "caps": ["pcm_f32le", "beats"]},
        [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32, 2**63 - 1],
        [-1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -(2**63)],
        [0.0, -1.5, 1e300, 3.14159],
        ["", "x" * 31, "y" * 32, "z" * 300, "ünïcødé ♪"],
        [b"", b"\x00" * 255, b"\x01" * 256, b"\x02" * 70000],
        {"nested": {"list": [None, True, False, {"k": [[[]]]}]}},
        list(range(20)),
        {f"k{i}": i for i in range(20)},
    ]
    hex_values = [msgpack.packb(v, use_bin_type=True).hex() for v in values]
    lines = run_harness(harness, "msgpack", stdin="\n".join(hex_values))
    assert [line["encoded"] for line in lines] == hex_values
    assert lines[0]["value"] == values[0]


def test_msgpack_rejects_truncated_input(harness: Path) -> None:
    truncated = msgpack.packb({"type": "hello", "v": 1})[:-1].hex()
    proc = subprocess.run(
        ["mono", str(harness), "msgpack"],
        input=truncated,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert json.loads(proc.stdout.splitlines()[-1])["type"] == "MsgPackException"


def test_ring_buffer_keeps_order_across_threads(harness: Path) -> None:
    (line,) = run_harness(harness, "ring", "2000000")
    assert line["samples"] == 2_000_000
    assert line["capacity"] == 1024
    assert line["consumed"] == line["produced"]


def test_dealer_talks_to_a_pyzmq_router_with_heartbeats(harness: Path) -> None:
    ctx = zmq.Context.instance()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.ROUTER_MANDATORY, 1)
    # The router PINGs every 100 ms and drops a peer silent for 300 ms: the C# client
    # stays idle for 1 s, so the conversation only survives if it answers with PONG.
    router.setsockopt(zmq.HEARTBEAT_IVL, 100)
    router.setsockopt(zmq.HEARTBEAT_TIMEOUT, 300)
    router.setsockopt(zmq.LINGER, 0)
    router.bind("tcp://127.0.0.1:*")
    endpoint = router.getsockopt(zmq.LAST_ENDPOINT).decode()
    result: dict = {}

    def serve() -> None:
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        if not poller.poll(20_000):
            return
        result["first"] = router.recv_multipart()
        time.sleep(1.0)
        router.send_multipart([b"csharp-7", b"reply", b"\xff" * 1000])
        if poller.poll(10_000):
            result["echo"] = router.recv_multipart()
            router.send_multipart([b"csharp-7", b"bye"])

    server = threading.Thread(target=serve)
    server.start()
    try:
        lines = run_harness(harness, "dealer-echo", endpoint, "csharp-7", "1000")
    finally:
        server.join()
        router.close()
    assert lines[0] == {"event": "connected", "peer": "ROUTER", "minor": 1}
    assert result["first"] == [b"csharp-7", b"first", b"", bytes(range(256)) + bytes(range(44))]
    assert lines[1]["frames"] == [b"reply".hex(), "ff" * 1000]
    assert result["echo"] == [b"csharp-7", b"reply", b"\xff" * 1000]
    assert lines[2] == {"event": "final", "frames": [b"bye".hex()], "pong": True}


def test_sub_receives_only_its_prefix_from_a_pyzmq_pub(harness: Path) -> None:
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.bind("tcp://127.0.0.1:*")
    endpoint = pub.getsockopt(zmq.LAST_ENDPOINT).decode()
    proc = subprocess.Popen(
        ["mono", str(harness), "subscribe", endpoint, "beat", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        n = 0
        while proc.poll() is None and time.monotonic() < deadline:
            pub.send_multipart([b"other", msgpack.packb({"n": n})])
            pub.send_multipart([b"beat", msgpack.packb({"n": n})])
            n += 1
            time.sleep(0.02)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        pub.close()
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 3
    numbers = []
    for line in lines:
        topic, body = (bytes.fromhex(frame) for frame in line["frames"])
        assert topic == b"beat"
        numbers.append(msgpack.unpackb(body)["n"])
    assert numbers == sorted(numbers)


VECTORS = ROOT / "tests" / "vectors"


def same_value(a: object, b: object) -> bool:
    """Equality that tells 1 from 1.0 and True from 1, as the vectors require."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_shared_vectors_decode_and_reencode_identically(harness: Path) -> None:
    index = json.loads((VECTORS / "index.json").read_text(encoding="utf-8"))
    results = {line["file"]: line for line in run_harness(harness, "vectors", str(VECTORS))}
    checked = 0
    for vector in index["vectors"]:
        if vector["kind"] == "pub":  # frame 0 is the topic, frame 1 the msgpack body
            assert (VECTORS / vector["frames"][0]).read_bytes() == vector["topic"].encode()
        first = results[vector["frames"][1 if vector["kind"] == "pub" else 0]]
        if vector["name"] == "bad_not_msgpack":
            assert "error" in first
            continue
        assert first["reencoded_equal"], vector["name"]
        if "value" not in vector:  # bad requests: well-formed msgpack the service must refuse
            continue
        assert same_value(first["value"], vector["value"]), vector["name"]
        checked += 1
    assert checked >= 50


def test_shared_pcm_vectors_decode_like_numpy(harness: Path) -> None:
    import numpy as np

    results = {line["file"]: line for line in run_harness(harness, "vectors", str(VECTORS))}
    for name, dtype, scale in (("pcm_f32.1.bin", "<f4", 1.0), ("pcm_s16.1.bin", "<i2", 32767.0)):
        raw = np.frombuffer((VECTORS / name).read_bytes(), dtype=dtype)
        expected = (raw.astype(np.float32) / np.float32(scale)).astype("<f4").tobytes()
        assert bytes.fromhex(results[name]["float32le"]) == expected, name


def test_zmtp_bytes_match_the_shared_zmtp_vectors(harness: Path) -> None:
    vectors = json.loads(
        (ROOT / "bindings" / "godot" / "tests" / "zmtp_vectors.json").read_text(encoding="utf-8")
    )
    (produced,) = run_harness(harness, "zmtp-bytes")
    assert produced["frames"] == [frame["bytes"] for frame in vectors["frames"]]
    for key in ("greeting", "ready_dealer", "ready_sub", "ready_dealer_identity"):
        assert produced[key] == vectors[key], key
    for key in ("ping_ttl10_ctx", "pong_ctx", "subscribe_beat"):
        assert produced[key] == vectors[key], key


# -- against the real service ----------------------------------------------------------------

# Blocks granted before/after each scripted request: the menu -> battle transition is planned
# for the next bar (sample 102857 at 84 bpm in 3/4), so 120 blocks hear it start.
SCRIPT_CREDITS = (8, 8, 8, 64, 32)
SCRIPT_BLOCKS = sum(SCRIPT_CREDITS)


async def python_reference_session(endpoint: str, stinger: str) -> dict:
    """The harness's script, run by the Python client (middleware.client)."""
    import asyncio
    import hashlib

    from middleware.client import AsyncClient

    blocks: list[tuple[object, bytes]] = []

    async def wait_blocks(count: int) -> None:
        for _ in range(2000):
            if len(blocks) >= count:
                return
            await asyncio.sleep(0.005)
        raise TimeoutError(f"waited for {count} blocks")

    async with AsyncClient(endpoint) as client:
        await client.hello(subscribe=False)
        info = await client.stream_start(
            lambda h, d: blocks.append((h, d)), pcm_format="f32", block_frames=1024, credits=0
        )
        await client.credit(SCRIPT_CREDITS[0], info.stream)
        await wait_blocks(8)
        await client.event("battle")
        await client.credit(SCRIPT_CREDITS[1], info.stream)
        await wait_blocks(16)
        await client.intensity(0.8)
        await client.credit(SCRIPT_CREDITS[2], info.stream)
        await wait_blocks(24)
        await client.stinger(stinger)
        await client.credit(SCRIPT_CREDITS[3], info.stream)
        await wait_blocks(88)
        await client.credit(SCRIPT_CREDITS[4], info.stream)
        await wait_blocks(SCRIPT_BLOCKS)
        await client.stream_stop()
        wav = await client.fetch("battle", variant=1, file_format="wav")
        await client.bye()
    data = b"".join(d for _, d in blocks)
    headers = [[h.seq, h.sample, h.state, h.variant, h.bar, h.beat] for h, _ in blocks]
    import numpy as np

    peak = float(np.abs(np.frombuffer(data, dtype="<f4")).max())
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "headers": headers,
        "bytes": len(data),
        "peak": peak,
        "fetch": {"bytes": len(wav), "sha256": hashlib.sha256(wav).hexdigest()},
    }


@pytest.fixture(scope="module")
def service():
    from tests.service_support import ServiceThread, make_service

    with ServiceThread(make_service()) as running:
        yield running


@pytest.mark.slow
def test_harness_session_matches_the_python_client_bit_for_bit(harness: Path, service) -> None:
    import asyncio

    stinger = "level_up"
    lines = run_harness(harness, "session", service.endpoint, stinger, timeout_s=60)
    events = {line["event"]: line["value"] for line in lines}
    hello = events["hello"]
    assert hello["resumed"] is False and len(hello["session"]) == 32
    assert stinger in hello["pack"]["stingers"]
    assert events["start"]["format"] == "f32" and events["start"]["sample"] == 0
    assert events["event"]["state"] == "battle"
    assert events["event"]["transition"]["to"] == "battle"
    assert events["intensity"]["intensity"] == pytest.approx(0.8)
    assert events["stinger"]["name"] == stinger
    assert events["unknown_state"]["code"] == "unknown_state"
    assert "battle" in events["unknown_state"]["detail"]["states"]
    assert events["stats"] == {"underruns": 0, "gaps": 0, "received": SCRIPT_BLOCKS}
    assert events["ping"]["server_time_ns"] > 0

    blocks = events["blocks"]
    assert blocks["count"] == SCRIPT_BLOCKS and blocks["bytes"] == SCRIPT_BLOCKS * 1024 * 2 * 4
    assert [h[1] for h in blocks["headers"]] == [1024 * i for i in range(SCRIPT_BLOCKS)]
    assert blocks["headers"][0][2] == "menu"
    assert blocks["headers"][-1][2] == "battle"

    reference = asyncio.run(python_reference_session(service.endpoint, stinger))
    assert reference["headers"] == blocks["headers"]
    assert reference["sha256"] == blocks["sha256"]
    assert reference["peak"] > 0.01  # music, not silence
    assert events["fetch"] == reference["fetch"]
    assert events["fetch"]["bytes"] > 48000  # a WAV loop of the battle state

    beats = events["events"]["beats"]
    assert len(beats) >= 3
    assert all(b["tempo"] > 0 and b["upper"] >= 2 and b["lower"] in (2, 4, 8) for b in beats)
    assert [b["sample"] for b in beats] == sorted(b["sample"] for b in beats)
    assert all(0 <= b["sample"] < SCRIPT_BLOCKS * 1024 for b in beats)
    assert "TransitionPlanned" in events["events"]["kinds"]
    assert "TransitionStarted" in events["events"]["kinds"]
    assert abs(beats[0]["position"] - beats[0]["sample"] / 48000) < 1e-9

    resume = events["resume"]
    assert resume == {
        "session": hello["session"],
        "resumed": True,
        "state": "battle",
        # entering battle applied its default intensity after the 0.8 request
        "intensity": pytest.approx(events["status"]["intensity"]),
    }


@pytest.mark.parametrize(
    "defines",
    [(), ("ENABLE_INPUT_SYSTEM",), ("ENABLE_INPUT_SYSTEM", "ENABLE_LEGACY_INPUT_MANAGER")],
    ids=["input-manager", "input-system", "both"],
)
def test_unity_layer_and_sample_type_check_against_the_engine_api(
    tmp_path: Path, defines: tuple[str, ...]
) -> None:
    """Runtime/Unity and the sample compile against compile-only UnityEngine stand-ins,
    under each Active Input Handling setting: with only the Input System active the stubs
    mark UnityEngine.Input as an error (Unity throws there), so the sample must not use it.

    Unity builds every file under Runtime/Core (Baked/ included) into one Ostinato.Core
    assembly, so the Unity layer is checked against exactly that assembly.
    """
    define_args = [f"-define:{d}" for d in defines]
    stubs = tmp_path / "UnityEngine.dll"
    core = tmp_path / "Ostinato.Core.dll"
    for target, sources in (
        (stubs, [ROOT / "bindings" / "unity" / "tests" / "UnityStubs" / "UnityEngine.cs"]),
        (core, sorted(CORE.rglob("*.cs"))),
    ):
        built = subprocess.run(
            ["mcs", "-target:library", "-warnaserror+", *define_args, f"-out:{target}",
             *map(str, sources)],
            capture_output=True,
            text=True,
        )  # fmt: skip
        assert built.returncode == 0, built.stdout + built.stderr
    sources = sorted((PACKAGE / "Runtime" / "Unity").glob("*.cs"))
    sources += sorted((PACKAGE / "Samples~").rglob("*.cs"))
    proc = subprocess.run(
        [
            "mcs",
            "-target:library",
            "-warnaserror+",
            *define_args,
            f"-out:{tmp_path / 'Ostinato.Runtime.dll'}",
            f"-r:{core}",
            f"-r:{stubs}",
            *map(str, sources),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = {path.name for path in sources}
    assert {"OstinatoMusicPlayer.cs", "BakedMusicPlayer.cs"} <= names
    assert not list((PACKAGE / "Runtime").glob("*.cs")), "scripts live in Runtime/Core or Unity"


def test_player_does_not_reset_the_audio_device_by_default() -> None:
    """AudioSettings.Reset re-initialises the game's whole audio device: opt-in only."""
    source = (PACKAGE / "Runtime" / "Unity" / "OstinatoMusicPlayer.cs").read_text()
    assert "public bool matchOutputSampleRate = false;" in source
    assert "FilterMix.MultiplyInto(data, channels, _stereo, frames)" in source


def test_filter_mix_keeps_the_sources_volume(harness: Path) -> None:
    """OnAudioFilterRead used to overwrite the buffer (AudioSource.volume had no effect):
    the stream is now multiplied into the gain the source put there."""
    (result,) = run_harness(harness, "filtermix")
    assert result["ones"] is True
    for channels in (1, 2, 6):
        assert result[f"max_error_{channels}"] < 1e-7, channels


def test_requests_wait_for_a_failed_connection_without_hanging(harness: Path) -> None:
    (result,) = run_harness(harness, "queue-fail")
    assert result["ran"] == 0
    assert len(result["errors"]) == 2  # the three waiting ones (one error), then the late one
    assert "3 request(s) dropped" in result["errors"][0]


@pytest.mark.slow
def test_requests_made_before_connecting_go_out_in_call_order(harness: Path, service) -> None:
    """The README's `Start() => SetState(...)` raced the connect and failed; and one
    Task.Run per call let two calls of one frame arrive out of order. 1,000 requests queued
    in one go before connecting all reach the real service, in call order."""
    count = 1000
    (result,) = run_harness(harness, "queue", service.endpoint, str(count), timeout_s=180)
    assert result["queued_before_connect"] == count + 1
    assert result["drained"] is True and result["errors"] == []
    assert result["completed"] == count and result["in_call_order"] is True
    assert result["service_order_inversions"] == 0  # the service's clock stamped them in order
    (baseline,) = run_harness(harness, "queue-taskrun", service.endpoint, str(count), timeout_s=180)
    print(
        f"\none Task.Run per call: {baseline['service_order_inversions']} of {count} out of order"
    )


def unity_assets(folder: Path) -> list[Path]:
    """What Unity imports from a package: every file and folder but .meta files, hidden
    entries and folders ending in '~' (Samples~ is copied into Assets/ only on request)."""
    assets = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name.endswith((".meta", "~")):
            continue
        assets.append(path)
        if path.is_dir():
            assets.extend(unity_assets(path))
    return assets


def test_package_manifest_and_asmdefs() -> None:
    manifest = json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))
    assert manifest["name"] == "com.ostinato.client"
    assert (PACKAGE / manifest["samples"][0]["path"]).is_dir()
    core = json.loads((CORE / "Ostinato.Core.asmdef").read_text(encoding="utf-8"))
    assert core["noEngineReferences"] is True and core["references"] == []
    runtime = json.loads((PACKAGE / "Runtime" / "Ostinato.Runtime.asmdef").read_text("utf-8"))
    assert runtime["references"] == [core["name"]]
    assert runtime["name"] == "Ostinato.Runtime"


def test_every_package_asset_and_folder_has_a_meta_with_a_unique_guid() -> None:
    # Unity ignores assets without a .meta in an immutable (git/registry) package.
    assets = unity_assets(PACKAGE)
    assert PACKAGE / "Runtime" / "Core" / "Baked" / "BakedScheduler.cs" in assets
    missing = [str(p.relative_to(PACKAGE)) for p in assets if not meta_of(p).is_file()]
    assert missing == []
    orphans = [
        str(meta.relative_to(PACKAGE))
        for meta in PACKAGE.rglob("*.meta")
        if "~" not in meta.relative_to(PACKAGE).parts[0] and not meta.with_suffix("").exists()
    ]
    assert orphans == []
    guids = [meta_of(p).read_text(encoding="utf-8").split("guid: ")[1].split()[0] for p in assets]
    assert all(len(g) == 32 and set(g) <= set("0123456789abcdef") for g in guids), guids
    assert len(set(guids)) == len(guids)
    for path in assets:
        folder_meta = "folderAsset: yes" in meta_of(path).read_text(encoding="utf-8")
        assert folder_meta == path.is_dir(), path


def meta_of(path: Path) -> Path:
    return path.with_name(path.name + ".meta")


def test_bench_command_reports_cost_per_audio_second(harness: Path) -> None:
    """The figures quoted in docs/bindings.md come from this command (no timing asserted)."""
    (line,) = run_harness(harness, "bench", "1")
    assert line["seconds_of_audio"] == 1
    assert line["client_us_per_audio_second"] > 0
    assert line["copy_baseline_us_per_audio_second"] > 0


@pytest.mark.slow
def test_client_reconnects_and_resumes_after_a_service_restart(
    harness: Path, tmp_path: Path
) -> None:
    from tests.service_support import ServiceThread, make_service

    state_dir = tmp_path / "sessions"
    first = ServiceThread(make_service(state_dir=state_dir, pub_bind="tcp://127.0.0.1:*"))
    service = first.__enter__()
    endpoint = service.endpoint
    proc = subprocess.Popen(
        ["mono", str(harness), "reconnect", endpoint],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        streaming = json.loads(proc.stdout.readline())
        if streaming["event"] != "streaming":
            proc.wait(timeout=30)
            pytest.fail(f"harness failed before the restart: {proc.stderr.read()}")
        first.__exit__(None, None, None)  # the service goes away mid-stream...
        second = make_service(bind=endpoint, pub_bind="tcp://127.0.0.1:*", state_dir=state_dir)
        with ServiceThread(second):  # ...and comes back on the same endpoint
            out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
        if first.thread.is_alive() and not first.loop.is_closed():
            first.__exit__(None, None, None)
    assert proc.returncode == 0, err
    result = json.loads(out.splitlines()[-1])
    assert result == {
        "event": "reconnected",
        "disconnected": True,
        "reconnected": True,
        "resumed": True,
        "session": streaming["session"],
        "state": "battle",
        "blocks_after": result["blocks_after"],
    }
    assert result["blocks_after"] >= 10


@pytest.mark.parametrize(("output_rate", "chunk_frames"), [(44100, 512), (96000, 333)])
def test_resampler_follows_a_sine_across_callbacks(
    harness: Path, output_rate: int, chunk_frames: int
) -> None:
    (line,) = run_harness(harness, "resample", str(output_rate), str(chunk_frames))
    # Linear interpolation of 1 kHz at 48 kHz errs by at most (pi f / fs)^2 / 2 = 0.00214;
    # a click at a callback boundary or a lost frame would be far larger.
    assert line["max_error"] < 0.0025
    expected_input = line["output_frames"] * 48000 / output_rate
    assert abs(line["input_frames_consumed"] - expected_input) <= 2


@pytest.mark.slow
def test_realtime_playback_with_automatic_credit(harness: Path, service) -> None:
    """An audio-callback-paced consumer: no underruns, no gaps, buffer bounded by credit."""
    # 12 blocks (256 ms) of jitter buffer: margin for this shared, loaded CI machine
    (line,) = run_harness(harness, "realtime", service.endpoint, "12", "1500", timeout_s=60)
    assert line["gaps"] == 0
    assert line["underruns"] == 0
    assert line["max_buffered_blocks"] <= 12
    assert line["played_frames"] == 150 * 480  # 1.5 s of 10 ms callbacks
    # 1.5 s of audio plus the jitter buffer, kept topped up: only the credit for the last
    # block or two read may still be in flight when the harness stops its clock (CI saw
    # 81 of 82 once on a loaded machine)
    assert line["blocks"] >= 70 + 12 - 2


def test_package_tests_run_under_mono(tmp_path: Path) -> None:
    """The package's Tests/ (Unity Test Framework layout) compiled and run with mono, with
    a minimal NUnit stand-in and runner (Unity brings the real NUnit)."""
    asmdef = json.loads(
        (PACKAGE / "Tests" / "Runtime" / "Ostinato.Client.Tests.asmdef").read_text("utf-8")
    )
    assert "Ostinato.Core" in asmdef["references"]
    assert "UNITY_INCLUDE_TESTS" in asmdef["defineConstraints"]
    core, runner, tests = tmp_path / "core.dll", tmp_path / "runner.exe", tmp_path / "tests.dll"
    stub = ROOT / "bindings" / "unity" / "tests" / "UnityStubs" / "NUnitLite.cs"
    for command in (
        ["-target:library", f"-out:{core}", *map(str, sorted(CORE.rglob("*.cs")))],
        [f"-out:{runner}", str(stub)],
        ["-target:library", f"-out:{tests}", f"-r:{core}", f"-r:{runner}",
         *map(str, sorted((PACKAGE / "Tests").rglob("*.cs")))],
    ):  # fmt: skip
        built = subprocess.run(["mcs", "-warnaserror+", *command], capture_output=True, text=True)
        assert built.returncode == 0, built.stdout + built.stderr
    ran = subprocess.run(
        ["mono", str(runner), str(tests)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "TESTS passed=5 failed=0" in ran.stdout
