"""The scheduler with real worker processes, a real cache and real files.

Ordering, joining, retries, cancellation and crashes are checked with the tone engine
(`test_cache_support.ToneEngine`, whose pace the test sets); the real engine's run is in
test_scheduler_engine.py.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import CancelledError
from pathlib import Path

import pytest
from test_cache_support import make_state

from middleware.cache import VariantCache
from middleware.scheduler import (
    EventKind,
    Priority,
    Scheduler,
    SchedulerClosedError,
    SchedulerConfigError,
    SetFailedError,
    likely_next,
    pack_requests,
)
from middleware.templates.loader import load_pack

TONE = "test_cache_support:make_tone_engine"


def pid_gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone, or going while read
        return True
    return "State:\tZ" in status


def wait_until(predicate, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


def kinds(events, state: str) -> list[EventKind]:
    return [e.kind for e in events if e.state == state]


@pytest.fixture
def tone_pace(monkeypatch):
    def set_pace(seconds_per_variant: float, frames: int | None = None) -> None:
        monkeypatch.setenv("TONE_ENGINE_SECONDS", str(seconds_per_variant))
        if frames is not None:
            monkeypatch.setenv("TONE_ENGINE_FRAMES", str(frames))

    return set_pace


def test_a_set_is_generated_into_the_cache_with_per_variant_events(tmp_path, tone_pace):
    tone_pace(0.01)
    state = make_state(variants=3)
    with Scheduler(tmp_path, workers=1, engine_factory=TONE) as scheduler:
        events = scheduler.subscribe()
        result = scheduler.submit(state, Priority.CURRENT).result(timeout=60)
        assert result.generated and result.variants == 3 and result.attempts == 1
        seen = [events.get(timeout=5) for _ in range(100) if not events.empty()]
        engine_key = scheduler.engine_key
    order = kinds(seen, "explore")
    assert order[0] is EventKind.QUEUED and order[1] is EventKind.STARTED
    assert EventKind.PROGRESS in order and order[-1] is EventKind.SET_READY
    assert [e.variant_index for e in seen if e.kind is EventKind.VARIANT_READY] == [0, 1, 2]
    with VariantCache(tmp_path) as cache:
        assert cache.get_set(state, engine_key) is not None
        assert cache.verify().clean


def test_a_cached_set_resolves_at_once_without_work(tmp_path, tone_pace):
    tone_pace(0.01)
    state = make_state()
    with Scheduler(tmp_path, workers=1, engine_factory=TONE) as scheduler:
        scheduler.submit(state).result(timeout=60)
        again = scheduler.submit(state)
        assert again.done() and again.result().generated is False
    with Scheduler(tmp_path, workers=1, engine_factory=TONE) as fresh:  # no key known yet
        assert fresh.submit(state).result(timeout=60).generated is False


def test_requests_run_by_priority_and_duplicates_are_joined(tmp_path, tone_pace):
    tone_pace(0.15)
    blocker = make_state("blocker", prompt="slow: keeps the worker busy", variants=1)
    names = ["rest1", "near", "rest2", "now"]
    states = {n: make_state(n, prompt=f"theme {n}", variants=1) for n in names}
    with Scheduler(tmp_path, workers=1, engine_factory=TONE) as scheduler:
        events = []
        scheduler.add_listener(events.append)
        first = scheduler.submit(blocker)
        wait_until(lambda: scheduler.running() == ["blocker"])
        futures = {
            "rest1": scheduler.submit(states["rest1"], Priority.BACKGROUND),
            "near": scheduler.submit(states["near"], Priority.REACHABLE),
            "rest2": scheduler.submit(states["rest2"], Priority.BACKGROUND),
            "now": scheduler.submit(states["now"], Priority.CURRENT),
        }
        assert scheduler.submit(states["near"], Priority.BACKGROUND) is futures["near"]
        assert scheduler.submit(states["rest2"], Priority.REACHABLE) is futures["rest2"]
        assert scheduler.submit(blocker) is first  # running: joined, not run twice
        assert scheduler.queued() == ["now", "near", "rest2", "rest1"]
        for future in futures.values():
            future.result(timeout=60)
        first.result(timeout=60)
    ready = [e.state for e in events if e.kind is EventKind.SET_READY]
    assert ready == ["blocker", "now", "near", "rest2", "rest1"]
    started = [e.state for e in events if e.kind is EventKind.STARTED]
    assert sorted(started) == sorted(["blocker", *names])  # each ran exactly once
    assert kinds(events, "near").count(EventKind.JOINED) == 1
    assert kinds(events, "rest2").count(EventKind.RAISED) == 1


def test_a_failing_set_is_retried_a_bounded_number_of_times(tmp_path, tone_pace):
    tone_pace(0.01)
    bad = make_state("cursed", prompt="this one will fail")
    good = make_state("fine")
    with Scheduler(tmp_path, workers=1, engine_factory=TONE, retries=2) as scheduler:
        events = []
        scheduler.add_listener(events.append)
        failing, working = scheduler.submit(bad), scheduler.submit(good)
        with pytest.raises(SetFailedError) as caught:
            failing.result(timeout=60)
        assert working.result(timeout=60).generated
    assert caught.value.code == "pregen_failed"
    assert caught.value.detail["attempts"] == 3
    assert "tone engine refuses 'cursed'" in caught.value.detail["cause"]
    order = kinds(events, "cursed")
    assert order.count(EventKind.STARTED) == 3 and order.count(EventKind.RETRYING) == 2
    assert order[-1] is EventKind.FAILED


@pytest.mark.slow
def test_a_worker_killed_mid_write_is_replaced_and_the_set_redone(tmp_path, tone_pace):
    tone_pace(0.0, frames=1_500_000)  # large variants: writing one takes a while
    state = make_state("forest", variants=2)
    with Scheduler(tmp_path, workers=1, engine_factory=TONE) as scheduler:
        events = []
        scheduler.add_listener(events.append)
        future = scheduler.submit(state, Priority.CURRENT)
        tmp_dir = tmp_path / "tmp"
        wait_until(lambda: any(p.stat().st_size > 0 for p in tmp_dir.glob("*.part")), 60)
        (victim,) = [p for p in scheduler._workers.values() if p.state == "busy"]
        victim_pid = victim.process.pid
        os.kill(victim_pid, signal.SIGKILL)
        result = future.result(timeout=90)
        assert result.attempts == 2 and result.generated
        engine_key = scheduler.engine_key
    retry = [e for e in events if e.kind is EventKind.RETRYING]
    assert len(retry) == 1 and "exited with code -9" in retry[0].error
    assert pid_gone(victim_pid)
    assert not list(tmp_dir.iterdir())
    with VariantCache(tmp_path) as cache:
        assert cache.verify().clean
        loaded = cache.get_set(state, engine_key)
        assert loaded is not None and loaded.variants[1].mix.shape == (1_500_000, 2)


def test_cancelling_queued_and_running_sets(tmp_path, tone_pace):
    tone_pace(0.5)
    running, queued = make_state("running", prompt="slow one"), make_state("queued", prompt="two")
    with Scheduler(tmp_path, workers=1, engine_factory=TONE) as scheduler:
        events = []
        scheduler.add_listener(events.append)
        busy = scheduler.submit(running)
        waiting = scheduler.submit(queued)
        wait_until(lambda: scheduler.running() == ["running"])
        (worker,) = [w for w in scheduler._workers.values() if w.state == "busy"]
        worker_pid = worker.process.pid
        assert scheduler.cancel(queued) and scheduler.cancel(running)
        assert not scheduler.cancel(queued)
        with pytest.raises(CancelledError):
            waiting.result(timeout=5)
        with pytest.raises(CancelledError):
            busy.result(timeout=5)
        wait_until(lambda: pid_gone(worker_pid))
        tone_pace(0.01)
        again = scheduler.submit(make_state("after", prompt="three"))  # a fresh worker runs it
        assert again.result(timeout=60).generated
    assert kinds(events, "running")[-1] is EventKind.CANCELLED
    assert EventKind.STARTED not in kinds(events, "queued")


def test_a_future_its_caller_cancelled_does_not_stop_deliveries(tmp_path, tone_pace):
    """A caller that gives up (cancels the future it was given, as an asyncio wrapper does
    when its task is cancelled) while the set is generated: the set still lands, and the
    scheduler's thread goes on delivering later results (it used to die resolving the
    cancelled future, leaving every later request waiting for ever)."""
    tone_pace(0.2)
    with Scheduler(tmp_path, workers=1, engine_factory=TONE) as scheduler:
        given_up = scheduler.submit(make_state("given_up", prompt="one"))
        wait_until(lambda: scheduler.running() == ["given_up"])
        assert given_up.cancel()  # the caller stops waiting; the job itself goes on
        tone_pace(0.01)
        later = scheduler.submit(make_state("later", prompt="two"))
        assert later.result(timeout=60).generated
        assert scheduler._thread.is_alive()


def test_close_stops_every_worker_and_refuses_new_work(tmp_path, tone_pace):
    tone_pace(1.0)
    scheduler = Scheduler(tmp_path, workers=2, engine_factory=TONE)
    pending = [scheduler.submit(make_state(f"s{i}", prompt=f"p{i}")) for i in range(4)]
    wait_until(lambda: len(scheduler.running()) == 2)
    pids = [w.process.pid for w in scheduler._workers.values()]
    scheduler.close(timeout_s=5)
    assert all(pid_gone(pid) for pid in pids)
    assert all(f.cancelled() for f in pending)
    assert not list((tmp_path / "tmp").iterdir())
    with pytest.raises(SchedulerClosedError):
        scheduler.submit(make_state())
    with VariantCache(tmp_path) as cache:
        assert cache.verify().clean


def test_an_engine_that_cannot_start_fails_requests_with_its_cause(tmp_path):
    with Scheduler(tmp_path, workers=1, engine_factory="no_such_module:Engine") as scheduler:
        with pytest.raises(SetFailedError, match="No module named 'no_such_module'"):
            scheduler.submit(make_state()).result(timeout=60)
        with pytest.raises(SetFailedError):
            scheduler.submit(make_state("other")).result(timeout=5)


def test_bad_settings_raise_typed_errors(tmp_path):
    with pytest.raises(SchedulerConfigError):
        Scheduler(tmp_path, workers=0)
    with pytest.raises(SchedulerConfigError):
        Scheduler(tmp_path, retries=-1)
    with pytest.raises(SchedulerConfigError):
        Scheduler(tmp_path, engine_factory="engine_core.generate")


def test_focus_moves_a_sessions_state_and_its_targets_to_the_front(tmp_path, tone_pace):
    tone_pace(2.0, frames=2000)
    pack = load_pack("templates/fantasy_rpg")
    with Scheduler(tmp_path, workers=1, engine_factory=TONE) as scheduler:
        scheduler.submit(make_state("blocker", variants=1))
        wait_until(lambda: scheduler.running() == ["blocker"])
        everything = [(state, Priority.BACKGROUND) for state, _ in pack_requests(pack)]
        scheduler.submit_many(everything)
        assert scheduler.queued()[0] == pack.start_state
        scheduler.focus(pack, "battle")
        nearby = likely_next(pack, "battle")
        assert scheduler.queued()[: 1 + len(nearby)] == ["battle", *nearby]
