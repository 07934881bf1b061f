"""`ostinato pregen` and `ostinato cache ...` on a real pack, real workers, a real cache."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from test_cache_support import ToneEngine

from middleware.bridges.requests import bridge_requests
from middleware.cache import EngineKey, VariantCache
from middleware.cli import cli, main
from middleware.templates.loader import load_pack
from middleware.templates.renditions import pack_renditions

PACK = "templates/fantasy_rpg"
TONE = "test_cache_support:make_tone_engine"


@pytest.fixture
def fast_tones(monkeypatch):
    monkeypatch.setenv("TONE_ENGINE_SECONDS", "0.0")
    monkeypatch.setenv("TONE_ENGINE_FRAMES", "2000")


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_pregen_fills_the_cache_and_a_second_run_finds_everything(tmp_path, fast_tones):
    cache = str(tmp_path / "cache")
    pack = load_pack(PACK)
    names = set(pack.states) | {n for n, s in pack.stingers.items() if s.spec is not None}
    names |= {r.name for r in pack_renditions(pack)}  # a stinger over every state
    names |= {b.name for b in bridge_requests(pack)}  # rules that ask for a bridge
    first = run("pregen", PACK, "--cache", cache, "--workers", "2", "--engine", TONE)
    for name in names:
        assert name in first
    assert first.count("generated") == len(names)
    second = run("pregen", PACK, "--cache", cache, "--workers", "1", "--engine", TONE)
    assert second.count("cached") >= len(names) and "generated" not in second

    listing = run("cache", "ls", "--cache", cache)
    # (rendition and bridge names are longer than the 80-column table's column; they are
    # counted below)
    assert all(name in listing for name in names if "@" not in name and ":" not in name)
    assert f"{len(names)} cached set(s)" in listing
    stats = run("cache", "stats", "--cache", cache)
    assert f"sets:     {len(names)} " in stats
    assert "cache is clean" in run("cache", "verify", "--cache", cache)
    assert "evicted 0 set(s)" in run("cache", "gc", "--cache", cache)
    assert f"evicted {len(names)} set(s)" in run(
        "cache", "gc", "--cache", cache, "--budget-mb", "0"
    )
    assert "sets:     0 " in run("cache", "stats", "--cache", cache)


def test_pregen_of_selected_states_only(tmp_path, fast_tones):
    cache = str(tmp_path / "cache")
    out = run(
        "pregen",
        PACK,
        "--cache",
        cache,
        "--workers",
        "1",
        "--engine",
        TONE,
        "--state",
        "battle",
        "--state",
        "level_up",
        "--state",
        "level_up@battle",
        "--state",
        "bridge:town->explore",
    )
    assert out.count("generated") == 4  # a rendition and a bridge are named like any set
    assert "sets:     4 " in run("cache", "stats", "--cache", cache)
    assert "level_up@battle" in run("cache", "ls", "--cache", cache, "--state", "level_up@battle")
    assert "removed 4 set(s)" in run("cache", "clear", "--cache", cache, "--yes")


def test_verify_check_only_reports_damage_and_fails(tmp_path, fast_tones):
    cache = tmp_path / "cache"
    run(
        "pregen", PACK, "--cache", str(cache), "--workers", "1", "--engine", TONE, "--state", "menu"
    )
    victim = next(cache.glob("objects/*/*.mid"))
    victim.write_bytes(b"not the MIDI that was stored")
    result = CliRunner().invoke(cli, ["cache", "verify", "--cache", str(cache), "--check-only"])
    assert result.exit_code == 1 and "1 corrupt" in result.output
    assert "repaired" in run("cache", "verify", "--cache", str(cache))
    assert "cache is clean" in run("cache", "verify", "--cache", str(cache))


def test_pregen_names_an_unknown_state_with_its_error_code(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["pregen", PACK, "--cache", str(tmp_path), "--state", "dungeon"])
    assert stopped.value.code == 2
    assert "error [unknown_state]" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["pregen", PACK, "--cache", str(tmp_path), "--state", "bridge:menu->battle"])
    assert stopped.value.code == 2
    assert "has no `filler = { bridge_bars = N }`" in capsys.readouterr().err


def test_a_failing_set_makes_pregen_exit_1(tmp_path, fast_tones):
    with pytest.raises(SystemExit) as stopped:
        main(["pregen", PACK, "--cache", str(tmp_path), "--workers", "1", "--retries", "0",
              "--engine", "no_such_engine:Engine", "--state", "menu"])  # fmt: skip
    assert stopped.value.code == 1


def _pregen_process(cache: Path, *extra: str, frames: str = "2000") -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.getcwd()]),
        "TONE_ENGINE_SECONDS": "0.0",
        "TONE_ENGINE_FRAMES": frames,
    }
    command = [sys.executable, "-m", "middleware.cli", "pregen", PACK, "--cache", str(cache)]
    return subprocess.Popen(
        [*command, "--engine", TONE, *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_two_pregen_processes_share_one_cache(tmp_path):
    cache = tmp_path / "cache"
    first = _pregen_process(cache, "--workers", "1")
    second = _pregen_process(cache, "--workers", "1", "--current", "battle")
    outputs = []
    for process in (first, second):
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0, out
        outputs.append(out)
    pack = load_pack(PACK)
    expected_sets = len(pack.states) + sum(1 for s in pack.stingers.values() if s.spec)
    expected_sets += len(pack_renditions(pack))  # one-variant sets, like stingers
    expected_sets += len(bridge_requests(pack))  # and bridges
    expected_variants = sum(s.variants for s in pack.states.values()) + (
        expected_sets - len(pack.states)
    )
    with VariantCache(cache) as opened:
        stats = opened.stats()
        assert (stats.sets, stats.variants) == (expected_sets, expected_variants)
        assert opened.verify().clean
    # claims: each set was generated by one of the two processes, the other waited for it
    assert sum(out.count("generated") for out in outputs) == expected_sets


@pytest.mark.slow
def test_killing_pregen_mid_write_leaves_no_workers_and_a_rerun_completes(tmp_path):
    cache = tmp_path / "cache"
    process = _pregen_process(cache, "--workers", "2", frames="1500000")
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 0 for p in cache.glob("tmp/*.part")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.002)
    workers = psutil.Process(process.pid).children(recursive=True)
    assert workers
    process.kill()
    process.communicate()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive  # workers notice their parent is gone and exit
    rerun = _pregen_process(cache, "--workers", "2", "--state", "menu", "--state", "town")
    out, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, out
    assert not list((cache / "tmp").iterdir())
    with VariantCache(cache) as opened:
        assert opened.verify().clean
        pack = load_pack(PACK)
        engine_key = EngineKey.from_engine(ToneEngine())
        for name in ("menu", "town"):
            assert opened.get_set(pack.state(name), engine_key) is not None
