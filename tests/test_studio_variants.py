"""Pin a variant, re-roll one or all: the sidecar file, and a real studio whose scheduler's
worker processes fill a real cache with the tone engine (the browser side is in
test_studio_browser.py)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import aiohttp
import pytest

from middleware.service.config import ServiceConfig
from middleware.studio import service_link
from middleware.studio.app import Studio
from middleware.studio.variant_slots import (
    SIDECAR_NAME,
    Slot,
    StateSlots,
    VariantSlots,
    VariantSlotsFileError,
    compose,
)
from middleware.templates.loader import load_pack
from tests.service_support import PACK_DIR

TESTS = Path(__file__).resolve().parent
TONE = "test_cache_support:make_tone_engine"


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    target = tmp_path / "fantasy_rpg"
    shutil.copytree(PACK_DIR, target)
    return target


def tone(state_name: str, seed: int, count: int = 3):  # -> VariantSet
    sys.path.insert(0, str(TESTS))
    from test_cache_support import tone_set

    pack = load_pack(PACK_DIR)
    state = service_link.reseeded(pack.state(state_name), seed)
    import dataclasses

    return tone_set(dataclasses.replace(state, variants=count), frames=4800)


def test_compose_takes_each_slots_variant_from_its_seeds_set() -> None:
    base, other = tone("town", 1), tone("town", 2)
    slots = StateSlots(base.generation_hash, {2: Slot(2), 0: Slot(1, pinned=True)})
    made = compose(base, slots, {2: other})
    assert [v.meta.seed for v in made.variants] == [1, 1, 2]
    assert [v.meta.index for v in made.variants] == [0, 1, 2]
    assert made.variants[2] is other.variants[2] and made.seed == base.seed


def test_the_sidecar_round_trips_and_drops_pins_of_other_music(tmp_path: Path) -> None:
    slots = VariantSlots(tmp_path / SIDECAR_NAME)
    slots.pin("town", "hash-a", 1, seed=7, pinned=True)
    slots.reroll_one("town", "hash-a", 0, seed=99)
    slots.write()
    again = VariantSlots.read(tmp_path / SIDECAR_NAME)
    assert again.states["town"].slots == {0: Slot(99), 1: Slot(7, pinned=True)}
    again.keep_pinned("town", "hash-a")  # a re-roll of the whole state
    assert again.states["town"].slots == {1: Slot(7, pinned=True)}
    assert again.current("town", "hash-b").slots == {}  # edited music: pins mean nothing
    (tmp_path / SIDECAR_NAME).write_text("{not json")
    with pytest.raises(VariantSlotsFileError) as refused:
        VariantSlots.read(tmp_path / SIDECAR_NAME)
    assert refused.value.code == "bad_sidecar"


def _studio(pack_dir: Path, cache: Path) -> Studio:
    service = service_link.build_service(
        load_pack(pack_dir),
        ServiceConfig(bind="tcp://127.0.0.1:*", pub_bind="tcp://127.0.0.1:*"),
        cache,
        workers=1,
        engine_factory=TONE,
    )
    return Studio(service, port=0)


@pytest.fixture
def tone_engine_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    # the scheduler's worker processes import the tone engine by name
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    # short tones: the pack's 41 sets take ~4 MB of cache, not ~500 MB (with the cache's
    # 512 MB disk margin, full-length tones need a GB free; CI's disk may not have it)
    monkeypatch.setenv("TONE_ENGINE_FRAMES", "4800")


async def _ready(studio: Studio, name: str, timeout_s: float = 120.0):  # -> VariantSet
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        found = service_link.variant_set(studio.service, studio.pack_name, name)
        if found is not None and len(found.variants) == studio.pack.state(name).variants:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"{name} never ready"
        await asyncio.sleep(0.1)


def _situation(studio: Studio) -> str:
    """What the studio serves and its scheduler does (printed when a wait times out)."""
    library = service_link.library_of(studio.service)
    scheduler = library.scheduler
    served = service_link.variant_set(studio.service, studio.pack_name, "town")
    return (
        f"town serves seeds {[v.meta.seed for v in served.variants] if served else None}; "
        f"slots {studio.choices.slots.states.get('town')}; "
        f"running {scheduler.running() if scheduler else None}; "
        f"queued {scheduler.queued() if scheduler else None}; "
        f"stats {library.stats()}"
    )


async def _until(predicate, studio: Studio, timeout_s: float = 120.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout_s} s: {_situation(studio)}")
        await asyncio.sleep(0.1)


async def _post(http: aiohttp.ClientSession, url: str, body: dict) -> dict:
    async with http.post(url, data=json.dumps(body)) as response:
        return await response.json()


@pytest.mark.slow
async def test_pinned_variants_survive_re_rolls_and_restarts(
    pack_dir: Path, tmp_path: Path, tone_engine_importable: None
) -> None:
    cache = tmp_path / "cache"
    studio = _studio(pack_dir, cache)
    await studio.start()
    try:
        found = await _ready(studio, "town")
        file_seed = found.seed
        assert {v.meta.seed for v in found.variants} == {file_seed}
        async with aiohttp.ClientSession() as http:
            url = studio.url
            pinned = await _post(http, url + "api/pin/town/1", {"pinned": True})
            assert pinned["ok"] and pinned["slots"][1]["pinned"], pinned
            refused = await _post(http, url + "api/reroll/town", {"variant": 1})
            assert refused["error"]["code"] == "pinned"
            bad = await _post(http, url + "api/reroll/town", {"variant": 9})
            assert bad["error"]["code"] == "bad_field"
            # one variant anew: the scheduler makes the new seed's set; slot 0 plays from it
            one = await _post(http, url + "api/reroll/town", {"variant": 0})
            assert one["ok"], one

            def served_seeds() -> list[int]:
                got = service_link.variant_set(studio.service, "fantasy_rpg", "town")
                return [v.meta.seed for v in got.variants] if got else []

            await _until(lambda: served_seeds()[:1] == [one["seed"]], studio)
            assert served_seeds()[1:] == [file_seed] * (len(found.variants) - 1)
            # everything unpinned anew: a new file seed, variant 1 stays the pinned one
            every = await _post(http, url + "api/reroll/town", {})
            assert every["ok"] and every["seed"] != file_seed, every
            # the library serves the new seed's set as the scheduler delivers it; the
            # pinned variant is put back in once its own set has been read again
            expected = [every["seed"], file_seed] + [every["seed"]] * (len(found.variants) - 2)
            await _until(lambda: served_seeds() == expected, studio)
            async with http.get(url + "api/variants/town") as response:
                gallery = await response.json()
            assert [v["seed"] for v in gallery["variants"]] == expected
            assert [s["pinned"] for s in gallery["slots"]][:2] == [False, True]
        sidecar = json.loads((pack_dir / SIDECAR_NAME).read_text())
        assert sidecar["states"]["town"]["variants"] == {"1": {"seed": file_seed, "pinned": True}}
    finally:
        await studio.stop()
    # a restart reads the sidecar: the pinned variant is served again
    again = _studio(pack_dir, cache)
    await again.start()
    try:

        def seeds() -> list[int]:
            got = service_link.variant_set(again.service, "fantasy_rpg", "town")
            return [v.meta.seed for v in got.variants] if got else []

        await _until(lambda: seeds() == expected, again)
    finally:
        await again.stop()
