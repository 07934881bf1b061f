"""Scripted sessions and `ostinato render-session`: an event log played offline."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from middleware.cli import cli
from middleware.director import events as ev
from middleware.director.errors import SessionScriptError
from middleware.director.session import load_script, parse_script, render_session
from middleware.director.synthetic import synthetic_variant_set
from middleware.templates.loader import load_pack

PACK = Path(__file__).resolve().parents[1] / "templates" / "fantasy_rpg"

SCRIPT = """
duration_s = 9.0
seed = 2
block_frames = 512

[[events]]
at_s = 1.0
state = "town"
intensity = 0.4

[[events]]
at_s = 2.5
intensity = 1.0

[[events]]
at_s = 5.0
stinger = "level_up"
"""


@pytest.fixture(scope="module")
def pack():
    return load_pack(PACK)


def test_script_problems_are_all_listed(pack) -> None:
    data = tomllib.loads(
        """
        duration_s = -1
        tempo = 3
        [[events]]
        at_s = 1
        state = "nowhere"
        [[events]]
        at_s = 2
        stinger = "level_up"
        intensity = 0.5
        [[events]]
        at_s = 3
        """
    )
    with pytest.raises(SessionScriptError) as caught:
        parse_script(data, pack, source="bad.toml")
    problems = caught.value.detail["problems"]
    assert len(problems) == 5
    assert any("tempo" in p for p in problems) and any("nowhere" in p for p in problems)
    assert caught.value.code == "bad_session_script"


def test_script_knows_what_audio_it_needs(pack, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SCRIPT + '\n[[events]]\nat_s = 6.0\nstate = "victory"\n')
    script = load_script(path, pack)
    assert script.states(pack) == ["menu", "town", "victory", "explore"]  # victory -> explore
    assert "level_up" in script.stingers(pack) and "battle_start" in script.stingers(pack)


def test_rendered_session_matches_the_event_log(pack, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SCRIPT)
    script = load_script(path, pack)
    names = script.states(pack) + script.stingers(pack)
    sets = {}
    for name in names:
        spec = (pack.states.get(name) or pack.stingers[name]).spec
        sets[name] = synthetic_variant_set(
            name, bpm=spec.bpm, meter=spec.meter, bars=spec.bars, one_shot=spec.one_shot,
            stems={s.name: s.intensity for s in spec.stems},
        )  # fmt: skip
    first = render_session(pack, script, sets.get)
    second = render_session(pack, script, sets.get)
    assert np.array_equal(first.audio, second.audio)
    assert first.audio.shape == (-(-9 * 48000 // 512) * 512, 2)  # whole 512-frame blocks
    started = first.of_kind(ev.TRANSITION_STARTED)
    assert [e.data["to"] for e in started] == ["menu", "town"]
    # menu (84 bpm, 3/4) -> town: the pack's "menu -> *" rule leaves on the next bar line
    bar = round(3 * 60 / 84 * 48000)
    assert started[1].sample == -(-48000 // bar) * bar
    stinger = first.of_kind(ev.STINGER_PLANNED)[0]
    assert stinger.data["name"] == "level_up" and stinger.data["at_sample"] >= 5 * 48000
    assert first.intensity[0] == 1.0 and first.intensity[-1] == 1.0


def test_render_session_command_writes_audio_and_timeline(tmp_path: Path) -> None:
    script = tmp_path / "session.toml"
    script.write_text(SCRIPT)
    out = tmp_path / "out" / "session.wav"
    result = CliRunner().invoke(
        cli,
        ["render-session", str(PACK), str(script), "--out", str(out), "--synthetic"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "transition menu -> town" in result.output
    audio, rate = soundfile.read(out, dtype="int16")
    assert rate == 48000 and audio.shape[1] == 2 and len(audio) >= 9 * 48000
    assert np.abs(audio).max() > 1000
    png = out.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_render_session_refuses_a_bad_script(tmp_path: Path) -> None:
    script = tmp_path / "session.toml"
    script.write_text('duration_s = 5\n[[events]]\nat_s = 1\nstate = "lobby"\n')
    from middleware.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["render-session", str(PACK), str(script), "--out", str(tmp_path / "x.wav")])
    assert exited.value.code == 2
    assert not (tmp_path / "x.wav").exists()
