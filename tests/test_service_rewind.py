"""The stream's `rewind` (docs/protocol.md, "Rewind"): an event with `replace_from` on a
stream started with `rewind: true` takes back the blocks rendered past that sample, over
the real service and real ZeroMQ: a `rewind` notice, then the new audio from the block
boundary, bit for bit what a session that got the event on that sample plays."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import zmq
import zmq.asyncio

from middleware.protocol import codec
from tests.service_support import make_service

BLOCK = 512


class RawClient:
    """A DEALER speaking the wire protocol directly: every message kept in order."""

    def __init__(self, endpoint: str) -> None:
        self.context = zmq.asyncio.Context()
        self.dealer = self.context.socket(zmq.DEALER)
        self.dealer.setsockopt(zmq.LINGER, 0)
        self.dealer.connect(endpoint)
        self.next_id = 1
        self.stream: list[dict[str, Any]] = []  # headers (and data) of stream messages
        self.replies: dict[int, codec.Reply] = {}

    async def receive_until(self, predicate, timeout_s: float = 10.0) -> None:
        async def loop() -> None:
            while not predicate():
                frames = await self.dealer.recv_multipart()
                if len(frames) == 2:
                    header = codec.unpack(frames[0])
                    self.stream.append({**header, "data": frames[1]})
                else:
                    reply = codec.decode_reply(frames[0])
                    self.replies[reply.id] = reply

        await asyncio.wait_for(loop(), timeout_s)

    async def request(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        request_id = self.next_id
        self.next_id += 1
        await self.dealer.send(codec.encode_request(codec.Request(request_id, kind, body)))
        await self.receive_until(lambda: request_id in self.replies)
        reply = self.replies.pop(request_id)
        assert reply.ok, reply.error
        return reply.result

    def blocks(self) -> list[dict[str, Any]]:
        return [m for m in self.stream if m["type"] == "pcm"]

    def close(self) -> None:
        self.dealer.close(0)
        self.context.term()


async def _session(endpoint: str, credits: int, rewind: bool) -> tuple[RawClient, dict]:
    client = RawClient(endpoint)
    await client.request("hello", {"versions": [1], "client": "rewind-test"})
    started = await client.request(
        "stream_start",
        {"format": "f32", "block_frames": BLOCK, "credits": credits, "rewind": rewind},
    )
    await client.receive_until(lambda: len(client.blocks()) == credits)
    return client, started


async def test_a_change_with_replace_from_takes_back_the_audio_rendered_past_it() -> None:
    async with make_service() as service:
        # reference: the event arrives when exactly 11 blocks were rendered
        reference, _ = await _session(service.endpoint, 11, rewind=False)
        planned = await reference.request("intensity", {"value": 0.0})
        assert planned["rewind"] is None
        await reference.request("credit", {"credits": 49})
        await reference.receive_until(lambda: len(reference.blocks()) == 60)

        # the rewinding client got 60 blocks ahead, then clicks with 11 blocks played
        client, started = await _session(service.endpoint, 60, rewind=True)
        assert started["rewind"] is True
        first_time = client.blocks()
        reply = await client.request("intensity", {"value": 0.0, "replace_from": 11 * BLOCK - 100})
        assert reply["rewind"] == {"seq": 11, "sample": 11 * BLOCK, "blocks": 49}
        status = await client.request("status", {})
        assert status["sample"] >= 11 * BLOCK  # rendering goes on from the rewind
        await client.receive_until(lambda: len(client.blocks()) == 109)
        notices = [m for m in client.stream if m["type"] == "rewind"]
        assert len(notices) == 1
        notice = notices[0]
        assert (notice["stream"], notice["seq"], notice["sample"], notice["data"]) == (
            started["stream"], 11, 11 * BLOCK, b"",
        )  # fmt: skip
        # order on the socket: the 60 first blocks, the notice, the new blocks 11..59
        assert client.stream.index(notice) == 60
        again = client.blocks()[60:]
        assert [b["seq"] for b in again] == list(range(11, 60))
        assert [b["sample"] for b in again] == [BLOCK * s for s in range(11, 60)]
        expected = reference.blocks()
        for block, wanted in zip(first_time[:11] + again, expected, strict=True):
            assert (block["seq"], block["state"]) == (wanted["seq"], wanted["state"])
            assert block["data"] == wanted["data"]  # bit for bit
        assert any(block["data"] != wanted["data"] for block, wanted in zip(
            first_time[11:], expected[11:], strict=True))  # fmt: skip
        # the credits of the blocks taken back were given back: 49 more arrived, no more
        await asyncio.sleep(0.2)
        status = await client.request("status", {})
        assert status["stream"]["credits"] == 0 and len(client.blocks()) == 109
        for each in (reference, client):
            each.close()


async def test_a_rewind_never_undoes_an_earlier_change_and_needs_a_rewind_stream() -> None:
    async with make_service() as service:
        client, _ = await _session(service.endpoint, 30, rewind=True)
        # an intensity change without replace_from applies where rendering is (sample 15360)
        plain = await client.request("intensity", {"value": 0.2})
        assert plain["rewind"] is None
        await client.request("credit", {"credits": 4})
        await client.receive_until(lambda: len(client.blocks()) == 34)
        # a later click may not go back before it: the rewind stops at block 30
        reply = await client.request("event", {
            "state": "defeat", "intensity": None, "params": {}, "replace_from": 5 * BLOCK,
        })  # fmt: skip
        assert reply["rewind"] == {"seq": 30, "sample": 30 * BLOCK, "blocks": 4}
        assert reply["transition"]["at_sample"] >= 30 * BLOCK

        # a stream started without `rewind`: replace_from changes nothing
        other, started = await _session(service.endpoint, 20, rewind=False)
        assert started["rewind"] is False
        reply = await other.request(
            "event",
            {"state": "battle", "intensity": None, "params": {}, "replace_from": 2 * BLOCK},
        )
        assert reply["rewind"] is None
        assert not [m for m in other.stream if m["type"] != "pcm"]
        for each in (client, other):
            each.close()


@pytest.mark.parametrize(
    "body",
    [{"replace_from": -1}, {"replace_from": "soon"}, {"replace_from": 1.5}],
)
async def test_a_bad_replace_from_is_a_bad_field(body: dict[str, Any]) -> None:
    async with make_service() as service:
        client = RawClient(service.endpoint)
        await client.request("hello", {"versions": [1], "client": "rewind-test"})
        await client.dealer.send(
            codec.encode_request(
                codec.Request(99, "event", {"state": "battle", "params": {}, **body})
            )
        )
        await client.receive_until(lambda: 99 in client.replies)
        error = client.replies[99].error
        assert error is not None and error["code"] == "bad_field"
        assert error["detail"]["field"] == "replace_from"
        client.close()
