"""`ostinato pregen` and `ostinato cache ...` on a real pack, real workers, a real cache."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from middleware.cli import cli, main
from middleware.templates.loader import load_pack

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
    first = run("pregen", PACK, "--cache", cache, "--workers", "2", "--engine", TONE)
    for name in names:
        assert name in first
    assert first.count("generated") == len(names)
    second = run("pregen", PACK, "--cache", cache, "--workers", "1", "--engine", TONE)
    assert second.count("cached") >= len(names) and "generated" not in second

    listing = run("cache", "ls", "--cache", cache)
    assert all(name in listing for name in names)
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
    )
    assert out.count("generated") == 2
    assert "sets:     2 " in run("cache", "stats", "--cache", cache)
    assert "removed 2 set(s)" in run("cache", "clear", "--cache", cache, "--yes")


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


def test_a_failing_set_makes_pregen_exit_1(tmp_path, fast_tones):
    with pytest.raises(SystemExit) as stopped:
        main(["pregen", PACK, "--cache", str(tmp_path), "--workers", "1", "--retries", "0",
              "--engine", "no_such_engine:Engine", "--state", "menu"])  # fmt: skip
    assert stopped.value.code == 1
