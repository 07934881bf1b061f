"""The engine key recorded in the cache, read back on a warm start without the model."""

from __future__ import annotations

import os
import subprocess
import sys

from middleware.cache import EngineKey, VariantCache
from middleware.cache.engine import (
    engine_fingerprint,
    record_engine_key,
    recorded_engine_key,
    resolve_engine_key,
)


def test_a_recorded_key_is_found_by_the_same_fingerprint_only(tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "ostinato.json").write_text("{}")
    key = EngineKey("0.1.0+sf.abc", "ostinato-1-123456789abc")
    with VariantCache(tmp_path / "cache") as cache:
        before = engine_fingerprint(weights)
        record_engine_key(cache, before, key)
        assert recorded_engine_key(cache, before) == key
        (weights / "ostinato.safetensors").write_bytes(b"new weights")
        after = engine_fingerprint(weights)
        assert after != before
        assert recorded_engine_key(cache, after) is None


def test_the_fingerprint_follows_the_soundfont(tmp_path):
    font = tmp_path / "bank.sf2"
    font.write_bytes(b"RIFF")
    first = engine_fingerprint(tmp_path, font)
    font.write_bytes(b"RIFF and more")
    assert engine_fingerprint(tmp_path, font) != first


def test_resolving_a_recorded_key_does_not_import_torch(tmp_path):
    with VariantCache(tmp_path) as cache:
        record_engine_key(cache, engine_fingerprint(), EngineKey("e", "w"))
        assert resolve_engine_key(cache, load=False) == EngineKey("e", "w")
    code = (
        "import sys; from middleware.cache import VariantCache;"
        "from middleware.cache.engine import resolve_engine_key;"
        f"key = resolve_engine_key(VariantCache({str(tmp_path)!r}));"
        "print(key.weights_version, 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    ).stdout
    assert out.split() == ["w", "False"]


def test_nothing_recorded_and_no_loading_gives_none(tmp_path):
    with VariantCache(tmp_path) as cache:
        assert resolve_engine_key(cache, load=False) is None
