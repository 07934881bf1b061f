"""Training-data terms: read from real files of every format, classified, summed in the data
manifest, selected with --only-commercial-ok, declared by a studio's terms manifest."""

from pathlib import Path

import mido
import pytest

from engine_core.data.dataset import build_dataset
from engine_core.data.provenance import (
    DataTerms,
    classify_sources,
    music21_corpus_root,
    terms_notice,
)
from engine_core.data.terms import (
    COMMERCIAL_OK,
    RESTRICTED,
    TERMS_MANIFEST,
    UNSTATED,
    LicenceFiles,
    TermsError,
    classify_file,
    classify_text,
    file_statements,
    read_terms_manifest,
)
from tests.test_model_support import write_midi

MAJOR = (0, 2, 4, 5, 7, 9, 11)
CORPUS = music21_corpus_root()


def corpus_class(relative: str) -> tuple[str, str]:
    """(class, reason) of one file of music21's corpus, as the dataset builder sees it."""
    terms = classify_file(
        CORPUS / relative, relative, relative.split("/")[0], LicenceFiles(CORPUS, skip_root=True)
    )
    return terms.terms_class, terms.reason


# -- each format, on real files of music21's corpus -------------------------------------


def test_humdrum_reference_records_reserving_rights_make_a_file_restricted() -> None:
    statements = file_statements(CORPUS / "palestrina" / "Agnus.krn")
    texts = {(s.where, s.text) for s in statements}
    assert ("!!!YEC", "Copyright 2000, John Miller") in texts
    assert ("!!!YEM", "Rights to all derivative electronic formats reserved.") in texts
    assert corpus_class("palestrina/Agnus.krn")[0] == RESTRICTED
    kind, reason = corpus_class("bach/bwv277.krn")  # the CCARH Bach chorales
    assert kind == RESTRICTED and "derivative electronic formats reserved" in reason


def test_a_humdrum_file_with_only_an_encoder_credit_states_nothing() -> None:
    assert corpus_class("beethoven/opus18no1/movement1.krn") == (UNSTATED, "nothing stated")


def test_musicxml_rights_permitting_commercial_use_are_found_in_mxl_and_xml() -> None:
    for relative in (
        "johnson_j_r/lift_every_voice.mxl",  # <rights>Public Domain (Encoding by MSAC: CC0)
        "ciconia/quod_jactatur.xml",  # <rights>... CC-BY-SA 3.0 license
        "schumann_clara/polonaise_op1n1.mxl",  # <credit-words>... CC BY-SA 4.0 license.
    ):
        assert corpus_class(relative)[0] == COMMERCIAL_OK, relative


def test_musicxml_all_rights_reserved_is_restricted() -> None:
    statements = file_statements(CORPUS / "leadSheet" / "berlinAlexandersRagtime.mxl")
    assert [(s.where, s.text) for s in statements] == [("<rights>", "All Rights Reserved")]
    assert corpus_class("leadSheet/berlinAlexandersRagtime.mxl")[0] == RESTRICTED


def test_the_bach_musicxml_credits_are_notices_without_terms() -> None:
    statements = file_statements(CORPUS / "bach" / "bwv10.7.mxl")
    assert [s.text for s in statements] == ["PDF © 2004 Margaret Greentree - used by permission"]
    assert statements[0].terms_class is None
    assert corpus_class("bach/bwv10.7.mxl") == (UNSTATED, "only notices or credits without terms")
    assert corpus_class("bach/bwv111.6.mxl") == (UNSTATED, "nothing stated")


def test_an_empty_copyright_field_is_a_notice_without_terms() -> None:
    relative = "trecento/PMFC_01-Lugentium siccentur.xml"
    assert [s.text for s in file_statements(CORPUS / relative)] == ["Copyright ©"]
    assert corpus_class(relative)[0] == UNSTATED


def test_a_publisher_named_in_rights_states_no_terms() -> None:
    statements = file_statements(CORPUS / "monteverdi" / "madrigal.5.5.mxl")
    assert statements and all("UT ORPHEUS" in s.text for s in statements)
    assert corpus_class("monteverdi/madrigal.5.5.mxl") == (
        UNSTATED,
        "only notices or credits without terms",
    )


def test_a_collection_licence_file_classifies_its_abc_files() -> None:
    kind, reason = corpus_class("essenFolksong/altdeu10.abc")
    assert kind == RESTRICTED
    assert reason.startswith("essenFolksong/license.txt:")
    assert "permission for non-commercial distribution and use" in reason


def test_music21s_corpus_wide_notice_classifies_nothing() -> None:
    # O'Neill's has no licence file of its own: the corpus-wide "some encodings may not
    # be used for commercial uses" does not make every file restricted
    assert corpus_class("oneills1850/0001-0050.abc") == (UNSTATED, "nothing stated")
    source_terms = classify_sources(
        [(str(CORPUS / "oneills1850/0001-0050.abc"), "oneills1850", "x")], None
    )
    assert source_terms.corpus_notice is not None
    assert "may not be used for commercial uses" in source_terms.corpus_notice.text


def test_abc_dance_directions_are_not_rights_statements() -> None:
    # Ryan's Mammoth N: lines say "right and left": no statement, no class
    assert file_statements(CORPUS / "ryansMammoth" / "ChristmasHornpipe.abc") == []


def test_abc_comments_and_fields_with_terms_are_read(tmp_path: Path) -> None:
    tune = tmp_path / "tunes.abc"
    tune.write_text(
        "% Transcribed by A. Player; released under CC-BY 4.0\nX:1\nT:A tune\n"
        "Z:typed in 2019\nN:right and left\nM:4/4\nL:1/8\nK:G\nGABc dedB|]\n"
    )
    statements = file_statements(tune)
    assert [(s.where, s.terms_class) for s in statements] == [("ABC comment", COMMERCIAL_OK)]


def test_midi_copyright_events_are_read(tmp_path: Path) -> None:
    for text, expected in (
        ("(c) 2026 Studio X. All rights reserved.", RESTRICTED),
        ("CC0 1.0 Universal: No Rights Reserved", COMMERCIAL_OK),
        ("Dedicated to the public domain (CC0)", COMMERCIAL_OK),
        ("(c) 2026 Studio X", None),
    ):
        path = tmp_path / "piece.mid"
        midi = mido.MidiFile()
        track = mido.MidiTrack([mido.MetaMessage("copyright", text=text)])
        track.append(mido.Message("note_on", note=60, velocity=80, time=0))
        track.append(mido.Message("note_off", note=60, velocity=0, time=480))
        midi.tracks.append(track)
        midi.save(str(path))
        statements = file_statements(path)
        assert [(s.where, s.terms_class) for s in statements] == [("MIDI copyright", expected)]


def test_restrictive_words_win_over_permissive_ones() -> None:
    assert classify_text("Creative Commons BY-NC-SA 4.0") == RESTRICTED
    assert classify_text("CC-BY-NC 3.0") == RESTRICTED
    assert classify_text("Creative Commons Attribution (CC-BY)") == COMMERCIAL_OK
    assert classify_text("GNU General Public License v3") == COMMERCIAL_OK
    assert classify_text("Copyright 1994, CCARH") is None
    assert classify_text("Some rights reserved") is None
    assert classify_text("Some rights reserved: CC BY-SA 4.0") == COMMERCIAL_OK


# -- a studio folder with a terms manifest ----------------------------------------------


@pytest.fixture()
def studio(tmp_path: Path) -> Path:
    """Six pieces: four the studio owns, two licensed for prototypes only (a subfolder),
    and a terms manifest saying so."""
    root = tmp_path / "studio"
    (root / "licensed").mkdir(parents=True)
    for index, tonic in enumerate((0, 2, 5, 7)):
        write_midi(str(root / f"own{index}.mid"), numerator=4, bars=6, scale=MAJOR, tonic=tonic)
    for index in range(2):
        write_midi(str(root / "licensed" / f"lic{index}.mid"), numerator=3, bars=6, scale=MAJOR)
    (root / TERMS_MANIFEST).write_text(
        'source = "Studio X sketches"\nterms = "commercial_ok"\n'
        'statement = "Composed in-house by Studio X staff; owned by Studio X."\n\n'
        '[[files]]\nglob = "licensed/*"\nterms = "restricted"\n'
        'statement = "Licensed from Y for prototypes only."\n'
    )
    return root


def test_a_terms_manifest_declares_each_files_class(studio: Path) -> None:
    files = [
        (str(p), "custom", f"custom/{p.relative_to(studio)}") for p in sorted(studio.rglob("*.mid"))
    ]
    source_terms = classify_sources(files, studio)
    classes = {fid: t.terms_class for fid, t in source_terms.files.items()}
    assert classes["custom/own0.mid"] == COMMERCIAL_OK
    assert classes["custom/licensed/lic1.mid"] == RESTRICTED
    terms = source_terms.files["custom/licensed/lic0.mid"]
    assert terms.source == "Studio X sketches"
    assert terms.reason == f"declared in {TERMS_MANIFEST}: Licensed from Y for prototypes only."


def test_the_data_manifest_sums_training_bars_per_class_and_source(
    studio: Path, tmp_path: Path
) -> None:
    dataset = build_dataset(data_dir=studio, workers=1, cache_dir=tmp_path / "cache")
    terms = DataTerms.from_manifest(dataset.manifest)
    assert terms is not None
    assert terms.bars == dataset.manifest["bars"] == sum(terms.bars_by_class.values())
    assert terms.files_by_class == {COMMERCIAL_OK: 4, RESTRICTED: 2, UNSTATED: 0}
    assert terms.bars_by_class[RESTRICTED] == 12  # two 6-bar waltzes
    assert list(terms.sources) == ["Studio X sketches"]
    (statement,) = [
        s
        for s in terms.sources["Studio X sketches"]["statements"]
        if s["text"].startswith("Composed")
    ]
    assert statement["files"] == 4 and statement["where"] == TERMS_MANIFEST
    assert not terms.cleared
    assert "restricted" not in (terms.notice() or "") and "rights reserved" in terms.notice()


def test_only_commercial_ok_trains_on_the_cleared_files_alone(studio: Path, tmp_path: Path) -> None:
    dataset = build_dataset(
        data_dir=studio, workers=1, cache_dir=tmp_path / "cache", only_commercial_ok=True
    )
    assert sorted(dataset.piece_ids) == [f"custom/own{i}.mid" for i in range(4)]
    terms = DataTerms.from_manifest(dataset.manifest)
    assert terms is not None and terms.cleared and terms.selection == COMMERCIAL_OK
    assert terms.notice() is None and terms_notice(terms) is None
    assert terms.files_by_class == {COMMERCIAL_OK: 4, RESTRICTED: 0, UNSTATED: 0}


def test_only_commercial_ok_refuses_a_folder_that_states_nothing(tmp_path: Path) -> None:
    root = tmp_path / "unstated"
    root.mkdir()
    write_midi(str(root / "a.mid"), numerator=4, bars=6, scale=MAJOR)
    with pytest.raises(TermsError, match="no source file permits commercial use") as info:
        build_dataset(data_dir=root, workers=1, cache_dir=tmp_path, only_commercial_ok=True)
    assert info.value.code == "data_terms_error"
    assert info.value.detail["files_by_class"] == {UNSTATED: 1}
    assert not any(tmp_path.glob("*/manifest.json"))  # nothing written


def test_a_licence_file_in_a_studio_folder_classifies_its_files(tmp_path: Path) -> None:
    root = tmp_path / "folder"
    (root / "cc").mkdir(parents=True)
    write_midi(str(root / "cc" / "a.mid"), numerator=4, bars=6, scale=MAJOR)
    write_midi(str(root / "b.mid"), numerator=4, bars=6, scale=MAJOR)
    (root / "cc" / "LICENSE.txt").write_text("These files are released under CC BY 4.0.\n")
    files = [(str(p), "custom", p.name) for p in sorted(root.rglob("*.mid"))]
    classes = {k: v.terms_class for k, v in classify_sources(files, root).files.items()}
    assert classes == {"a.mid": COMMERCIAL_OK, "b.mid": UNSTATED}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('terms = "commercial"\nstatement = "x"\n', "'terms' is 'commercial'; allowed"),
        ('terms = "commercial_ok"\n', "'statement' must say"),
        ('terms = "restricted"\nstatement = "x"\nlicence = "y"\n', "unknown key(s) ['licence']"),
        ('[[files]]\nterms = "restricted"\nstatement = "x"\n', "files[0] needs a 'glob'"),
        ('source = "x"\n', "declares no terms"),
        ("terms = \n", "cannot read"),
    ],
)
def test_a_malformed_terms_manifest_names_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / TERMS_MANIFEST).write_text(text)
    with pytest.raises(TermsError) as info:
        read_terms_manifest(tmp_path)
    assert message in info.value.message and TERMS_MANIFEST in info.value.message


def test_the_benchmarks_studio_set_is_cleared_and_parses(tmp_path: Path) -> None:
    from benchmarks.studio_set import write_studio_set

    write_studio_set(tmp_path / "set", pieces=6, seed=1)
    dataset = build_dataset(
        data_dir=tmp_path / "set", workers=1, cache_dir=tmp_path / "cache", only_commercial_ok=True
    )
    assert len(dataset.piece_ids) == 6 and dataset.manifest["skipped"] == {}
    terms = DataTerms.from_manifest(dataset.manifest)
    assert terms is not None and terms.cleared
    assert list(terms.sources) == ["studio set (benchmarks/studio_set.py, seed 1)"]
