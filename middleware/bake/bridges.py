"""Bake the pack's generated bridges: one job per (source, target) whose rule asks for one.

A bridge job is a `BakeJob` of kind ``"bridge"`` named ``<source>.<target>`` (a dot never
appears in a state name), its spec the bridge's (`engine_core.bridge.bridge_spec`: both
states' identities are in it, so its bake key changes when either changes). Its one clip
is written to ``audio/bridges/<source>/<target>.<format>``; the manifest lists it under
``bridges["<source>-><target>"]`` with the bridge's own beat and bar lines (its tempo ramps
from the source's to the target's) and the Godot resource plays it as the pair's filler
clip (`godot.bridge_clip_name`).
"""

from __future__ import annotations

from typing import Any

from engine_core.variant import VariantSet
from middleware.bake.plan import BakeJob, BakeOptions
from middleware.bridges.requests import bridge_end, bridge_pairs
from middleware.templates.model import TemplatePack


def bridge_job_name(source: str, target: str) -> str:
    return f"{source}.{target}"


def bridge_key(job_name: str) -> str:
    """The manifest key of a bridge job: ``<source>-><target>``."""
    source, _, target = job_name.partition(".")
    return f"{source}->{target}"


def bridge_file(source: str, target: str, audio_format: str) -> str:
    return f"audio/bridges/{source}/{target}.{audio_format}"


def bridge_jobs(pack: TemplatePack, options: BakeOptions) -> list[BakeJob]:
    """A job per bridge the pack's transition rules can play, in pack order."""
    from engine_core.bridge import bridge_spec

    jobs = []
    for source, target, bars in bridge_pairs(pack):
        ends = (bridge_end(pack.states[source]), bridge_end(pack.states[target]), bars)
        jobs.append(
            BakeJob(
                kind="bridge",
                name=bridge_job_name(source, target),
                spec=bridge_spec(*ends),
                seed=pack.states[target].seed,
                variants=1,
                audio_format=options.audio_format,
                write_stems=False,
                bridge=ends,
            )
        )
    return jobs


def generate_bridge_set(
    engine: Any, job: BakeJob, progress: Any = None, scores: Any = None
) -> VariantSet:
    from middleware.bridges.generate import generate_item

    return generate_item(engine, job, variants=1, progress=progress, scores=scores)


def bridge_record(job: BakeJob, variant_record: dict[str, Any]) -> dict[str, Any]:
    """The job's manifest record (without `bake_key`), from its one encoded variant."""
    assert job.bridge is not None and job.spec is not None
    source, target, bars = job.bridge
    source_name, _, target_name = job.name.partition(".")
    return {
        "source": source_name,
        "target": target_name,
        "bars": bars,
        "file": variant_record["file"],
        "frames": variant_record["frames"],
        "music_samples": variant_record["bar_samples"][-1],
        "beat_samples": variant_record["beat_samples"],
        "bar_samples": variant_record["bar_samples"],
        "bpm_start": float(source.spec.bpm),
        "bpm_end": float(target.spec.bpm),
        "meter": job.spec.meter,
        "key": job.spec.key_info.name,
        "target_variant": 0,
        "provenance": variant_record["provenance"],
    }
