"""Baking stinger renditions: one job per (generated stinger, state), one manifest entry each.

A rendition job (`kind = "rendition"`, named `"<stinger>@<state>"`, planned by
`plan._rendition_jobs`) is baked like a
stinger: one one-shot file, `audio/stingers/<stinger>/<state>.<format>`, from the cache
when the service or an earlier bake made it. The manifest lists renditions under their
stinger (`stingers.<name>.renditions.<state>`) with the host's key, tempo and meter, so a
player lays the one for the state that plays (see docs/bake.md). Renditions are not clips
of Godot's AudioStreamInteractive (its 63-clip limit is for the states' variants); the
baked player reads them from the manifest.
"""

from __future__ import annotations

from typing import Any

from middleware.bake.plan import BakeJob, BakePlan
from middleware.bake.work import JobResult
from middleware.templates.renditions import split_rendition_name

RENDITION = "rendition"
#: What a rendition's manifest entry keeps of its job's record.
RECORD_KEYS = ("file", "frames", "music_samples", "provenance")


def rendition_record(job: BakeJob, result: JobResult) -> dict[str, Any]:
    spec = job.spec
    assert spec is not None  # rendition jobs are always generated
    return {
        **{key: result.record[key] for key in RECORD_KEYS},
        "key": spec.key_info.name,
        "bpm": float(spec.bpm),
        "meter": spec.meter,
        "beats_per_bar": spec.meter_info.beats_per_bar,
        "bake_key": result.bake_key,
    }


def renditions_by_stinger(
    plan: BakePlan, results: dict[str, JobResult]
) -> dict[str, dict[str, dict[str, Any]]]:
    """stinger -> state -> manifest entry, for every rendition job of the plan."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for job in plan.jobs:
        parts = split_rendition_name(job.name) if job.kind == RENDITION else None
        if parts is not None:
            stinger, state = parts
            entry = rendition_record(job, results[f"{RENDITION}:{job.name}"])
            found.setdefault(stinger, {})[state] = entry
    return found


def previous_entry(previous: dict[str, Any], kind: str, name: str) -> dict[str, Any] | None:
    """A job's entry in an earlier manifest (None: not there, or an older manifest)."""
    if kind == "state":
        return previous.get("states", {}).get(name)
    if kind != RENDITION:
        return previous.get("stingers", {}).get(name)
    parts = split_rendition_name(name)
    if parts is None:
        return None
    stinger = previous.get("stingers", {}).get(parts[0]) or {}
    entry = stinger.get("renditions", {}).get(parts[1])
    return None if entry is None else {**entry, "source": "generated"}
