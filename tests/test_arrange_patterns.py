"""Named lines (`StemSpec.pattern`): a walking bass (a note on every beat, the next root
approached by step) and a drone (the tonic, on a pad with its fifth, held under the chords);
the `pattern` field in templates and "walking bass" / "cello drone" in prompts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_templates_support import CALM_TOML, write_pack

from engine_core.arrange.arranger import arrange
from engine_core.errors import InvalidSpecError
from engine_core.score import Score
from engine_core.spec import GenerationSpec, Meter, StemSpec
from middleware.errors import TemplateError
from middleware.prompt import infer_state
from middleware.templates.loader import load_pack
from tests.chorale_scores import chorale_score

BASS = StemSpec("bass", "bass", program=32, register=(28, 52), pattern="walking")


def _spec(meter: str, bass: StemSpec = BASS) -> GenerationSpec:
    stems = (StemSpec("tune", "melody", program=73, register=(60, 86)), bass)
    return GenerationSpec(
        prompt="", tags=("jazz",), bpm=120.0, meter=meter, key="F major", bars=8,
        stems=stems, energy=0.5,
    )  # fmt: skip


def _bass(meter: str, seed: int = 3, bass: StemSpec = BASS):
    score = chorale_score(bars=8) if meter == "4/4" else Score(meter, 8, "major", ())
    arrangement = arrange(score, _spec(meter, bass), seed=seed)
    return next(s for s in arrangement.stems if s.stem.role == "bass").notes


@pytest.mark.parametrize("meter", ["4/4", "3/4"])
def test_a_walking_bass_plays_every_beat_and_moves_by_step(meter: str) -> None:
    info = Meter.parse(meter)
    notes = _bass(meter)
    onsets = sorted(round(n.start_beats) for n in notes)
    assert onsets == list(range(8 * info.beats_per_bar))  # one note a beat, no gaps
    pitches = [n.pitch for n in sorted(notes, key=lambda n: n.start_beats)]
    moves = np.abs(np.diff(pitches))
    assert np.mean(moves <= 5) >= 0.8, moves  # steps and skips, the odd leap
    assert moves.max() <= 12
    assert np.mean(moves == 0) <= 0.1  # it walks: hardly a note repeated


@pytest.mark.parametrize("meter", ["4/4", "3/4"])
def test_the_beat_before_a_new_root_leads_into_it_by_step(meter: str) -> None:
    beats = Meter.parse(meter).beats_per_bar
    notes = sorted(_bass(meter), key=lambda n: n.start_beats)
    pitches = [n.pitch for n in notes]
    changes = led = 0
    for bar in range(1, 8):
        first, before = pitches[bar * beats], pitches[bar * beats - 1]
        if first % 12 != pitches[(bar - 1) * beats] % 12:  # a new root
            changes += 1
            led += 0 < abs(first - before) <= 2
    assert changes >= 4
    assert led >= changes - 1, (led, changes, pitches)


def test_the_pattern_is_checked_by_role() -> None:
    with pytest.raises(InvalidSpecError) as refused:
        _spec("4/4", StemSpec("tune2", "melody", program=73, pattern="walking"))
    assert "no pattern 'walking' for the role 'melody'" in str(refused.value)
    plain = _spec("4/4", StemSpec("bass", "bass", program=32, register=(28, 52)))
    assert plain.generation_hash != _spec("4/4").generation_hash
    assert "pattern" not in plain.canonical()["stems"][1]  # old specs keep their hashes


def test_templates_read_and_check_the_pattern(tmp_path: Path) -> None:
    walking = CALM_TOML.replace("program = 43\n", 'program = 43\npattern = "walking"\n')
    pack = load_pack(write_pack(tmp_path / "ok", calm_toml=walking))
    stems = {s.name: s for s in pack.state("calm").spec.stems}
    assert stems["bass"].pattern == "walking" and stems["strings"].pattern is None
    wrong = CALM_TOML.replace(
        'register = ["C3", "C5"]', 'register = ["C3", "C5"]\npattern = "walking"'
    )
    with pytest.raises(TemplateError) as refused:
        load_pack(write_pack(tmp_path / "bad", calm_toml=wrong))
    text = str(refused.value)
    assert "stems.strings.pattern: 'walking' is not a pattern of a 'pad' stem" in text
    assert "'walking' (bass)" in text


def test_a_prompts_walking_bass_walks_and_sets_no_tempo() -> None:
    inference = infer_state("late-night noir jazz club, muted trumpet, walking bass")
    bass = next(s for s in inference.stems if s.role == "bass")
    assert bass.pattern == "walking"
    assert "walking line" in inference.value(f"stems.{bass.name}").evidence
    assert "walking" not in inference.value("bpm").evidence


@pytest.mark.parametrize("meter", ["4/4", "6/8", "5/4"])
def test_a_drone_holds_the_tonic_and_fifth_through_each_phrase(meter: str) -> None:
    info = Meter.parse(meter)
    pad = StemSpec("drone", "pad", program=42, register=(36, 60), pattern="drone")
    bass = StemSpec("bass", "bass", program=32, register=(28, 52), pattern="drone")
    stems = (StemSpec("tune", "melody", program=73, register=(60, 86)), pad, bass)
    spec = GenerationSpec(
        prompt="", tags=("ambient",), bpm=70.0, meter=meter, key="D minor", bars=8,
        stems=stems, energy=0.2,
    )  # fmt: skip
    score = chorale_score(bars=8) if meter == "4/4" else Score(meter, 8, "minor", ())
    for seed in (1, 2):
        parts = {s.stem.name: s.notes for s in arrange(score, spec, seed=seed).stems}
        phrase_beats = 4 * info.beats_per_bar
        assert {round(n.start_beats) for n in parts["drone"]} == {0, phrase_beats}
        assert all(n.duration_beats >= phrase_beats - 0.5 for n in parts["drone"])
        assert {n.pitch % 12 for n in parts["drone"]} <= {2, 9}  # D and A, whatever the chords
        assert {n.pitch % 12 for n in parts["drone"]} >= {2, 9}
        assert {n.pitch % 12 for n in parts["bass"]} == {2}
        assert min(n.pitch for n in parts["drone"]) <= 36 + 0.5 * (60 - 36)  # low in its range


def test_a_prompts_drone_is_a_drone() -> None:
    inference = infer_state("underwater cave, slow harp arpeggios over a deep cello drone")
    cello = next(s for s in inference.stems if s.name == "cello")
    assert (cello.role, cello.pattern) == ("pad", "drone")
    assert cello.register[0] == 36  # "deep": the bottom of the cello's range
    bagpipes = infer_state("highland bagpipes with a drone, marching snare")
    assert any(s.pattern == "drone" for s in bagpipes.stems)


def test_a_bare_drone_sounds_on_the_named_droning_instrument_and_a_plucked_one_pulses() -> None:
    bagpipes = infer_state("highland bagpipes with a drone, marching snare")
    drone = next(s for s in bagpipes.stems if s.pattern == "drone")
    assert drone.program == 109  # the bagpipes drone, not a synth pad
    sitar = StemSpec("drone", "pad", program=104, register=(48, 74), pattern="drone")
    spec = GenerationSpec(
        prompt="", tags=("calm",), bpm=70.0, meter="4/4", key="D minor", bars=4,
        stems=(StemSpec("tune", "melody", program=73, register=(60, 86)), sitar), energy=0.2,
    )  # fmt: skip
    notes = next(s.notes for s in arrange(chorale_score(bars=4), spec, seed=1).stems
                 if s.stem.name == "drone")  # fmt: skip
    assert max(n.duration_beats for n in notes) <= 1.0 + 1e-6
    assert len({round(n.start_beats) for n in notes}) == 16  # every beat of 4 bars
