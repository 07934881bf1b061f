"""The weights carry their training data's terms: checkpoint round trip, the shipped
weights' provenance, and the notice `generate`, `bake`, `model info` and `hello` give."""

import json
from pathlib import Path

import pytest
import torch

from engine_core.data.corpus import STYLE_FAMILIES
from engine_core.data.dataset import build_dataset
from engine_core.data.provenance import (
    UNRECORDED_NOTICE,
    WEIGHTS_CONFIG_FILE,
    DataTerms,
    engine_terms_notice,
    shipped_weights_notice,
    shipped_weights_wire,
    terms_notice,
    weights_data_terms,
)
from engine_core.data.terms import COMMERCIAL_OK, RESTRICTED, TERMS_CLASSES, UNSTATED
from engine_core.model.checkpoint import (
    CONFIG_FILE,
    FORMAT_VERSION,
    default_weights_dir,
    load_checkpoint,
    save_checkpoint,
)
from engine_core.model.sampling import SamplerSettings
from middleware.cli import main
from tests.test_model_support import (
    LATENT_DIM,
    one_torch_thread,  # noqa: F401 (autouse fixture)
    tiny_autoencoder,
    tiny_composer,
    tiny_denoiser,
)

TERMS = {
    "format": 1,
    "selection": "all",
    "bars": 10,
    "bars_by_class": {COMMERCIAL_OK: 4, RESTRICTED: 6, UNSTATED: 0},
    "share_by_class": {COMMERCIAL_OK: 0.4, RESTRICTED: 0.6, UNSTATED: 0.0},
    "files_by_class": {COMMERCIAL_OK: 1, RESTRICTED: 1, UNSTATED: 0},
    "corpus_notice": None,
    "sources": {
        "custom": {
            "bars": 10,
            "bars_by_class": {COMMERCIAL_OK: 4, RESTRICTED: 6, UNSTATED: 0},
            "files_by_class": {COMMERCIAL_OK: 1, RESTRICTED: 1, UNSTATED: 0},
            "statements": [],
            "statements_left_off": 0,
        }
    },
}


def save_tiny(folder: Path, data: dict, modules: tuple | None = None) -> Path:
    autoencoder, denoiser = modules or (tiny_autoencoder(seed=4), tiny_denoiser(seed=4))
    return save_checkpoint(
        folder,
        autoencoder=autoencoder,
        denoiser=denoiser,
        latent_mean=torch.zeros(LATENT_DIM),
        latent_std=torch.ones(LATENT_DIM),
        control_quantiles=torch.linspace(0, 1, 33).repeat(len(STYLE_FAMILIES), 3, 1),
        sampler=SamplerSettings(steps=4),
        data_manifest=data,
        training={"seed": 0},
    )


def test_the_terms_round_trip_through_a_checkpoint(tmp_path: Path) -> None:
    folder = save_tiny(tmp_path / "ckpt", {"hash": "abc", "bars": 10, "terms": TERMS})
    terms = load_checkpoint(folder).data_terms
    assert terms is not None and terms.raw == TERMS
    assert terms.bars_by_class == TERMS["bars_by_class"]
    assert weights_data_terms(folder) == terms  # read without loading the model
    assert terms.notice() == (
        "data terms: the weights' training bars are 60.0% non-commercial or rights reserved, "
        "40.0% permits commercial use: not cleared for commercial use "
        "(`ostinato model info` lists what each source says)"
    )


def test_terms_stay_out_of_the_weights_file(tmp_path: Path) -> None:
    from safetensors import safe_open

    folder = save_tiny(tmp_path / "terms", {"hash": "abc", "terms": TERMS})
    with safe_open(str(folder / "ostinato.safetensors"), framework="pt") as handle:
        assert handle.metadata() == {"format_version": str(FORMAT_VERSION), "data_hash": "abc"}
    bare = load_checkpoint(save_tiny(tmp_path / "bare", {"hash": "abc"}))
    assert bare.data_terms is None and terms_notice(bare.data_terms) == UNRECORDED_NOTICE


def test_fully_cleared_weights_give_no_notice() -> None:
    cleared = dict(TERMS, bars_by_class={COMMERCIAL_OK: 10, RESTRICTED: 0, UNSTATED: 0})
    terms = DataTerms.from_manifest({"terms": cleared})
    assert terms is not None and terms.cleared and terms.notice() is None
    assert terms.to_wire()["cleared"] is True


def test_the_config_file_name_is_the_checkpoints() -> None:
    assert WEIGHTS_CONFIG_FILE == CONFIG_FILE


# -- the shipped weights ----------------------------------------------------------------


def test_the_shipped_weights_terms_describe_the_data_that_trained_them() -> None:
    config = json.loads((default_weights_dir() / CONFIG_FILE).read_text())
    data = config["data"]
    terms = weights_data_terms()
    assert terms is not None and data["hash"] == "cec9426c3f0512bb"
    # the terms were summed over the same pieces the data manifest counts
    assert terms.bars == data["bars"] == sum(terms.bars_by_class.values())
    for name, source in terms.sources.items():
        assert source["bars"] == data["bars_by_collection"][name]
        assert sum(source["files_by_class"].values()) == data["files"][name]
    assert (
        terms.sources["essenFolksong"]["bars_by_class"][RESTRICTED]
        == data["bars_by_collection"]["essenFolksong"]
    )
    assert terms.sources["palestrina"]["files_by_class"][RESTRICTED] == 300
    assert terms.sources["bach"]["files_by_class"] == {
        COMMERCIAL_OK: 0,
        RESTRICTED: 3,
        UNSTATED: 410,
    }
    assert terms.bars_by_class[COMMERCIAL_OK] == 0
    assert abs(sum(terms.share_by_class.values()) - 1.0) < 1e-3
    assert set(terms.share_by_class) == set(TERMS_CLASSES)
    assert not terms.cleared and "not cleared for commercial use" in (terms.notice() or "")


def test_model_info_prints_the_provenance_of_every_source(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["model", "info"])  # returns on success (exits only with an error code)
    printed = capsys.readouterr().out
    assert "data hash cec9426c3f0512bb" in printed
    assert "not cleared for commercial use" in printed
    for source in ("essenFolksong", "palestrina", "bach", "oneills1850", "ryansMammoth"):
        assert f"\n{source}: " in printed
    assert "permission for non-commercial distribution and use" in printed
    assert "Rights to all derivative electronic formats reserved." in printed
    assert "PDF © 2004 Margaret Greentree" in printed
    assert "corpus-wide notice (corpus/license.txt)" in printed


def test_model_info_refuses_a_folder_without_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["model", "info", "--weights", str(tmp_path)])
    assert done.value.code == 6
    assert "data_terms_error" in capsys.readouterr().err


def test_an_engine_states_its_weights_terms_and_a_rule_composer_none() -> None:
    assert engine_terms_notice(tiny_composer()) == UNRECORDED_NOTICE  # no terms recorded
    assert engine_terms_notice(object()) is None  # no learned weights at all


def test_the_hello_form_of_the_shipped_terms() -> None:
    wire = shipped_weights_wire()
    assert wire["cleared"] is False
    assert wire["notice"] == weights_data_terms().notice()  # type: ignore[union-attr]
    assert "essenFolksong" in wire["sources"]


async def test_hello_states_the_weights_data_terms() -> None:
    from middleware.client import AsyncClient
    from tests.service_support import make_service

    async with (
        make_service() as service,
        AsyncClient(service.endpoint, name="tests/1.0", timeout_s=3.0) as client,
    ):
        hello = await client.hello(subscribe=False, heartbeat=False)
    assert hello.data_terms == shipped_weights_wire()
    assert hello.data_terms["cleared"] is False
    assert "not cleared for commercial use" in hello.data_terms["notice"]


# -- generate and bake with the real engine and the shipped weights ---------------------

ONE_STATE_PACK = {
    "pack.toml": '[pack]\nname = "terms"\ndescription = "one short state"\n'
    'start_state = "menu"\n\n[defaults]\nbpm = 120\nmeter = "4/4"\nkey = "C major"\n'
    "bars = 1\nseed = 3\nvariants = 1\n",
    "menu.toml": 'prompt = "a calm tune"\ntags = ["calm"]\n\n[stems.lead]\nrole = "melody"\n'
    'instrument = "Flute"\n',
}


@pytest.fixture(scope="module")
def one_state_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("terms_pack")
    for name, text in ONE_STATE_PACK.items():
        (root / name).write_text(text)
    return root


@pytest.mark.slow
def test_generate_states_the_weights_data_terms(
    one_state_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["generate", str(one_state_pack), "--state", "menu", "--out", str(tmp_path / "out")]
    main([*argv, "--jobs", "1"])
    err = capsys.readouterr().err
    notices = [line for line in err.splitlines() if line.startswith("data terms:")]
    assert notices == [shipped_weights_notice()]


@pytest.mark.slow
def test_bake_writes_the_weights_data_terms_into_the_manifest(
    one_state_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "baked"
    argv = ["bake", str(one_state_pack), "--out", str(out), "--format", "wav", "--no-godot"]
    main([*argv, "--workers", "1", "--no-cache"])
    manifest = json.loads((out / "terms" / "manifest.json").read_text())
    assert manifest["data_terms"] == shipped_weights_wire()
    printed = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert f"note: {shipped_weights_wire()['notice']}" in printed


def _studio_checkpoint(tmp_path: Path, *, data_hash: str | None = None) -> Path:
    from tests.test_model_support import write_midi

    scores = tmp_path / "scores"
    scores.mkdir()
    for index in range(3):
        write_midi(str(scores / f"p{index}.mid"), numerator=4, bars=5, scale=(0, 2, 4, 5, 7, 9, 11))
    manifest = dict(build_dataset(data_dir=scores, workers=1).manifest)
    manifest.pop("terms")  # as weights trained before terms were recorded
    if data_hash is not None:
        manifest["hash"] = data_hash
    return save_tiny(tmp_path / "ckpt", manifest)


@pytest.fixture()
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OSTINATO_CACHE", str(tmp_path / "cache"))


def test_stamping_terms_records_them_without_changing_the_weights(
    tmp_path: Path, own_cache: None
) -> None:
    from engine_core.training.stamp_terms import stamp_terms

    folder = _studio_checkpoint(tmp_path)
    before = load_checkpoint(folder)
    assert before.data_terms is None
    terms = stamp_terms(folder, workers=1)
    after = load_checkpoint(folder)
    assert after.weights_version == before.weights_version
    assert after.data_terms is not None and after.data_terms.raw == terms
    assert terms["bars"] == before.config["data"]["bars"]
    assert terms["files_by_class"] == {COMMERCIAL_OK: 0, RESTRICTED: 0, UNSTATED: 3}


def test_stamping_refuses_terms_of_other_data(tmp_path: Path, own_cache: None) -> None:
    from engine_core.errors import CheckpointError
    from engine_core.training.stamp_terms import stamp_terms

    folder = _studio_checkpoint(tmp_path, data_hash="0000000000000000")
    config_before = (folder / CONFIG_FILE).read_text()
    with pytest.raises(CheckpointError, match="would not describe these weights"):
        stamp_terms(folder, workers=1)
    assert (folder / CONFIG_FILE).read_text() == config_before
