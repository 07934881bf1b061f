"""Sessions: heartbeat expiry, resume after a reconnect, resume after a service restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from middleware.client import AsyncClient
from tests.service_support import make_service


async def test_silent_session_expires() -> None:
    async with (
        make_service(heartbeat_s=0.1, session_timeout_s=0.3) as service,
        AsyncClient(service.endpoint, reconnect=False) as client,
    ):
        await client.hello(subscribe=False, heartbeat=False)
        assert len(service.sessions) == 1
        await asyncio.sleep(0.9)
        assert len(service.sessions) == 0
        reply = await client.request_raw("intensity", {"value": 0.5})
        assert reply.error_code == "no_session"


async def test_heartbeats_keep_a_session_alive() -> None:
    async with (
        make_service(heartbeat_s=0.1, session_timeout_s=0.3) as service,
        AsyncClient(service.endpoint) as client,
    ):
        await client.hello(subscribe=False, heartbeat=True)
        await asyncio.sleep(0.9)
        assert len(service.sessions) == 1
        assert (await client.status())["session"] == client.session


async def test_a_new_connection_resumes_a_live_session() -> None:
    async with make_service() as service:
        async with AsyncClient(service.endpoint) as first:
            hello = await first.hello(subscribe=False)
            await first.event("battle", intensity=0.9)
        async with AsyncClient(service.endpoint) as second:
            resumed = await second.hello(
                resume=hello.session, resume_token=hello.resume_token, subscribe=False
            )
            assert resumed.resumed is True
            assert resumed.session == hello.session
            status = await second.status()
            assert status["session"] == hello.session
        assert len(service.sessions) == 1


async def test_resuming_an_unknown_session_starts_a_new_one() -> None:
    async with make_service() as service, AsyncClient(service.endpoint) as client:
        hello = await client.hello(resume="0" * 32, subscribe=False)
        assert hello.resumed is False
        assert hello.session != "0" * 32


async def test_clients_resume_their_sessions_after_a_service_restart(tmp_path: Path) -> None:
    first = make_service(state_dir=tmp_path / "sessions")
    await first.start()
    endpoint = first.endpoint
    clients = [AsyncClient(endpoint, timeout_s=2.0) for _ in range(3)]
    targets = ["battle", "town", "explore"]
    sessions = []
    for client, target in zip(clients, targets, strict=True):
        sessions.append((await client.hello(subscribe=False, heartbeat=False)).session)
        await client.event(target, intensity=0.7)
    await first.stop()

    second = make_service(bind=endpoint, state_dir=tmp_path / "sessions")
    await second.start()
    try:
        for client, target, session in zip(clients, targets, sessions, strict=True):
            # the old connection is unknown to the new process: the client resumes by itself
            status = await client.status()
            assert status["session"] == session
            assert status["state"] == target
            assert client.hello_result is not None and client.hello_result.resumed
    finally:
        for client in clients:
            await client.close()
        await second.stop()


async def test_bye_forgets_the_session_record(tmp_path: Path) -> None:
    async with make_service(state_dir=tmp_path) as service:
        async with AsyncClient(service.endpoint) as client:
            await client.hello(subscribe=False, heartbeat=False)
            assert len(list(tmp_path.glob("*.session"))) == 1
            await client.bye()
        assert list(tmp_path.glob("*.session")) == []
