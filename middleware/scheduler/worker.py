"""The worker process: loads the engine once, then generates sets straight into the cache.

Started with the ``spawn`` method; talks to the scheduler over its own pipe (tasks in,
tuples out; ``None`` asks it to stop). A pipe per worker means a worker killed mid-message
cannot corrupt or lock the others' channel. A worker whose parent disappears exits on its
own, so a killed service leaves no orphan workers; files it was writing stay under the
cache's ``tmp/`` and are removed by the next process that opens the cache.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from middleware.cache.keys import StateLike

#: The engine a worker loads unless told otherwise (`engine_core.generate.Engine()`).
DEFAULT_ENGINE_FACTORY = "engine_core.generate:Engine"
PROGRESS_INTERVAL_S = 0.1
PARENT_POLL_S = 0.5


@dataclass(frozen=True)
class Task:
    task_id: int
    key: str
    state: StateLike
    variants: int
    attempt: int


@dataclass(frozen=True)
class WorkerConfig:
    worker_id: int
    cache_root: str
    budget_bytes: int
    engine_factory: str  # "module:callable" returning an engine
    threads: int


def load_factory(spec: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute or "Engine")


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent_pid:
            os._exit(3)


def worker_main(config: WorkerConfig, conn: Any, parent_pid: int) -> None:
    """Entry point of a worker process."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(config.threads)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    try:
        from middleware.cache import EngineKey, VariantCache

        engine = load_factory(config.engine_factory)()
        engine_key = EngineKey.from_engine(engine)
        cache = VariantCache(config.cache_root, budget_bytes=config.budget_bytes)
        if config.engine_factory == DEFAULT_ENGINE_FACTORY:
            from middleware.cache.engine import engine_fingerprint, record_engine_key

            record_engine_key(cache, engine_fingerprint(), engine_key)
    except BaseException as error:  # report why the worker cannot start, then exit
        conn.send(("broken", f"{type(error).__name__}: {error}", traceback.format_exc()))
        return
    conn.send(("ready", engine_key.to_json(), os.getpid()))
    try:
        while True:
            task = conn.recv()
            if task is None:
                break
            _run_task(task, engine, engine_key, cache, conn)
    except (EOFError, OSError):
        pass  # the scheduler went away
    finally:
        cache.close()


def _run_task(task: Task, engine: Any, engine_key: Any, cache: Any, conn: Any) -> None:
    started = time.monotonic()
    try:
        have = cache.cached_indices(task.state, engine_key, variants=task.variants)
        if have >= set(range(task.variants)):
            conn.send(("done", task.task_id, False, time.monotonic() - started))
            return
        skey = cache.set_key(task.state, engine_key, task.variants)
        if not cache.claim(skey):
            conn.send(("elsewhere", task.task_id))  # another process is making it
            return
        try:
            have = cache.cached_indices(task.state, engine_key, variants=task.variants)
            if have >= set(range(task.variants)):  # finished elsewhere just before the claim
                conn.send(("done", task.task_id, False, time.monotonic() - started))
                return
            _generate(task, engine, engine_key, cache, conn, started)
        finally:
            cache.release(skey)
    except Exception as error:  # reported to the scheduler, which retries or fails the set
        # (if the pipe itself is gone, this send raises and the worker loop ends)
        conn.send(
            ("failed", task.task_id, f"{type(error).__name__}: {error}", traceback.format_exc())
        )


def _generate(
    task: Task, engine: Any, engine_key: Any, cache: Any, conn: Any, started: float
) -> None:
    last_sent = [0.0, ""]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != last_sent[1] or done == total or now - last_sent[0] > PROGRESS_INTERVAL_S:
            last_sent[0], last_sent[1] = now, stage
            conn.send(("progress", task.task_id, stage, done, total))

    # states, stingers and bridges (a bridge reads its states' scores from the cache)
    from middleware.bridges.generate import cached_scores, generate_item

    variant_set = generate_item(
        engine,
        task.state,
        variants=task.variants,
        progress=progress,
        scores=cached_scores(cache, engine_key),
    )
    for variant in variant_set.variants:
        cache.put_variant(task.state, engine_key, variant, variants=task.variants)
        conn.send(("variant", task.task_id, variant.meta.index))
    conn.send(("done", task.task_id, True, time.monotonic() - started))
