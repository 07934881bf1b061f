"""Stem synthesis in worker processes: the same audio as the serial path, and it survives
a worker killed under it, falls back inside daemonic processes, and carries errors back."""

import multiprocessing
import os
import signal
import time

import numpy as np
import pytest

from engine_core.arrange.arranger import arrange
from engine_core.errors import SoundFontError
from engine_core.generate import Engine
from engine_core.render.pool import RenderPool
from engine_core.render.soundfont import SoundFont
from tests.chorale_scores import ChoraleComposer, band_spec, chorale_score

pytestmark = pytest.mark.slow


def _arrangements(count: int = 2, bars: int = 2):
    spec = band_spec(bars=bars)
    return spec, [
        arrange(chorale_score(bars=bars), spec, seed=3, variant_index=i) for i in range(count)
    ]


def _assert_same(first: list[dict[str, np.ndarray]], second: list[dict[str, np.ndarray]]) -> None:
    assert len(first) == len(second)
    for one, other in zip(first, second, strict=True):
        assert list(one) == list(other)
        for name in one:
            assert one[name].dtype == np.float32
            assert np.array_equal(one[name], other[name]), name


def test_two_workers_give_the_serial_audio_bit_for_bit() -> None:
    spec = band_spec(bars=2)
    serial = Engine(ChoraleComposer()).generate(spec, state="s", seed=4, variants=2)
    with Engine(ChoraleComposer(), render_workers=2) as engine:
        parallel = engine.generate(spec, state="s", seed=4, variants=2)
        assert engine._render_pool.parallel
    for one, other in zip(serial.variants, parallel.variants, strict=True):
        assert np.array_equal(one.mix, other.mix)
        _assert_same([one.stems], [other.stems])
        assert one.meta == other.meta


def test_progress_counts_every_stem_once() -> None:
    spec, arrangements = _arrangements()
    seen: list[tuple[int, int]] = []
    pool = RenderPool(2)
    try:
        pool.render(
            arrangements,
            SoundFont.load(),
            sample_rate=spec.sample_rate,
            one_shot=False,
            progress=lambda done, total: seen.append((done, total)),
        )
    finally:
        pool.close()
    stems = sum(len(a.stems) for a in arrangements)
    assert seen == [(n, stems) for n in range(1, stems + 1)]


def test_a_killed_worker_loses_no_stem() -> None:
    spec, arrangements = _arrangements()
    soundfont = SoundFont.load()
    serial = RenderPool(1).render(
        arrangements, soundfont, sample_rate=spec.sample_rate, one_shot=False
    )
    pool = RenderPool(2)
    try:
        pool.render(arrangements[:1], soundfont, sample_rate=spec.sample_rate, one_shot=False)
        executor = pool._executor
        assert executor is not None
        victim = next(iter(executor._processes))
        os.kill(victim, signal.SIGKILL)
        again = pool.render(arrangements, soundfont, sample_rate=spec.sample_rate, one_shot=False)
        _assert_same(serial, again)
        # the broken pool was dropped; the next call starts fresh workers and uses them
        third = pool.render(arrangements, soundfont, sample_rate=spec.sample_rate, one_shot=False)
        assert pool._executor is not None and pool._executor is not executor
        _assert_same(serial, third)
    finally:
        pool.close()


def test_a_soundfont_error_in_a_worker_reaches_the_caller(tmp_path) -> None:
    spec, arrangements = _arrangements()
    bank = tmp_path / "bank.sf2"
    bank.write_bytes(SoundFont.load().data)
    soundfont = SoundFont.load(bank)
    bank.write_bytes(b"RIFF\x00\x00\x00\x00sfbk")  # changed after the parent read it
    pool = RenderPool(2)
    try:
        with pytest.raises(SoundFontError) as raised:
            pool.render(arrangements, soundfont, sample_rate=spec.sample_rate, one_shot=False)
    finally:
        pool.close()
    assert raised.value.detail == {"path": str(bank)}
    assert "changed on disk" in raised.value.message


def _report_parallel(queue) -> None:
    queue.put(RenderPool(2).parallel)


def test_inside_a_daemonic_process_the_pool_renders_serially() -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_report_parallel, args=(queue,), daemon=True)
    process.start()
    try:
        assert queue.get(timeout=60) is False
    finally:
        process.join(timeout=60)
    assert RenderPool(2).parallel is True
    assert RenderPool(1).parallel is False


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_a_bad_worker_count_is_refused(workers) -> None:
    with pytest.raises(ValueError, match="render workers"):
        RenderPool(workers)


def _wait_until_broken(executor) -> None:
    deadline = time.monotonic() + 30
    while not executor._broken and time.monotonic() < deadline:
        time.sleep(0.05)
    assert executor._broken


def test_call_runs_in_a_worker_and_here_once_the_pool_broke() -> None:
    pool = RenderPool(2)
    try:
        assert pool.call(os.getpid).result() != os.getpid()
        executor = pool._executor
        assert executor is not None
        os.kill(next(iter(executor._processes)), signal.SIGKILL)
        _wait_until_broken(executor)
        assert pool.call(os.getpid).result() == os.getpid()
        assert pool._executor is None  # dropped; the next call starts fresh workers
        assert pool.call(os.getpid).result() != os.getpid()
    finally:
        pool.close()


def test_a_serial_pool_defers_calls_until_their_result_is_asked_for() -> None:
    seen: list[int] = []
    deferred = RenderPool(1).call(seen.append, 7)
    assert deferred.future is None and seen == []
    deferred.result()
    assert seen == [7]
