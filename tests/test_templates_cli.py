"""`ostinato validate` and `ostinato templates show`, in-process and as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_templates_support import FIGHT_TOML, line_of, write_pack

from middleware.cli import cli, main
from middleware.templates.loader import load_pack

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_validate_accepts_both_bundled_packs() -> None:
    result = CliRunner().invoke(
        cli, ["validate", str(TEMPLATES / "fantasy_rpg"), str(TEMPLATES / "neon_runner")]
    )
    assert result.exit_code == 0, result.output
    assert (
        f"{TEMPLATES / 'fantasy_rpg'}: ok (7 states, 4 stingers, 11 transition rules)"
        in result.output
    )
    assert (
        f"{TEMPLATES / 'neon_runner'}: ok (5 states, 3 stingers, 10 transition rules)"
        in result.output
    )


def test_validate_finds_the_packs_inside_a_folder() -> None:
    result = CliRunner().invoke(cli, ["validate", str(TEMPLATES)])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == 2


def test_validate_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    fight = FIGHT_TOML.replace("bpm = 150", "tempo = 150").replace('"Brass Section"', '"Brass"')
    bad = write_pack(tmp_path / "bad", fight_toml=fight)
    good = write_pack(tmp_path / "good")
    result = CliRunner().invoke(cli, ["validate", str(bad), str(good)])
    assert result.exit_code == 1
    assert f"{bad}: 2 problem(s)" in result.stderr
    assert (
        f"{bad}/fight.toml:{line_of(fight, 'tempo')}: tempo: unknown key 'tempo'" in result.stderr
    )
    assert f"{bad}/fight.toml:{line_of(fight, 'Brass')}: stems.brass.instrument:" in result.stderr
    assert f"{good}: ok (2 states, 1 stinger, 1 transition rule)" in result.stdout


def test_templates_show_prints_resolved_values_and_hashes() -> None:
    pack = load_pack(TEMPLATES / "fantasy_rpg")
    result = CliRunner().invoke(
        cli, ["templates", "show", str(TEMPLATES / "fantasy_rpg")], env={"COLUMNS": "160"}
    )
    assert result.exit_code == 0, result.output
    for state in pack.states.values():
        assert state.generation_hash in result.output
    assert "E dorian" in result.output and "once, then explore" in result.output
    assert "String Ensemble 1 (48)" in result.output


def test_templates_show_json_is_the_resolved_pack() -> None:
    result = CliRunner().invoke(
        cli, ["templates", "show", "--json", str(TEMPLATES / "neon_runner")]
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    run = shown["states"]["run"]
    assert (run["spec"]["bpm"], run["spec"]["key"], run["seed"]) == (
        118.0,
        "A minor",
        2084,
    )  # inherited
    assert (
        run["generation_hash"] == load_pack(TEMPLATES / "neon_runner").state("run").generation_hash
    )


def test_the_installed_command_exits_1_on_a_bad_pack(tmp_path: Path) -> None:
    bad = write_pack(tmp_path, fight_toml=FIGHT_TOML.replace('key = "D minor"', 'key = "D minnor"'))
    done = subprocess.run(
        [sys.executable, "-m", "middleware.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    line = line_of(FIGHT_TOML, "D minor")
    assert f"{bad}/fight.toml:{line}: key: 'D minnor' is not a valid key" in done.stderr


def test_main_reports_a_bad_pack_for_show_with_the_template_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fight = FIGHT_TOML.replace("bpm = 150", "bpm = 0")
    bad = write_pack(tmp_path, fight_toml=fight)
    with pytest.raises(SystemExit) as exited:
        main(["templates", "show", str(bad)])
    assert exited.value.code == 1
    assert capsys.readouterr().err.startswith(
        "error [bad_template]: 1 problem(s) in template pack:\n"
        f"{bad}/fight.toml:{line_of(fight, 'bpm')}: bpm: 0.0 is not accepted by the engine"
    )


def test_templates_show_one_state_lists_every_resolved_value() -> None:
    state = load_pack(TEMPLATES / "fantasy_rpg").state("explore")
    args = ["templates", "show", str(TEMPLATES / "fantasy_rpg"), "--state", "explore"]
    result = CliRunner().invoke(cli, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert state.generation_hash in result.output
    assert "Wandering across wide green hills" in result.output  # the prompt
    assert "loudness_lufs" in result.output and "-16.0" in result.output  # inherited
    shown = json.loads(CliRunner().invoke(cli, [*args, "--json"]).output)
    assert shown["variant_weights"] == [3.0, 2.0, 2.0, 1.0, 1.0]


def test_templates_show_unknown_state_names_the_states(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["templates", "show", str(TEMPLATES / "neon_runner"), "--state", "runn"])
    assert exited.value.code == 2
    assert (
        capsys.readouterr().err
        == "error [unknown_state]: unknown state 'runn' in pack 'neon_runner' "
        "(states: boss, chase, game_over, menu, run)\n"
    )
