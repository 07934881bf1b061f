"""`ostinato compose` and `ostinato.compose`: a prompt to loops, and back to a template."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

import ostinato
from middleware.cli import main
from middleware.compose import bars_for_seconds, infer_composition
from middleware.prompt import Source
from middleware.templates.loader import load_pack
from middleware.templates.writer import save_state, state_toml


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as done:
        return int(done.code or 0)
    return 0


@pytest.mark.parametrize(
    ("seconds", "bpm", "meter", "bars"),
    [(16.0, 120, "4/4", 8), (2.0, 120, "4/4", 1), (30.0, 90, "3/4", 16), (7.0, 80, "6/8", 4)],
)
def test_seconds_pick_the_nearest_whole_loop_length(
    seconds: float, bpm: float, meter: str, bars: int
) -> None:
    assert bars_for_seconds(seconds, bpm, meter) == bars


@pytest.mark.parametrize(
    ("prompt", "message"),
    [("", "empty"), ("3/4 march in 6/8", "contradictory meters"), ("an 11/8 groove", "4/4, 3/4")],
)
def test_a_nonsense_prompt_fails_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prompt: str, message: str
) -> None:
    out = tmp_path / "out"
    code = _run(["compose", prompt, "--out", str(out), "--save-template", str(tmp_path / "t.toml")])
    error = capsys.readouterr().err
    assert code == 2
    assert "bad_prompt" in error and message in error
    assert not out.exists() and not (tmp_path / "t.toml").exists()


def test_a_bad_template_name_fails_before_anything_is_rendered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = _run(
        ["compose", "a flute", "--out", str(out), "--save-template", str(tmp_path / "My.toml")]
    )
    assert code == 1 and "state file is named after its state" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    "prompt",
    [
        "intense battle theme with heavy drums and brass, epic feel",
        "chiptune chase with drums and bass",
        "a slow waltz in D minor with a music box and cello, no drums",
        "late-night noir jazz club, a low clarinet and a walking bass",
    ],
)
def test_a_saved_state_resolves_to_the_composed_spec(prompt: str, tmp_path: Path) -> None:
    """Every stem field survives the TOML, drum stems' note range included."""
    inference = infer_composition(prompt, bars=4)
    spec = inference.spec()
    save_state(tmp_path / "saved.toml", state_toml(spec, inference.values, seed=1, variants=2))
    state = load_pack(tmp_path).state("saved")
    assert [s.register for s in state.spec.stems] == [s.register for s in spec.stems]
    assert state.generation_hash == spec.generation_hash()


@pytest.mark.slow
def test_save_template_round_trip_regenerates_the_same_audio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompt = "a slow waltz in D minor with a music box and cello, no drums"
    out, pack = tmp_path / "composed", tmp_path / "pack"
    options = ["--bars", "2", "--variants", "1", "--seed", "3", "--jobs", "1"]
    code = _run(
        [
            "compose",
            prompt,
            *options,
            "--out",
            str(out),
            "--save-template",
            str(pack / "dream.toml"),
        ]
    )
    captured = capsys.readouterr()
    printed = captured.out
    assert "not cleared for commercial use" in captured.err  # the weights' data terms
    assert code == 0
    assert "3/4" in printed and "prompt word" in printed and "Music Box" in printed

    text = (pack / "dream.toml").read_text()
    assert "# inferred (prompt word)" in text  # the designer sees what was inferred
    state = load_pack(pack).state("dream")  # the saved TOML validates...
    assert all(v.source is Source.FIELD for v in state.inferred)
    manifest = (out / "variants.json").read_text()
    assert state.generation_hash in manifest  # ...resolves to the same spec...

    again = tmp_path / "again"
    code = _run(["generate", str(pack), "--state", "dream", "--out", str(again), "--jobs", "1"])
    assert code == 0
    first, _ = soundfile.read(out / "variant_0" / "mix.wav", dtype="float32")
    second, _ = soundfile.read(again / "variant_0" / "mix.wav", dtype="float32")
    assert first.shape == second.shape and np.array_equal(first, second)  # ...and same audio


@pytest.mark.slow
def test_the_one_call_api_returns_the_spec_and_writes_the_loops(tmp_path: Path) -> None:
    result = ostinato.compose(
        "brisk chiptune with a square lead", tmp_path / "loops", seconds=7.0, variants=1
    )
    assert result.spec.meter == "4/4" and result.spec.bpm == 132.0  # "brisk"
    assert result.spec.bars == bars_for_seconds(7.0, result.spec.bpm, result.spec.meter)
    assert result.inference.value("bars").evidence.startswith("--seconds")
    assert result.variant_set.generation_hash == result.generation_hash
    assert (tmp_path / "loops" / "variants.json") in result.files
    stems = {s.name for s in result.spec.stems}
    assert {"square_lead", "drums"} <= stems
    for name in ("square_lead", "drums"):  # the named lead and the inferred drums sound
        audio = result.variant_set.variants[0].stems[name]
        assert float(np.abs(audio).max()) > 1e-3, name
