"""The cache across processes: a writer killed mid-write, and two writers at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_cache_support import make_state, tone_set

from middleware.cache import EngineKey, VariantCache

ENGINE = EngineKey("1.0", "weights-a", "sf-a")
TESTS_DIR = Path(__file__).parent


def spawn_filler(root: Path, frames: int, names: list[str]) -> subprocess.Popen[str]:
    code = "import sys; from test_cache_support import fill_main; fill_main(sys.argv[1:])"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.getcwd()])}
    return subprocess.Popen(
        [sys.executable, "-c", code, str(root), str(frames), *names],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def state_for(name: str):
    return make_state(name, prompt=f"theme {name}", seed=sum(map(ord, name)))


def wait_for_partial_file(root: Path, process: subprocess.Popen[str], timeout_s: float) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for path in (root / "tmp").glob("*.part") if (root / "tmp").exists() else ():
            try:
                if path.stat().st_size > 0:
                    return path
            except FileNotFoundError:
                continue
        if process.poll() is not None:
            break
        time.sleep(0.001)
    raise AssertionError("the writer never had a file half written")


@pytest.mark.slow
def test_a_writer_killed_mid_write_leaves_nothing_partial_and_the_work_is_redone(tmp_path):
    root = tmp_path / "cache"
    names = ["forest", "castle"]
    writer = spawn_filler(root, 1_500_000, names)  # ~36 MB per variant: slow to write
    partial = wait_for_partial_file(root, writer, timeout_s=60)
    writer.send_signal(signal.SIGKILL)
    writer.communicate()
    assert writer.returncode == -signal.SIGKILL
    assert partial.exists()  # the kill really landed in the middle of a write

    with VariantCache(root) as cache:  # restart: recovery runs on open
        assert not list((root / "tmp").iterdir())
        assert cache.verify().clean
        for name in names:  # nothing half-stored is visible
            for variant in cache.get_variants(state_for(name), ENGINE):
                assert variant.mix.shape == (1_500_000, 2)
        forest = state_for("forest")
        cache.put_set(forest, ENGINE, tone_set(forest, frames=1_500_000))
        loaded = cache.get_set(forest, ENGINE)
        assert loaded is not None
        np.testing.assert_array_equal(
            loaded.variants[1].mix[-10:], tone_set(forest, frames=1_500_000).variants[1].mix[-10:]
        )
        assert cache.verify().clean


def test_a_crash_between_rename_and_commit_is_swept_on_restart(tmp_path):
    root = tmp_path / "cache"
    state = make_state()
    with VariantCache(root) as cache:
        cache.put_set(state, ENGINE, tone_set(state))
        kept = {p.name for p in cache.store.objects_dir.rglob("*.*")}
    # what a writer killed after renaming, before committing, leaves behind
    orphan = root / "objects" / "ab" / ("ab" + "0" * 30 + ".npy")
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"renamed but never indexed")
    dead_pid = 2**22 + 4321
    (root / "tmp" / f"{dead_pid}-0123456789abcdef.publishing").touch()
    with VariantCache(root) as cache:
        assert not orphan.exists()
        assert {p.name for p in cache.store.objects_dir.rglob("*.*")} == kept
        assert cache.verify().clean
        assert cache.get_set(state, ENGINE) is not None


def test_a_live_writers_temporary_file_is_left_alone(tmp_path):
    root = tmp_path / "cache"
    with VariantCache(root):
        pass
    mine = root / "tmp" / f"{os.getpid()}-feedfacefeedface.part"
    mine.write_bytes(b"still being written")
    with VariantCache(root):
        assert mine.exists()


@pytest.mark.slow
def test_two_processes_fill_one_cache_without_duplicates_or_corruption(tmp_path):
    root = tmp_path / "cache"
    names = [f"state{i}" for i in range(8)]
    first = spawn_filler(root, 0, names)
    second = spawn_filler(root, 0, list(reversed(names)))
    for process in (first, second):
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0, out
    with VariantCache(root) as cache:
        stats = cache.stats()
        assert (stats.sets, stats.variants) == (8, 16)
        rows = cache.index.query("SELECT audio_digest, midi_digest FROM variants")
        digests = {d for row in rows for d in row}
        assert stats.files == len(digests)
        assert sum(1 for _ in cache.store.iter_objects()) == len(digests)
        for name in names:
            state = state_for(name)
            loaded = cache.get_set(state, ENGINE)
            assert loaded is not None
            for want, got in zip(tone_set(state).variants, loaded.variants, strict=True):
                np.testing.assert_array_equal(got.mix, want.mix)
                assert got.midi == want.midi
        report = cache.verify()
        assert report.clean and report.files_checked == len(digests)


def _open_index(path: str, barrier, results) -> None:  # runs in a child process
    from middleware.cache.index import Index

    barrier.wait()
    try:
        Index(Path(path))
        results.put("ok")
    except Exception as error:  # reported to the test, which names it
        results.put(repr(error))


@pytest.mark.slow
def test_processes_opening_a_new_index_at_once_all_succeed(tmp_path: Path) -> None:
    """Several processes creating the same new index meet in SQLite's WAL switch, which
    reports "database is locked" at once instead of waiting; every opener must get in."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    outcomes: list[str] = []
    for round_number in range(12):
        path = tmp_path / f"root{round_number}" / "index.sqlite"
        path.parent.mkdir()
        barrier, results = context.Barrier(4), context.Queue()
        openers = [
            context.Process(target=_open_index, args=(str(path), barrier, results))
            for _ in range(4)
        ]
        for opener in openers:
            opener.start()
        outcomes += [results.get(timeout=60) for _ in openers]
        for opener in openers:
            opener.join(30)
    assert [o for o in outcomes if o != "ok"] == []
