"""One bake job, run in a worker process (local pool or Dask): generate, then encode.

`run_job` is a pure function of its job (plus the cache it may read): it returns the
encoded files as bytes and the manifest record, and writes nothing to the output folder,
so the same job gives the same bytes in a local pool, on a Dask worker on another machine,
or in the calling process. Only the coordinating process writes files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from engine_core.variant import Variant, VariantSet
from middleware.bake.audio import decode_audio, encode_audio
from middleware.bake.plan import DEFAULT_ENGINE_FACTORY, BakeJob, EngineVersions

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class BakedFile:
    path: str  # relative to the pack's output folder, "/"-separated
    data: bytes

    def record(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "bytes": len(self.data),
        }


@dataclass(frozen=True)
class JobResult:
    """What a job made: its files, its manifest record, and how it got them."""

    kind: str
    name: str
    bake_key: str
    files: tuple[BakedFile, ...]
    record: dict[str, Any]
    origin: str = "generated"  # generated | encoded (a designer file) | cache | output | resumed
    music_seconds: float = 0.0
    elapsed_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def state_file(state: str, index: int, audio_format: str, stem: str | None = None) -> str:
    suffix = f".{stem}" if stem else ""
    return f"audio/{state}/{state}_v{index}{suffix}.{audio_format}"


def stinger_file(name: str, audio_format: str) -> str:
    """A stinger's file; a rendition's (`"<stinger>@<state>"`) sits in a folder per stinger."""
    stinger, _, state = name.partition("@")
    if state:
        return f"audio/stingers/{stinger}/{state}.{audio_format}"
    return f"audio/stingers/{name}.{audio_format}"


@lru_cache(maxsize=2)
def _engine(factory: str = DEFAULT_ENGINE_FACTORY) -> Any:
    """The process's engine, made once per worker process (not once per job).

    `factory` is "module:callable"; the default is the shipped `Engine()`.
    """
    module_name, _, attribute = factory.partition(":")
    return getattr(importlib.import_module(module_name), attribute)()


def engine_versions(factory: str = DEFAULT_ENGINE_FACTORY) -> EngineVersions:
    from engine_core.data.provenance import engine_terms_wire

    engine = _engine(factory)
    return EngineVersions(
        str(engine.engine_version), str(engine.weights_version), engine_terms_wire(engine)
    )


def _generate(
    job: BakeJob, cache_dir: str | None, progress: ProgressCallback | None, factory: str
) -> tuple[VariantSet, str]:
    """The job's variant set, from the cache when it holds it; returns (set, origin)."""
    engine = _engine(factory)
    if cache_dir is None:
        return _run_engine(engine, job, progress), "generated"
    from middleware.cache import EngineKey, VariantCache

    engine_key = EngineKey.from_engine(engine)
    with VariantCache(Path(cache_dir)) as cache:
        if factory == DEFAULT_ENGINE_FACTORY:  # so `serve` sees these sets as ready at once
            from middleware.cache.engine import engine_fingerprint, record_engine_key

            record_engine_key(cache, engine_fingerprint(), engine_key)
        found = cache.get_set(job, engine_key, variants=job.variants)
        if found is not None:
            return found, "cache"
        from middleware.bridges.generate import cached_scores

        variant_set = _run_engine(engine, job, progress, cached_scores(cache, engine_key))
        cache.put_set(job, engine_key, variant_set)
    return variant_set, "generated"


class _StageProgress:
    """Turns the engine's `(stage, done, total)` reports into one rising 0-1 fraction."""

    STAGES = ("model", "arrange", "render", "normalise", "export")

    def __init__(self, report: ProgressCallback) -> None:
        self.report = report
        self.fraction = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        slot = self.STAGES.index(stage) if stage in self.STAGES else 0
        fraction = (slot + done / max(total, 1)) / len(self.STAGES)
        if fraction > self.fraction:
            self.fraction = min(fraction, 0.99)
            self.report(self.fraction)


def _run_engine(
    engine: Any, job: BakeJob, progress: ProgressCallback | None, scores: Any = None
) -> VariantSet:
    """The job's set from the engine; `scores` (a `middleware.bridges.generate.ScoreLookup`)
    lets a bridge read its states' scores from the cache."""
    if job.spec is None:
        raise ValueError(f"job {job.name!r} has no generation spec")  # a planning bug
    stage_progress = _StageProgress(progress) if progress is not None else None
    if job.bridge is not None:
        from middleware.bake.bridges import generate_bridge_set

        return generate_bridge_set(engine, job, stage_progress, scores)
    return engine.generate(
        job.spec, state=job.name, seed=job.seed, variants=job.variants, progress=stage_progress
    )


def _provenance(variant: Variant) -> dict[str, Any]:
    meta = variant.meta
    return {
        "generation_hash": meta.generation_hash,
        "seed": meta.seed,
        "engine_version": meta.engine_version,
        "weights_version": meta.weights_version,
    }


def _encode_variant(job: BakeJob, variant: Variant) -> tuple[list[BakedFile], dict[str, Any]]:
    meta = variant.meta
    loop = (meta.loop_start, meta.loop_end) if meta.is_loop else None
    mix = BakedFile(
        state_file(job.name, meta.index, job.audio_format),
        encode_audio(variant.mix, meta.sample_rate, job.audio_format, loop_points=loop),
    )
    files = [mix]
    stems: dict[str, Any] = {}
    if job.write_stems:
        for stem_name in sorted(variant.stems):
            stem = BakedFile(
                state_file(job.name, meta.index, job.audio_format, stem_name),
                encode_audio(
                    variant.stems[stem_name], meta.sample_rate, job.audio_format, loop_points=loop
                ),
            )
            files.append(stem)
            stems[stem_name] = stem.record()
    record = {
        "index": meta.index,
        "file": mix.record(),
        "frames": int(variant.mix.shape[0]),
        "loop_start": meta.loop_start,
        "loop_end": meta.loop_end,
        "beat_samples": list(meta.beat_samples),
        "bar_samples": list(meta.bar_samples),
        "loudness_lufs": round(float(meta.loudness_lufs), 3),
        "true_peak_db": round(float(meta.true_peak_db), 3),
        "stems": stems,
        "provenance": _provenance(variant),
    }
    return files, record


def run_job(
    job: BakeJob,
    bake_key: str,
    cache_dir: str | None = None,
    progress: ProgressCallback | None = None,
    engine_factory: str = DEFAULT_ENGINE_FACTORY,
) -> JobResult:
    """Make one job's files. Runs anywhere the project is installed."""
    started = time.perf_counter()
    if job.spec is None:
        return _run_file_stinger(job, bake_key, started)
    variant_set, origin = _generate(job, cache_dir, progress, engine_factory)
    if job.slots:  # the designer's pinned / re-rolled variants (middleware.cache.pins)
        from middleware.cache.pins import with_choices

        sets = {}
        for seed in sorted({seed for _, seed in job.slots}):
            other = dataclasses.replace(job, seed=seed, slots=())
            sets[seed], _ = _generate(other, cache_dir, None, engine_factory)
        variant_set = with_choices(variant_set, job.slots, sets)
    files: list[BakedFile] = []
    records = []
    for variant in variant_set.variants:
        variant_files, record = _encode_variant(job, variant)
        files.extend(variant_files)
        records.append(record)
    if job.kind == "state":
        record: dict[str, Any] = {"variants": records}
    elif job.kind == "bridge":
        from middleware.bake.bridges import bridge_file, bridge_record

        source, _, target = job.name.partition(".")
        files = [BakedFile(bridge_file(source, target, job.audio_format), files[0].data)]
        record = {**bridge_record(job, records[0]), "file": files[0].record()}
    else:
        only = records[0]
        renamed = BakedFile(stinger_file(job.name, job.audio_format), files[0].data)
        files = [renamed]
        record = {
            "file": renamed.record(),
            "frames": only["frames"],
            "music_samples": job.spec.loop_samples,
            "source": "generated",
            "provenance": only["provenance"],
        }
    if progress is not None:
        progress(1.0)
    return JobResult(
        kind=job.kind,
        name=job.name,
        bake_key=bake_key,
        files=tuple(files),
        record=record,
        origin=origin,
        music_seconds=job.music_seconds,
        elapsed_s=time.perf_counter() - started,
    )


def _run_file_stinger(job: BakeJob, bake_key: str, started: float) -> JobResult:
    source = Path(job.source_file or "")
    samples, sample_rate = decode_audio(source.read_bytes())
    if samples.shape[1] == 1:
        samples = np.repeat(samples, 2, axis=1)
    baked = BakedFile(
        stinger_file(job.name, job.audio_format),
        encode_audio(samples, sample_rate, job.audio_format),
    )
    return JobResult(
        kind=job.kind,
        name=job.name,
        bake_key=bake_key,
        files=(baked,),
        record={
            "file": baked.record(),
            "frames": int(samples.shape[0]),
            "music_samples": int(samples.shape[0]),
            "source": "file",
            "provenance": None,
        },
        origin="encoded",
        elapsed_s=time.perf_counter() - started,
    )
