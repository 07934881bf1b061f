"""`Scheduler`: pre-generates variant sets into the cache in a pool of worker processes.

Requests wait in a priority queue (`requests.RequestQueue`); a dispatcher thread hands the
most urgent one to an idle worker, reads the workers' messages and turns them into
`SchedulerEvent`s and resolved futures. Nothing here blocks an asyncio loop: `submit`,
`focus` and `cancel` only take a lock and wake the dispatcher; listeners are called on the
dispatcher thread (an asyncio service forwards with ``loop.call_soon_threadsafe``), and
`subscribe` hands out a thread-safe queue instead.

A worker that dies (killed, out of memory) fails its attempt with the exit code as the
cause; the set is retried up to `retries` times on a fresh worker. Cancelling a running set
kills its worker, whose half-written files never become visible (see the cache).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for
from typing import Any

from middleware.cache import EngineKey, VariantCache
from middleware.cache.cache import default_budget_bytes, default_root
from middleware.cache.keys import StateLike, set_key
from middleware.scheduler.errors import (
    SchedulerClosedError,
    SchedulerConfigError,
    SetFailedError,
)
from middleware.scheduler.events import EventKind, SchedulerEvent
from middleware.scheduler.requests import Priority, RequestQueue, SetRequest
from middleware.scheduler.worker import DEFAULT_ENGINE_FACTORY, Task, WorkerConfig, worker_main

#: The engine-free part of a set's identity: requests are joined on it.
_REQUEST_ENGINE = EngineKey("request", "request", "")

Listener = Callable[[SchedulerEvent], None]
#: How often a set another process is generating is looked at again.
CLAIM_POLL_S = 0.5


def request_key(state: StateLike, variants: int | None = None) -> str:
    """Identifies a request: the state's cache key with the engine part left out."""
    return set_key(state, _REQUEST_ENGINE, variants)


def likely_next(pack: Any, current: str) -> list[str]:
    """States a session in `current` is likely to reach next: a one-shot's `next`, then
    the targets of transition rules leaving `current` (or any state), in pack order."""
    return [s for s in pack.reachable_from(current) if _is_likely(pack, current, s)]


def _is_likely(pack: Any, current: str, target: str) -> bool:
    state = pack.states.get(current)
    if state is not None and state.next == target:
        return True
    return any(rule.target == target and rule.source in (current, "*") for rule in pack.transitions)


def pack_requests(pack: Any, current: str | None = None) -> list[tuple[StateLike, Priority]]:
    """Every state (and generated stinger) of a pack with its priority for `current`.

    `current` defaults to the pack's start state. Stingers are one variant each.
    """
    here = current if current is not None else pack.start_state
    requests: list[tuple[StateLike, Priority]] = []
    if here in pack.states:
        requests.append((pack.states[here], Priority.CURRENT))
    nearby = likely_next(pack, here) if here in pack.states else []
    requests += [(pack.states[name], Priority.REACHABLE) for name in nearby]
    taken = {here, *nearby}
    requests += [(s, Priority.BACKGROUND) for n, s in pack.states.items() if n not in taken]
    requests += [
        (_OneVariant(stinger), Priority.BACKGROUND)
        for stinger in pack.stingers.values()
        if stinger.spec is not None
    ]
    # bridges before stinger renditions: a bridge waits for its two states (`_after`) and
    # then runs next (about 1 s each), instead of after every rendition of the pack
    from middleware.bridges.requests import bridge_requests

    requests += [(bridge, Priority.BACKGROUND) for bridge in bridge_requests(pack)]
    requests += _rendition_requests(pack, [here, *nearby])
    return requests


def _after(state: StateLike) -> tuple[str, ...]:
    """The request keys a set waits for: the states a bridge connects (nothing otherwise)."""
    if getattr(state, "bridge", None) is None:
        return ()
    source, target = state.source, state.target  # type: ignore[attr-defined]
    return (request_key(source), request_key(target))


def _rendition_requests(pack: Any, first: list[str]) -> list[tuple[StateLike, Priority]]:
    """Stinger renditions (one per stinger and host state), after every state and stinger:
    the current state's first, then the likely next states', then the rest."""
    from middleware.templates.renditions import pack_renditions

    rank = {name: index for index, name in enumerate(first)}
    found = pack_renditions(pack) if hasattr(pack, "stingers") else ()
    ordered = sorted(found, key=lambda r: rank.get(r.host, len(rank)))
    return [(item, Priority.BACKGROUND) for item in ordered]


@dataclass(frozen=True)
class _OneVariant:
    """A stinger seen as a one-variant state."""

    template: Any

    @property
    def name(self) -> str:
        return str(self.template.name)

    @property
    def spec(self) -> Any:
        return self.template.spec

    @property
    def seed(self) -> int:
        return int(self.template.seed)

    variants: int = 1


@dataclass(frozen=True)
class SetResult:
    state: str
    key: str
    generated: bool  # False: the cache already held it
    variants: int
    attempts: int
    elapsed_s: float


@dataclass
class _Job:
    request: SetRequest
    priority: Priority
    future: Future[SetResult]
    attempts: int = 0
    queued_at: float = field(default_factory=time.monotonic)
    last_error: str | None = None
    cancelled: bool = False


@dataclass
class _Worker:
    worker_id: int
    process: Any
    conn: Any
    state: str = "starting"  # starting | idle | busy | stopping | dead
    job: _Job | None = None
    task_id: int = -1
    pid: int | None = None


class Scheduler:
    """A pool of engine workers filling one cache root, most urgent set first."""

    def __init__(
        self,
        cache_root: str | os.PathLike[str] | None = None,
        *,
        workers: int | None = None,
        engine_factory: str = DEFAULT_ENGINE_FACTORY,
        retries: int = 2,
        budget_bytes: int | None = None,
        engine_key: EngineKey | None = None,
    ) -> None:
        count = workers if workers is not None else (os.cpu_count() or 1)
        if not isinstance(count, int) or count < 1:
            raise SchedulerConfigError(
                f"workers must be >= 1, got {workers!r}", {"workers": workers}
            )
        if not isinstance(retries, int) or retries < 0:
            raise SchedulerConfigError(
                f"retries must be >= 0, got {retries!r}", {"retries": retries}
            )
        if ":" not in engine_factory:
            raise SchedulerConfigError(
                f"engine_factory must be 'module:callable', got {engine_factory!r}",
                {"engine_factory": engine_factory},
            )
        self.cache = VariantCache(
            cache_root if cache_root is not None else default_root(), budget_bytes=budget_bytes
        )
        self.worker_count = count
        self.engine_factory = engine_factory
        self.retries = retries
        self.engine_key = engine_key  # learnt from the first worker when not given
        self._budget_bytes = budget_bytes if budget_bytes is not None else default_budget_bytes()
        self._threads_per_worker = max(1, (os.cpu_count() or 1) // count)
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.RLock()
        self._queue = RequestQueue()
        self._jobs: dict[str, _Job] = {}  # queued or running, by request key
        self._workers: dict[int, _Worker] = {}
        self._deferred: list[tuple[float, _Job]] = []  # (monotonic time, job) claimed elsewhere
        self._next_worker_id = 0
        self._next_task_id = 0
        self._events: list[SchedulerEvent] = []
        self._resolutions: list[tuple[Future[SetResult], SetResult | BaseException | None]] = []
        self._listeners: list[Listener] = []
        self._idle = threading.Condition(self._lock)
        self._closing = False
        self._closed = False
        self._broken: str | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        for _ in range(count):
            self._spawn_worker()
        self._thread = threading.Thread(target=self._run, name="ostinato-scheduler", daemon=True)
        self._thread.start()

    # -- public API ---------------------------------------------------------------------

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(event)` on the dispatcher thread for every event; keep it short."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.remove(listener)

    def subscribe(self) -> queue.SimpleQueue[SchedulerEvent]:
        """A thread-safe queue that receives every event from now on."""
        events: queue.SimpleQueue[SchedulerEvent] = queue.SimpleQueue()
        self.add_listener(events.put)
        return events

    def submit(
        self,
        state: StateLike,
        priority: Priority = Priority.BACKGROUND,
        *,
        variants: int | None = None,
    ) -> Future[SetResult]:
        """Ask for a state's set; returns a future resolved when it is in the cache.

        A set already queued or running is joined (the same future); asking with a more
        urgent priority moves a queued set up. A set already cached resolves at once.
        """
        count = variants if variants is not None else getattr(state, "variants", 1)
        if not isinstance(count, int) or count < 1:
            raise SchedulerConfigError(
                f"variant count for {state.name!r} must be >= 1, got {count!r}",
                {"state": state.name},
            )
        key = request_key(state, count)
        with self._lock:
            if self._closing:
                raise SchedulerClosedError("the scheduler is shut down", {"state": state.name})
            job = self._jobs.get(key)
            if job is not None:
                if key in self._queue and self._queue.push(job.request, priority) == "raised":
                    job.priority = priority
                    self._event(EventKind.RAISED, job)
                else:
                    self._event(EventKind.JOINED, job)
                self._wake()
                return job.future
            job = _Job(SetRequest(key, state, count, _after(state)), priority, Future())
            if self.engine_key is not None and self.cache.has_set(
                state, self.engine_key, variants=count
            ):
                self._event(EventKind.SET_READY, job, generated=False)
                job.future.set_result(SetResult(state.name, key, False, count, 0, 0.0))
            elif self._broken is not None:
                self._fail(job, self._broken)
            else:
                self._jobs[key] = job
                self._queue.push(job.request, priority)
                self._event(EventKind.QUEUED, job)
            self._wake()
            return job.future

    def submit_many(
        self, requests: Iterable[tuple[StateLike, Priority]]
    ) -> dict[str, Future[SetResult]]:
        return {state.name: self.submit(state, priority) for state, priority in requests}

    def focus(self, pack: Any, current: str) -> dict[str, Future[SetResult]]:
        """A session entered `current`: make it most urgent, then where it can go next."""
        return self.submit_many(pack_requests(pack, current))

    def cancel(self, state: StateLike, *, variants: int | None = None) -> bool:
        """Drop a queued request, or stop a running one (its worker is replaced)."""
        key = request_key(state, variants)
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                return False
            job.cancelled = True
            if self._queue.remove(key) is None:
                for worker in self._workers.values():
                    if worker.job is job and worker.state == "busy":
                        worker.state = "stopping"
                        worker.process.kill()
            del self._jobs[key]
            self._event(EventKind.CANCELLED, job)
            self._resolutions.append((job.future, None))
            self._wake()
            return True

    def queued(self) -> list[str]:
        """State names waiting, in the order they would run."""
        with self._lock:
            return [self._jobs[k].request.name for k in self._queue.ordered_keys()]

    def running(self) -> list[str]:
        with self._lock:
            return [w.job.request.name for w in self._workers.values() if w.job is not None]

    def wait_ready(self, timeout_s: float | None = None) -> bool:
        """Block until every worker has loaded its engine (or the engine failed to start)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._idle:
            while self._broken is None and any(
                w.state == "starting" for w in self._workers.values()
            ):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return self._broken is None

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Block until nothing is queued or running (not from the dispatcher thread)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._idle:
            while self._jobs:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def close(self, *, cancel_pending: bool = True, timeout_s: float = 30.0) -> None:
        """Stop: cancel (or first finish) pending work, stop every worker, clean up files.

        Never leaves a worker process behind: workers that do not stop in `timeout_s` are
        killed, and the cache's recovery removes whatever they were writing.
        """
        with self._lock:
            if self._closed:
                return
            if not cancel_pending:
                self._closing = True
        if not cancel_pending:
            self.wait_idle(timeout_s)
        with self._lock:
            self._closing = True
            for job in list(self._jobs.values()):
                job.cancelled = True
                self._queue.remove(job.request.key)
                self._event(EventKind.CANCELLED, job)
                self._resolutions.append((job.future, None))
            self._jobs.clear()
            self._deferred.clear()
            for worker in self._workers.values():
                if worker.state == "busy" or worker.state == "starting":
                    worker.process.kill()
                elif worker.state == "idle":
                    with contextlib.suppress(OSError):
                        worker.conn.send(None)
                worker.state = "stopping"
            self._wake()
        deadline = time.monotonic() + timeout_s
        for worker in list(self._workers.values()):
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        with self._lock:
            self._closed = True
            self._wake()
        self._thread.join()
        for worker in self._workers.values():
            worker.conn.close()
            worker.process.close()
        self._deliver()
        os.close(self._wake_r)
        os.close(self._wake_w)
        self.cache.recover()
        self.cache.close()

    # -- internals (the lock is held unless noted) -----------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _event(self, kind: EventKind, job: _Job, **fields: Any) -> None:
        self._events.append(
            SchedulerEvent(
                kind,
                job.request.name,
                job.request.key,
                int(job.priority),
                attempt=job.attempts,
                **fields,
            )
        )

    def _fail(self, job: _Job, cause: str) -> None:
        self._event(EventKind.FAILED, job, error=cause)
        error = SetFailedError(
            f"could not generate {job.request.name!r} after {job.attempts} attempt(s): {cause}",
            {
                "state": job.request.name,
                "key": job.request.key,
                "attempts": job.attempts,
                "cause": cause,
            },
        )
        self._resolutions.append((job.future, error))

    def _spawn_worker(self) -> None:
        worker_id = self._next_worker_id
        self._next_worker_id += 1
        parent_conn, child_conn = self._context.Pipe(duplex=True)
        config = WorkerConfig(
            worker_id,
            str(self.cache.root),
            self._budget_bytes,
            self.engine_factory,
            self._threads_per_worker,
        )
        process = self._context.Process(
            target=worker_main,
            args=(config, child_conn, os.getpid()),
            name=f"ostinato-worker-{worker_id}",
            daemon=True,
        )
        process.start()
        child_conn.close()
        self._workers[worker_id] = _Worker(worker_id, process, parent_conn)

    def _run(self) -> None:
        """The dispatcher thread: read messages, reap dead workers, dispatch, deliver."""
        while True:
            with self._lock:
                if self._closed:
                    break
                watched: list[Any] = [self._wake_r]
                for worker in self._workers.values():
                    if worker.state != "dead":
                        watched += [worker.conn, worker.process.sentinel]
            ready = wait_for(watched, timeout=CLAIM_POLL_S / 2)
            with self._lock:
                if self._wake_r in ready:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
                for worker in list(self._workers.values()):
                    if worker.state != "dead" and (
                        worker.conn in ready or worker.process.sentinel in ready
                    ):
                        self._drain(worker)
                    if worker.state != "dead" and worker.process.sentinel in ready:
                        self._reap(worker)
                self._dispatch()
                self._idle.notify_all()
            self._deliver()

    def _drain(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                self._handle(worker, worker.conn.recv())
        except (EOFError, OSError):
            pass  # the worker is gone; its sentinel fires and `_reap` handles it
        except Exception as error:  # a message cut short by a killed worker
            self._reap(worker, f"unreadable message from the worker: {error}")

    def _handle(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            worker.pid = message[2]
            if self.engine_key is None:
                self.engine_key = EngineKey.from_json(message[1])
            if worker.state == "starting":
                worker.state = "idle"
            return
        if kind == "broken":
            worker.state = "dead"
            self._broken = f"the engine could not start: {message[1]}"
            if not any(w.state in ("starting", "idle", "busy") for w in self._workers.values()):
                for job in list(self._jobs.values()):
                    self._queue.remove(job.request.key)
                    self._fail(job, self._broken)
                self._jobs.clear()
            return
        job = worker.job
        if job is None or message[1] != worker.task_id:
            return  # a message about a task that was cancelled
        if kind == "progress":
            _, _, stage, done, total = message
            self._event(
                EventKind.PROGRESS,
                job,
                stage=stage,
                done=done,
                total=total,
                worker=worker.worker_id,
            )
        elif kind == "variant":
            self._event(
                EventKind.VARIANT_READY, job, variant_index=message[2], worker=worker.worker_id
            )
        elif kind == "done":
            _, _, generated, elapsed_s = message
            self._finish(worker)
            self._jobs.pop(job.request.key, None)
            self._event(
                EventKind.SET_READY,
                job,
                generated=generated,
                elapsed_s=elapsed_s,
                worker=worker.worker_id,
            )
            result = SetResult(
                job.request.name,
                job.request.key,
                generated,
                job.request.variants,
                job.attempts,
                elapsed_s,
            )
            self._resolutions.append((job.future, result))
        elif kind == "failed":
            self._finish(worker)
            self._attempt_failed(job, message[2])
        elif kind == "elsewhere":  # another process holds the set's claim: look again soon
            self._finish(worker)
            job.attempts -= 1
            self._deferred.append((time.monotonic() + CLAIM_POLL_S, job))
            self._event(EventKind.WAITING, job)

    def _finish(self, worker: _Worker) -> None:
        worker.job = None
        if worker.state == "busy":
            worker.state = "idle"

    def _attempt_failed(self, job: _Job, cause: str) -> None:
        job.last_error = cause
        if job.cancelled or self._closing:
            return
        if job.attempts <= self.retries:
            self._event(EventKind.RETRYING, job, error=cause)
            self._queue.push(job.request, job.priority)
        else:
            self._jobs.pop(job.request.key, None)
            self._fail(job, cause)

    def _reap(self, worker: _Worker, cause: str | None = None) -> None:
        """A worker process ended: fail its attempt, clean its files, start a replacement."""
        worker.state = "dead"
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        code = worker.process.exitcode
        job, worker.job = worker.job, None
        self.cache.recover()
        if job is not None and not job.cancelled:
            self._attempt_failed(job, cause or f"worker process exited with code {code}")
        if not self._closing:
            del self._workers[worker.worker_id]
            worker.conn.close()
            worker.process.close()
            if self._broken is None:
                self._spawn_worker()

    def _dispatch(self) -> None:
        if self._closing:
            return
        now = time.monotonic()
        due = [job for when, job in self._deferred if when <= now]
        self._deferred = [(when, job) for when, job in self._deferred if when > now]
        for job in due:
            if not job.cancelled:
                self._queue.push(job.request, job.priority)
        for worker in self._workers.values():
            if worker.state != "idle" or not self._queue:
                continue
            # a bridge whose states are not made yet stays queued in its place
            popped = self._queue.pop_first(lambda r: not any(k in self._jobs for k in r.after))
            if popped is None:
                break
            request, _ = popped
            job = self._jobs[request.key]
            job.attempts += 1
            self._next_task_id += 1
            worker.task_id = self._next_task_id
            task = Task(worker.task_id, request.key, request.state, request.variants, job.attempts)
            try:
                worker.conn.send(task)
            except OSError:
                self._queue.push(request, job.priority)
                job.attempts -= 1
                continue
            worker.state, worker.job = "busy", job
            self._event(EventKind.STARTED, job, worker=worker.worker_id)

    def _deliver(self) -> None:
        """Hand out events and resolve futures, outside the lock (called without it)."""
        with self._lock:
            events, self._events = self._events, []
            resolutions, self._resolutions = self._resolutions, []
            listeners = list(self._listeners)
        for event in events:
            for listener in listeners:
                listener(event)
        for future, outcome in resolutions:
            if outcome is None:
                future.cancel()
            elif isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
