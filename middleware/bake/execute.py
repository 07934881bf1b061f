"""Run bake jobs: in this process, in a local process pool, or on a Dask cluster.

All three call the same `run_job`, which returns bytes and writes nothing, so the output
does not depend on where a job ran. Results come back as they finish; the caller orders
them. Progress: `on_progress(job_id, fraction)` (fractions from the engine in-process and
in the local pool; on Dask, 1.0 when a job finishes).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import queue as queue_module
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from middleware.bake.errors import BakeError
from middleware.bake.plan import DEFAULT_ENGINE_FACTORY, BakeJob
from middleware.bake.work import JobResult, run_job

OnProgress = Callable[[str, float], None]


@dataclass(frozen=True)
class PendingJob:
    job_id: str  # "state:battle"
    job: BakeJob
    bake_key: str


def run_jobs(
    pending: Sequence[PendingJob],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    cache_dir: str | None = None,
    on_progress: OnProgress | None = None,
    engine_factory: str = DEFAULT_ENGINE_FACTORY,
) -> Iterator[JobResult]:
    """Yield each pending job's result as it finishes."""
    if not pending:
        return
    if scheduler is not None:
        yield from _run_dask(pending, scheduler, cache_dir, on_progress, engine_factory)
    elif min(workers, len(pending)) <= 1:  # one job: no pool to start, the engine is loaded
        for item in pending:
            report = _reporter(item.job_id, on_progress)
            yield run_job(item.job, item.bake_key, cache_dir, report, engine_factory)
    else:
        yield from _run_pool(pending, workers, cache_dir, on_progress, engine_factory)


def _reporter(job_id: str, on_progress: OnProgress | None) -> Callable[[float], None] | None:
    if on_progress is None:
        return None
    return lambda fraction: on_progress(job_id, fraction)


def _init_worker(threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)


class _QueueProgress:
    """A picklable progress callback that forwards fractions through a manager queue."""

    def __init__(self, job_id: str, channel: Any) -> None:
        self.job_id = job_id
        self.channel = channel

    def __call__(self, fraction: float) -> None:
        self.channel.put((self.job_id, float(fraction)))


def _run_pool(
    pending: Sequence[PendingJob],
    workers: int,
    cache_dir: str | None,
    on_progress: OnProgress | None,
    engine_factory: str,
) -> Iterator[JobResult]:
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // workers)
    with context.Manager() as manager:
        channel = manager.Queue()
        with cf.ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(threads,)
        ) as pool:
            futures = {
                pool.submit(
                    run_job,
                    item.job,
                    item.bake_key,
                    cache_dir,
                    _QueueProgress(item.job_id, channel),
                    engine_factory,
                ): item
                for item in pending
            }
            remaining = set(futures)
            while remaining:
                done, remaining = cf.wait(remaining, timeout=0.2)
                _drain(channel, on_progress)
                for future in done:
                    yield future.result()
            _drain(channel, on_progress)


def _drain(channel: Any, on_progress: OnProgress | None) -> None:
    while True:
        try:
            job_id, fraction = channel.get_nowait()
        except queue_module.Empty:
            return
        if on_progress is not None:
            on_progress(job_id, fraction)


def _run_dask(
    pending: Sequence[PendingJob],
    scheduler: str,
    cache_dir: str | None,
    on_progress: OnProgress | None,
    engine_factory: str,
) -> Iterator[JobResult]:
    from distributed import Client, as_completed

    try:
        client = Client(scheduler, timeout="10s")
    except OSError as error:
        raise BakeError(
            f"cannot reach the Dask scheduler at {scheduler}: {error}", {"scheduler": scheduler}
        ) from error
    with client:
        futures = [
            client.submit(
                run_job,
                item.job,
                item.bake_key,
                cache_dir,
                None,
                engine_factory,
                pure=False,
                key=f"bake-{item.job_id}-{item.bake_key}",
            )
            for item in pending
        ]
        for future in as_completed(futures):
            result: JobResult = future.result()
            if on_progress is not None:
                on_progress(f"{result.kind}:{result.name}", 1.0)
            yield result
