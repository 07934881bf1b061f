"""`ostinato generate`: bad packs and bad options fail with clear, typed errors."""

from pathlib import Path

import pytest

from middleware.cli import main


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return int(info.value.code or 0)


def _broken_pack(root: Path) -> Path:
    root.mkdir()
    (root / "pack.toml").write_text(
        '[pack]\nname = "broken"\ndescription = "x"\nstart_state = "menu"\n', encoding="utf-8"
    )
    (root / "menu.toml").write_text(
        'prompt = "a calm menu"\ntags = ["calm"]\nbpm = "fast"\nkey = "D minor"\n'
        '[stems.lead]\nrole = "melody"\ninstrument = "Flute"\n',
        encoding="utf-8",
    )
    return root


def test_a_bad_template_is_reported_with_its_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = _broken_pack(tmp_path / "broken")
    code = _run(["generate", str(pack), "--state", "menu", "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert code == 1
    assert "bad_template" in error and "menu.toml" in error and "bpm" in error
    assert not (tmp_path / "out").exists()


def test_an_unknown_state_lists_the_pack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = Path(__file__).parents[1] / "templates" / "fantasy_rpg"
    code = _run(["generate", str(pack), "--state", "dungeon", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "unknown_state" in capsys.readouterr().err


def test_a_missing_soundfont_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = Path(__file__).parents[1] / "templates" / "fantasy_rpg"
    missing = tmp_path / "bank.sf2"
    code = _run(
        [
            "generate",
            str(pack),
            "--state",
            "battle",
            "--out",
            str(tmp_path / "o"),
            "--soundfont",
            str(missing),
        ]
    )
    assert code == 3
    error = capsys.readouterr().err
    assert "soundfont_error" in error and "bank.sf2" in error


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    pack = Path(__file__).parents[1] / "templates" / "fantasy_rpg"
    code = _run(
        [
            "generate",
            str(pack),
            "--state",
            "battle",
            "--out",
            str(tmp_path / "o"),
            "--format",
            "mp3",
        ]
    )
    assert code == 2


def test_jobs_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = Path(__file__).parents[1] / "templates" / "fantasy_rpg"
    argv = ["generate", str(pack), "--state", "battle", "--out", str(tmp_path / "o")]
    assert _run([*argv, "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_an_unknown_renderer_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = Path(__file__).parents[1] / "templates" / "fantasy_rpg"
    argv = ["generate", str(pack), "--state", "battle", "--out", str(tmp_path / "o")]
    assert _run([*argv, "--renderer", "fast"]) == 2
    assert "--renderer" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_the_note_renderer_is_chosen_on_the_command_line(tmp_path: Path) -> None:
    import json

    pack = Path(__file__).parents[1] / "templates" / "fantasy_rpg"
    out = tmp_path / "o"
    argv = ["generate", str(pack), "--state", "town", "--variants", "1", "--jobs", "1"]
    try:
        main([*argv, "--renderer", "notes", "--json", "--out", str(out)])
    except SystemExit as done:
        assert not done.code
    manifest = json.loads((out / "variants.json").read_text(encoding="utf-8"))
    assert "+r.notes" in json.dumps(manifest)
