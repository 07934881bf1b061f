"""Arrangement rules: material for every role, figures, accents, pads, the melody pass,
holes and the warnings about stems that would come out empty."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from engine_core.arrange.accents import beat_accent
from engine_core.arrange.arranger import arrange
from engine_core.arrange.coverage import (
    empty_stem_warnings,
    probe_scores,
    silent_stem_warnings,
)
from engine_core.arrange.harmony import CADENCE_DEGREES, infer_progression
from engine_core.arrange.holes import gaps
from engine_core.arrange.melody_line import singable
from engine_core.evaluation.music import (
    accent_gap,
    bar_patterns,
    figure_recurrence,
    interval_shares,
    line_of,
    self_similarity,
)
from engine_core.score import Score, ScoreNote
from engine_core.spec import GenerationSpec, Key, Meter, StemSpec
from middleware.cli import cli
from tests.chorale_scores import chorale_score
from tests.test_templates_support import write_pack

PITCHED = (
    StemSpec("tune", "melody", program=73, register=(60, 86)),
    StemSpec("answer", "counter", program=71, register=(55, 79)),
    StemSpec("chords", "harmony", program=24, register=(48, 72)),
    StemSpec("pad", "pad", program=89, register=(48, 76)),
    StemSpec("ostinato", "arp", program=48, register=(50, 74)),
    StemSpec("bass", "bass", program=32, register=(28, 52)),
)


def _spec(meter: str = "4/4", bars: int = 8, **changes: object) -> GenerationSpec:
    fields: dict[str, object] = {
        "prompt": "",
        "tags": ("folk",),
        "bpm": 110.0,
        "meter": meter,
        "key": "G major",
        "bars": bars,
        "stems": PITCHED,
        "energy": 0.6,
    }
    fields.update(changes)
    return GenerationSpec(**fields)  # type: ignore[arg-type]


def _melody_only(meter: str, bars: int = 8) -> Score:
    """A leapy folk-like tune (tonic-C frame) with rests, and nothing else."""
    info = Meter.parse(meter)
    tune = (60, 67, 64, 72, 69, 65, 62, 71, 67, 60, 64, 74)
    notes = []
    count = 0
    for bar in range(bars):
        for beat in range(info.beats_per_bar):
            if bar % 4 == 3 and beat == info.beats_per_bar - 1:
                continue  # a rest at each phrase end
            notes.append(
                ScoreNote(
                    bar, beat * info.steps_per_beat, "melody", tune[count % len(tune)],
                    info.steps_per_beat,
                )
            )  # fmt: skip
            count += 1
    return Score(meter, bars, "major", tuple(notes))


@pytest.mark.parametrize("meter", ["4/4", "3/4", "6/8"])
def test_every_role_gets_material_from_a_melody_only_score(meter: str) -> None:
    arrangement = arrange(_melody_only(meter), _spec(meter), seed=3)
    for stem in arrangement.stems:
        assert stem.notes, stem.stem.name
        low, high = stem.stem.register
        assert all(low <= n.pitch <= high for n in stem.notes), stem.stem.name


def test_an_empty_score_still_gives_every_stem_notes() -> None:
    arrangement = arrange(Score("4/4", 4, "major", ()), _spec(bars=4), seed=1)
    assert all(stem.notes for stem in arrangement.stems)


def test_chords_inferred_over_the_melody_start_on_the_tonic_and_cadence_into_the_seam() -> None:
    key, meter = Key.parse("D dorian"), Meter.parse("4/4")
    melody = [(o, d, p + 2, 0.8) for o, d, p, _ in [
        (n.bar * 16 + n.step, n.duration_steps, n.pitch, 0.8) for n in _melody_only("4/4").notes
    ]]  # fmt: skip
    progression = infer_progression(
        key, meter, 8, melody=melody, harmony=[], density=0.5, rng=np.random.default_rng(0)
    )
    assert progression.spans[0].start == 0 and progression.spans[0].chord.root == key.tonic
    assert progression.spans[-1].chord.degree == CADENCE_DEGREES["dorian"][0]
    assert progression.spans[-1].end == 8 * 16
    assert len({s.chord for s in progression.spans}) >= 3  # it moves


def test_arp_figures_recur_and_follow_the_chords() -> None:
    arrangement = arrange(_melody_only("4/4"), _spec(), seed=5)
    arp = arrangement.stems[4]
    meter = Meter.parse("4/4")
    patterns = bar_patterns(arp.notes, meter, 8)
    assert len(set(patterns)) <= 2 and all(patterns)  # one figure, recurring
    tune = line_of(arrangement.stems[0].notes)
    assert self_similarity(arp.notes, meter, 8) > 0.9
    recurrence = figure_recurrence(arp.notes, meter, 8)
    assert recurrence > 0.5 and recurrence > figure_recurrence(arrangement.stems[0].notes, meter, 8)
    assert self_similarity(arrangement.stems[0].notes, meter, 8) < 0.9 or len(set(tune)) < 3
    # every bar's figure is made of that bar's chord
    material = _material_of(_melody_only("4/4"), _spec(), seed=5)
    for note in arp.notes:
        step = round(note.start_beats * 4)
        assert note.pitch % 12 in material.progression.at(step).chord.tones


def _material_of(score: Score, spec: GenerationSpec, seed: int):
    # the arranger keeps the material on its context; rebuild it the same way
    from engine_core.arrange.arranger import _Context, spec_density, spec_energy
    from engine_core.arrange.material import build_material

    context = _Context(score, spec.key_info)
    return build_material(
        spec.key_info,
        score.meter_info,
        score.bars,
        melody=context.mapped["melody"],
        harmony=context.mapped["harmony"],
        bass=context.mapped["bass"],
        energy=spec_energy(spec),
        density=spec_density(spec),
        rng=np.random.default_rng([seed & 0xFFFFFFFF, 7919]),
    )


def test_the_battle_ostinato_plays_a_figure() -> None:
    from middleware.templates.loader import load_pack

    spec = load_pack(Path("templates/fantasy_rpg")).state("battle").spec
    arrangement = arrange(chorale_score(bars=8), spec, seed=7)
    ostinato = next(s for s in arrangement.stems if s.stem.name == "ostinato")
    assert self_similarity(ostinato.notes, Meter.parse("4/4"), 8) > 0.9
    assert len(ostinato.notes) >= 8 * 8  # at least eighths, every bar


@pytest.mark.parametrize("meter", ["4/4", "3/4", "6/8"])
def test_pitched_parts_accent_the_strong_beat(meter: str) -> None:
    info = Meter.parse(meter)
    arrangement = arrange(_melody_only(meter), _spec(meter, energy=0.2), seed=2)
    gaps_found = [accent_gap(s.notes, info) for s in arrangement.stems]
    measured = [g for g in gaps_found if not np.isnan(g)]
    assert measured and min(measured) >= 8, gaps_found


def test_accent_profiles_per_meter() -> None:
    four, three, six = Meter.parse("4/4"), Meter.parse("3/4"), Meter.parse("6/8")
    assert beat_accent(0, four) > beat_accent(8, four) > beat_accent(4, four)
    assert beat_accent(4, four) == beat_accent(12, four) > beat_accent(2, four)
    assert beat_accent(0, three) > beat_accent(4, three) == beat_accent(8, three)
    assert beat_accent(0, six) > beat_accent(6, six) > beat_accent(2, six)
    assert beat_accent(2, six) == beat_accent(4, six) == beat_accent(8, six)


def test_pads_move_their_voicing() -> None:
    for seed in range(4):
        arrangement = arrange(chorale_score(bars=8), _spec(bars=8), seed=seed)
        pad = arrangement.stems[3]
        tops = []
        for bar in range(8):
            sounding = [
                n.pitch
                for n in pad.notes
                if n.start_beats <= bar * 4 + 0.5 < n.start_beats + n.duration_beats
            ]
            tops.append(max(sounding))
        most = max(tops.count(t) for t in set(tops))
        assert most <= 4, tops


def test_the_melody_pass_keeps_leaps_within_an_octave_and_adds_steps() -> None:
    key, meter = Key.parse("C major"), Meter.parse("4/4")
    leapy = [(i * 2, 2, p, 0.8) for i, p in enumerate((60, 79, 62, 77, 64, 84, 59, 72) * 4)]
    before = interval_shares([p for _, _, p, _ in leapy])
    after_line = singable(leapy, key, meter, 64)
    after = interval_shares([p for _, _, p, _ in after_line])
    assert after.over_octave == 0 and before.over_octave > 0
    assert after.steps > before.steps + 0.2
    assert [o for o, _, _, _ in after_line] == [o for o, _, _, _ in leapy]  # rhythm kept


def test_leading_tones_resolve() -> None:
    key, meter = Key.parse("C major"), Meter.parse("4/4")
    line = [(0, 4, 60, 0.8), (4, 2, 71, 0.8), (6, 2, 67, 0.8), (8, 8, 64, 0.8)]
    result = singable(line, key, meter, 16)
    pitches = [p for _, _, p, _ in result]
    for a, b in itertools.pairwise(pitches):
        if a % 12 == 11:  # to the tonic, or passing down a descending scale
            assert b % 12 == 0 or 1 <= a - b <= 2, pitches
    # a leading tone leaping away resolves (here: to the tonic, the line stays stepwise)
    leap = [(0, 4, 64, 0.8), (4, 4, 71, 0.8), (8, 4, 76, 0.8), (12, 4, 74, 0.8)]
    pitches = [p for _, _, p, _ in singable(leap, key, meter, 16)]
    assert pitches[1] % 12 != 11 or pitches[2] % 12 == 0, pitches


def test_holes_are_bridged_unless_the_state_asks_for_space() -> None:
    sparse = Score(
        "4/4", 4, "major", (ScoreNote(0, 0, "melody", 72, 2), ScoreNote(2, 0, "melody", 74, 2))
    )
    stems = (StemSpec("tune", "melody", register=(60, 84)),)
    filled = arrange(sparse, _spec(bars=4, stems=stems, energy=0.1), seed=0)
    spaced = arrange(sparse, _spec(bars=4, stems=stems, energy=0.1, tags=("space",)), seed=0)

    def longest_gap(arrangement) -> float:
        part = [
            (n.start_beats * 4, n.duration_beats * 4, n.pitch, 1.0)
            for n in arrangement.stems[0].notes
        ]
        return max((length for _, length in gaps([part], 64)), default=0) / 4

    assert longest_gap(filled) <= 1.0
    assert longest_gap(spaced) > 4.0


def test_warnings_name_stems_that_would_come_out_empty() -> None:
    narrow = StemSpec("thin", "pad", register=(60, 62))
    optional = StemSpec("maybe", "pad", register=(60, 62), optional=True)
    spec = _spec(stems=(PITCHED[0], narrow, optional))
    warnings = empty_stem_warnings(spec)
    assert any("'thin'" in w and "silent" in w for w in warnings)
    assert not any("'maybe'" in w for w in warnings)
    assert empty_stem_warnings(_spec()) == []
    melody_only, empty = probe_scores(spec)
    assert melody_only.track("melody") and not empty.notes
    silent = {"tune": np.zeros((10, 2), np.float32), "thin": np.zeros((10, 2), np.float32)}
    loud = {"tune": np.full((10, 2), 0.1, np.float32)}
    assert len(silent_stem_warnings(spec, 0, silent)) == 2
    assert silent_stem_warnings(spec, 0, loud) == []


#: A calm state whose pad register (C4-D4) is too narrow for any chord: it would be silent.
THIN_PAD_CALM = """\
    prompt = "soft sustained strings, peaceful"
    tags = ["orchestral", "calm"]
    bars = 4

    [stems.strings]
    role = "pad"
    instrument = "String Ensemble 1"
    register = ["C4", "D4"]
    """


def test_validate_prints_the_warning(tmp_path: Path) -> None:
    root = write_pack(tmp_path / "pack", calm_toml=THIN_PAD_CALM)
    result = CliRunner().invoke(cli, ["validate", str(root)])
    assert result.exit_code == 0, result.output
    assert "warning: state calm: stem 'strings' (pad) would come out silent" in result.output


@pytest.mark.slow
def test_bake_and_generate_print_the_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from middleware.cli import main

    root = write_pack(tmp_path / "pack", calm_toml=THIN_PAD_CALM)
    main(["bake", str(root), "--out", str(tmp_path / "out"), "--dry-run"])
    assert "stem 'strings' (pad) would come out silent" in capsys.readouterr().err
    main(
        ["generate", str(root), "--state", "calm", "--variants", "1", "--out", str(tmp_path / "g")]
    )
    err = capsys.readouterr().err
    assert "state calm" not in err  # generate names the state once, in its own prefix
    assert "warning: calm: stem 'strings' (pad) would come out silent" in err
    assert "warning: calm: variant 0: stem 'strings' (pad) is silent" in err


def test_melodies_sound_beat_one() -> None:
    waltz, common = Meter.parse("3/4"), Meter.parse("4/4")
    key = Key.parse("C major")
    # 3/4: a note held over the bar line sounds again on beat 1
    held = singable([(0, 8, 64, 0.8), (8, 8, 65, 0.8), (16, 8, 67, 0.8)], key, waltz, 24)
    assert 12 in [o for o, _, _, _ in held]
    # 4/4: a note an eighth late moves onto beat 1; a tie over the bar line stays a tie
    late = singable([(0, 16, 64, 0.8), (18, 14, 65, 0.8)], key, common, 32)
    assert [o for o, _, _, _ in late] == [0, 16]
    tied = singable([(0, 8, 64, 0.8), (8, 12, 65, 0.8), (20, 12, 67, 0.8)], key, common, 32)
    assert 16 not in [o for o, _, _, _ in tied]
