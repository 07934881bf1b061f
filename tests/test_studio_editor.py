"""The studio's state editor and panel routes: real packs, real files, the real loader."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from middleware.errors import TemplateError
from middleware.studio.app import Studio
from middleware.studio.editor import BadChangeError, apply_change, save_state
from middleware.templates.loader import load_pack
from tests.service_support import PACK_DIR, make_service


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    target = tmp_path / "fantasy_rpg"
    shutil.copytree(PACK_DIR, target)
    return target


def test_a_saved_change_keeps_every_comment_and_the_layout(pack_dir: Path) -> None:
    file = pack_dir / "battle.toml"
    before = file.read_text()
    pack = load_pack(pack_dir)
    saved = save_state(
        pack, "battle", {"energy": 0.6, "stems": {"horns": {"intensity": [0.5, 1.0]}}}
    )
    after = file.read_text()
    changed = [
        (old, new) for old, new in zip(before.splitlines(), after.splitlines(), strict=True)
        if old != new
    ]  # fmt: skip
    assert changed == [
        ("energy = 0.85", "energy = 0.6"),
        ("intensity = [0.55, 1.0]", "intensity = [0.5, 1.0]"),
    ]
    assert saved.state.spec.energy == 0.6
    assert (
        saved.old_hash
        != saved.state.generation_hash
        == load_pack(pack_dir).state("battle").generation_hash
    )


def test_a_named_instrument_replaces_a_program_number() -> None:
    text = '[stems.drums]\nrole = "percussion"\nprogram = 0  # kit\n'
    out = apply_change(text, (), {"stems": {"drums": {"instrument": "Timpani"}}})
    assert "program" not in out and 'instrument = "Timpani"' in out


def test_a_rejected_change_writes_nothing_and_names_the_key(pack_dir: Path) -> None:
    files = {p.name: p.read_bytes() for p in pack_dir.iterdir()}
    pack = load_pack(pack_dir)
    with pytest.raises(TemplateError) as refused:
        save_state(
            pack, "battle", {"key": "H major", "stems": {"horns": {"register": ["C9", "D5"]}}}
        )
    keys = {problem.key for problem in refused.value.problems}
    assert keys == {"key", "stems.horns.register"}
    assert all(str(pack_dir) in problem.file for problem in refused.value.problems)
    assert {p.name: p.read_bytes() for p in pack_dir.iterdir()} == files


def test_a_pack_rule_broken_by_an_edit_is_reported_from_pack_toml(pack_dir: Path) -> None:
    pack = load_pack(pack_dir)
    with pytest.raises(TemplateError) as refused:
        save_state(pack, "battle", {"bpm": 120})  # battle -> boss enters at the same position
    (problem,) = refused.value.problems
    assert problem.file.endswith("pack.toml") and "same_position" in problem.key + problem.message


def test_fields_the_studio_does_not_edit_are_refused(pack_dir: Path) -> None:
    pack = load_pack(pack_dir)
    for change in ({"one_shot": True}, {"stems": {"tuba": {"register": ["C2", "C3"]}}}):
        with pytest.raises(BadChangeError):
            save_state(pack, "battle", change)


@pytest.fixture
async def studio(pack_dir: Path) -> AsyncIterator[Studio]:
    app = Studio(make_service(load_pack(pack_dir)), port=0)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def test_panel_routes_answer_bad_input_with_structured_errors(studio: Studio) -> None:
    url = studio.url
    async with aiohttp.ClientSession() as http:
        cases = [
            ("get", "api/state/dungeon", None, 400, "unknown_state"),
            ("post", "api/state/battle", "{oops", 400, "bad_message"),
            ("post", "api/state/battle", json.dumps({"nochange": 1}), 400, "bad_message"),
            ("post", "api/state/battle", json.dumps({"change": {"seed": "x" * 70000}}), 400,
             "too_large"),
            ("post", "api/state/battle", json.dumps({"change": {"bpm": 900}}), 422,
             "bad_template"),
            ("post", "api/state/battle", json.dumps({"change": {"one_shot": True}}), 400,
             "bad_field"),
            ("get", "api/variants/dungeon", None, 400, "unknown_state"),
            ("get", "api/variants/boss", None, 400, "not_ready"),
            ("get", "api/audio/battle/9", None, 400, "bad_field"),
            ("get", "api/audio/battle/0?stems=kazoo", None, 400, "unknown_variant"),
        ]  # fmt: skip
        for method, path, body, status, code in cases:
            async with http.request(method, url + path, data=body) as response:
                assert response.status == status, (path, await response.text())
                payload = await response.json()
                assert payload["ok"] is False and payload["error"]["code"] == code, payload
        async with http.get(url + "api/audio/battle/0?stems=drums,bass") as response:
            assert response.status == 200 and (await response.read())[:4] == b"RIFF"
        async with http.get(url + "static/../pyproject.toml") as response:
            assert response.status == 404


async def test_saving_without_a_scheduler_says_so(studio: Studio, pack_dir: Path) -> None:
    before = (pack_dir / "town.toml").read_text()
    async with aiohttp.ClientSession() as http:
        change = json.dumps({"change": {"bpm": 100}})
        async with http.post(studio.url + "api/state/town", data=change) as response:
            payload = await response.json()
    # this studio serves fixed audio: it says it cannot regenerate and writes nothing
    assert payload["error"]["code"] == "not_available"
    assert (pack_dir / "town.toml").read_text() == before


def test_a_rule_change_keeps_pack_toml_comments_and_validates(pack_dir: Path) -> None:
    from middleware.studio.editor import check_rule_change, write_pack_file

    pack = load_pack(pack_dir)
    before = (pack_dir / "pack.toml").read_text()
    with pytest.raises(TemplateError) as refused:
        check_rule_change(pack, "town", "battle", {"fade_length": "a while"})
    assert refused.value.problems[0].key == 'transitions."town -> battle".fade_length'
    assert (pack_dir / "pack.toml").read_text() == before
    fresh = write_pack_file(check_rule_change(pack, "town", "explore", {"leave_at": "next_bar"}))
    after = (pack_dir / "pack.toml").read_text()
    assert [line for line in after.splitlines() if "#" in line] == [
        line for line in before.splitlines() if "#" in line
    ]
    assert fresh.transition("town", "explore").leave_at == "next_bar"
    assert (
        fresh.transition("town", "explore").fade_length
        == pack.transition("town", "explore").fade_length
    )


def test_a_rules_filler_is_edited_as_the_templates_field(pack_dir: Path) -> None:
    from middleware.studio.editor import BadChangeError, check_rule_change, write_pack_file

    pack = load_pack(pack_dir)
    file = pack_dir / "pack.toml"
    before = file.read_text()
    comments = [line for line in before.splitlines() if "#" in line]
    # an unknown stinger and a bridge of no bars: the loader's messages, nothing written
    with pytest.raises(TemplateError) as refused:
        check_rule_change(pack, "town", "explore", {"filler": {"stinger": "kazoo"}})
    assert "kazoo" in str(refused.value)
    with pytest.raises(TemplateError) as refused:
        check_rule_change(pack, "town", "explore", {"filler": {"bridge_bars": 0}})
    assert refused.value.problems[0].key.endswith("bridge_bars")
    with pytest.raises(BadChangeError):
        check_rule_change(pack, "town", "explore", {"filler": {"bridge_bars": 2, "stinger": "x"}})
    assert file.read_text() == before
    # a bridge where there was none, a stinger replaced (a bare name stays a bare name),
    # a filler removed: each written with tomlkit, every comment kept
    pack = write_pack_file(
        check_rule_change(pack, "town", "battle", {"filler": {"bridge_bars": 4}})
    )
    assert pack.transition("town", "battle").filler.bridge_bars == 4
    assert "filler = { bridge_bars = 4 }" in file.read_text()
    pack = write_pack_file(
        check_rule_change(pack, "explore", "battle", {"filler": {"stinger": "level_up"}})
    )
    assert pack.transition("explore", "battle").filler.stinger == "level_up"
    assert 'filler = "level_up"' in file.read_text()
    pack = write_pack_file(check_rule_change(pack, "explore", "battle", {"filler": None}))
    assert pack.transition("explore", "battle").filler is None
    assert [line for line in file.read_text().splitlines() if "#" in line] == comments
