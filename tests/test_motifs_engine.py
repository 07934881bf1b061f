"""Motifs through the real engine: the shipped weights quote them, the arranger keeps them,
the cache key follows them, `compose --melody` evolves a sketch, the timeline marks them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from click.testing import CliRunner

from engine_core.arrange.arranger import arrange
from engine_core.evaluation.motifs import evaluate_state
from engine_core.model.composer import DiffusionComposer
from engine_core.motif import MotifUse, motif_from_text
from engine_core.variant import VariantSet
from middleware.cache.keys import EngineKey, set_key
from middleware.cli import cli, main
from middleware.director.motif_marks import entry_offset
from middleware.director.session import parse_script, render_session
from middleware.director.synthetic import synthetic_variant_set
from middleware.templates.loader import load_pack

FANTASY = Path(__file__).resolve().parents[1] / "templates" / "fantasy_rpg"
NEON = Path(__file__).resolve().parents[1] / "templates" / "neon_runner"


@pytest.fixture(scope="module")
def composer() -> DiffusionComposer:
    return DiffusionComposer.load()


@pytest.fixture(scope="module")
def fantasy():
    return load_pack(FANTASY)


@pytest.mark.slow
@pytest.mark.parametrize(("pack_path", "state"), [(FANTASY, "menu"), (NEON, "boss")])
def test_the_motif_is_heard_in_every_variant_of_a_state_that_asks(
    composer: DiffusionComposer, pack_path: Path, state: str
) -> None:
    pack = load_pack(pack_path)
    template = pack.state(state)
    assert template.spec.motif is not None
    result = evaluate_state(
        composer,
        template.spec,
        template.spec.motif.motif,
        name=state,
        seed=template.seed,
        variants=4,
    )
    assert result.asks and result.found == (True, True, True, True)


@pytest.mark.slow
def test_without_a_motif_the_same_state_does_not_quote_it(
    composer: DiffusionComposer, fantasy
) -> None:
    template = fantasy.state("menu")
    plain = replace(template.spec, motif=None)
    result = evaluate_state(
        composer, plain, fantasy.motifs["realm"], name="menu", seed=template.seed, variants=4
    )
    assert not result.asks and not any(result.found)  # the search does not find it anywhere


@pytest.mark.slow
def test_quotes_are_modal_and_the_rest_of_the_loop_is_the_models(
    composer: DiffusionComposer, fantasy
) -> None:
    template = fantasy.state("explore")  # E dorian, the motif written in D major
    spec = replace(template.spec, motif=replace(template.spec.motif, vary=False))
    plain = composer.compose(replace(spec, motif=None), seed=template.seed, variants=1)[0]
    (score,) = composer.compose(spec, seed=template.seed, variants=1)
    arrangement = arrange(score, spec, seed=template.seed)
    oboe = next(s for s in arrangement.stems if s.stem.role == "melody")
    by_onset = {round(n.start_beats * 4): n.pitch for n in oboe.notes}
    # bar 0: D A G F# E F# D in D major is E B A G F# G E in E dorian (G natural, C# absent)
    quote = [by_onset[s] for s in (0, 4, 10, 12, 14, 16, 20)]
    assert [p % 12 for p in quote] == [4, 11, 9, 7, 6, 7, 4]
    assert [quote[i + 1] - quote[i] for i in range(6)] == [7, -2, -2, -1, 1, -3]
    # every 8 bars: the quote returns at bar 8
    assert [q.start for q in score.motif_quotes] == [0, 128]
    # bars without a quote were rewritten around it: not the unconditioned loop's bars
    free = [n for n in score.notes if n.bar not in (0, 1, 8, 9)]
    unconditioned = [n for n in plain.notes if n.bar not in (0, 1, 8, 9)]
    assert free and free != unconditioned


@pytest.mark.slow
def test_generated_variants_carry_their_motif_entries(tmp_path: Path, fantasy) -> None:
    from engine_core.generate import Engine

    template = fantasy.state("defeat")  # a 4-bar one-shot lament quoting the realm motif
    with Engine() as engine:
        variant_set: VariantSet = engine.generate(
            template.spec, state="defeat", seed=template.seed, variants=2
        )
        key = EngineKey.from_engine(engine)
    entries = [v.meta.motif_entries for v in variant_set.variants]
    assert entries == [((0, 0, "original"),), ((0, 0, "original"),)]  # vary = false
    midi = pretty_midi.PrettyMIDI(__import__("io").BytesIO(variant_set.variants[0].midi))
    assert midi.instruments  # the MIDI export of a motif variant is a normal loop file
    # the cache key of the state changes with its motif, and only then
    changed = replace(
        template,
        spec=replace(
            template.spec,
            motif=MotifUse(
                motif_from_text("realm", ["D4 q", "A4 q.", "G4 e", "F4 e", "E4 e", "F4 q", "D4 q"]),
                vary=False,
            ),
        ),
    )
    assert set_key(changed, key) != set_key(template, key)
    assert set_key(replace(template, description="edited"), key) == set_key(template, key)
    without = replace(template, spec=replace(template.spec, motif=None))
    assert set_key(without, key) != set_key(template, key)


@pytest.mark.slow
def test_compose_evolves_a_midi_sketch(tmp_path: Path) -> None:
    sketch = tmp_path / "sketch.mid"
    midi = pretty_midi.PrettyMIDI(initial_tempo=90)
    lead = pretty_midi.Instrument(program=0)
    beat = 60 / 90
    # G minor: G Bb D C Bb A G
    for pitch, start, length in ((67, 0, 1), (70, 1, 0.5), (74, 1.5, 1.5), (72, 3, 0.5),
                                 (70, 3.5, 0.5), (69, 4, 1), (67, 5, 2)):  # fmt: skip
        lead.notes.append(pretty_midi.Note(90, pitch, start * beat, (start + length) * beat))
    midi.instruments.append(lead)
    midi.write(str(sketch))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "compose", "evolve this melody into an orchestral theme", "--melody", str(sketch),
            "--variants", "2", "--bars", "2", "--out", str(out), "--jobs", "1",
            "--save-template", str(tmp_path / "pack" / "theme.toml"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "melody: 7 notes" in result.output and "quoted in G minor" in result.output
    import json

    manifest = json.loads((out / "variants.json").read_text())
    entries = [v["meta"]["motif_entries"] for v in manifest["variants"]]
    assert entries[0] == [[0, 0, "original"]]
    assert manifest["variants"][0]["meta"]["key"] == "G minor"  # the sketch's key
    # the saved pack quotes the sketch: the same notes, key, meter and use
    saved = load_pack(tmp_path / "pack").state("theme").spec.motif
    assert saved is not None and saved.motif.name == "theme_melody"
    assert saved.motif.key == "G minor" and saved.motif.meter == "4/4"
    assert [p for _, _, p in saved.motif.notes] == [67, 70, 74, 72, 70, 69, 67]
    assert (saved.voice, saved.every_bars, saved.vary) == ("melody", 0, True)


def test_compose_refuses_a_sketch_longer_than_the_loop_it_was_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sketch = tmp_path / "long.mid"
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    lead = pretty_midi.Instrument(program=0)
    lead.notes += [pretty_midi.Note(90, 60 + i % 5, i * 0.5, i * 0.5 + 0.5) for i in range(12)]
    midi.instruments.append(lead)
    midi.write(str(sketch))
    with pytest.raises(SystemExit) as exited:
        main(["compose", "a calm theme", "--melody", str(sketch), "--bars", "1"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "error [bad_motif]" in error and "lasts 48 sixteenths, the loop only 16" in error


def test_the_session_timeline_marks_each_motif_entry(fantasy) -> None:
    menu = fantasy.state("menu").spec
    sets = {}
    for name in ("menu", "town"):
        spec = fantasy.state(name).spec
        sets[name] = synthetic_variant_set(
            name, bpm=spec.bpm, meter=spec.meter, bars=spec.bars,
            stems={s.name: s.intensity for s in spec.stems},
        )  # fmt: skip
    # the menu's variants quote at bar 0, bar 4 and bars 0 + 2 (as the engine plans them)
    plans = [((0, 0, "original"),), ((4, 0, "original"),), ((0, 0, "original"), (2, 0, "sequence"))]
    sets["menu"] = VariantSet(
        "menu",
        sets["menu"].generation_hash,
        0,
        tuple(
            replace(v, meta=replace(v.meta, motif_entries=plan))
            for v, plan in zip(sets["menu"].variants, plans, strict=True)
        ),
    )
    script = parse_script({"duration_s": 40.0, "events": []}, fantasy)
    render = render_session(fantasy, script, sets.get)
    assert render.motif_marks
    loop = sets["menu"].variants[0].meta.loop_end
    first = render.motif_marks[0]
    meta = sets["menu"].variants[first.variant].meta
    assert first.state == "menu" and first.sample == entry_offset(meta, first.bar, first.step)
    bar = round(3 * 60 / menu.bpm * 48000)
    for mark in render.motif_marks:
        position = mark.sample % loop  # the menu loops from sample 0 in this session
        assert abs(position - mark.bar * bar) <= 1
        assert mark.sample < render.audio.shape[0]
    assert len({m.sample for m in render.motif_marks}) == len(render.motif_marks)
    assert np.all(np.diff([m.sample for m in render.motif_marks]) > 0)
