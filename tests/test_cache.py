"""The variant cache: keyed reuse, selective invalidation, memory-mapped reads, LRU, pins."""

from __future__ import annotations

import dataclasses
import gc
import mmap
import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from test_cache_support import make_state, tone_set

from engine_core.spec import StemSpec
from middleware.cache import (
    CacheConfigError,
    CacheEntryError,
    EngineKey,
    VariantCache,
    set_key,
)
from middleware.templates.loader import load_pack

ENGINE = EngineKey("1.0", "weights-a", "sf-a")


def is_memory_mapped(array: np.ndarray) -> bool:
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    return isinstance(base, mmap.mmap)


@pytest.fixture
def cache(tmp_path):
    with VariantCache(tmp_path / "cache") as opened:
        yield opened


def test_a_stored_set_comes_back_equal_and_memory_mapped(cache):
    state = make_state()
    stored = tone_set(state)
    assert cache.put_set(state, ENGINE, stored) == 2
    loaded = cache.get_set(state, ENGINE)
    assert loaded is not None
    assert loaded.state == "explore" and loaded.seed == state.seed
    for want, got in zip(stored.variants, loaded.variants, strict=True):
        assert got.meta == want.meta
        assert got.midi == want.midi
        assert is_memory_mapped(got.mix) and is_memory_mapped(got.stems["lead"])
        assert not got.mix.flags.writeable
        np.testing.assert_array_equal(got.mix, want.mix)
        assert list(got.stems) == list(want.stems)
        for name in want.stems:
            np.testing.assert_array_equal(got.stems[name], want.stems[name])


def test_a_second_process_view_finds_the_set_after_reopening(tmp_path):
    state = make_state()
    with VariantCache(tmp_path) as first:
        first.put_set(state, ENGINE, tone_set(state))
    with VariantCache(tmp_path) as second:
        assert second.get_set(state, ENGINE) is not None


def test_an_incomplete_set_is_a_miss_but_its_variants_are_readable(cache):
    state = make_state(variants=3)
    cache.put_variant(state, ENGINE, tone_set(state).variants[0])
    assert cache.get_set(state, ENGINE) is None
    assert [v.meta.index for v in cache.get_variants(state, ENGINE)] == [0]


def test_storing_a_variant_twice_keeps_one_copy(cache):
    state = make_state()
    variants = tone_set(state)
    assert cache.put_set(state, ENGINE, variants) == 2
    assert cache.put_set(state, ENGINE, variants) == 0
    stats = cache.stats()
    assert (stats.sets, stats.variants, stats.files) == (1, 2, 4)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prompt", "a tense chase"),
        ("bpm", 140.0),
        ("stems", (StemSpec("lead", "melody", program=74),)),
    ],
)
def test_editing_what_changes_the_audio_misses_only_that_state(cache, field, value):
    explore, battle = make_state("explore"), make_state("battle", prompt="a fierce fight")
    for state in (explore, battle):
        cache.put_set(state, ENGINE, tone_set(state))
    edited = dataclasses.replace(explore, spec=dataclasses.replace(explore.spec, **{field: value}))
    assert cache.get_set(edited, ENGINE) is None
    assert cache.get_set(battle, ENGINE) is not None


def test_edits_outside_the_generation_hash_reuse_the_set(cache):
    state = make_state()
    cache.put_set(state, ENGINE, tone_set(state))
    moved = dataclasses.replace(state, source_file="renamed.toml", intensity=0.4, next="menu")
    assert cache.get_set(moved, ENGINE) is not None


@pytest.mark.parametrize(
    "engine",
    [
        EngineKey("1.1", "weights-a", "sf-a"),
        EngineKey("1.0", "weights-b", "sf-a"),
        EngineKey("1.0", "weights-a", "sf-b"),
    ],
)
def test_a_new_engine_weights_or_soundfont_misses(cache, engine):
    state = make_state()
    cache.put_set(state, ENGINE, tone_set(state))
    assert cache.get_set(state, engine) is None


def test_seed_and_render_settings_are_part_of_the_key():
    state = make_state()
    keys = {
        set_key(state, ENGINE),
        set_key(dataclasses.replace(state, seed=8), ENGINE),
        set_key(
            dataclasses.replace(state, spec=dataclasses.replace(state.spec, sample_rate=48000)),
            ENGINE,
        ),
        set_key(
            dataclasses.replace(state, spec=dataclasses.replace(state.spec, loudness_lufs=-14)),
            ENGINE,
        ),
    }
    assert len(keys) == 4


def test_a_spec_soundfont_is_identified_by_its_bytes(tmp_path):
    font = tmp_path / "a.sf2"
    font.write_bytes(b"RIFF-one")
    state = make_state()
    with_font = dataclasses.replace(
        state, spec=dataclasses.replace(state.spec, soundfont=str(font))
    )
    before = set_key(with_font, ENGINE)
    font.write_bytes(b"RIFF-two-longer")
    assert set_key(with_font, ENGINE) != before
    font.unlink()
    with pytest.raises(CacheConfigError):
        set_key(with_font, ENGINE)


def test_a_variant_with_a_wrong_index_or_shape_is_refused(cache):
    state = make_state()
    good = tone_set(state).variants[1]
    moved = dataclasses.replace(good, meta=dataclasses.replace(good.meta, index=5))
    with pytest.raises(CacheEntryError, match="outside a set of 2"):
        cache.put_variant(state, ENGINE, moved)
    assert cache.put_variant(state, ENGINE, moved, variants=6)  # fits a set of 6
    wrong_shape = dataclasses.replace(good, mix=good.mix[:, :1])
    with pytest.raises(CacheEntryError):
        cache.put_variant(state, ENGINE, wrong_shape)
    other = make_state("battle")
    with pytest.raises(CacheEntryError):
        cache.put_set(other, ENGINE, tone_set(state))


def test_a_different_variant_count_is_a_different_set(cache):
    state = make_state(variants=2)
    cache.put_set(state, ENGINE, tone_set(state))
    more = dataclasses.replace(state, variants=3)
    assert cache.get_set(more, ENGINE) is None
    assert cache.get_variants(more, ENGINE) == ()
    assert cache.get_set(state, ENGINE) is not None
    assert cache.get_set(more, ENGINE, variants=2) is not None


def test_bad_settings_raise_typed_errors(tmp_path, monkeypatch):
    with pytest.raises(CacheConfigError):
        VariantCache(tmp_path, budget_bytes=0)
    monkeypatch.setenv("OSTINATO_CACHE_BUDGET_MB", "lots")
    with pytest.raises(CacheConfigError):
        VariantCache(tmp_path)
    monkeypatch.setenv("OSTINATO_CACHE", str(tmp_path / "from-env"))
    monkeypatch.setenv("OSTINATO_CACHE_BUDGET_MB", "2")
    with VariantCache() as cache:
        assert cache.root == tmp_path / "from-env"
        assert cache.budget_bytes == 2 * 1024**2
        with pytest.raises(CacheConfigError):
            cache.get_set(make_state(variants=0), ENGINE)


def _set_bytes(tmp_path) -> int:
    with VariantCache(tmp_path / "probe") as probe:
        state = make_state("probe")
        probe.put_set(state, ENGINE, tone_set(state))
        return probe.size_bytes()


def test_lru_evicts_the_least_recently_used_unpinned_sets(tmp_path):
    one_set = _set_bytes(tmp_path)
    with VariantCache(tmp_path / "lru", budget_bytes=int(one_set * 3.5)) as cache:
        states = [make_state(n, prompt=f"theme {n}", seed=i) for i, n in enumerate("abcde")]
        for state in states[:3]:
            cache.put_set(state, ENGINE, tone_set(state))
        cache.pin(states[0], ENGINE, "session-1")  # oldest, but pinned
        assert cache.get_set(states[1], ENGINE) is not None  # b is now more recent than c
        cache.put_set(states[3], ENGINE, tone_set(states[3]))
        cache.put_set(states[4], ENGINE, tone_set(states[4]))
        present = {s.name for s in states if cache.get_set(s, ENGINE) is not None}
        # d evicted c (b was read after c was written); e evicted b (read before d was made)
        assert present == {"a", "d", "e"}
        assert cache.size_bytes() <= cache.budget_bytes
        assert cache.verify().clean


def test_pins_survive_eviction_to_zero_and_unpinning_releases_them(cache):
    state, other = make_state("a", prompt="one", seed=1), make_state("b", prompt="two", seed=2)
    cache.put_set(state, ENGINE, tone_set(state))
    cache.put_set(other, ENGINE, tone_set(other))
    cache.pin(state, ENGINE, "bake", persistent=True)
    report = cache.evict(0)
    assert report.sets_evicted == 1 and report.over_budget
    assert cache.get_set(state, ENGINE) is not None
    assert cache.get_set(other, ENGINE) is None
    cache.unpin(state, ENGINE, "bake")
    assert cache.evict(0).sets_evicted == 1
    assert cache.stats().files == 0
    assert not any(cache.store.objects_dir.rglob("*.npy"))


def test_a_pin_of_a_dead_process_does_not_protect(cache):
    state = make_state()
    cache.put_set(state, ENGINE, tone_set(state))
    skey = cache.pin(state, ENGINE, "session-x")
    with cache.index.write() as tx:
        tx.execute("UPDATE pins SET pid = ? WHERE set_key = ?", (2**22 + 12345, skey))
    assert cache.evict(0).sets_evicted == 1


def test_identical_audio_is_stored_once_and_freed_with_its_last_user(cache):
    state = make_state()
    twin = dataclasses.replace(state, name="explore-copy")
    variants = tone_set(state)
    cache.put_set(state, ENGINE, variants)
    renamed = dataclasses.replace(variants, state="explore-copy")
    cache.put_set(twin, ENGINE, renamed)  # same spec + seed = same key: nothing new
    assert cache.stats().files == 4
    cache.clear()
    assert cache.stats().files == 0


def test_verify_repairs_orphans_missing_files_and_corruption(cache):
    a, b, c = (make_state(n, prompt=f"theme {n}", seed=i) for i, n in enumerate("abc"))
    for state in (a, b, c):
        cache.put_set(state, ENGINE, tone_set(state))
    assert cache.verify().clean
    orphan = cache.store.objects_dir / "zz" / ("z" * 32 + ".npy")
    orphan.parent.mkdir()
    orphan.write_bytes(b"left by a crash")
    row_a = cache.index.query("SELECT audio_digest FROM variants WHERE state = 'a' AND idx = 0")
    cache.store.path_for(row_a[0][0], ".npy").unlink()
    row_b = cache.index.query("SELECT midi_digest FROM variants WHERE state = 'b' AND idx = 1")
    with cache.store.path_for(row_b[0][0], ".mid").open("r+b") as handle:
        handle.seek(20)
        handle.write(b"\xff\xff")
    dry = cache.verify(repair=False)
    assert (dry.orphan_files, dry.missing_files, dry.corrupt_files) == (1, 1, 1)
    assert dry.dropped_variants == 2 and orphan.exists()
    report = cache.verify()
    assert (report.orphan_files, report.missing_files, report.corrupt_files) >= (1, 1, 1)
    assert not orphan.exists()
    assert cache.verify().clean
    assert cache.get_set(a, ENGINE) is None and cache.get_set(b, ENGINE) is None
    assert cache.get_set(c, ENGINE) is not None
    cache.put_set(a, ENGINE, tone_set(a))
    assert cache.get_set(a, ENGINE) is not None


def test_a_reader_treats_a_file_removed_under_it_as_a_miss(cache):
    state = make_state()
    cache.put_set(state, ENGINE, tone_set(state))
    for path in cache.store.objects_dir.rglob("*.npy"):
        path.unlink()
    assert cache.get_set(state, ENGINE) is None


def test_the_index_is_sqlite_in_wal_mode(cache):
    conn = sqlite3.connect(cache.root / "index.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_usage_times_are_written_back(cache):
    state = make_state()
    cache.put_set(state, ENGINE, tone_set(state))
    before = cache.list_sets()[0].last_used_at
    cache.get_set(state, ENGINE)
    cache.flush_usage()
    assert cache.list_sets()[0].last_used_at > before


def test_a_claim_held_by_a_live_process_excludes_others(cache):
    skey = set_key(make_state(), ENGINE)
    assert cache.claim(skey) and cache.claim(skey)  # re-entrant for its holder
    probe = (
        "import sys; from middleware.cache import VariantCache;"
        "print(VariantCache(sys.argv[1]).claim(sys.argv[2]))"
    )
    other = [sys.executable, "-c", probe, str(cache.root), skey]
    assert subprocess.run(other, capture_output=True, text=True).stdout.strip() == "False"
    cache.release(skey)
    assert subprocess.run(other, capture_output=True, text=True).stdout.strip() == "True"
    assert cache.claim(skey)  # the other process is gone: its claim is void


def _pack_keys(pack_dir) -> dict[str, str]:
    pack = load_pack(pack_dir)
    return {name: set_key(state, ENGINE) for name, state in pack.states.items()}


def test_editing_a_real_pack_invalidates_only_what_changed(tmp_path):
    pack_dir = tmp_path / "fantasy_rpg"
    shutil.copytree("templates/fantasy_rpg", pack_dir)
    before = _pack_keys(pack_dir)
    pack_toml = pack_dir / "pack.toml"
    text = pack_toml.read_text()
    edited = text.replace('fade_length = "2 beats"', 'fade_length = "4 beats"', 1)
    assert edited != text
    pack_toml.write_text("# a new comment at the top\n" + edited)
    assert _pack_keys(pack_dir) == before  # transitions and comments change no audio
    battle = pack_dir / "battle.toml"
    battle.write_text(battle.read_text().replace("relentless", "restless"))
    after = _pack_keys(pack_dir)
    assert [name for name in before if after[name] != before[name]] == ["battle"]


def test_a_set_in_use_is_mapped_once_and_released_with_its_last_user(cache):
    state = make_state()
    cache.put_set(state, ENGINE, tone_set(state))
    playing = cache.get_set(state, ENGINE)
    again = cache.get_set(state, ENGINE)
    assert np.shares_memory(playing.variants[0].mix, again.variants[0].mix)
    assert len(cache._mapped) == 2
    del playing, again
    gc.collect()
    assert len(cache._mapped) == 0  # no mapping outlives its users
