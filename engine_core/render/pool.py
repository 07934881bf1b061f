"""Rendering a variant set on several cores, in worker processes: one task per group of
stems (synthesised in one call: `stem_batch`), then one per variant that mixes and
measures it.

The synthesiser (RustySynth inside `midirenderer`) holds the GIL while it renders, so
threads do not overlap; processes do. A `RenderPool` keeps its workers (spawned, so the
parent's torch threads are never forked) and each worker keeps the SoundFonts it has
read, keyed by path and checked by digest. Workers write stems and mixes into shared
`FileSetBuffer`s (one per variant) rather than sending them back through a pipe.

Overlap: `warm(soundfont)` starts the workers at once (they import the render code, read
the bank and warm the loudness filters while the caller runs the model), and `render`
takes its arrangements lazily, from any iterable: the caller arranges variant N+1 while
the workers synthesise variant N's stems.

Balance: the synthesiser reads the whole bank on every call (about 90 ms for FluidR3_GM,
most of it the kernel handing fresh pages to a 148 MB copy), so a variant's stems are one
call, and four variants on two cores used to finish as unevenly as their sizes. Render
workers keep freed memory instead of returning it to the kernel (`keep_heap`), which makes
a call's bank read about 20 ms and later calls' audio buffers free of page faults. The
variants the workers start last (fewer than `workers` left) are then split into one task
per stem, costliest first by their estimated cost (`stem_cost`): whichever worker is free
takes the next, and the cores finish together. Where the allocator cannot be told (not
glibc), those variants are split into `workers` balanced groups instead.

Scheduling: at most `workers + 1` tasks are in flight. A variant's normalise task (mix its
stems, measure loudness and true peak, write the normalised mix) is queued ahead of the
remaining stems as soon as its last stem is done, so the measurements overlap the
synthesis instead of waiting behind it. Stem tasks run `stems.render_stem_group` and
normalise tasks run `normalise_variant`, exactly what the serial path runs, so the audio
is bit-identical with any worker count, task size or order.

A pool with one worker, or one created inside a daemonic process (the scheduler's
generation workers, already one per core, which may not have children), renders in the
calling process instead. A pool whose worker died is rebuilt for the next call and the
current call finishes serially.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import ctypes.util
import functools
import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np

from engine_core.arrange.arranger import Arrangement
from engine_core.errors import SoundFontError
from engine_core.render.loudness import LoudnessGain, db_to_gain, normalising_gain
from engine_core.render.set_buffer import ArraySetBuffer, FileSetBuffer, SetBuffer, SetLayout
from engine_core.render.soundfont import SoundFont
from engine_core.render.stems import TAIL_SECONDS, mix_stems, render_stem_group, stem_frames

#: Renderers whose work runs in compiled code that releases the GIL (the synth renderer's
#: numba kernels, numpy and torch's FFT): a pool renders them on threads of the calling
#: process, which share one bank and one note cache, instead of worker processes.
THREADED_RENDERERS = ("synth",)

#: progress(stage, done, total), stage "render" per stem and "normalise" per variant.
Progress = Callable[[str, int, int], None]

#: glibc `mallopt` parameters, and how much freed memory a render worker keeps.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
KEPT_HEAP_BYTES = 1 << 30
#: A Standard MIDI File with no events: renders nothing, but reads the bank.
EMPTY_MIDI = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x04\x00\xff\x2f\x00"


@dataclass(frozen=True)
class LoudnessTarget:
    """What a variant's mix is normalised to (see `loudness.normalising_gain`)."""

    sample_rate: int
    loudness_lufs: float
    ceiling_db: float
    circular: bool


@dataclass(frozen=True)
class RenderedVariant:
    """A variant's normalised stems (name -> float32 (frames, 2)), mix and gain."""

    stems: dict[str, np.ndarray]
    mix: np.ndarray
    gain: LoudnessGain


def _mallopt() -> Callable[[int, int], int] | None:
    """glibc's `mallopt`, or None where there is no such allocator."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return None


def keep_heap() -> bool:
    """Tell this process's allocator to keep freed memory (no trimming, and blocks up to
    `KEPT_HEAP_BYTES` from the heap rather than their own mappings). True when it agreed.

    For render workers only: the synthesiser copies the whole bank and allocates its
    audio afresh on every call, and each fresh page costs a fault; kept memory is reused.
    A worker's resident memory stays at its peak (about one bank copy plus a stem's
    audio) instead of falling back between calls.
    """
    mallopt = _mallopt()
    if mallopt is None:
        return False
    for size in (KEPT_HEAP_BYTES, 32 << 20):  # an allocator that refuses 1 GiB takes 32 MiB
        if mallopt(M_MMAP_THRESHOLD, size):
            return bool(mallopt(M_TRIM_THRESHOLD, KEPT_HEAP_BYTES))
    return False


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


def _prepare_worker(path: str | None, digest: str | None, renderer: str = "reference") -> None:
    """A render worker's start: keep freed memory, read the bank and synthesise nothing
    with it once (the heap then holds a bank copy's room), warm the loudness measures
    (and, for the synth renderer, its kernels and tables: `synth_renderer.warm_up`)."""
    keep_heap()
    # Only a warm-up: a bank that fails here fails again, with its own error, in the task
    # that needs it (an initializer that raises would break the whole pool instead).
    with contextlib.suppress(Exception):
        tone = np.full((4800, 2), 0.25, dtype=np.float64)
        normalising_gain(tone, 48000, loudness_lufs=-16.0, ceiling_db=-1.0)
        if path is not None and digest is not None:
            soundfont = _worker_soundfont(path, digest)
            soundfont.render_pcm(EMPTY_MIDI)
            if renderer == "synth":
                from engine_core.render.synth_renderer import warm_up

                warm_up(soundfont)


def _ready() -> None:
    """A no-op task: submitting one per worker makes the executor start them all now."""


def render_stems_into(
    buffer: SetBuffer,
    arrangement: Arrangement,
    variant: int,
    indices: tuple[int, ...],
    soundfont: SoundFont,
    sample_rate: int,
    one_shot: bool,
    renderer: str = "reference",
) -> None:
    """Render stems `indices` of `arrangement` (one synthesiser call) into their slots."""
    audio = render_stem_group(
        arrangement,
        indices,
        soundfont,
        sample_rate=sample_rate,
        one_shot=one_shot,
        renderer=renderer,
    )
    for index, stem_audio in zip(indices, audio, strict=True):
        buffer.put(buffer.layout.stems[variant][index], stem_audio)


def balanced_groups(costs: Sequence[float], parts: int) -> list[tuple[int, ...]]:
    """Stem indices split into at most `parts` groups of about equal total cost (longest
    processing time first: each stem, costliest first, joins the cheapest group so far).

    Every index is in exactly one group; groups come costliest first, each in index
    order; equal costs keep index order, so the result is deterministic.
    """
    count = len(costs)
    parts = max(1, min(parts, count))
    groups: list[list[int]] = [[] for _ in range(parts)]
    totals = [0.0] * parts
    for index in sorted(range(count), key=lambda i: (-costs[i], i)):
        cheapest = min(range(parts), key=lambda g: (totals[g], g))
        groups[cheapest].append(index)
        totals[cheapest] += costs[index]
    order = sorted(range(parts), key=lambda g: (-totals[g], g))
    return [tuple(sorted(groups[g])) for g in order if groups[g]]


def normalise_variant(buffer: SetBuffer, variant: int, target: LoudnessTarget) -> LoudnessGain:
    """Mix variant `variant`'s stems, find its normalising gain, write the normalised mix.

    The stems stay as rendered (the gain is applied as they are taken), so running this
    twice, as a finished-serially call may, gives the same result.
    """
    mix = mix_stems(buffer.view(slot) for slot in buffer.layout.stems[variant])
    gain = normalising_gain(
        mix,
        target.sample_rate,
        loudness_lufs=target.loudness_lufs,
        ceiling_db=target.ceiling_db,
        circular=target.circular,
    )
    # the float64 product rounded once to float32, as scaling in place and then storing
    buffer.put_scaled(buffer.layout.mixes[variant], mix, db_to_gain(gain.gain_db))
    return gain


def _render_task(
    buffer: FileSetBuffer,
    arrangement: Arrangement,
    variant: int,
    indices: tuple[int, ...],
    soundfont_path: str,
    soundfont_digest: str,
    sample_rate: int,
    one_shot: bool,
    renderer: str,
) -> None:
    soundfont = _worker_soundfont(soundfont_path, soundfont_digest)
    render_stems_into(
        buffer, arrangement, variant, indices, soundfont, sample_rate, one_shot, renderer
    )


class RenderPool:
    """Renders and normalises every variant of a set, on `workers` processes."""

    def __init__(self, workers: int = 1) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"render workers must be a positive integer, got {workers!r}")
        self.workers = workers
        self._executor: cf.ProcessPoolExecutor | None = None
        self._threads: cf.ThreadPoolExecutor | None = None
        self._warmed: set[str] = set()  # banks the threads' renderer is ready for
        self._stem_tasks = _mallopt() is not None  # workers keep their heap: see the module

    @property
    def parallel(self) -> bool:
        """True when this pool renders in worker processes (see the module docstring)."""
        return self.workers > 1 and not multiprocessing.current_process().daemon

    def warm(self, soundfont: SoundFont | None = None, renderer: str = "reference") -> None:
        """Start the worker processes now, in the background, ready to render with
        `soundfont` and `renderer`; returns at once. Nothing happens when its workers are
        already running, or when a reference or notes pool renders in the calling process;
        a synth pool that does readies the renderer on a thread of its own (kernels, bank,
        reverb: `synth_renderer.warm_up`), once per bank, while the caller goes on."""
        if renderer in THREADED_RENDERERS:
            if self.parallel:
                self._ensure_threads(soundfont)
            elif soundfont is not None and soundfont.digest not in self._warmed:
                from engine_core.render.synth_renderer import warm_up

                self._warmed.add(soundfont.digest)
                threading.Thread(
                    target=warm_up, args=(soundfont,), name="ostinato-warm-up", daemon=True
                ).start()
        elif self.parallel:
            self._ensure_executor(soundfont, renderer)

    def render(
        self,
        arrangements: Iterable[Arrangement],
        soundfont: SoundFont,
        *,
        sample_rate: int,
        one_shot: bool,
        target: LoudnessTarget,
        progress: Progress | None = None,
        renderer: str = "reference",
        count: int | None = None,
    ) -> list[RenderedVariant]:
        """Each arrangement's stems rendered, mixed and normalised to `target`.

        `arrangements` may be a lazy iterable (say a generator arranging each variant):
        with workers, the next one is taken only when they need more work, so producing
        it overlaps their synthesis. `count` is how many it yields (for the progress
        totals and task sizes; `len(arrangements)` when it has one); an iterable without
        either is read whole first.

        `progress("render", done, total)` is called as each stem finishes and
        `progress("normalise", done, total)` as each variant does, in completion order.
        """
        if count is None:
            if not isinstance(arrangements, Sized):
                arrangements = list(arrangements)
            count = len(arrangements)  # type: ignore[arg-type]
        threaded = renderer in THREADED_RENDERERS
        run = _SetRun(
            iter(arrangements),
            count,
            soundfont,
            sample_rate,
            one_shot,
            target,
            progress,
            renderer,
            shared=self.parallel and not threaded,
        )
        try:
            if run.pull():
                if self.parallel and (count > 1 or len(run.variants[0].arrangement.stems) > 1):
                    try:
                        if threaded:
                            run.in_workers(self._ensure_threads(soundfont), self.workers, True)
                        else:
                            run.in_workers(
                                self._ensure_executor(soundfont, renderer),
                                self.workers,
                                self._stem_tasks,
                            )
                    except BrokenProcessPool:
                        # a worker died (killed, out of memory): finish here, rebuild next time
                        self.close()
                run.here()
            return run.results()
        finally:
            run.close()

    def _ensure_executor(
        self, soundfont: SoundFont | None = None, renderer: str = "reference"
    ) -> cf.ProcessPoolExecutor:
        if self._executor is None:
            bank = (
                (str(soundfont.path), soundfont.digest) if soundfont is not None else (None, None)
            )
            warm = (*bank, renderer)
            self._executor = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_prepare_worker,
                initargs=warm,
            )
            for _ in range(self.workers):  # one process is started per task while none idles
                self._executor.submit(_ready)
        return self._executor

    def _ensure_threads(self, soundfont: SoundFont | None = None) -> cf.ThreadPoolExecutor:
        """The render threads (for `THREADED_RENDERERS`); the first time a bank is seen,
        one of them readies the synth renderer for it (`synth_renderer.warm_up`) while
        the caller goes on (say, running the model)."""
        if self._threads is None:
            self._threads = cf.ThreadPoolExecutor(
                self.workers, thread_name_prefix="ostinato-render"
            )
        if soundfont is not None and soundfont.digest not in self._warmed:
            from engine_core.render.synth_renderer import warm_up

            self._warmed.add(soundfont.digest)
            self._threads.submit(warm_up, soundfont)
        return self._threads

    def close(self) -> None:
        """Stop the workers (a later `render` starts new ones)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._threads is not None:
            self._threads.shutdown(wait=True, cancel_futures=True)
            self._threads = None
            self._warmed.clear()


@dataclass
class _Variant:
    """One variant of a `_SetRun`: its arrangement, its buffer and its unrendered stems."""

    arrangement: Arrangement
    buffer: SetBuffer
    missing: set[int]


@dataclass
class _SetRun:
    """One `RenderPool.render` call: the variants taken so far and what is done."""

    source: Iterator[Arrangement]
    count: int
    soundfont: SoundFont
    sample_rate: int
    one_shot: bool
    target: LoudnessTarget
    progress: Progress | None
    renderer: str = "reference"
    shared: bool = False
    variants: list[_Variant] = field(default_factory=list)
    taken: dict[int, RenderedVariant] = field(default_factory=dict)
    rendered: int = 0
    exhausted: bool = False

    def pull(self) -> bool:
        """Take the next arrangement from the source (False when there is none)."""
        if self.exhausted:
            return False
        arrangement = next(self.source, None)
        if arrangement is None:
            self.exhausted = True
            return False
        if not arrangement.stems:
            raise ValueError("a variant has no stems")
        stems = len(arrangement.stems)
        layout = SetLayout.of(
            [stem_frames(arrangement, self.sample_rate, one_shot=self.one_shot)], [stems]
        )
        buffer: SetBuffer = FileSetBuffer.create(layout) if self.shared else ArraySetBuffer(layout)
        self.variants.append(_Variant(arrangement, buffer, set(range(stems))))
        return True

    def close(self) -> None:
        for variant in self.variants:
            variant.buffer.close()

    @property
    def stems_total(self) -> int:
        """Stems of the variants taken, and as many per variant still to come."""
        known = sum(len(v.arrangement.stems) for v in self.variants)
        to_come = max(self.count - len(self.variants), 0)
        return known + to_come * len(self.variants[-1].arrangement.stems)

    def _report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def _stem_done(self, variant: int, index: int) -> bool:
        """Count a finished stem; True when it was its variant's last."""
        missing = self.variants[variant].missing
        missing.discard(index)
        self.rendered += 1
        self._report("render", self.rendered, self.stems_total)
        return not missing

    def _variant_done(self, variant: int, gain: LoudnessGain) -> None:
        scale = np.float32(db_to_gain(gain.gain_db))
        arrangement, buffer = self.variants[variant].arrangement, self.variants[variant].buffer
        stems = {
            stem.stem.name: buffer.take_stem(slot, scale)
            for stem, slot in zip(arrangement.stems, buffer.layout.stems[0], strict=True)
        }
        mix = buffer.take_mix(buffer.layout.mixes[0])
        self.taken[variant] = RenderedVariant(stems, mix, gain)
        self._report("normalise", len(self.taken), max(self.count, len(self.variants)))

    def _tasks(self, variant: int, workers: int, stem_tasks: bool) -> list[tuple[int, ...]]:
        """A variant's stem tasks. While at least `workers` variants are still to start,
        its stems are one call (the fewest bank reads); the variants after that are the
        set's last work, so their stems are split to keep every worker busy to the end:
        one task per stem, costliest first (`stem_tasks`), else balanced groups. Render
        threads (buffers not shared) read no bank per call: every variant is split."""
        arrangement = self.variants[variant].arrangement
        stems = len(arrangement.stems)
        if self.count - variant >= workers and self.shared:
            return [tuple(range(stems))]
        parts = stems if stem_tasks else -(-workers // max(self.count - variant, 1))
        if min(parts, stems) <= 1:
            return [tuple(range(stems))]
        from engine_core.render.stem_cost import stem_cost

        costs = [stem_cost(arrangement, i, self.soundfont, TAIL_SECONDS) for i in range(stems)]
        return balanced_groups(costs, parts)

    def in_workers(self, executor: cf.Executor, workers: int, stem_tasks: bool = True) -> None:
        """Run every task on `executor` (`workers` processes, or threads of this process
        when its buffers are not shared), `workers + 1` in flight, taking the next
        arrangement from the source while they work once fewer than `workers` stem tasks
        are left to hand out (so no worker waits for an arrangement)."""
        in_flight = workers + 1
        path, digest = str(self.soundfont.path), self.soundfont.digest
        stems: deque[tuple[int, tuple[int, ...]]] = deque(
            (variant, task)
            for variant in range(len(self.variants))
            for task in self._tasks(variant, workers, stem_tasks)
        )
        ready: deque[int] = deque()  # variants whose stems are all rendered
        running: dict[cf.Future, tuple[str, int, tuple[int, ...]]] = {}
        try:
            while True:
                while len(running) < in_flight:
                    if ready:
                        variant = ready.popleft()
                        buffer = self.variants[variant].buffer
                        future = executor.submit(normalise_variant, buffer, 0, self.target)
                        running[future] = ("normalise", variant, ())
                    elif stems:
                        variant, indices = stems.popleft()
                        future = (
                            self._submit_here(executor, variant, indices)
                            if not self.shared
                            else self._submit_render(executor, variant, indices, path, digest)
                        )
                        running[future] = ("render", variant, indices)
                    elif self.pull():
                        variant = len(self.variants) - 1
                        stems.extend(
                            (variant, t) for t in self._tasks(variant, workers, stem_tasks)
                        )
                    else:
                        break
                if len(stems) < workers and self.pull():  # arrange ahead while they work
                    variant = len(self.variants) - 1
                    stems.extend((variant, t) for t in self._tasks(variant, workers, stem_tasks))
                if not running:
                    if stems or ready:
                        continue
                    return
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    kind, variant, indices = running.pop(future)
                    result = future.result()
                    if kind == "normalise":
                        self._variant_done(variant, result)
                    elif any([self._stem_done(variant, index) for index in indices]):
                        ready.append(variant)
        except BaseException:
            for future in running:  # an error ends the call; queued work is dropped
                future.cancel()
            raise

    def _submit_render(
        self, executor: cf.Executor, variant: int, indices: tuple[int, ...], path: str, digest: str
    ) -> cf.Future:
        """A stem task for a worker process (which reads the bank from `path`)."""
        return executor.submit(
            _render_task,
            self.variants[variant].buffer,
            self.variants[variant].arrangement,
            0,
            indices,
            path,
            digest,
            self.sample_rate,
            self.one_shot,
            self.renderer,
        )

    def _submit_here(
        self, executor: cf.Executor, variant: int, indices: tuple[int, ...]
    ) -> cf.Future:
        """A stem task for a render thread of this process (this process's bank)."""
        return executor.submit(
            render_stems_into,
            self.variants[variant].buffer,
            self.variants[variant].arrangement,
            0,
            indices,
            self.soundfont,
            self.sample_rate,
            self.one_shot,
            self.renderer,
        )

    def here(self) -> None:
        """Render and normalise in this process whatever is not done yet (the arrangements
        still to come included)."""
        while self.pull():
            pass
        for variant, state in enumerate(self.variants):
            missing = tuple(sorted(state.missing))
            if missing:
                render_stems_into(
                    state.buffer,
                    state.arrangement,
                    0,
                    missing,
                    self.soundfont,
                    self.sample_rate,
                    self.one_shot,
                    self.renderer,
                )
                for index in missing:
                    self._stem_done(variant, index)
            if variant not in self.taken:
                self._variant_done(variant, normalise_variant(state.buffer, 0, self.target))

    def results(self) -> list[RenderedVariant]:
        return [self.taken[variant] for variant in range(len(self.variants))]
