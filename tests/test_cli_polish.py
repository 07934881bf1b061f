"""CLI details a first-time user meets: examples in every --help, --json on the commands
that report, an unusable --out refused before any work, plural nouns, helpful
suggestions and the valid names listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from middleware.cli import COMMANDS, cli, main

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"


# The commands of this branch's CLI; commands added elsewhere should show examples too
# (see /work/wt/CONTRACTS.md), and join this list when they do.
#: every registered command shows examples in its help
WITH_EXAMPLES = tuple(sorted(COMMANDS))


@pytest.mark.parametrize("command", WITH_EXAMPLES)
def test_every_command_shows_examples_in_its_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output
    assert f"ostinato {command}" in result.output.split("Examples:")[1]


@pytest.mark.parametrize(
    "args", [["validate"], ["generate"], ["pregen"], ["bake"], ["cache", "ls"]], ids=" ".join
)
def test_reporting_commands_take_json(args: list[str]) -> None:
    assert "--json" in CliRunner().invoke(cli, [*args, "--help"]).output


def test_validate_json_reports_each_pack(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pack.toml").write_text('[pack]\nname = "broken"\nstart_state = "nowhere"\n')
    result = CliRunner().invoke(cli, ["validate", str(TEMPLATES), str(broken), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout.split("Error:")[0])
    by_name = {Path(p["path"]).name: p for p in report["packs"]}
    assert by_name["fantasy_rpg"]["ok"] is True and by_name["fantasy_rpg"]["stingers"] >= 1
    assert by_name["broken"]["ok"] is False and by_name["broken"]["problems"]


def test_bake_dry_run_json_lists_the_jobs() -> None:
    result = CliRunner().invoke(
        cli, ["bake", str(TEMPLATES / "neon_runner"), "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["pack"] == "neon_runner" and report["dry_run"] is True
    assert {job["name"] for job in report["jobs"]} >= {"run", "chase", "menu"}


def test_cache_ls_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["cache", "ls", "--cache", str(tmp_path / "c"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sets"] == []


def _error(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    return int(exited.value.code), capsys.readouterr().err


def test_out_that_is_a_file_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bake` into a file used to end in NotADirectoryError, `generate` in a traceback
    after the whole generation: both now stop first, with a structured error."""
    a_file = tmp_path / "taken"
    a_file.write_text("not a folder")
    code, err = _error(["bake", str(TEMPLATES / "neon_runner"), "--out", str(a_file)], capsys)
    assert code == 2 and err.startswith("error [bad_output]:") and "is a file" in err
    code, err = _error(
        ["generate", str(TEMPLATES / "neon_runner"), "--state", "run", "--out", str(a_file / "x")],
        capsys,
    )
    assert code == 2 and err.startswith("error [bad_output]: cannot write to --out")


def test_unknown_state_lists_the_states(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _error(
        ["generate", str(TEMPLATES / "fantasy_rpg"), "--state", "attic", "--out", "unused"],
        capsys,
    )
    assert code == 2
    assert "unknown state 'attic'" in err and "(states: battle, boss," in err


def test_validate_counts_with_plural_nouns(tmp_path: Path) -> None:
    pack = tmp_path / "one"
    (pack).mkdir()
    for source in (TEMPLATES / "neon_runner").iterdir():
        (pack / source.name).write_text(source.read_text())
    result = CliRunner().invoke(cli, ["validate", str(pack)])
    assert result.exit_code == 0, result.output
    assert "3 stingers" in result.output and "1 stingers" not in result.output


def test_instrument_suggestion_prefers_a_name_containing_the_word() -> None:
    """'Piano' used to suggest 'Banjo' (spelling likeness) over the pianos."""
    from middleware.templates.fields import suggest

    names = ("Acoustic Grand Piano", "Bright Acoustic Piano", "Banjo", "Pan Flute")
    assert suggest("Piano", names) == ", did you mean 'Acoustic Grand Piano'?"
    assert suggest("banjoo", names) == ", did you mean 'Banjo'?"  # likeness still works
