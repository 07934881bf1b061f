"""Bad templates get exact, helpful messages: file, line, key, the bad value, what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_templates_support import CALM_TOML, FIGHT_TOML, PACK_TOML, line_of, write_pack

from middleware.errors import TemplateError
from middleware.templates.loader import load_pack


def problems_of(root: Path) -> list[str]:
    with pytest.raises(TemplateError) as caught:
        load_pack(root)
    assert caught.value.code == "bad_template"
    return [problem.format() for problem in caught.value.problems]


def only_problem(root: Path) -> str:
    problems = problems_of(root)
    assert len(problems) == 1, problems
    return problems[0]


def test_the_unbroken_pack_loads(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path))
    assert set(pack.states) == {"calm", "fight"} and set(pack.stingers) == {"hit"}


def test_unknown_key_suggests_the_word_the_format_uses(tmp_path: Path) -> None:
    text = FIGHT_TOML.replace("bpm = 150", "tempo = 150")
    root = write_pack(tmp_path, fight_toml=text)
    line = line_of(text, "tempo")
    assert only_problem(root) == (
        f"{root}/fight.toml:{line}: tempo: unknown key 'tempo', did you mean 'bpm'? (allowed: "
        "bars, bpm, brightness, density, description, energy, groove, intensity, key, "
        "loudness_lufs, meter, motif, next, one_shot, prompt, sample_rate, seed, soundfont, stems, "
        "style, tags, true_peak_db, variance, variant_weights, variants)"
    )


def test_misspelt_key_in_a_stem_suggests_the_close_match(tmp_path: Path) -> None:
    text = CALM_TOML.replace('register = ["C3", "C5"]', 'registr = ["C3", "C5"]')
    root = write_pack(tmp_path, calm_toml=text)
    assert only_problem(root) == (
        f"{root}/calm.toml:{line_of(text, 'registr')}: stems.strings.registr: unknown key "
        "'registr', did you mean 'register'? (allowed: gain_db, instrument, intensity, optional, "
        "pan, pattern, program, register, role)"
    )


def test_unknown_pack_section_is_named(tmp_path: Path) -> None:
    text = PACK_TOML.replace('[transitions."* -> *"]', '[transition."* -> *"]')
    root = write_pack(tmp_path, pack_toml=text)
    assert only_problem(root) == (
        f"{root}/pack.toml:{line_of(text, '[transition.')}: transition: unknown key "
        "'transition', did you mean 'transitions'? "
        "(allowed: defaults, motifs, pack, states, stingers, transitions)"
    )


def test_unsupported_meter_lists_the_meters(tmp_path: Path) -> None:
    text = CALM_TOML.replace("bars = 4", 'bars = 4\nmeter = "11/8"')
    root = write_pack(tmp_path, calm_toml=text)
    assert only_problem(root) == (
        f"{root}/calm.toml:{line_of(text, 'meter')}: meter: '11/8' is not a valid meter "
        "(allowed: 4/4, 3/4, 6/8, 2/4, 12/8, 5/4, 7/8)"
    )


def test_unreadable_key_explains_the_key_format(tmp_path: Path) -> None:
    text = FIGHT_TOML.replace('key = "D minor"', 'key = "H minor"')
    root = write_pack(tmp_path, fight_toml=text)
    message = only_problem(root)
    assert message.startswith(
        f"{root}/fight.toml:{line_of(text, 'H minor')}: key: 'H minor' is not a valid key "
        "(allowed: '<tonic> <mode>' with tonic one of A, A#, Ab, B, B#, Bb, C, "
    )
    assert message.endswith("mode one of major, minor, dorian, phrygian, lydian, mixolydian)")


def test_loop_length_must_be_a_power_of_two_bars(tmp_path: Path) -> None:
    text = CALM_TOML.replace("bars = 4", "bars = 3")
    root = write_pack(tmp_path, calm_toml=text)
    assert only_problem(root) == (
        f"{root}/calm.toml:{line_of(text, 'bars')}: bars: 3 is not accepted by the engine "
        "(bars 3 not one of (1, 2, 4, 8, 16)) (allowed: 1, 2, 4, 8, 16)"
    )


def test_tempo_out_of_range(tmp_path: Path) -> None:
    text = FIGHT_TOML.replace("bpm = 150", "bpm = 500")
    root = write_pack(tmp_path, fight_toml=text)
    assert only_problem(root) == (
        f"{root}/fight.toml:{line_of(text, 'bpm')}: bpm: 500.0 is not accepted by the engine "
        "(bpm 500.0 outside 20-300) (allowed: 20 to 300)"
    )


def test_wrong_type_names_the_expected_type(tmp_path: Path) -> None:
    text = FIGHT_TOML.replace("bpm = 150", 'bpm = "fast"')
    root = write_pack(tmp_path, fight_toml=text)
    assert only_problem(root) == (
        f"{root}/fight.toml:{line_of(text, 'bpm')}: bpm: 'fast' is not a number"
    )


def test_unknown_tag_suggests_a_vocabulary_tag(tmp_path: Path) -> None:
    text = FIGHT_TOML.replace('"urgent"', '"urgnet"')
    root = write_pack(tmp_path, fight_toml=text)
    message = only_problem(root)
    assert message.startswith(
        f"{root}/fight.toml:{line_of(text, 'tags')}: tags: unknown tag 'urgnet', "
        "did you mean 'urgent'? (allowed: genre: orchestral, chorale, folk,"
    )
    assert "mood: calm, peaceful," in message and "register: low, mid, high" in message


def test_unknown_instrument_name_suggests_the_general_midi_name(tmp_path: Path) -> None:
    text = FIGHT_TOML.replace('"Brass Section"', '"Bras Section"')
    root = write_pack(tmp_path, fight_toml=text)
    assert only_problem(root) == (
        f"{root}/fight.toml:{line_of(text, 'Bras Section')}: stems.brass.instrument: "
        "'Bras Section' is not a General MIDI instrument name, did you mean 'Brass Section'? "
        "(allowed: the 128 General MIDI names listed in docs/templates.md)"
    )


def test_unknown_stem_role_lists_the_roles(tmp_path: Path) -> None:
    text = FIGHT_TOML.replace('role = "melody"', 'role = "melodie"')
    root = write_pack(tmp_path, fight_toml=text)
    assert only_problem(root) == (
        f"{root}/fight.toml:{line_of(text, 'melodie')}: stems.brass.role: unknown role "
        "'melodie', did you mean 'melody'? "
        "(allowed: melody, counter, harmony, pad, arp, bass, drums, percussion)"
    )


def test_intensity_range_that_never_sounds(tmp_path: Path) -> None:
    text = FIGHT_TOML.replace("intensity = [0.3, 1.0]", "intensity = [0.8, 0.2]")
    root = write_pack(tmp_path, fight_toml=text)
    assert only_problem(root) == (
        f"{root}/fight.toml:{line_of(text, 'intensity')}: stems.brass.intensity: [0.8, 0.2]: "
        "the stem would never sound (the range is [low, high) with low < high) "
        "(allowed: 0.0 <= low < high <= 1.0)"
    )


def test_program_out_of_the_general_midi_range(tmp_path: Path) -> None:
    text = CALM_TOML.replace("program = 43", "program = 130")
    root = write_pack(tmp_path, calm_toml=text)
    assert only_problem(root) == (
        f"{root}/calm.toml:{line_of(text, 'program')}: stems.bass.program: 130 is out of range "
        "(allowed: 0 to 127)"
    )


def test_program_and_instrument_together_is_ambiguous(tmp_path: Path) -> None:
    text = CALM_TOML.replace("program = 43", 'program = 43\ninstrument = "Cello"')
    root = write_pack(tmp_path, calm_toml=text)
    assert only_problem(root) == (
        f"{root}/calm.toml:{line_of(text, 'Cello')}: stems.bass.instrument: "
        "give either 'program' or 'instrument', not both"
    )


def test_drum_stem_takes_a_kit_number_not_an_instrument_name(tmp_path: Path) -> None:
    text = FIGHT_TOML.replace("program = 48", 'instrument = "Timpani"')
    root = write_pack(tmp_path, fight_toml=text)
    assert only_problem(root) == (
        f"{root}/fight.toml:{line_of(text, 'Timpani')}: stems.drums.instrument: a drums stem "
        "plays the General MIDI drum kit: give the kit as 'program' (pitched percussion "
        "such as timpani is a 'percussion' stem with an 'instrument') (allowed: program = 0 "
        "(standard kit), 8 (room), 16 (power), 24 (electronic), 25 (TR-808), 32 (jazz), "
        "40 (brush), 48 (orchestra))"
    )


def test_a_percussion_stem_with_an_instrument_is_pitched_percussion(tmp_path: Path) -> None:
    timpani = '[stems.timpani]\nrole = "percussion"\ninstrument = "Timpani"\n'
    ranged = timpani + 'register = ["D2", "D3"]\n'
    pack = load_pack(write_pack(tmp_path / "a", fight_toml=FIGHT_TOML + "\n" + timpani))
    stem = pack.state("fight").spec.stems[-1]
    assert (stem.program, stem.pitched, stem.register, stem.is_drums) == (47, True, (41, 57), False)
    pack = load_pack(write_pack(tmp_path / "b", fight_toml=FIGHT_TOML + "\n" + ranged))
    assert pack.state("fight").spec.stems[-1].register == (38, 50)


def test_register_note_name_must_be_readable(tmp_path: Path) -> None:
    text = CALM_TOML.replace('register = ["C3", "C5"]', 'register = ["H3", "C5"]')
    root = write_pack(tmp_path, calm_toml=text)
    assert only_problem(root) == (
        f"{root}/calm.toml:{line_of(text, 'H3')}: stems.strings.register: 'H3' is not a note "
        "name (allowed: a note name such as 'C3' or 'F#5', or a MIDI number 0-127)"
    )


def test_missing_prompt(tmp_path: Path) -> None:
    text = CALM_TOML.replace('prompt = "soft sustained strings, peaceful"\n', "")
    root = write_pack(tmp_path, calm_toml=text)
    assert only_problem(root) == f"{root}/calm.toml: prompt: missing: every state needs a prompt"


def test_a_tempo_left_out_everywhere_is_inferred_from_the_prompt(tmp_path: Path) -> None:
    pack = PACK_TOML.replace("bpm = 100\n", "")
    root = write_pack(tmp_path, pack_toml=pack)
    # fight.toml sets its own bpm; calm.toml relies on its prompt ("soft sustained ...").
    loaded = load_pack(root)
    assert loaded.state("fight").spec.bpm == 150
    calm = loaded.state("calm")
    bpm = next(v for v in calm.inferred if v.key == "bpm")
    assert bpm.source.value != "field" and bpm.value == calm.spec.bpm
    assert calm.spec.bpm < 100  # soft, sustained and peaceful is slow


def test_bad_default_is_reported_once_where_it_is_written(tmp_path: Path) -> None:
    pack = PACK_TOML.replace('key = "C major"', 'key = "C majr"')
    root = write_pack(tmp_path, pack_toml=pack)
    problems = problems_of(root)
    assert len(problems) == 1
    assert problems[0].startswith(
        f"{root}/pack.toml:{line_of(pack, 'C majr')}: defaults.key: 'C majr' is not a valid key"
    )


def test_transition_to_an_unknown_state_suggests_one(tmp_path: Path) -> None:
    pack = PACK_TOML + '\n[transitions."calm -> figth"]\nfade = "cross"\n'
    root = write_pack(tmp_path, pack_toml=pack)
    assert only_problem(root) == (
        f'{root}/pack.toml:{line_of(pack, "figth")}: transitions."calm -> figth": unknown to '
        "state 'figth', did you mean 'fight'? (allowed: *, calm, fight)"
    )


def test_transition_filler_must_name_a_stinger(tmp_path: Path) -> None:
    pack = PACK_TOML + '\n[transitions."calm -> fight"]\nfiller = "hti"\n'
    root = write_pack(tmp_path, pack_toml=pack)
    assert only_problem(root) == (
        f'{root}/pack.toml:{line_of(pack, "hti")}: transitions."calm -> fight".filler: '
        "unknown stinger 'hti', did you mean 'hit'? (allowed: hit)"
    )


def test_fade_kind_lists_the_kinds(tmp_path: Path) -> None:
    pack = PACK_TOML.replace('fade = "cross"', 'fade = "crossfade"')
    root = write_pack(tmp_path, pack_toml=pack)
    assert only_problem(root) == (
        f'{root}/pack.toml:{line_of(pack, "crossfade")}: transitions."* -> *".fade: '
        "'crossfade' is not allowed, did you mean 'cross'? (allowed: none, in, out, cross, auto)"
    )


def test_fade_length_needs_a_unit(tmp_path: Path) -> None:
    pack = PACK_TOML.replace('fade_length = "1 bar"', "fade_length = 2")
    root = write_pack(tmp_path, pack_toml=pack)
    assert only_problem(root) == (
        f'{root}/pack.toml:{line_of(pack, "fade_length")}: transitions."* -> *".fade_length: '
        "2 is not a length with a unit (allowed: a string such as '2 bars', '1 beat', "
        "'0.5 seconds')"
    )


def test_transition_key_must_read_from_arrow_to(tmp_path: Path) -> None:
    pack = PACK_TOML + '\n[transitions."calm to fight"]\nfade = "cross"\n'
    root = write_pack(tmp_path, pack_toml=pack)
    assert only_problem(root) == (
        f'{root}/pack.toml:{line_of(pack, "calm to fight")}: transitions."calm to fight": '
        "'calm to fight' is not a transition key (allowed: '<from> -> <to>' with state names "
        "or '*', e.g. \"explore -> battle\")"
    )


def test_next_only_applies_to_one_shot_states(tmp_path: Path) -> None:
    text = FIGHT_TOML.replace("bpm = 150", 'bpm = 150\nnext = "calm"')
    root = write_pack(tmp_path, fight_toml=text)
    assert only_problem(root) == (
        f"{root}/fight.toml:{line_of(text, 'next')}: next: only a one-shot state goes on to a "
        "'next' state (allowed: set one_shot = true, or remove 'next')"
    )


def test_one_shot_next_must_be_a_known_state(tmp_path: Path) -> None:
    text = FIGHT_TOML.replace("bpm = 150", 'bpm = 150\none_shot = true\nnext = "clam"')
    root = write_pack(tmp_path, fight_toml=text)
    assert only_problem(root) == (
        f"{root}/fight.toml:{line_of(text, 'next')}: next: unknown state 'clam', "
        "did you mean 'calm'? (allowed: calm, fight)"
    )


def test_variant_weights_need_one_weight_per_variant(tmp_path: Path) -> None:
    text = CALM_TOML.replace("bars = 4", "bars = 4\nvariant_weights = [1, 2, 3]")
    root = write_pack(tmp_path, calm_toml=text)
    assert only_problem(root) == (
        f"{root}/calm.toml:{line_of(text, 'variant_weights')}: variant_weights: [1, 2, 3] does "
        "not give one weight per variant (allowed: a list of 2 non-negative numbers, "
        "not all zero)"
    )


def test_start_state_must_exist(tmp_path: Path) -> None:
    pack = PACK_TOML.replace('start_state = "calm"', 'start_state = "title"')
    root = write_pack(tmp_path, pack_toml=pack)
    assert only_problem(root) == (
        f"{root}/pack.toml:{line_of(pack, 'start_state')}: pack.start_state: unknown state "
        "'title' (allowed: calm, fight)"
    )


def test_missing_soundfont_file(tmp_path: Path) -> None:
    pack = PACK_TOML.replace("seed = 7", 'seed = 7\nsoundfont = "sounds/orchestra.sf2"')
    root = write_pack(tmp_path, pack_toml=pack)
    assert only_problem(root) == (
        f"{root}/pack.toml:{line_of(pack, 'soundfont')}: defaults.soundfont: "
        "'sounds/orchestra.sf2': no .sf2 file there (paths are relative to the pack folder) "
        "(allowed: an existing .sf2 file, or leave it out for the General MIDI bank)"
    )


def test_stinger_is_a_file_or_generated_not_both(tmp_path: Path) -> None:
    (tmp_path / "hit.wav").write_bytes(b"RIFF")
    pack = PACK_TOML.replace('prompt = "a short brass hit"', 'file = "hit.wav"\nprompt = "x"')
    root = write_pack(tmp_path, pack_toml=pack)
    assert only_problem(root) == (
        f"{root}/pack.toml:{line_of(pack, 'hit.wav')}: stingers.hit.file: a stinger is either "
        "a 'file' or generated (prompt/tags/stems), not both; remove prompt, stems, tags or file"
    )


def test_toml_syntax_error_carries_line_and_column(tmp_path: Path) -> None:
    text = CALM_TOML.replace("bars = 4", "bars = ")
    root = write_pack(tmp_path, calm_toml=text)
    assert only_problem(root) == (
        f"{root}/calm.toml:{line_of(text, 'bars')}: (syntax): TOML syntax error: "
        "Invalid value at column 8"
    )


def test_state_defined_twice_is_an_error(tmp_path: Path) -> None:
    inline = "\n".join(
        f"[states.calm.{line[1:]}" if line.startswith("[") else line
        for line in CALM_TOML.splitlines()
    )
    pack = PACK_TOML + "\n[states.calm]\n" + inline + "\n"
    root = write_pack(tmp_path, pack_toml=pack)
    assert only_problem(root) == (
        f"{root}/calm.toml: (top level): state 'calm' is also defined inline in pack.toml "
        "[states.calm] (allowed: one definition per state)"
    )


def test_states_may_be_written_inline_in_the_pack_file(tmp_path: Path) -> None:
    inline = "\n".join(
        f"[states.calm.{line[1:]}" if line.startswith("[") else line
        for line in CALM_TOML.splitlines()
    )
    pack = PACK_TOML + "\n[states.calm]\n" + inline + "\n"
    from_file = load_pack(write_pack(tmp_path / "files"))
    inline_pack = load_pack(write_pack(tmp_path / "inline", pack_toml=pack, calm_toml=None))
    assert inline_pack.state("calm").source_file == str(tmp_path / "inline" / "pack.toml")
    assert inline_pack.state("calm").generation_hash == from_file.state("calm").generation_hash


def test_not_a_pack_folder(tmp_path: Path) -> None:
    assert only_problem(tmp_path) == (
        f"{tmp_path}: pack.toml: no pack.toml found (is {tmp_path} a pack folder?)"
    )


def test_every_problem_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    calm = CALM_TOML.replace("bars = 4", 'bars = 5\nmeter = "11/8"').replace(
        "program = 43", "program = -1"
    )
    fight = FIGHT_TOML.replace("bpm = 150", "tempo = 150\nbpm = 150").replace(
        '"driving"', '"drivin"'
    )
    root = write_pack(tmp_path, calm_toml=calm, fight_toml=fight)
    problems = problems_of(root)
    located = [p.split(": ", 2)[:2] for p in problems]
    assert located == [
        [f"{root}/calm.toml:{line_of(calm, 'bars')}", "bars"],
        [f"{root}/calm.toml:{line_of(calm, 'meter')}", "meter"],
        [f"{root}/calm.toml:{line_of(calm, 'program')}", "stems.bass.program"],
        [f"{root}/fight.toml:{line_of(fight, 'tempo')}", "tempo"],
        [f"{root}/fight.toml:{line_of(fight, 'tags')}", "tags"],
    ]


def test_same_position_switch_needs_one_grid(tmp_path: Path) -> None:
    pack = PACK_TOML + '\n[transitions."calm -> fight"]\nenter_at = "same_position"\n'
    root = write_pack(tmp_path, pack_toml=pack)
    assert only_problem(root) == (
        f"{root}/pack.toml:{line_of(pack, 'same_position')}: "
        "transitions.\"calm -> fight\".enter_at: 'same_position' needs both loops on one grid, "
        "but calm is 100 bpm, 4/4, 4 bars and fight is 150 bpm, 4/4, 4 bars "
        "(allowed: 'start', or give both states the same bpm, meter and bars)"
    )


def test_byte_order_mark_and_hidden_files_are_tolerated(tmp_path: Path) -> None:
    root = write_pack(tmp_path)
    (root / "calm.toml").write_text("\ufeff" + CALM_TOML, encoding="utf-8")
    (root / ".#fight.toml").write_text("not = [toml", encoding="utf-8")  # an editor lock file
    assert set(load_pack(root).states) == {"calm", "fight"}


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    root = write_pack(tmp_path)
    (root / "calm.toml").write_bytes(b'prompt = "caf\xe9"\n')
    problem = only_problem(root)
    assert problem.startswith(f"{root}/calm.toml: (top level): cannot read the file: ")
    assert "utf-8" in problem


def test_optional_stem_flag_is_read_and_must_be_a_boolean(tmp_path: Path) -> None:
    text = CALM_TOML.replace('register = ["C3", "C5"]', 'register = ["C3", "C5"]\noptional = 1')
    root = write_pack(tmp_path, calm_toml=text)
    assert "stems.strings.optional: 1 is not true or false" in only_problem(root)
