"""Fair service: requests in turn per connection, a CPU budget per connection (fairness.py)."""

from __future__ import annotations

import time

import pytest
import zmq

from middleware.protocol import codec
from middleware.service.fairness import FairQueue
from tests.service_support import ServiceThread, make_service


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_connections_take_turns_one_request_each() -> None:
    queue = FairQueue(clock=_Clock())
    for number in range(5):
        queue.push(b"flood", f"f{number}")
    queue.push(b"other", "o0")
    queue.push(b"other", "o1")
    order = []
    while (item := queue.pop()) is not None:
        order.append(item[1])
    assert order == ["f0", "o0", "f1", "o1", "f2", "f3", "f4"]
    assert len(queue) == 0


def test_a_connection_over_its_cpu_share_waits_while_others_are_active() -> None:
    clock = _Clock()
    queue = FairQueue(clock=clock, burst_s=0.02)
    queue.push(b"other", "o0")
    assert queue.pop() == (b"other", "o0")
    queue.charge(b"other", 0.0001)
    for number in range(100):
        queue.push(b"flood", number)
    served = []
    while (item := queue.pop()) is not None:
        served.append(item[1])
        queue.charge(b"flood", 0.005)  # 5 ms of CPU each
    assert served == [0, 1, 2, 3]  # its 20 ms burst, then held: the other one is active
    assert queue.stats["held"] == 1 and len(queue) == 96
    wait = queue.next_ready_s()
    assert wait is not None and wait > 0.0
    queue.push(b"other", "o1")  # the other connection is served at once meanwhile
    assert queue.pop() == (b"other", "o1")
    assert queue.pop() is None
    clock.now += 0.011  # 2 connections active: it earns 1/2 of the 11 ms that pass
    assert queue.pop() == (b"flood", 4)
    queue.charge(b"flood", 0.005)
    assert queue.pop() == (b"flood", 5)  # 0.5 ms left
    queue.charge(b"flood", 0.005)
    assert queue.pop() is None  # spent again


def test_a_connection_alone_is_never_held() -> None:
    clock = _Clock()
    queue = FairQueue(clock=clock, burst_s=0.02)
    for number in range(50):
        queue.push(b"alone", number)
    count = 0
    while queue.pop() is not None:
        queue.charge(b"alone", 0.01)
        count += 1
    assert count == 50 and queue.stats["held"] == 0
    handled, spent_s = queue.costs()[b"alone"]  # what the soak's service-side figure reads
    assert handled == 50 and abs(spent_s - 0.5) < 1e-9


def test_a_held_connection_gets_only_spare_time_and_no_more_debt() -> None:
    """Over its budget while another connection is active, a connection is held: `pop`
    skips it, but the loop's spare time (`pop_spare`) serves it in order, without
    taking from its budget, as long as it has spare time left (earned at `spare_share`
    of wall time), and it is held again for requests that come later."""
    clock = _Clock()
    queue = FairQueue(clock=clock, burst_s=0.02, spare_share=0.2)
    queue.push(b"quiet", 0)  # another active connection
    assert queue.pop() == (b"quiet", 0)
    for number in range(4):
        queue.push(b"flood", number)
    assert queue.pop() == (b"flood", 0)
    queue.charge(b"flood", 0.5)  # far over its budget
    assert queue.pop() is None and queue.stats["held"] == 1
    assert queue.pop_spare() == (b"flood", 1)
    queue.charge(b"flood", 0.01, spare=True)
    assert queue.pop() is None  # still held: spare time is not taken from its budget
    assert queue.pop_spare() == (b"flood", 2)
    queue.charge(b"flood", 0.03, spare=True)  # its spare time is spent: 0.02 in debt
    assert queue.pop_spare() is None and queue.pop() is None
    spare_wait_s = queue.next_ready_s()
    assert abs(spare_wait_s - (0.02 / 0.2 + 0.0002)) < 1e-9
    clock.now += 0.05  # half the wait: not yet
    assert queue.pop_spare() is None
    clock.now += 0.0502
    assert queue.pop_spare() == (b"flood", 3)
    queue.charge(b"flood", 0.001, spare=True)
    assert queue.pop_spare() is None and len(queue) == 0
    handled, spent_s = queue.costs()[b"flood"]
    assert handled == 4 and abs(spent_s - 0.541) < 1e-9
    queue.push(b"flood", 4)  # a later request: held again, its debt is unpaid
    assert queue.pop() is None


def test_spare_time_takes_at_most_its_share_of_the_clock() -> None:
    """A held flooder served only in spare time, 1 ms per request, for 10 simulated
    seconds while another connection stays active: it gets about `spare_share` of them."""
    clock = _Clock()
    queue = FairQueue(clock=clock, burst_s=0.02, spare_share=0.2)
    queue.push(b"flood", -1)
    assert queue.pop() == (b"flood", -1)
    queue.charge(b"flood", 100.0)  # deep in debt: held for the whole run
    served_s = 0.0
    end = clock.now + 10.0
    while clock.now < end:
        queue.push(b"quiet", 0)  # the other connection stays active
        assert queue.pop() == (b"quiet", 0)
        queue.charge(b"quiet", 0.0)
        queue.push(b"flood", 0)
        assert queue.pop() is None  # held
        if queue.pop_spare() is None:
            clock.now += queue.next_ready_s()
            assert queue.pop_spare() == (b"flood", 0)
        queue.charge(b"flood", 0.001, spare=True)
        clock.now += 0.001
        served_s += 0.001
    assert 1.9 <= served_s <= 2.1 + 0.02


def test_a_full_line_refuses_more() -> None:
    queue = FairQueue(clock=_Clock(), line_limit=3)
    assert all(queue.push(b"a", n) for n in range(3))
    assert not queue.push(b"a", 3)
    assert queue.push(b"b", 0)  # other connections are not affected
    assert queue.stats["refused"] == 1 and queue.waiting(b"a") == 3


def test_a_flooding_session_gets_at_most_its_share_of_the_loop() -> None:
    """One connection pipelines 800 costly requests (state events and stingers with its
    clock frozen, a ping every 10th) while another connection stays active (a ping at a
    time). The flood is answered in full (nothing dropped), but the CPU time charged to it
    never exceeds its burst plus half the time that passed on the service's own clock (two
    connections active: a fair share each; the budget's invariant, whatever the machine's
    load), and the other connection is answered all along, not after the flood."""
    flood_size = 800
    context = zmq.Context()
    with ServiceThread(make_service()) as service:
        flooder = _socket(context, service.endpoint, b"flooder")
        other = _socket(context, service.endpoint, b"other")
        for sock, name in ((flooder, "flooder"), (other, "other")):
            sock.send(_request(0, "hello", {"versions": [1], "client": name}))
            assert sock.poll(10_000) and codec.decode_reply(sock.recv()).ok
        flooder.send(_request(0, "ping", {"t": 0}))  # (the hello is charged by now)
        assert flooder.poll(10_000) and codec.decode_reply(flooder.recv()).ok
        spent_before = service.fair.spent_s(b"flooder")[0]
        states = ("explore", "battle", "town", "victory")
        for number in range(1, flood_size + 1):
            if number % 10 in (0, 1):
                flooder.send(_request(number, "ping", {"t": number}))
            elif number % 10 == 5:
                flooder.send(_request(number, "stinger", {"name": "level_up"}))
            else:
                flooder.send(_request(number, "event", {"state": states[number % 4]}))
        assert flooder.poll(10_000)  # the service is answering the flood
        replies, pongs = [], []
        asked = 0
        while len(replies) < flood_size:  # the other connection stays active: a ping now and then
            if asked == len(pongs):
                asked += 1
                other.send(_request(asked, "ping", {"t": asked}))
            if other.poll(0):
                pongs.append(codec.decode_reply(other.recv()))
            if flooder.poll(20):
                replies.append(codec.decode_reply(flooder.recv()))
        assert len(replies) == flood_size and all(reply.ok for reply in replies)
        assert pongs and all(p.ok and p.result is not None for p in pongs)
        stamps = [r.result["server_time_ns"] for r in replies if r.type == "ping"]
        span_s = (stamps[-1] - stamps[0]) / 1e9
        spent_s, largest_s = service.fair.spent_s(b"flooder")
        spent_s -= spent_before
        # the budget's invariant: its burst, half the time that passed, one request more
        assert spent_s <= service.fair.burst_s + span_s / 2 + largest_s + 0.001
        during = sum(1 for p in pongs if p.result["server_time_ns"] < stamps[-1])
        assert during >= 2  # the other connection was answered all along, not after the flood
        flooder.close(0)
        other.close(0)
    context.term()


@pytest.mark.slow
def test_a_frozen_clock_client_one_request_at_a_time_gets_its_share_and_spare_time() -> None:
    """The soak's frozen-clock client in small: state events (a stinger every 10th) sent
    one at a time, each as soon as the last was answered, while 10 other connections stay
    active (a ping each every 0.1 s). With 11 connections active its share of the loop is
    `min_share` (10%); held past that, it is served only in the loop's spare time, at
    most `spare_share` of wall time. So the time the service spent on it, charged and
    spare, stays within (min_share + spare_share) of the time that passed on the
    service's clock, plus a burst of each and one request, however fast the machine and
    however loaded (both sides of the bound are the service's own clock). Unthrottled, it
    would take about half of the loop (its round trip is half service, half client)."""
    context = zmq.Context()
    with ServiceThread(make_service()) as service:
        fair = service.fair
        flooder = _socket(context, service.endpoint, b"flooder")
        others = [_socket(context, service.endpoint, b"other-%d" % i) for i in range(10)]
        flooder.send(_request(0, "hello", {"versions": [1], "client": "frozen-clock"}))
        assert flooder.poll(10_000) and codec.decode_reply(flooder.recv()).ok
        poller = zmq.Poller()
        for sock in others:
            poller.register(sock, zmq.POLLIN)
        next_ping = [0.0] * len(others)
        pongs = 0

        def keep_others_active() -> None:
            nonlocal pongs
            now = time.monotonic()
            for index, sock in enumerate(others):
                if now >= next_ping[index]:
                    sock.send(_request(pongs, "ping", {"t": index}))
                    next_ping[index] = now + 0.1
            for sock, _ in poller.poll(0):
                pongs += codec.decode_reply(sock.recv()).ok

        def call(request_id: int, kind: str, body: dict) -> codec.Reply:
            flooder.send(_request(request_id, kind, body))
            while not flooder.poll(2):
                keep_others_active()
            keep_others_active()
            return codec.decode_reply(flooder.recv())

        end = time.monotonic() + 1.0  # the others become active; its first requests
        number = 0
        while time.monotonic() < end:
            number += 1
            call(number, "ping", {"t": number})
        first = call(number + 1, "ping", {"t": 0})
        charged_before, spare_before = fair.spent_s(b"flooder")[0], fair.spare_s(b"flooder")
        states = ("explore", "battle", "town", "victory")
        end, event = time.monotonic() + 3.0, 0  # (long enough for the bursts not to matter)
        while time.monotonic() < end:
            number += 2
            assert call(number, "event", {"state": states[event % 4]}).ok
            if event % 10 == 0:
                assert call(number + 1, "stinger", {"name": "level_up"}).ok
            event += 1
        last = call(number + 2, "ping", {"t": 1})
        span_s = (last.result["server_time_ns"] - first.result["server_time_ns"]) / 1e9
        charged_s, largest_s = fair.spent_s(b"flooder")
        used_s = charged_s - charged_before + fair.spare_s(b"flooder") - spare_before
        # each of its two buckets may end one request in debt (a loaded machine may
        # stretch a request's wall time: `largest_s` is its longest, charged or spare)
        bound_s = (fair.min_share + fair.spare_share) * span_s + 2 * (fair.burst_s + largest_s)
        assert used_s <= bound_s + 0.002, (used_s, span_s, fair.stats)
        assert fair.stats["held"] > 0 and pongs > 10 * span_s  # it was held; the others ran
        for sock in (flooder, *others):
            sock.close(0)
    context.term()


def _socket(context: zmq.Context, endpoint: str, routing_id: bytes) -> zmq.Socket:
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.ROUTING_ID, routing_id)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    return sock


def _request(request_id: int, kind: str, body: dict) -> bytes:
    return codec.encode_request(codec.Request(request_id, kind, body))
