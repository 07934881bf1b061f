"""Rendering a variant set on several cores: one task per group of stems (a variant's
stems, synthesised in one call: `stem_batch`), then one per variant that mixes and
measures it, in worker processes.

The synthesiser (RustySynth inside `midirenderer`) holds the GIL while it renders, so
threads do not overlap; processes do. A `RenderPool` keeps its workers (spawned on first
use, so the parent's torch threads are never forked) and each worker keeps the
SoundFonts it has read, keyed by path and checked by digest. Workers write stems and
mixes into a shared `FileSetBuffer` rather than sending them back through a pipe.

Scheduling: at most `workers + 1` tasks are in flight. A variant's normalise task (mix
its stems, measure loudness and true peak, write the normalised mix) is queued ahead of
the remaining stems as soon as its last stem group is done, so the measurements overlap the
synthesis instead of waiting behind it. Stem tasks run `stems.render_stem_group` and normalise
tasks run `normalise_variant`, exactly what the serial path runs, so the audio is
bit-identical with any worker count.

A pool with one worker, or one created inside a daemonic process (the scheduler's
generation workers, already one per core, which may not have children), renders in the
calling process instead. A pool whose worker died is rebuilt for the next call and the
current call finishes serially.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import multiprocessing
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np

from engine_core.arrange.arranger import Arrangement
from engine_core.errors import SoundFontError
from engine_core.render.loudness import LoudnessGain, db_to_gain, normalising_gain
from engine_core.render.set_buffer import ArraySetBuffer, FileSetBuffer, SetBuffer, SetLayout
from engine_core.render.soundfont import SoundFont
from engine_core.render.stems import mix_stems, render_stem_group, stem_frames

#: progress(stage, done, total), stage "render" per stem and "normalise" per variant.
Progress = Callable[[str, int, int], None]


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


def stem_groups(stem_counts: Sequence[int], workers: int) -> list[tuple[int, tuple[int, ...]]]:
    """(variant, stem indices) tasks: a variant's stems in one group (one bank parse),
    split into up to `workers` groups when there are fewer variants than workers."""
    parts = max(1, -(-workers // max(len(stem_counts), 1)))
    groups: list[tuple[int, tuple[int, ...]]] = []
    for variant, count in enumerate(stem_counts):
        size = -(-count // min(parts, max(count, 1)))
        for first in range(0, count, max(size, 1)):
            groups.append((variant, tuple(range(first, min(first + size, count)))))
    return groups


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
    np.multiply(mix, db_to_gain(gain.gain_db), out=mix)
    buffer.put(buffer.layout.mixes[variant], mix)
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
        target: LoudnessTarget,
        progress: Progress | None = None,
        renderer: str = "reference",
    ) -> list[RenderedVariant]:
        """Each arrangement's stems rendered, mixed and normalised to `target`.

        `progress("render", done, total)` is called as each stem finishes and
        `progress("normalise", done, total)` as each variant does, in completion order.
        """
        if any(not arrangement.stems for arrangement in arrangements):
            raise ValueError("a variant has no stems")
        layout = SetLayout.of(
            [stem_frames(a, sample_rate, one_shot=one_shot) for a in arrangements],
            [len(a.stems) for a in arrangements],
        )
        parallel = self.parallel and sum(len(a.stems) for a in arrangements) > 1
        buffer: SetBuffer = FileSetBuffer.create(layout) if parallel else ArraySetBuffer(layout)
        run = _SetRun(
            arrangements, buffer, soundfont, sample_rate, one_shot, target, progress, renderer
        )
        try:
            if parallel:
                try:
                    run.in_workers(self._ensure_executor(), self.workers)
                except BrokenProcessPool:
                    # a worker died (killed, out of memory): finish here, rebuild next time
                    self.close()
            run.here()
            return run.results()
        finally:
            buffer.close()

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


@dataclass
class _SetRun:
    """One `RenderPool.render` call: which tasks are done, and the results taken so far."""

    arrangements: Sequence[Arrangement]
    buffer: SetBuffer
    soundfont: SoundFont
    sample_rate: int
    one_shot: bool
    target: LoudnessTarget
    progress: Progress | None
    renderer: str = "reference"
    rendered: set[tuple[int, int]] = field(default_factory=set)
    taken: dict[int, RenderedVariant] = field(default_factory=dict)
    remaining: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.remaining = [len(a.stems) for a in self.arrangements]

    @property
    def stems_total(self) -> int:
        return sum(len(a.stems) for a in self.arrangements)

    def _report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def _stem_done(self, key: tuple[int, int]) -> bool:
        """Count a finished stem; True when it was its variant's last."""
        self.rendered.add(key)
        self._report("render", len(self.rendered), self.stems_total)
        self.remaining[key[0]] -= 1
        return self.remaining[key[0]] == 0

    def _variant_done(self, variant: int, gain: LoudnessGain) -> None:
        scale = np.float32(db_to_gain(gain.gain_db))
        slots = self.buffer.layout.stems[variant]
        stems = {
            stem.stem.name: self.buffer.take_stem(slot, scale)
            for stem, slot in zip(self.arrangements[variant].stems, slots, strict=True)
        }
        mix = self.buffer.take_mix(self.buffer.layout.mixes[variant])
        self.taken[variant] = RenderedVariant(stems, mix, gain)
        self._report("normalise", len(self.taken), len(self.arrangements))

    def in_workers(self, executor: cf.ProcessPoolExecutor, workers: int) -> None:
        """Run every task on `executor` (`workers` processes), `workers + 1` in flight."""
        in_flight = workers + 1
        path, digest = str(self.soundfont.path), self.soundfont.digest
        stems = deque(stem_groups([len(a.stems) for a in self.arrangements], workers))
        ready: deque[int] = deque()  # variants whose stems are all rendered
        running: dict[cf.Future, tuple[str, tuple[int, tuple[int, ...]]]] = {}
        try:
            self._schedule(executor, in_flight, stems, ready, running, path, digest)
        except BaseException:
            for future in running:  # an error ends the call; queued work is dropped
                future.cancel()
            raise

    def _schedule(
        self,
        executor: cf.ProcessPoolExecutor,
        in_flight: int,
        stems: deque[tuple[int, tuple[int, ...]]],
        ready: deque[int],
        running: dict[cf.Future, tuple[str, tuple[int, tuple[int, ...]]]],
        path: str,
        digest: str,
    ) -> None:
        while stems or ready or running:
            while len(running) < in_flight and (ready or stems):
                if ready:
                    variant = ready.popleft()
                    future = executor.submit(normalise_variant, self.buffer, variant, self.target)
                    running[future] = ("normalise", (variant, ()))
                else:
                    variant, indices = stems.popleft()
                    future = executor.submit(
                        _render_task,
                        self.buffer,
                        self.arrangements[variant],
                        variant,
                        indices,
                        path,
                        digest,
                        self.sample_rate,
                        self.one_shot,
                        self.renderer,
                    )
                    running[future] = ("render", (variant, indices))
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in done:
                kind, key = running.pop(future)
                result = future.result()
                if kind == "normalise":
                    self._variant_done(key[0], result)
                elif any([self._stem_done((key[0], index)) for index in key[1]]):
                    ready.append(key[0])

    def here(self) -> None:
        """Render and normalise in this process whatever is not done yet."""
        for variant, arrangement in enumerate(self.arrangements):
            missing = tuple(
                index
                for index in range(len(arrangement.stems))
                if (variant, index) not in self.rendered
            )
            if missing:
                render_stems_into(
                    self.buffer,
                    arrangement,
                    variant,
                    missing,
                    self.soundfont,
                    self.sample_rate,
                    self.one_shot,
                    self.renderer,
                )
                for index in missing:
                    self._stem_done((variant, index))
            if variant not in self.taken:
                self._variant_done(variant, normalise_variant(self.buffer, variant, self.target))

    def results(self) -> list[RenderedVariant]:
        return [self.taken[variant] for variant in range(len(self.arrangements))]
