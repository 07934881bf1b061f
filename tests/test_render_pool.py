"""Stem synthesis in worker processes: the same audio as the serial path, and it survives
a worker killed under it, falls back inside daemonic processes, carries errors back, and
leaves no shared buffer file behind."""

import multiprocessing
import os
import signal
import tempfile

import numpy as np
import pytest

from engine_core.arrange.arranger import arrange
from engine_core.errors import SoundFontError
from engine_core.generate import Engine
from engine_core.render.pool import LoudnessTarget, RenderedVariant, RenderPool
from engine_core.render.soundfont import SoundFont
from tests.chorale_scores import ChoraleComposer, band_spec, chorale_score

pytestmark = pytest.mark.slow


def _arrangements(count: int = 2, bars: int = 2):
    spec = band_spec(bars=bars)
    return spec, [
        arrange(chorale_score(bars=bars), spec, seed=3, variant_index=i) for i in range(count)
    ]


def _target(spec) -> LoudnessTarget:
    return LoudnessTarget(spec.sample_rate, spec.loudness_lufs, spec.true_peak_db, True)


def _render(pool: RenderPool, arrangements, spec, soundfont=None, **options):
    return pool.render(
        arrangements,
        soundfont or SoundFont.load(),
        sample_rate=spec.sample_rate,
        one_shot=False,
        target=_target(spec),
        **options,
    )


@pytest.fixture
def created_buffers(monkeypatch) -> list[str]:
    """The paths of the shared buffers this test's pools create (other processes on the
    machine may be rendering too, so a directory listing would see theirs)."""
    from engine_core.render import set_buffer

    created: list[str] = []
    create = set_buffer.FileSetBuffer.create

    def recording_create(layout):
        buffer = create(layout)
        created.append(buffer.path)
        return buffer

    monkeypatch.setattr(set_buffer.FileSetBuffer, "create", staticmethod(recording_create))
    return created


def _assert_same(first: list[RenderedVariant], second: list[RenderedVariant]) -> None:
    assert len(first) == len(second)
    for one, other in zip(first, second, strict=True):
        assert list(one.stems) == list(other.stems)
        for name in one.stems:
            assert one.stems[name].dtype == np.float32
            assert np.array_equal(one.stems[name], other.stems[name]), name
        assert np.array_equal(one.mix, other.mix)
        assert one.gain == other.gain


def test_two_workers_give_the_serial_audio_bit_for_bit() -> None:
    spec = band_spec(bars=2)
    serial = Engine(ChoraleComposer()).generate(spec, state="s", seed=4, variants=2)
    with Engine(ChoraleComposer(), render_workers=2) as engine:
        parallel = engine.generate(spec, state="s", seed=4, variants=2)
        assert engine._render_pool.parallel
    for one, other in zip(serial.variants, parallel.variants, strict=True):
        assert np.array_equal(one.mix, other.mix)
        assert list(one.stems) == list(other.stems)
        for name, audio in one.stems.items():
            assert np.array_equal(audio, other.stems[name]), name
        assert one.meta == other.meta


def test_progress_counts_every_stem_and_variant_once() -> None:
    spec, arrangements = _arrangements()
    seen: list[tuple[str, int, int]] = []
    pool = RenderPool(2)
    try:
        _render(pool, arrangements, spec, progress=lambda *event: seen.append(event))
    finally:
        pool.close()
    stems = sum(len(a.stems) for a in arrangements)
    assert [e for e in seen if e[0] == "render"] == [
        ("render", n, stems) for n in range(1, stems + 1)
    ]
    assert [e for e in seen if e[0] == "normalise"] == [("normalise", 1, 2), ("normalise", 2, 2)]


def test_the_shared_buffer_files_are_gone_after_the_call_and_the_audio_stays(
    created_buffers,
) -> None:
    spec, arrangements = _arrangements()
    pool = RenderPool(2)
    try:
        rendered = _render(pool, arrangements, spec)
    finally:
        pool.close()
    assert len(created_buffers) == len(arrangements)
    assert not any(os.path.exists(path) for path in created_buffers)
    # the stems are views of the unlinked mapping; they still hold the audio and sum to the mix
    for variant in rendered:
        assert variant.mix.flags.writeable
        total = sum(stem.astype(np.float64) for stem in variant.stems.values())
        np.testing.assert_allclose(variant.mix, total.astype(np.float32), atol=1e-6)
        assert np.abs(variant.mix).max() > 0.01


def test_a_killed_worker_loses_no_stem() -> None:
    spec, arrangements = _arrangements()
    soundfont = SoundFont.load()
    serial = _render(RenderPool(1), arrangements, spec, soundfont)
    pool = RenderPool(2)
    try:
        _render(pool, arrangements[:1], spec, soundfont)
        executor = pool._executor
        assert executor is not None
        victim = next(iter(executor._processes))
        os.kill(victim, signal.SIGKILL)
        again = _render(pool, arrangements, spec, soundfont)
        _assert_same(serial, again)
        # the broken pool was dropped; the next call starts fresh workers and uses them
        third = _render(pool, arrangements, spec, soundfont)
        assert pool._executor is not None and pool._executor is not executor
        _assert_same(serial, third)
    finally:
        pool.close()


def test_a_soundfont_error_in_a_worker_reaches_the_caller(tmp_path, created_buffers) -> None:
    spec, arrangements = _arrangements()
    bank = tmp_path / "bank.sf2"
    bank.write_bytes(SoundFont.load().data)
    soundfont = SoundFont.load(bank)
    bank.write_bytes(b"RIFF\x00\x00\x00\x00sfbk")  # changed after the parent read it
    pool = RenderPool(2)
    try:
        with pytest.raises(SoundFontError) as raised:
            _render(pool, arrangements, spec, soundfont)
    finally:
        pool.close()
    assert created_buffers and not any(os.path.exists(path) for path in created_buffers)
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


def test_without_room_in_dev_shm_the_buffer_lives_in_the_temporary_directory(
    monkeypatch, tmp_path
) -> None:
    from engine_core.render import set_buffer

    monkeypatch.setattr(set_buffer, "SHM_DIRECTORY", str(tmp_path / "no-shm"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    spec, arrangements = _arrangements()
    serial = _render(RenderPool(1), arrangements, spec)
    created: list[str] = []
    create = set_buffer.FileSetBuffer.create

    def recording_create(layout):
        buffer = create(layout)
        created.append(buffer.path)
        return buffer

    monkeypatch.setattr(set_buffer.FileSetBuffer, "create", staticmethod(recording_create))
    pool = RenderPool(2)
    try:
        parallel = _render(pool, arrangements, spec)
    finally:
        pool.close()
    assert len(created) == len(arrangements)  # one buffer per variant
    for path in created:
        assert os.path.dirname(path) == str(tmp_path) and not os.path.exists(path)
    _assert_same(serial, parallel)


@pytest.mark.parametrize("shared", [False, True])
def test_a_set_buffer_refuses_audio_of_the_wrong_length(shared: bool) -> None:
    from engine_core.render.set_buffer import ArraySetBuffer, FileSetBuffer, SetLayout

    layout = SetLayout.of([100], [2])
    buffer = FileSetBuffer.create(layout) if shared else ArraySetBuffer(layout)
    try:
        slot = layout.stems[0][1]
        with pytest.raises(ValueError, match="does not fit 100 frames"):
            buffer.put(slot, np.zeros((99, 2), dtype=np.float32))
        buffer.put(slot, np.full((100, 2), 0.5, dtype=np.float32))
        taken = buffer.take_stem(slot, np.float32(2.0))
        assert taken.shape == (100, 2) and bool((taken == 1.0).all())
    finally:
        buffer.close()
    assert layout.mixes[0].offset == 2 * 100 * 8 and layout.size == 3 * 100 * 8


@pytest.mark.parametrize("shared", [False, True])
def test_a_scaled_mix_is_rounded_once_as_before(shared: bool) -> None:
    """`put_scaled` stores the float64 product rounded to float32: what scaling the mix
    in place and storing it gave, bit for bit."""
    from engine_core.render.set_buffer import ArraySetBuffer, FileSetBuffer, SetLayout

    layout = SetLayout.of([1000], [1])
    buffer = FileSetBuffer.create(layout) if shared else ArraySetBuffer(layout)
    mix = np.random.default_rng(8).standard_normal((1000, 2)) * 0.3
    try:
        buffer.put_scaled(layout.mixes[0], mix, 1.7234567)
        with pytest.raises(ValueError, match="does not fit 1000 frames"):
            buffer.put_scaled(layout.mixes[0], mix[:-1], 1.0)
        expected = (mix * 1.7234567).astype(np.float32)
        assert np.array_equal(np.asarray(buffer.take_mix(layout.mixes[0])), expected)
    finally:
        buffer.close()


def test_with_workers_the_parent_synthesises_nothing_and_takes_arrangements_lazily(
    monkeypatch,
) -> None:
    from engine_core.render import pool as pool_module

    spec, arrangements = _arrangements(count=3)
    serial = _render(RenderPool(1), arrangements, spec)

    def refuse(*args, **kwargs):
        raise AssertionError("the parent process synthesised a stem")

    monkeypatch.setattr(pool_module, "render_stems_into", refuse)  # the parent's only
    taken: list[int] = []

    def source():
        for index, arrangement in enumerate(arrangements):
            taken.append(index)
            yield arrangement

    pool = RenderPool(2)
    try:
        parallel = _render(pool, source(), spec, count=len(arrangements))
    finally:
        pool.close()
    assert taken == [0, 1, 2]
    _assert_same(serial, parallel)


def test_a_warm_pool_starts_its_workers_before_the_first_render() -> None:
    soundfont = SoundFont.load()
    pool = RenderPool(2)
    try:
        pool.warm(soundfont)
        executor = pool._executor
        assert executor is not None and len(executor._processes) == 2
        spec, arrangements = _arrangements()
        _render(pool, arrangements, spec, soundfont)
        assert pool._executor is executor  # the same workers rendered
    finally:
        pool.close()
    serial_pool = RenderPool(1)
    serial_pool.warm(soundfont)
    assert serial_pool._executor is None  # a serial pool has no workers to start
