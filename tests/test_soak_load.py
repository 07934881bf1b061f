"""The soak's load tool (benchmarks/soak_load.py) against the real service: it must count
what it receives, or the soak's figures mean nothing."""

from __future__ import annotations

from benchmarks.soak_load import CREDITS_AHEAD, run_load, run_throughput
from tests.service_support import ServiceThread, make_service


def test_the_streaming_load_gets_every_reply_and_counts_every_block() -> None:
    with ServiceThread(make_service()) as service:
        result = run_load(service.endpoint, 3, 1.0)
        blocks_sent = service.streams.stats["blocks"]
    assert result.lost == 0 and result.failed == 0
    assert len(result.rtts) == 3 * 20  # 20 events/s each for 1 s, every one answered
    # every block counted (those that came while the clients were still starting too),
    # except at most the credit still outstanding when they stopped reading
    assert blocks_sent - 3 * CREDITS_AHEAD <= sum(result.blocks) <= blocks_sent
    # credit kept flowing: a second of music is 47 blocks
    assert all(blocks >= CREDITS_AHEAD + 20 for blocks in result.blocks)


def test_the_throughput_load_keeps_the_streams_going() -> None:
    with ServiceThread(make_service()) as service:
        received = run_throughput(service.endpoint, 3, 300)
        events = service.stats["requests"]
    assert received >= 300
    assert events >= 3 * 2 + received // 2  # hello + stream_start each, an event per 2 blocks
