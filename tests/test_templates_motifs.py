"""Pack motifs in templates: [motifs.<name>] from notes or a MIDI file, `motif = ...` in a
state, and every mistake reported on its line with a stable problem code."""

from __future__ import annotations

from pathlib import Path

import pretty_midi
import pytest
from test_templates_support import CALM_TOML, FIGHT_TOML, PACK_TOML, line_of, write_pack

from middleware.errors import TemplateError
from middleware.templates.loader import load_pack

HERO = """
[motifs.hero]
notes = ["D4 q", "A4 q.", "G4 e", "F#4 e", "E4 e", "F#4 q", "D4 q"]
key = "D major"
"""


def pack_with(tmp_path: Path, motifs: str = HERO, use: str = 'motif = "hero"', **files: str):
    fight = FIGHT_TOML.replace('key = "D minor"\n', f'key = "D minor"\n{use}\n')
    return write_pack(tmp_path, pack_toml=PACK_TOML + motifs, fight_toml=fight, **files)


def problems(root: Path) -> list:
    with pytest.raises(TemplateError) as caught:
        load_pack(root)
    return caught.value.problems


def test_a_state_quotes_a_pack_motif_written_as_notes(tmp_path: Path) -> None:
    pack = load_pack(pack_with(tmp_path))
    assert set(pack.motifs) == {"hero"}
    use = pack.state("fight").spec.motif
    assert use is not None and use.motif == pack.motifs["hero"]
    assert (use.voice, use.every_bars, use.vary) == ("melody", 0, True)
    assert use.motif.notes[:2] == ((0, 4, 62), (4, 6, 69))
    assert pack.state("calm").spec.motif is None


def test_a_motif_from_a_midi_file_in_the_pack(tmp_path: Path) -> None:
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    lead = pretty_midi.Instrument(program=0)
    for i, pitch in enumerate((62, 65, 69, 62)):
        lead.notes.append(pretty_midi.Note(90, pitch, i * 0.5, i * 0.5 + 0.5))
    midi.instruments.append(lead)
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "themes").mkdir()
    midi.write(str(tmp_path / "themes" / "hero.mid"))
    motifs = '\n[motifs.hero]\nfile = "themes/hero.mid"\n'
    use = 'motif = { name = "hero", voice = "melody", every_bars = 2, vary = false }'
    pack = load_pack(pack_with(tmp_path, motifs, use))
    motif = pack.motifs["hero"]
    assert motif.notes == ((0, 4, 62), (4, 4, 65), (8, 4, 69), (12, 4, 62))
    assert motif.key == "D minor"  # inferred: the notes fit D minor, start and end on D
    spec = pack.state("fight").spec
    assert spec.motif is not None and (spec.motif.every_bars, spec.motif.vary) == (2, False)


def test_an_unknown_motif_names_the_line_and_the_choices(tmp_path: Path) -> None:
    root = pack_with(tmp_path, use='motif = "heroo"')
    (problem,) = problems(root)
    fight = (root / "fight.toml").read_text()
    assert problem.code == "unknown_motif"
    assert problem.line == line_of(fight, "motif")
    assert "did you mean 'hero'?" in problem.message and problem.allowed == "hero"
    assert problem.to_json()["code"] == "unknown_motif"


@pytest.mark.parametrize(
    ("motif", "code"),
    [
        ("\n[motifs.hero]\nnotes = []\n", "empty_motif"),
        ('\n[motifs.hero]\nkey = "D major"\n', "empty_motif"),
        ('\n[motifs.hero]\nnotes = ["D4 q", "D4 zz", "E4 q"]\n', "bad_motif_note"),
        ('\n[motifs.hero]\nnotes = ["D4 q", "E4 q", "G#10 q"]\n', "bad_motif_note"),
        ('\n[motifs.hero]\nnotes = ["D4 q", "E4 q", "G9 q", "B9 q"]\n', "motif_out_of_range"),
        ('\n[motifs.hero]\nfile = "missing.mid"\n', "unreadable_midi"),
    ],
)
def test_bad_motif_declarations_are_reported_with_codes(
    tmp_path: Path, motif: str, code: str
) -> None:
    found = problems(pack_with(tmp_path, motif))
    assert code in {p.code for p in found}, [p.format() for p in found]
    assert all(p.file.endswith(("pack.toml", "fight.toml")) for p in found)


def test_a_motif_too_long_for_the_loop_is_reported_on_the_state(tmp_path: Path) -> None:
    long = '\n[motifs.hero]\nnotes = ["D4 w", "E4 w", "F4 w", "G4 w", "A4 w"]\n'
    (problem,) = problems(pack_with(tmp_path, long))  # fight loops 4 bars
    assert problem.code == "motif_too_long" and problem.file.endswith("fight.toml")
    assert "loop" in problem.message


def test_a_state_without_the_voice_stem_cannot_quote_there(tmp_path: Path) -> None:
    calm = CALM_TOML.replace("bars = 4\n", 'bars = 4\nmotif = "hero"\n')
    (problem,) = problems(pack_with(tmp_path, use="", calm_toml=calm))
    assert problem.code == "bad_motif_use" and "melody" in problem.message
    bass_calm = CALM_TOML.replace(
        "bars = 4\n", 'bars = 4\nmotif = { name = "hero", voice = "bass" }\n'
    )
    pack = load_pack(pack_with(tmp_path, use="", calm_toml=bass_calm))
    assert pack.state("calm").spec.motif.voice == "bass"


def test_the_state_hash_follows_the_motif_not_its_comments(tmp_path: Path) -> None:
    first = load_pack(pack_with(tmp_path / "a")).state("fight").generation_hash
    commented = HERO.replace("[motifs.hero]", "# the hero's theme\n[motifs.hero]")
    same = load_pack(pack_with(tmp_path / "b", commented)).state("fight").generation_hash
    changed = load_pack(pack_with(tmp_path / "c", HERO.replace('"D4 q"]', '"A3 q"]')))
    assert first == same
    assert changed.state("fight").generation_hash != first
    # the other state, which does not quote the motif, keeps its hash
    calm = load_pack(pack_with(tmp_path / "d")).state("calm").generation_hash
    assert calm == changed.state("calm").generation_hash


@pytest.mark.parametrize(
    "notes",
    [
        ((0, 4, 62), (6, 2, 65), (8, 12, 69), (20, 1, 61)),  # tokens and a rest: a note list
        ((0, 5, 62), (5, 3, 65), (8, 7, 69)),  # five and seven sixteenths: a MIDI file
    ],
)
def test_a_written_motif_reloads_as_the_same_motif(tmp_path: Path, notes) -> None:
    from engine_core.motif import Motif
    from middleware.templates.motif_writer import motif_section

    motif = Motif("melody", "D minor", notes, "4/4")
    section, files = motif_section(motif, "hero", tmp_path)
    assert ("notes = [" in section) == (not files)
    root = pack_with(tmp_path, section)
    loaded = load_pack(root).motifs["hero"]
    assert (loaded.notes, loaded.key, loaded.meter) == (notes, "D minor", "4/4")


def test_the_documented_motif_example_loads(tmp_path: Path) -> None:
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "templates.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", doc, flags=re.S)
    pack_block = next(b for b in blocks if "[motifs.realm]" in b)
    state_block = next(b for b in blocks if b.startswith('motif = "realm"'))
    pack = load_pack(pack_with(tmp_path, "\n" + pack_block, state_block.strip()))
    assert pack.state("fight").spec.motif.motif == pack.motifs["realm"]
    assert pack.motifs["realm"].notes[1] == (4, 6, 69)
