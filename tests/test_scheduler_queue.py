"""The request queue and pack priorities (pure data structures, no processes)."""

from __future__ import annotations

import dataclasses

from test_cache_support import make_state

from middleware.scheduler import (
    Priority,
    RequestQueue,
    SetRequest,
    likely_next,
    pack_requests,
    request_key,
)
from middleware.templates.loader import load_pack


def request(name: str) -> SetRequest:
    state = make_state(name, prompt=f"theme {name}")
    return SetRequest(request_key(state), state, 2)


def drain(queue: RequestQueue) -> list[str]:
    names = []
    while (popped := queue.pop()) is not None:
        names.append(popped[0].name)
    return names


def test_more_urgent_first_and_first_come_first_served_within_a_priority():
    queue = RequestQueue()
    for name, priority in [
        ("rest1", Priority.BACKGROUND),
        ("near1", Priority.REACHABLE),
        ("rest2", Priority.BACKGROUND),
        ("now", Priority.CURRENT),
        ("near2", Priority.REACHABLE),
    ]:
        assert queue.push(request(name), priority) == "queued"
    assert queue.ordered_keys() == [
        request(n).key for n in ("now", "near1", "near2", "rest1", "rest2")
    ]
    assert drain(queue) == ["now", "near1", "near2", "rest1", "rest2"]


def test_a_repeated_request_is_joined_and_can_only_move_up():
    queue = RequestQueue()
    queue.push(request("a"), Priority.BACKGROUND)
    queue.push(request("b"), Priority.REACHABLE)
    assert queue.push(request("a"), Priority.BACKGROUND) == "joined"
    assert queue.push(request("a"), Priority.CURRENT) == "raised"
    assert queue.push(request("a"), Priority.BACKGROUND) == "joined"
    assert queue.priority_of(request("a").key) is Priority.CURRENT
    assert len(queue) == 2
    assert drain(queue) == ["a", "b"]


def test_removed_requests_never_come_out():
    queue = RequestQueue()
    for name in "abc":
        queue.push(request(name), Priority.BACKGROUND)
    assert queue.remove(request("b").key) is not None
    assert queue.remove(request("b").key) is None
    assert request("b").key not in queue
    assert drain(queue) == ["a", "c"]


def test_requests_passed_over_keep_their_places():
    """A bridge whose states are not made yet is passed over without losing its turn: once
    they are made it runs before the requests queued after it (stinger renditions)."""
    queue = RequestQueue()
    for name in ("bridge", "rendition1", "rendition2"):
        queue.push(request(name), Priority.BACKGROUND)
    queue.push(request("later"), Priority.REACHABLE)
    queue.remove(request("rendition2").key)
    waiting = {request("bridge").key}
    popped = queue.pop_first(lambda r: r.key not in waiting)
    assert popped is not None and popped[0].name == "later"
    popped = queue.pop_first(lambda r: r.key not in waiting)
    assert popped is not None and popped[0].name == "rendition1"
    assert queue.pop_first(lambda r: r.key not in waiting) is None
    assert len(queue) == 1
    queue.push(request("rendition3"), Priority.BACKGROUND)
    assert drain(queue) == ["bridge", "rendition3"]


def test_request_keys_ignore_what_does_not_change_the_audio():
    state = make_state()
    assert request_key(state) == request_key(dataclasses.replace(state, source_file="x.toml"))
    assert request_key(state) != request_key(dataclasses.replace(state, seed=99))


def test_pack_priorities_put_the_current_state_first_then_where_it_can_go():
    pack = load_pack("templates/fantasy_rpg")
    ordered = pack_requests(pack, "explore")
    assert ordered[0][0].name == "explore" and ordered[0][1] is Priority.CURRENT
    reachable = [s.name for s, p in ordered if p is Priority.REACHABLE]
    assert reachable == likely_next(pack, "explore")
    assert {"town", "battle"} <= set(reachable)
    background = [s.name for s, p in ordered if p is Priority.BACKGROUND]
    assert "menu" in background
    renditions = {
        f"{stinger}@{state}"
        for stinger, st in pack.stingers.items()
        if st.spec is not None
        for state in pack.states
    }
    assert set(s.name for s, _ in ordered) == set(pack.states) | renditions | {
        n for n, st in pack.stingers.items() if st.spec is not None
    } | {"bridge:explore->town", "bridge:town->explore"}  # the bridges its rules ask for
    assert pack_requests(pack)[0][0].name == pack.start_state


def test_stinger_renditions_come_after_every_state_and_stinger_current_host_first():
    pack = load_pack("templates/fantasy_rpg")
    names = [s.name for s, _ in pack_requests(pack, "explore")]
    bridges = [n for n in names if n.startswith("bridge:")]
    first_bridge = names.index(bridges[0])
    # the pack's bridges follow its states and stingers, before the renditions
    assert names[first_bridge : first_bridge + len(bridges)] == bridges
    assert first_bridge == len(pack.states) + len(pack.stingers)
    names = [n for n in names if not n.startswith("bridge:")]
    first_rendition = next(i for i, n in enumerate(names) if "@" in n)
    assert all("@" not in n for n in names[:first_rendition])
    assert all("@" in n for n in names[first_rendition:])
    assert len(names[:first_rendition]) == len(pack.states) + len(pack.stingers)
    hosts = [n.split("@")[1] for n in names[first_rendition:]]
    assert hosts[: len(pack.stingers)] == ["explore"] * len(pack.stingers)
    reachable = likely_next(pack, "explore")
    assert hosts[len(pack.stingers) : len(pack.stingers) * (1 + len(reachable))] == [
        host for host in reachable for _ in pack.stingers
    ]
