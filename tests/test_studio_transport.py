"""The studio's WebSocket transport: the service's protocol over a page's socket.

A real `Studio` (aiohttp) drives a real `Service` (ZeroMQ, directors, synthetic audio of
the bundled pack's exact timing); the tests speak to it as a page does, with aiohttp's
WebSocket client.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from middleware.studio import wire
from middleware.studio.app import Studio
from middleware.studio.origin import ForbiddenOriginError, check_origin
from tests.service_support import make_service


@pytest.fixture
async def studio() -> AsyncIterator[Studio]:
    app = Studio(make_service(), port=0)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


class Page:
    """A page's side of the socket: requests by id, notes and PCM blocks collected."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.next_id = 1
        self.replies: dict[int, dict] = {}
        self.notes: list[tuple[str, dict]] = []
        self.blocks: list[tuple[dict, bytes]] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.blocks.append(wire.read_pcm_message(message.data))
            elif message.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(message.data)
                if "note" in data:
                    self.notes.append((data["note"], data["body"]))
                else:
                    self.replies[data["id"] if data["id"] is not None else -1] = data

    async def send_text(self, text: str) -> dict:
        self.replies.pop(-1, None)
        await self.socket.send_str(text)
        return await self.wait_reply(-1)

    async def request(self, request_type: str, body: dict | None = None) -> dict:
        request_id = self.next_id
        self.next_id += 1
        envelope = {"v": 1, "id": request_id, "type": request_type, "body": body or {}}
        await self.socket.send_str(json.dumps(envelope))
        return await self.wait_reply(request_id)

    async def wait_reply(self, request_id: int) -> dict:
        for _ in range(500):
            if request_id in self.replies:
                return self.replies.pop(request_id)
            await asyncio.sleep(0.01)
        raise AssertionError(f"no reply {request_id}")

    async def hello(self) -> dict:
        reply = await self.request(
            "hello", {"versions": [1], "client": "test-page", "capabilities": ["pcm.f32"]}
        )
        assert reply["ok"], reply
        return reply["result"]


async def _open(studio: Studio, origin: str | None = None) -> tuple[aiohttp.ClientSession, Page]:
    session = aiohttp.ClientSession()
    headers = {"Origin": origin} if origin else {}
    socket = await session.ws_connect(studio.url + "ws", headers=headers)
    return session, Page(socket)


async def _wait_for(predicate, timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_a_page_gets_exactly_the_blocks_it_credits(studio: Studio) -> None:
    session, page = await _open(studio, origin=studio.url.rstrip("/"))
    async with session:
        await page.hello()
        started = await page.request("stream_start", {"format": "f32", "credits": 3})
        assert started["ok"] and started["result"]["credits"] == 3
        await _wait_for(lambda: len(page.blocks) == 3)
        await asyncio.sleep(0.2)
        assert len(page.blocks) == 3  # no credit, no block
        credit = await page.request("credit", {"credits": 2})
        assert credit["ok"]
        await _wait_for(lambda: len(page.blocks) == 5)
        header, data = page.blocks[-1]
        assert header["type"] == "pcm" and header["format"] == "f32"
        assert header["seq"] == 4 and len(data) == header["frames"] * 2 * 4
        assert [h["sample"] for h, _ in page.blocks] == [i * 1024 for i in range(5)]


async def test_a_state_change_is_planned_then_notified(studio: Studio) -> None:
    session, page = await _open(studio)
    async with session:
        await page.hello()
        reply = await page.request("event", {"state": "battle"})
        plan = reply["result"]["transition"]
        assert plan["to"] == "battle" and plan["leave_at"] == "next_bar"
        await page.request("stream_start", {"format": "s16", "credits": 64})
        await _wait_for(lambda: any(t == "transition.started" for t, _ in page.notes))
        started = next(body for topic, body in page.notes if topic == "transition.started")
        assert started["sample"] == plan["at_sample"]
        # the bar notice of that sample may be forwarded just after the transition's
        await _wait_for(
            lambda: any(t == "bar" and b["sample"] == plan["at_sample"] for t, b in page.notes)
        )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "bad_message"),
        (json.dumps({"v": 1, "id": 7, "type": "event", "body": {"state": "nowhere"}}), None),
        (json.dumps({"v": 1, "id": 8, "type": "intensity", "body": {"value": 3}}), None),
        (json.dumps({"v": 1, "id": 9, "type": "teleport", "body": {}}), None),
    ],
)
async def test_bad_input_gets_the_protocols_structured_errors(
    studio: Studio, text: str, code: str | None
) -> None:
    session, page = await _open(studio)
    async with session:
        await page.hello()
        await page.socket.send_str(text)
        if code is not None:
            reply = await page.wait_reply(-1)
            assert reply["ok"] is False and reply["error"]["code"] == code
            return
        request_id = json.loads(text)["id"]
        reply = await page.wait_reply(request_id)
        expected = {7: "unknown_state", 8: "bad_field", 9: "unknown_type"}[request_id]
        assert reply["ok"] is False and reply["error"]["code"] == expected
        assert reply["error"]["message"] and isinstance(reply["error"]["detail"], dict)
        if request_id == 7:
            assert "battle" in reply["error"]["detail"]["states"]


async def test_an_oversized_request_is_refused_and_the_socket_keeps_working(
    studio: Studio,
) -> None:
    session, page = await _open(studio)
    async with session:
        await page.hello()
        huge = json.dumps({"v": 1, "id": 5, "type": "ping", "body": {"t": "x" * 70000}})
        await page.socket.send_str(huge)
        reply = await page.wait_reply(5)  # named, so the page can match it
        assert reply["error"]["code"] == "too_large"
        assert reply["error"]["detail"]["limit"] == studio.service.config.max_message_bytes
        pong = await page.request("ping", {"t": 1})
        assert pong["ok"] and pong["result"]["t"] == 1


async def test_a_page_from_another_site_is_refused(studio: Studio) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(studio.url + "ws", headers={"Origin": "https://evil.example"})
        assert refused.value.status == 403


async def test_closing_the_page_ends_its_session(studio: Studio) -> None:
    session, page = await _open(studio)
    async with session:
        await page.hello()
        assert len(studio.service.sessions) == 1
        await page.socket.close()
    await _wait_for(lambda: len(studio.service.sessions) == 0)


def test_origin_rules() -> None:
    check_origin("http://127.0.0.1:8765", "127.0.0.1:8765")
    check_origin("http://localhost:9000", "localhost:9000")
    check_origin("http://[::1]:8765", "[::1]:8765")
    check_origin(None, "127.0.0.1:8765")
    check_origin("https://tools.example", "127.0.0.1:8765", allowed=("https://tools.example",))
    for origin, host in [
        ("https://evil.example", "127.0.0.1:8765"),
        ("http://192.168.1.4:8765", "127.0.0.1:8765"),
        ("http://127.0.0.1:8765", "studio.example:8765"),  # DNS rebinding
        ("null", "127.0.0.1:8765"),
    ]:
        with pytest.raises(ForbiddenOriginError):
            check_origin(origin, host)


def test_pcm_messages_align_samples_on_four_bytes() -> None:
    from middleware.protocol import codec

    for state in ("a", "ab", "abc", "abcd"):
        header = codec.PcmHeader(1, 2, 3, 4, "f32", state, 0, 0, 0, 0.5)
        frames = codec.encode_pcm(header, b"\x00" * 32)
        message = wire.pcm_message(frames[0], frames[1])
        decoded, data = wire.read_pcm_message(message)
        assert decoded["state"] == state and data == b"\x00" * 32
        assert (len(message) - len(data)) % 4 == 0


def test_the_studio_does_not_import_the_model() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, middleware.cli.studio_cmd, middleware.studio.app, "
        "middleware.studio.editor, middleware.studio.gallery; print(sorted(m for m in "
        "('torch', 'music21', 'sentence_transformers', 'selenium') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    assert result.stdout.strip() == "[]"


async def test_a_busy_port_is_a_clear_error(studio: Studio) -> None:
    from middleware.service.errors import ServiceStartError

    port = int(studio.url.rstrip("/").rsplit(":", 1)[1])
    second = Studio(make_service(), port=port)
    with pytest.raises(ServiceStartError, match="--port 0"):
        await second.start()
