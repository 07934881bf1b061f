"""The sample game's scripted session, driven by the Python client against a real service."""

from __future__ import annotations

import numpy as np
import pytest

from middleware.client import AsyncClient, Client
from sample_game.session import on_plan, play_session
from tests.service_support import ServiceThread, make_service


@pytest.mark.slow
async def test_scripted_session_follows_the_script_on_planned_samples() -> None:
    async with make_service() as service, AsyncClient(service.endpoint) as client:
        await client.hello()
        report = await play_session(client, realtime=False)
        await client.bye()
    assert report.underruns == 0 and report.seq_gaps == 0
    states = [h.state for h in report.headers]
    visited = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    assert visited == ["menu", "town", "explore", "battle", "victory", "explore"]
    rows = on_plan(report)
    assert [r["to"] for r in rows][-5:] == ["town", "explore", "battle", "victory", "explore"]
    assert all(r["planned"] for r in rows if r.get("from") not in (None, "victory"))
    # every transition started on the sample its event reply announced
    for row in rows:
        if row["planned"]:
            block = next(h for h in report.headers if h.sample + h.frames > row["sample"])
            assert block.sample <= row["sample"]
    assert report.stingers and report.stingers[0]["name"] == "level_up"
    assert report.beats_heard > 40
    assert report.audio.shape == (len(report.headers) * 1024, 2)
    assert float(np.abs(report.audio).max()) > 0.01


def test_sync_client_sends_events_and_hears_transitions() -> None:
    with ServiceThread(make_service()) as service, Client(service.endpoint) as client:
        hello = client.hello()
        planned: list[dict] = []
        client.on("transition.planned", lambda note: planned.append(note.body))
        ack = client.event("battle", intensity=0.5)
        assert ack.transition is not None and ack.transition.target == "battle"
        assert ack.latency_s > 0
        assert client.status()["session"] == hello.session
        client.bye()


def test_a_wildcard_pub_endpoint_is_reached_on_the_request_host() -> None:
    from middleware.client.aio import reachable_pub_endpoint

    assert reachable_pub_endpoint("tcp://10.0.0.5:5570", "tcp://0.0.0.0:5571") == (
        "tcp://10.0.0.5:5571"
    )
    assert reachable_pub_endpoint("tcp://10.0.0.5:5570", "tcp://127.0.0.1:5571") == (
        "tcp://127.0.0.1:5571"
    )


@pytest.mark.slow
async def test_recorded_session_draws_the_directors_timeline(tmp_path) -> None:
    from middleware.director.timeline import plot_session
    from sample_game.session import session_render

    async with make_service() as service, AsyncClient(service.endpoint) as client:
        await client.hello()
        report = await play_session(client, realtime=False, length_s=12.0)
    render = session_render(report)
    kinds = {event.kind for event in render.events}
    assert {"beat", "bar", "transition.started", "state"} <= kinds
    assert render.audio.shape == report.audio.shape and render.audio.dtype == np.int16
    assert render.block_starts[0] == 0
    path = plot_session(render, tmp_path / "timeline.png")
    assert path.stat().st_size > 10_000


@pytest.mark.slow
async def test_the_recorded_session_marks_the_motif_entries_it_played() -> None:
    from dataclasses import replace

    from engine_core.variant import VariantSet
    from middleware.service.config import ServiceConfig
    from middleware.service.director_player import director_player_factory
    from middleware.service.library import StaticLibrary
    from middleware.service.server import Service
    from sample_game.session import session_render
    from tests.service_support import fantasy_pack, synthetic_sets

    pack = fantasy_pack()
    sets = synthetic_sets(pack)
    menu = sets[(pack.name, "menu")]
    sets[(pack.name, "menu")] = VariantSet(
        menu.state,
        menu.generation_hash,
        menu.seed,
        tuple(
            replace(v, meta=replace(v.meta, motif_entries=((1, 0, "original"),)))
            for v in menu.variants
        ),
    )
    service = Service(
        [pack],
        StaticLibrary(sets),
        director_player_factory,
        ServiceConfig(bind="tcp://127.0.0.1:*", pub_bind="tcp://127.0.0.1:*"),
    )
    async with service, AsyncClient(service.endpoint) as client:
        await client.hello()
        report = await play_session(client, realtime=False, length_s=6.0)
    played = {name: found for (_, name), found in sets.items()}
    render = session_render(report, played.get)
    # the menu plays from the start until the player presses start (3 s, then the next bar):
    # its one motif entry, bar 1 of the loop, is heard once
    bar = round(3 * 60 / pack.state("menu").spec.bpm * 48000)
    assert [(m.state, m.bar) for m in render.motif_marks] == [("menu", 1)]
    assert abs(render.motif_marks[0].sample - bar) <= 1
