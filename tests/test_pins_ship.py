"""The designer's pinned and re-rolled variants (`<pack>/studio-variants.json`) reach
`ostinato bake` and `ostinato serve`: real pack files, a real sidecar, real bakes through
a real cache (the tone engine of test_cache_support), a real CachedLibrary."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from test_bake_support import write_pack

from engine_core.errors import OstinatoError
from middleware.bake import BakeOptions, bake_pack, plan_bake
from middleware.bake.audio import decode_audio
from middleware.service.cached_library import CachedLibrary
from middleware.templates.loader import load_pack

TONE = "test_cache_support:make_tone_engine"
PINNED_SEED = 4242


def write_choices(pack_dir: Path, states: dict) -> None:
    (pack_dir / "studio-variants.json").write_text(
        json.dumps({"format": 1, "states": states}), encoding="utf-8"
    )


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("pins")
    pack_dir = write_pack(root / "pack")
    pack = load_pack(pack_dir)
    battle = pack.state("battle")
    write_choices(
        pack_dir,
        {
            # variant 1 kept from another seed's set; variant 0 plays the file seed's
            "battle": {
                "generation_hash": battle.generation_hash,
                "variants": {"1": {"seed": PINNED_SEED, "pinned": True}},
            },
            # chosen for music the state no longer has (its prompt was edited since)
            "menu": {"generation_hash": "0" * 16, "variants": {"0": {"seed": 99}}},
        },
    )
    options = BakeOptions(workers=1, cache_dir=root / "cache", engine_factory=TONE)
    bake_pack(load_pack(pack_dir), root / "out", options)
    return {"root": root, "pack": pack_dir, "options": options, "battle": battle}


def test_bake_plans_the_chosen_seeds_and_keys_them(baked: dict) -> None:
    plan = plan_bake(load_pack(baked["pack"]), baked["options"])
    jobs = {job.name: job for job in plan.state_jobs}
    assert jobs["battle"].slots == ((1, PINNED_SEED),)
    assert jobs["menu"].slots == ()  # stale choices are not followed
    from dataclasses import replace

    from middleware.bake.plan import EngineVersions

    versions = EngineVersions("tone-1", "none", {})
    unpinned = replace(jobs["battle"], slots=())
    assert jobs["battle"].bake_key(versions) != unpinned.bake_key(versions)  # re-baked


def test_the_bake_ships_the_pinned_variant(baked: dict) -> None:
    out = baked["root"] / "out" / "tiny"
    manifest = json.loads((out / "manifest.json").read_text())
    battle = manifest["states"]["battle"]["variants"]
    file_seed = baked["battle"].seed
    assert [v["provenance"]["seed"] for v in battle] == [file_seed, PINNED_SEED]
    menu = manifest["states"]["menu"]["variants"]
    assert {v["provenance"]["seed"] for v in menu} == {load_pack(baked["pack"]).state("menu").seed}
    # the file holds variant 1 of the pinned seed's set, as the engine makes it
    from test_cache_support import tone_variant

    made = tone_variant("battle", baked["battle"].spec, PINNED_SEED, 1)
    audio, _ = decode_audio((out / battle[1]["file"]["path"]).read_bytes())
    other = tone_variant("battle", baked["battle"].spec, file_seed, 1)
    # (the file is encoded, Ogg Vorbis by default: close to the pinned tone, far from the
    # file seed's)
    near = abs(audio[:4800] - made.mix[:4800]).max()
    far = abs(audio[:4800] - other.mix[:4800]).max()
    assert near < 0.02 and far > 10 * near


def test_a_damaged_choices_file_stops_the_bake_with_a_clear_error(tmp_path: Path) -> None:
    pack_dir = write_pack(tmp_path / "pack")
    (pack_dir / "studio-variants.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(OstinatoError) as caught:
        plan_bake(load_pack(pack_dir), BakeOptions(workers=1, engine_factory=TONE))
    assert caught.value.code == "bad_sidecar"
    assert "studio-variants.json" in str(caught.value)


async def test_serve_plays_the_pinned_variant_from_the_cache(baked: dict) -> None:
    pack = load_pack(baked["pack"])
    library = CachedLibrary(
        [pack], baked["root"] / "cache", workers=1, engine_factory=TONE, pins=True
    )
    await library.start()
    try:
        for _ in range(600):
            found = library.variant_set("tiny", "battle")
            if found is not None:
                break
            await asyncio.sleep(0.05)
        assert found is not None
        assert [v.meta.seed for v in found.variants] == [pack.state("battle").seed, PINNED_SEED]
        menu = library.variant_set("tiny", "menu")
        assert menu is not None and {v.meta.seed for v in menu.variants} == {
            pack.state("menu").seed
        }
    finally:
        await library.close()
