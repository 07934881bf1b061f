"""Rendering on several cores: one task per (variant, stem) in worker processes, and the
loudness measurement of each variant as soon as its stems are done.

The synthesiser (RustySynth inside `midirenderer`) holds the GIL while it renders, so
threads do not overlap; processes do. A `RenderPool` keeps its workers (spawned on first
use, so the parent's torch threads are never forked) and each worker keeps the
SoundFonts it has read, keyed by path and checked by digest. Tasks run
`stems.render_stem`, the same function the serial path calls, so the audio is
bit-identical with any worker count. `RenderPool.call` runs any other picklable function
(the engine's loudness measurement) in a worker and hands back a `Deferred`; a serial
pool runs it when its result is asked for, so stage timings stay separate.

A pool with one worker, or one created inside a daemonic process (the scheduler's
generation workers, already one per core, which may not have children), renders in the
calling process instead. A pool whose worker died is rebuilt for the next call and the
current call finishes serially.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from engine_core.arrange.arranger import Arrangement
from engine_core.errors import SoundFontError
from engine_core.render.soundfont import SoundFont
from engine_core.render.stems import render_stem

Progress = Callable[[int, int], None]
T = TypeVar("T")


@functools.lru_cache(maxsize=4)
def _worker_soundfont(path: str, digest: str) -> SoundFont:
    """A worker's copy of the parent's bank; a file changed since the parent read it fails."""
    soundfont = SoundFont.load(path)
    if soundfont.digest != digest:
        raise SoundFontError(
            f"SoundFont {path} changed on disk while rendering (digest {soundfont.digest}, "
            f"expected {digest})",
            {"path": path},
        )
    return soundfont


def _render_task(
    arrangement: Arrangement,
    index: int,
    soundfont_path: str,
    soundfont_digest: str,
    sample_rate: int,
    one_shot: bool,
) -> np.ndarray:
    soundfont = _worker_soundfont(soundfont_path, soundfont_digest)
    return render_stem(arrangement, index, soundfont, sample_rate=sample_rate, one_shot=one_shot)


@dataclass
class Deferred(Generic[T]):
    """The result of `RenderPool.call`: from a worker, or computed here when asked for."""

    pool: RenderPool
    function: Callable[..., T]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    future: cf.Future[T] | None = None

    def result(self) -> T:
        if self.future is not None:
            try:
                return self.future.result()
            except BrokenProcessPool:
                self.pool.close()  # compute it here instead; the next call starts new workers
        return self.function(*self.args, **self.kwargs)


class RenderPool:
    """Renders every stem of a set of arrangements, on `workers` processes."""

    def __init__(self, workers: int = 1) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"render workers must be a positive integer, got {workers!r}")
        self.workers = workers
        self._executor: cf.ProcessPoolExecutor | None = None

    @property
    def parallel(self) -> bool:
        """True when this pool renders in worker processes (see the module docstring)."""
        return self.workers > 1 and not multiprocessing.current_process().daemon

    def render(
        self,
        arrangements: Sequence[Arrangement],
        soundfont: SoundFont,
        *,
        sample_rate: int,
        one_shot: bool,
        progress: Progress | None = None,
        on_variant: Callable[[int, dict[str, np.ndarray]], None] | None = None,
    ) -> list[dict[str, np.ndarray]]:
        """For each arrangement, stem name -> float32 (frames, 2) at `sample_rate`.

        `progress(done, total)` is called as each stem finishes, in completion order;
        `on_variant(index, stems)` as soon as all stems of arrangement `index` are done.
        """
        keys = [
            (a, index)
            for a, arrangement in enumerate(arrangements)
            for index in range(len(arrangement.stems))
        ]
        audio: dict[tuple[int, int], np.ndarray] = {}
        remaining = [len(arrangement.stems) for arrangement in arrangements]

        def stems_of(a: int) -> dict[str, np.ndarray]:
            return {s.stem.name: audio[(a, i)] for i, s in enumerate(arrangements[a].stems)}

        def finished(key: tuple[int, int], stem_audio: np.ndarray) -> None:
            audio[key] = stem_audio
            if progress is not None:
                progress(len(audio), len(keys))
            remaining[key[0]] -= 1
            if remaining[key[0]] == 0 and on_variant is not None:
                on_variant(key[0], stems_of(key[0]))

        if self.parallel and len(keys) > 1:
            self._render_parallel(keys, arrangements, soundfont, sample_rate, one_shot, finished)
        for a, index in keys:
            if (a, index) not in audio:  # the serial path, or what a broken pool left
                finished(
                    (a, index),
                    render_stem(
                        arrangements[a],
                        index,
                        soundfont,
                        sample_rate=sample_rate,
                        one_shot=one_shot,
                    ),
                )
        return [stems_of(a) for a in range(len(arrangements))]

    def call(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> Deferred[T]:
        """`function(*args, **kwargs)` in a worker (a module-level function, picklable
        arguments); a serial pool defers it to `Deferred.result()`."""
        deferred = Deferred(self, function, args, kwargs)
        if self.parallel:
            try:
                deferred.future = self._ensure_executor().submit(function, *args, **kwargs)
            except BrokenProcessPool:
                self.close()
        return deferred

    def _render_parallel(
        self,
        keys: list[tuple[int, int]],
        arrangements: Sequence[Arrangement],
        soundfont: SoundFont,
        sample_rate: int,
        one_shot: bool,
        finished: Callable[[tuple[int, int], np.ndarray], None],
    ) -> None:
        path, digest = str(soundfont.path), soundfont.digest
        try:
            executor = self._ensure_executor()
            futures = {
                executor.submit(
                    _render_task, arrangements[a], index, path, digest, sample_rate, one_shot
                ): (a, index)
                for a, index in keys
            }
            for future in cf.as_completed(futures):
                finished(futures[future], future.result())
        except BrokenProcessPool:
            # a worker died (killed, out of memory): finish serially, rebuild next time
            self.close()

    def _ensure_executor(self) -> cf.ProcessPoolExecutor:
        if self._executor is None:
            self._executor = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self._executor

    def close(self) -> None:
        """Stop the workers (a later `render` starts new ones)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
