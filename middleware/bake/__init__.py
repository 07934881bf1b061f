"""Bake template packs into shipping assets: audio, `manifest.json`, Godot resources.

`bake_pack(pack, out_root, options)` plans one job per state and stinger, reuses every job
whose inputs did not change, runs the rest in a local process pool or on a Dask cluster,
and swaps the finished folder into place. See docs/bake.md.
"""

from __future__ import annotations

from middleware.bake.baker import BakeReport, bake_pack
from middleware.bake.errors import BakeError, BakeOutputError
from middleware.bake.plan import BakeOptions, BakePlan, EngineVersions, plan_bake

__all__ = [
    "BakeError",
    "BakeOptions",
    "BakeOutputError",
    "BakePlan",
    "BakeReport",
    "EngineVersions",
    "bake_pack",
    "plan_bake",
]
