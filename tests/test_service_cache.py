"""The service on a real variant cache: a warm start maps cached sets and loads no model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from test_templates_support import CALM_TOML, FIGHT_TOML, write_pack

from middleware.cache import EngineKey, VariantCache
from middleware.cache.engine import engine_fingerprint, record_engine_key
from middleware.client import AsyncClient
from middleware.director.synthetic import synthetic_variant_set
from middleware.protocol import codec
from middleware.scheduler import pack_requests
from middleware.service.cached_library import CachedLibrary
from middleware.service.config import ServiceConfig
from middleware.service.director_player import director_player_factory
from middleware.service.server import Service
from middleware.templates.loader import load_pack
from tests.service_support import cheap_fill, fantasy_pack

ENGINE = EngineKey("synthetic-engine", "synthetic-weights", "")
TONE = "test_cache_support:make_tone_engine"


def _connects(name: str) -> set[str]:
    """The states and stingers a set belongs to: `a@b` (a rendition), `bridge:a->b`."""
    if name.startswith("bridge:"):
        return set(name.removeprefix("bridge:").split("->"))
    return set(name.split("@"))


def _fill_cache(root: Path, skip: tuple[str, ...] = (), only: tuple[str, ...] = ()) -> int:
    """Store synthetic sets (the templates' exact timing) for the pack's states, stingers,
    stinger renditions and bridges; a skipped state or stinger skips its renditions and the
    bridges it connects too; a set named in `only` is left out alone."""
    pack = fantasy_pack()
    stored = 0
    with VariantCache(root) as cache:
        record_engine_key(cache, engine_fingerprint(), ENGINE)
        for item, _ in pack_requests(pack):
            if item.name in skip or _connects(item.name) & set(skip) or item.name in only:
                continue
            spec = item.spec
            variant_set = synthetic_variant_set(
                item.name,
                bpm=spec.bpm,
                meter=spec.meter,
                bars=spec.bars,
                variants=item.variants,
                stems={s.name: s.intensity for s in spec.stems},
                one_shot=spec.one_shot or item.name in pack.stingers,
                fill=cheap_fill,
            )
            cache.put_set(item, ENGINE, variant_set)
            stored += 1
    return stored


def _service(root: Path, *, pregenerate: bool) -> Service:
    pack = fantasy_pack()
    library = CachedLibrary([pack], root, pregenerate=pregenerate)
    config = ServiceConfig(bind="tcp://127.0.0.1:*", pub_bind="tcp://127.0.0.1:*")
    return Service([pack], library, director_player_factory, config)


MISSING = ("explore", "boss", "level_up")


@pytest.fixture(scope="module")
def partial_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cache")
    # 5 states + 3 stingers, and 15 renditions: 4 x 7 less those of level_up (7) and over
    # explore or boss (2 x 3); both of the pack's bridges connect explore
    assert _fill_cache(root, skip=MISSING) == 8 + 15
    return root


@pytest.mark.slow
async def test_cached_sets_are_mapped_at_start_and_streamed(partial_cache: Path) -> None:
    service = _service(partial_cache, pregenerate=False)
    async with service, AsyncClient(service.endpoint) as client:
        await client.hello(subscribe=False)
        await service.library.wait_checked()  # each set is checked once, off the loop
        status = await client.status()
        assert status["ready"] is False
        assert status["pregen"] == {
            "done": 23,
            "total": 11 + 28 + 2,  # states and stingers, renditions, bridges
            "cached": 23,
            "generated": 0,
            "damaged": 0,
        }
        assert service.library.scheduler is None  # --no-pregen: no model, no workers
        blocks: list = []
        await client.stream_start(lambda h, d: blocks.append((h, d)), credits=4)
        for _ in range(200):
            if len(blocks) == 4:
                break
            await client.ping()
        header, data = blocks[-1]
        assert header.state == "menu" and header.variant >= 0
        assert float(np.abs(codec.pcm_from_bytes(data, "s16")).max()) > 0.01


@pytest.mark.slow
async def test_missing_sets_are_reported_not_ready(partial_cache: Path) -> None:
    service = _service(partial_cache, pregenerate=False)
    async with service, AsyncClient(service.endpoint) as client:
        await client.hello(subscribe=False)
        await service.library.wait_checked()
        listing = await client.list()
        ready = {s["name"]: s["ready_variants"] for s in listing["states"]}
        assert ready["boss"] == 0 and ready["explore"] == 0 and ready["battle"] == 3
        assert {s["name"]: s["ready"] for s in listing["stingers"]}["level_up"] is False
        assert listing["ready"] is False
        reply = await client.request_raw("stinger", {"name": "level_up"})
        assert reply.error_code == "not_ready"


@pytest.mark.slow
async def test_a_ready_rendition_plays_while_its_base_stinger_is_missing(tmp_path: Path) -> None:
    """The service used to answer `not_ready` when the base stinger was missing, even with
    the rendition for the state playing ready: the rendition plays (docs/director.md,
    "Stinger renditions"); with neither ready the answer is still `not_ready`."""
    pack = fantasy_pack()
    start = pack.start_state
    assert "item_found" in pack.stingers and start != "battle"
    only = ("item_found", "item_found@battle")
    assert _fill_cache(tmp_path, only=only) == 11 + 28 + 2 - 2
    service = _service(tmp_path, pregenerate=False)
    async with service, AsyncClient(service.endpoint, timeout_s=5.0) as client:
        await client.hello(subscribe=False)
        await service.library.wait_checked()
        listing = await client.list()
        assert {s["name"]: s["ready"] for s in listing["stingers"]}["item_found"] is False
        await client.stream_start(lambda header, data: None, credits=8)  # the clock runs
        for _ in range(500):
            if (await client.status())["state"] == start:
                break
            await client.credit(8)
        plan = await client.stinger("item_found")
        assert (plan["rendition"], plan["host"], plan["fallback"]) == (
            f"item_found@{start}",
            start,
            None,
        )
        await client.event("battle")
        for _ in range(2000):
            if (await client.status())["state"] == "battle":
                break
            await client.credit(8)
        assert (await client.status())["state"] == "battle"
        reply = await client.request_raw("stinger", {"name": "item_found"})
        assert reply.error_code == "not_ready"  # no rendition over battle, no base stinger


@pytest.mark.slow
async def test_a_set_that_fails_to_generate_is_published_as_generation_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pre-generation with real worker processes: the tone engine refuses a state whose
    prompt says "fail"; after its retries the service publishes PUB `error` with
    `generation_failed` and keeps serving. The start state is "slow" (1.5 s), so the
    client is subscribed before the failing state is even tried (one worker)."""
    monkeypatch.setenv("TONE_ENGINE_SECONDS", "0.01")
    root = write_pack(
        tmp_path / "pack",
        calm_toml=CALM_TOML.replace("peaceful", "peaceful, slow"),
        fight_toml=FIGHT_TOML.replace("brass, urgent", "brass, urgent, fail"),
    )
    pack = load_pack(root)
    library = CachedLibrary(
        [pack], tmp_path / "cache", workers=1, engine_factory=TONE, pregenerate=True
    )
    config = ServiceConfig(bind="tcp://127.0.0.1:*", pub_bind="tcp://127.0.0.1:*")
    service = Service([pack], library, director_player_factory, config)
    async with service, AsyncClient(service.endpoint) as client:
        await client.hello()
        errors: list = []
        client.on("error", errors.append)
        deadline = asyncio.get_running_loop().time() + 120
        while not errors and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        assert errors, "no PUB error for the failing state"
        body = errors[0].body
        assert body["code"] == "generation_failed"
        assert body["detail"]["state"] == "fight"
        assert "tone engine refuses 'fight'" in body["detail"]["error"]
        assert (await client.ping(t=7))["t"] == 7  # still answering
        listing = await client.list()
        assert {s["name"]: s["ready_variants"] for s in listing["states"]}["fight"] == 0
        assert listing["ready"] is False
