"""Prompt -> state: the three reference prompts, precedence, sources, templates that omit fields.

MiniLM is real (the shipped all-MiniLM-L6-v2 wheel), with a scratch score cache per module.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_templates_support import write_pack

from engine_core.spec import StemSpec
from middleware.errors import PromptError, TemplateError
from middleware.prompt import Given, Source, StemRequest, infer_state
from middleware.prompt.similarity import GENRE_ANCHORS, PromptScorer
from middleware.prompt.words import gm_family
from middleware.templates.loader import load_pack

MENU = "calm ambient music with gentle harp, suitable for main menu"
BATTLE = "intense battle theme with heavy drums and brass, epic feel"
FANFARE = "triumphant orchestral fanfare with choir, joyful mood"


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> PromptScorer:
    return PromptScorer(cache_dir=tmp_path_factory.mktemp("prompt_scores"))


def roles(inference) -> dict[str, tuple[str, int]]:
    return {s.name: (s.role, s.program) for s in inference.stems}


def test_menu_prompt_is_a_calm_drumless_harp_piece(scorer: PromptScorer) -> None:
    inference = infer_state(MENU, scorer=scorer)
    stems = roles(inference)
    assert stems["harp"] == ("melody", 46)  # the harp carries the tune when nothing else does
    assert not any(s.is_drums for s in inference.stems)
    assert {s.role for s in inference.stems} >= {"melody", "pad", "bass"}
    assert inference.bpm <= 80 and inference.energy <= 0.3
    assert "ambient" in inference.tags and "calm" in inference.tags
    assert inference.value("drums").source is Source.PROMPT


def test_battle_prompt_has_drums_brass_chords_and_a_melody(scorer: PromptScorer) -> None:
    inference = infer_state(BATTLE, scorer=scorer)
    stems = roles(inference)
    assert stems["drums"][0] == "drums"
    assert stems["brass"] == ("harmony", 61)
    assert any(role == "melody" for role, _ in stems.values())
    assert any(role == "bass" for role, _ in stems.values())
    assert inference.bpm >= 120 and inference.energy >= 0.8
    assert inference.key.endswith("minor")
    drums = next(s for s in inference.stems if s.name == "drums")
    assert drums.intensity == (0.0, 1.0)  # a battle has its drums from the first moment


def test_fanfare_prompt_has_a_choir_pad_and_a_trumpet_tune(scorer: PromptScorer) -> None:
    inference = infer_state(FANFARE, scorer=scorer)
    stems = roles(inference)
    assert stems["choir"] == ("pad", 52)
    melody = [program for role, program in stems.values() if role == "melody"]
    assert melody == [56]  # a fanfare is a trumpet call
    assert inference.key.endswith("major") and "orchestral" in inference.tags
    assert any(s.is_drums for s in inference.stems)


def test_calm_and_frantic_differ_the_right_way(scorer: PromptScorer) -> None:
    calm = infer_state("calm ambient pads, no drums", scorer=scorer)
    frantic = infer_state("frantic aggressive battle, heavy drums", scorer=scorer)
    assert calm.bpm < frantic.bpm
    assert calm.energy < frantic.energy and calm.density < frantic.density
    assert not any(s.is_drums for s in calm.stems)
    assert any(s.is_drums for s in frantic.stems)


def test_explicit_numbers_in_the_text_are_taken_as_written(scorer: PromptScorer) -> None:
    inference = infer_state(
        "a waltz at 85 BPM in G minor, 4 bars, cello and accordion", scorer=scorer
    )
    assert (inference.bpm, inference.key, inference.meter, inference.bars) == (
        85.0,
        "G minor",
        "3/4",
        4,
    )
    for key in ("bpm", "key", "meter", "bars"):
        assert inference.value(key).source is Source.PROMPT
    programs = {s.program for s in inference.stems}
    assert {42, 21} <= programs


def test_phrygian_flavour_sets_the_mode(scorer: PromptScorer) -> None:
    inference = infer_state("desert bazaar with an oud, phrygian flavour", scorer=scorer)
    assert inference.key.split()[1] == "phrygian"
    oud = next(s for s in inference.stems if s.name == "oud")
    assert gm_family(oud.program) == "ethnic"


def test_timpani_is_a_pitched_layer_beside_the_bass(scorer: PromptScorer) -> None:
    inference = infer_state("dark orchestral with timpani", scorer=scorer)
    timpani = next(s for s in inference.stems if s.name == "timpani")
    assert timpani.program == 47 and timpani.intensity == (0.4, 1.0)
    assert 38 <= timpani.register[0] < timpani.register[1] <= 57
    assert timpani.role == "percussion" and timpani.pitched and not timpani.is_drums
    assert any(s.role == "bass" and s.name == "bass" for s in inference.stems)


@pytest.mark.parametrize(
    ("prompt", "kit"),
    [
        ("intense battle theme with heavy drums and brass, epic feel", 48),  # orchestra
        ("synthwave night drive at 100 BPM, warm pads and a saw lead, driving beat", 25),
        ("smoky jazz club in F minor, tenor sax melody, brushed drums", 40),  # brushes
        ("rock boss fight at 160 BPM, distorted guitar riffs, pounding drums", 16),  # power
    ],
)
def test_the_drum_kit_follows_the_genre(scorer: PromptScorer, prompt: str, kit: int) -> None:
    drums = next(s for s in infer_state(prompt, scorer=scorer).stems if s.role == "drums")
    assert drums.program == kit


def test_fields_win_over_the_prompt(scorer: PromptScorer) -> None:
    given = Given(
        bpm=100.0, key="C major", meter="4/4", bars=2, tags=("calm",), origin={"bpm": "x.toml"}
    )
    inference = infer_state("a frantic 6/8 jig at 170 BPM in E minor, 8 bars", given, scorer=scorer)
    assert (inference.bpm, inference.key, inference.meter, inference.bars) == (
        100.0,
        "C major",
        "4/4",
        2,
    )
    assert inference.tags == ("calm",)
    assert inference.value("bpm").source is Source.FIELD
    assert inference.value("bpm").evidence == "x.toml"


def test_tags_win_over_prompt_words(scorer: PromptScorer) -> None:
    inference = infer_state("a jig in the tavern", Given(tags=("waltz",)), scorer=scorer)
    assert inference.meter == "3/4" and inference.value("meter").source is Source.TAG


def test_written_stems_are_kept_and_auto_instruments_follow_the_prompt(
    scorer: PromptScorer,
) -> None:
    written = StemSpec("lead", "melody", program=73)
    auto = StemSpec("chords", "harmony")
    given = Given(
        bpm=90.0,
        key="D major",
        stems=(StemRequest(written), StemRequest(auto, auto_instrument=True, register_given=False)),
    )
    inference = infer_state("a flute over a harpsichord", given, scorer=scorer)
    stems = {s.name: s for s in inference.stems}
    assert stems["lead"] == written
    assert stems["chords"].program == 6  # the harpsichord named in the prompt
    assert inference.energy is None  # a written arrangement keeps its engine-derived controls


def test_a_contradictory_prompt_is_a_clear_error(scorer: PromptScorer) -> None:
    with pytest.raises(PromptError) as caught:
        infer_state("3/4 march in 6/8", scorer=scorer)
    assert caught.value.code == "bad_prompt" and "3/4" in caught.value.message


def test_an_empty_prompt_is_a_clear_error(scorer: PromptScorer) -> None:
    with pytest.raises(PromptError, match="empty"):
        infer_state("   ", scorer=scorer)


def test_scores_are_cached_on_disk(tmp_path: Path, scorer: PromptScorer) -> None:
    first = PromptScorer(cache_dir=tmp_path, interpreter=scorer.interpreter).scores(MENU)
    assert list(tmp_path.glob("*.json"))
    again = PromptScorer(cache_dir=tmp_path, interpreter=object()).scores(MENU)  # no model
    assert again == first


# -- templates that leave values to the prompt ----------------------------------------------

MINIMAL_STATE = 'prompt = "a slow waltz with a music box and cello, no drums"\n'


def test_a_state_with_only_a_prompt_loads_with_everything_inferred(tmp_path: Path) -> None:
    root = write_pack(tmp_path)
    (root / "dream.toml").write_text(MINIMAL_STATE)
    state = load_pack(root).state("dream")
    spec = state.spec
    assert spec.meter == "3/4"
    bpm = next(v for v in state.inferred if v.key == "bpm")  # the pack's [defaults] bpm wins
    assert spec.bpm == 100 and bpm.source is Source.FIELD and "[defaults]" in bpm.evidence
    assert {s.program for s in spec.stems} >= {10, 42}
    assert not any(s.is_drums for s in spec.stems)
    sources = {v.key: v.source for v in state.inferred}
    assert sources["meter"] is Source.PROMPT and sources["stems.cello"] is Source.PROMPT


def test_the_hash_covers_the_inferred_values(tmp_path: Path) -> None:
    root = write_pack(tmp_path)
    (root / "dream.toml").write_text(MINIMAL_STATE)
    inferred = load_pack(root).state("dream").generation_hash
    (root / "dream.toml").write_text(MINIMAL_STATE.replace("slow waltz", "slow jig"))
    assert load_pack(root).state("dream").generation_hash != inferred


def test_an_auto_instrument_in_a_template_takes_the_named_instrument(tmp_path: Path) -> None:
    root = write_pack(tmp_path)
    (root / "dream.toml").write_text(
        'prompt = "an accordion tune"\nbpm = 100\nkey = "G major"\n'
        '[stems.lead]\nrole = "melody"\ninstrument = "auto"\n'
        '[stems.beat]\nrole = "drums"\ninstrument = "auto"\n'
    )
    state = load_pack(root).state("dream")
    stems = {s.name: s for s in state.spec.stems}
    assert stems["lead"].program == 21 and stems["beat"].program == 0
    assert {v.key: v.source for v in state.inferred}["stems.lead"] is Source.PROMPT


def test_a_contradictory_prompt_in_a_template_is_a_problem_at_its_line(tmp_path: Path) -> None:
    root = write_pack(tmp_path)
    (root / "dream.toml").write_text('prompt = "3/4 march in 6/8"\n')
    with pytest.raises(TemplateError) as caught:
        load_pack(root)
    (problem,) = caught.value.problems
    assert problem.key == "prompt" and problem.line == 1 and "contradictory" in problem.message


def test_written_packs_keep_their_hashes() -> None:
    # The bundled packs write every value: inference must not touch them.
    pack = load_pack(Path(__file__).parent.parent / "templates" / "fantasy_rpg")
    for state in pack.states.values():
        assert all(v.source is Source.FIELD for v in state.inferred), state.name


def test_templates_show_prints_each_value_beside_its_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from middleware.cli import main

    root = write_pack(tmp_path)
    (root / "dream.toml").write_text(MINIMAL_STATE)
    main(["templates", "show", str(root), "--state", "dream", "--json"])
    summary = json.loads(capsys.readouterr().out)
    sources = {item["key"]: item for item in summary["inferred"]}
    assert sources["meter"]["source"] == "prompt word" and sources["meter"]["value"] == "3/4"
    assert sources["meter"]["evidence"] == "'waltz'"
    assert sources["bpm"]["source"] == "field"
    main(["templates", "show", str(root), "--state", "dream"])
    table = capsys.readouterr().out
    assert "where each value came from" in table and "prompt word" in table


def test_a_composed_state_names_the_style_family_its_arrangement_needs(
    scorer: PromptScorer,
) -> None:
    from engine_core.model.controls import controls_for_spec

    battle = infer_state(BATTLE, scorer=scorer).spec()
    jig = infer_state("a celtic jig with a fiddle", scorer=scorer).spec()
    assert dict(battle.extra)["style"] == "chorale" and dict(jig.extra)["style"] == "folk"
    assert controls_for_spec(battle).style == "chorale"  # the model is asked for it


def test_a_template_style_is_checked_and_used(tmp_path: Path) -> None:
    root = write_pack(tmp_path)
    (root / "dream.toml").write_text(MINIMAL_STATE + 'style = "renaissance"\n')
    assert dict(load_pack(root).state("dream").spec.extra)["style"] == "renaissance"
    (root / "dream.toml").write_text(MINIMAL_STATE + 'style = "baroque"\n')
    with pytest.raises(TemplateError) as caught:
        load_pack(root)
    assert "style family" in caught.value.problems[0].message


def test_every_field_wins_over_a_prompt_that_says_otherwise(scorer: PromptScorer) -> None:
    given = Given(
        bpm=100.0,
        key="C major",
        meter="4/4",
        bars=2,
        tags=("calm",),
        energy=0.2,
        density=0.3,
        brightness=0.4,
        style="folk",
    )
    inference = infer_state(
        "a frantic dense bright 6/8 jig at 170 BPM in E minor, 8 bars, heavy drums",
        given,
        scorer=scorer,
    )
    resolved = (inference.bpm, inference.key, inference.meter, inference.bars, inference.tags)
    assert resolved == (100.0, "C major", "4/4", 2, ("calm",))
    assert (inference.energy, inference.density, inference.brightness) == (0.2, 0.3, 0.4)
    assert inference.style == "folk"
    for key in ("bpm", "key", "meter", "bars", "tags", "energy", "density", "brightness", "style"):
        assert inference.value(key).source is Source.FIELD, key


NAMED = (
    ("music box", 10),
    ("cello", 42),
    ("oud", 106),
    ("accordion", 21),
    ("choir", 52),
    ("timpani", 47),
    ("sitar", 104),
    ("koto", 107),
    ("bagpipes", 109),
    ("steel drums", 114),
)


@pytest.mark.parametrize(("word", "program"), NAMED)
def test_a_named_instrument_reaches_a_stem(scorer: PromptScorer, word: str, program: int) -> None:
    for text in (f"a slow piece with {word}", f"battle music with {word} and heavy drums"):
        inference = infer_state(text, scorer=scorer)
        assert program in {s.program for s in inference.stems if not s.is_drums}, text


@pytest.mark.parametrize(
    "text",
    [
        "calm ambient pads, no drums",
        "intense battle with brass and a choir, no drums",
        "rock anthem with distorted guitars but without drums",
        "steel drums on the beach, no percussion",
        "a drumless lofi loop with electric piano",
    ],
)
def test_no_drums_gives_no_drum_stem(scorer: PromptScorer, text: str) -> None:
    inference = infer_state(text, scorer=scorer)
    assert not any(s.is_drums for s in inference.stems), [s.name for s in inference.stems]
    assert inference.value("drums").value is False


def test_the_genre_is_read_from_the_description_not_the_negations(scorer: PromptScorer) -> None:
    """ "no drums" must not pull a calm prompt toward drum-led genres (MiniLM cannot read a
    negation): the genre is read from the prompt without its negated phrases."""
    inference = infer_state("calm underwater cave, marimba and kalimba, no drums", scorer=scorer)
    assert inference.value("genre").value == "ambient"


def test_an_unclear_genre_falls_back_to_the_prompts_energy(scorer: PromptScorer) -> None:
    scores = scorer.scores("melancholic piano solo in E minor, sparse and slow, no drums")
    assert scores.best_genre() is None or scores.best_genre()[0] != "jazz"
    inference = infer_state(
        "melancholic piano solo in E minor, sparse and slow, no drums", scorer=scorer
    )
    genre = inference.value("genre")
    assert genre.value == "ambient"  # calm: the ambient palette, not a jazz combo
    if genre.source is not Source.MINILM:
        assert "MiniLM unsure" in genre.evidence and "energy" in genre.evidence


def test_anchor_embeddings_are_kept_on_disk(tmp_path: Path, scorer: PromptScorer) -> None:
    """A cold scorer with the anchors on disk embeds only the prompt (its description)."""
    from engine_core.model.text import PromptInterpreter

    class CountingInterpreter(PromptInterpreter):
        def __init__(self, model: PromptInterpreter) -> None:
            super().__init__(cache_dir=tmp_path / "text")
            self._model = model._model
            self.embedded: list[str] = []

        def embed(self, texts: list[str]):
            self.embedded.extend(texts)
            return super().embed(texts)

    first = CountingInterpreter(scorer.interpreter)
    PromptScorer(cache_dir=tmp_path / "scores", interpreter=first).scores("a quiet forest")
    assert list((tmp_path / "scores").glob("anchors-*.npy"))
    second = CountingInterpreter(first)
    PromptScorer(cache_dir=tmp_path / "scores", interpreter=second).scores("a stormy sea")
    anchors = {text for texts in GENRE_ANCHORS.values() for text in texts}
    assert "a stormy sea" in second.embedded
    assert not anchors & set(second.embedded)  # read from disk, not embedded again
    assert anchors <= set(first.embedded)  # the first scorer embedded every one


def test_low_and_high_place_a_named_instrument_in_its_range(scorer: PromptScorer) -> None:
    plain = infer_state("a sneaky clarinet tune over pizzicato strings", scorer=scorer)
    low = infer_state("a sneaky low clarinet tune over pizzicato strings", scorer=scorer)
    high = infer_state("a sneaky, soaring clarinet tune over pizzicato strings", scorer=scorer)
    register = {
        name: next(s.register for s in inference.stems if s.name == "clarinet")
        for name, inference in (("plain", plain), ("low", low), ("high", high))
    }
    assert register["low"][0] < register["plain"][0] < register["high"][0], register
    assert register["low"][0] == 50 and register["high"][1] == 91  # the clarinet's range
    assert "low in its range" in low.value("stems.clarinet").evidence
