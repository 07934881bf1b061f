"""Rendition (`<stinger>@<state>`) and bridge (`bridge:<a>-><b>`) names are addressable
wherever a set is named: `middleware.set_names`, the service's `fetch` over real ZeroMQ,
the Python client and `ostinato generate`, with structured errors for unknown names."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest

from middleware.bridges.requests import BridgeRequest
from middleware.cli import main
from middleware.client import AsyncClient
from middleware.director.synthetic import synthetic_variant_set
from middleware.errors import UnknownStateError
from middleware.service.config import ServiceConfig
from middleware.service.director_player import director_player_factory
from middleware.service.library import StaticLibrary
from middleware.service.server import Service
from middleware.set_names import pack_set_names, resolve_set
from middleware.templates.renditions import StingerRendition
from tests.service_support import cheap_fill, fantasy_pack, synthetic_sets

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def test_every_set_of_the_pack_resolves_to_its_item() -> None:
    pack = fantasy_pack()
    names = pack_set_names(pack)
    assert len(names) == len(set(names)) == 11 + 28 + 2  # the service's pregen total
    kinds = {name: resolve_set(pack, name).kind for name in names}
    assert kinds["battle"] == "state" and kinds["level_up"] == "stinger"
    rendition = resolve_set(pack, "level_up@battle")
    assert isinstance(rendition.item, StingerRendition)
    assert (rendition.item.stinger, rendition.item.host) == ("level_up", "battle")
    assert rendition.item.spec.bpm == pack.state("battle").spec.bpm
    bridge = resolve_set(pack, "bridge:town->explore")
    assert isinstance(bridge.item, BridgeRequest) and bridge.item.bars == 2
    assert bridge.item.name == "bridge:town->explore"


@pytest.mark.parametrize(
    ("name", "kind", "says"),
    [
        ("attic", "state", "unknown state 'attic'"),
        ("airhorn@battle", "rendition", "no stinger 'airhorn'"),
        ("level_up@attic", "rendition", "no state 'attic'"),
        ("level_up@", "rendition", "'<stinger>@<state>'"),
        ("bridge:town", "bridge", "'bridge:<source>-><target>'"),
        ("bridge:town->attic", "bridge", "no state 'attic'"),
        ("bridge:menu->battle", "bridge", "has no `filler = { bridge_bars = N }`"),
    ],
)
def test_unknown_names_say_what_they_are_not(name: str, kind: str, says: str) -> None:
    with pytest.raises(UnknownStateError) as info:
        resolve_set(fantasy_pack(), name)
    error = info.value
    assert error.code == "unknown_state" and says in str(error)
    assert error.detail["state"] == name and error.detail["kind"] == kind
    assert "battle" in error.detail["states"] and says in error.detail["problem"]
    if kind == "bridge":
        assert sorted(error.detail["bridges"]) == ["bridge:explore->town", "bridge:town->explore"]


def _service_with(pack, extra: dict) -> Service:
    sets = synthetic_sets(pack)
    for name, (bpm, meter, bars) in extra.items():
        sets[pack.name, name] = synthetic_variant_set(
            name, bpm=bpm, meter=meter, bars=bars, variants=1, one_shot=True, fill=cheap_fill
        )
    config = ServiceConfig(bind="tcp://127.0.0.1:*", pub_bind="tcp://127.0.0.1:*")
    return Service([pack], StaticLibrary(sets), director_player_factory, config)


def _frames(data: bytes) -> int:
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getnframes()


async def test_renditions_and_bridges_are_fetched_by_name_over_real_zeromq() -> None:
    pack = fantasy_pack()
    battle, explore = pack.state("battle").spec, pack.state("explore").spec
    extra = {
        "level_up@battle": (battle.bpm, battle.meter, 2),
        "bridge:town->explore": (explore.bpm, explore.meter, 2),
    }
    async with (
        _service_with(pack, extra) as service,
        AsyncClient(service.endpoint, name="tests/1.0", timeout_s=5.0) as client,
    ):
        await client.hello(subscribe=False)
        rendition = await client.fetch_rendition("level_up", "battle")
        assert rendition == await client.fetch("level_up@battle")
        bridge = await client.fetch_bridge("town", "explore", file_format="wav")
        assert rendition[:4] == bridge[:4] == b"RIFF"
        two_bars = round(2 * 4 * 60 / battle.bpm * 48000)
        assert _frames(rendition) >= two_bars  # the host's tempo (a one-shot keeps its tail)
        first = await client.request("fetch", {"state": "bridge:town->explore"})
        assert first["state"] == "bridge:town->explore" and first["sha256"]
        # a known name whose audio is not made yet, and names that are not the pack's
        for body, code in (
            ({"state": "level_up@town"}, "not_ready"),
            ({"state": "bridge:explore->town"}, "not_ready"),
            ({"state": "level_up@attic"}, "unknown_state"),
            ({"state": "bridge:menu->battle"}, "unknown_state"),
        ):
            reply = await client.request_raw("fetch", body)
            assert reply.error_code == code, body
        reply = await client.request_raw("fetch", {"state": "bridge:menu->battle"})
        assert reply.error is not None
        assert reply.error["detail"]["kind"] == "bridge"
        assert "bridge:town->explore" in reply.error["detail"]["bridges"]


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return int(info.value.code or 0)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("level_up@attic", "no state 'attic'"),
        ("bridge:menu->battle", "has no `filler = { bridge_bars = N }`"),
        ("attic", "unknown state 'attic'"),
    ],
)
def test_generate_refuses_unknown_set_names(
    name: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    code = _run(["generate", str(TEMPLATES / "fantasy_rpg"), "--state", name, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "unknown_state" in err and says in err
    assert not out.exists()


@pytest.mark.slow
def test_generate_writes_a_rendition_in_its_hosts_tempo(tmp_path: Path) -> None:
    import json

    pack = fantasy_pack()
    out = tmp_path / "lu"
    argv = ["generate", str(TEMPLATES / "fantasy_rpg"), "--state", "level_up@battle"]
    try:
        main([*argv, "--jobs", "1", "--renderer", "notes", "--out", str(out)])
    except SystemExit as done:
        assert not done.code
    manifest = json.loads((out / "variants.json").read_text(encoding="utf-8"))
    assert manifest["state"] == "level_up@battle"
    variants = manifest["variants"]
    assert len(variants) == 1
    battle = pack.state("battle").spec
    meta = variants[0]["meta"]
    assert (meta["bpm"], meta["meter"]) == (battle.bpm, battle.meter)
