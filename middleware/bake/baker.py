"""Bake a template pack into a folder of shipping assets, incrementally and atomically.

Layout under the output root, for pack `p`:

- `p/`: the finished bake (manifest.json, audio/, Godot resources). It only ever changes
  by one rename: the new tree is assembled in `.p.bake-new/`, the old one moved aside to
  `.p.bake-old/`, the new one renamed into place, the old one removed.
- `.p.bake-work/`: one folder per finished job (its files and `result.json`), each
  written under a temporary name and renamed. An interrupted bake resumes from here;
  the folder is removed after a successful bake.

A job whose `bake_key` matches the previous bake's manifest (and whose files still hash
to what the manifest says) is reused without generation, so an unchanged re-bake
generates nothing and changing one state re-bakes only that state.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from middleware.bake.errors import BakeOutputError
from middleware.bake.execute import PendingJob, run_jobs
from middleware.bake.godot import godot_notes, write_godot_resources
from middleware.bake.manifest import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    build_manifest,
    dumps_manifest,
    validate_manifest,
)
from middleware.bake.plan import BakeOptions, BakePlan, EngineVersions, plan_bake
from middleware.bake.stingers import previous_entry
from middleware.bake.work import BakedFile, JobResult
from middleware.templates.model import TemplatePack


@dataclass(frozen=True)
class BakeProgress:
    """A progress report: one job's fraction, and how many jobs are finished overall."""

    job_id: str
    fraction: float
    jobs_done: int
    jobs_total: int
    origin: str | None = None  # set when finished: generated/encoded/cache/output/resumed


ProgressCallback = Callable[[BakeProgress], None]


@dataclass(frozen=True)
class BakeReport:
    pack: str
    out_dir: Path
    plan: BakePlan
    results: tuple[JobResult, ...] = ()
    dry_run: bool = False
    elapsed_s: float = 0.0
    versions: EngineVersions | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def generated(self) -> tuple[JobResult, ...]:
        return tuple(r for r in self.results if r.origin == "generated")

    def count(self, origin: str) -> int:
        return sum(1 for r in self.results if r.origin == origin)

    @property
    def music_seconds(self) -> float:
        return sum(job.music_seconds for job in self.plan.jobs)


def _job_id(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temp.write_bytes(data)
    os.replace(temp, path)


class _WorkDir:
    """Finished job results of an unfinished bake, one renamed-into-place folder each."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, job_id: str, bake_key: str) -> Path:
        return self.root / f"{job_id.replace(':', '-')}-{bake_key}"

    def save(self, result: JobResult) -> None:
        final = self._folder(_job_id(result.kind, result.name), result.bake_key)
        if final.exists():
            return
        temp = final.with_name(final.name + f".tmp-{os.getpid()}")
        shutil.rmtree(temp, ignore_errors=True)
        for baked in result.files:
            target = temp / "files" / baked.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(baked.data)
        meta = {
            "kind": result.kind,
            "name": result.name,
            "bake_key": result.bake_key,
            "record": result.record,
            "paths": [f.path for f in result.files],
            "music_seconds": result.music_seconds,
        }
        (temp / "result.json").write_text(json.dumps(meta, sort_keys=True))
        os.replace(temp, final)

    def load(self, job_id: str, bake_key: str) -> JobResult | None:
        folder = self._folder(job_id, bake_key)
        meta_path = folder / "result.json"
        if not meta_path.is_file():
            return None
        meta = json.loads(meta_path.read_text())
        files = tuple(
            BakedFile(path, (folder / "files" / path).read_bytes()) for path in meta["paths"]
        )
        return JobResult(
            kind=meta["kind"],
            name=meta["name"],
            bake_key=bake_key,
            files=files,
            record=meta["record"],
            origin="resumed",
            music_seconds=meta["music_seconds"],
        )


def _file_records(record: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    if kind != "state":  # a stinger, a rendition or a bridge: one file
        return [record["file"]]
    files = []
    for variant in record["variants"]:
        files.append(variant["file"])
        files.extend(variant["stems"][name] for name in sorted(variant["stems"]))
    return files


def _reuse_from_output(
    out_dir: Path, previous: dict[str, Any] | None, job_id: str, bake_key: str, seconds: float
) -> JobResult | None:
    """The previous bake's result for a job whose key is unchanged and files intact."""
    if previous is None:
        return None
    kind, name = job_id.split(":", 1)
    if kind == "bridge":
        from middleware.bake.bridges import bridge_key

        entry = previous.get("bridges", {}).get(bridge_key(name))
    else:
        entry = previous_entry(previous, kind, name)
    if entry is None or entry.get("bake_key") != bake_key:
        return None
    try:
        if kind == "bridge":
            record = {k: v for k, v in entry.items() if k != "bake_key"}
        else:
            record = (
                {"variants": entry["variants"]}
                if kind == "state"
                else {
                    k: entry[k] for k in ("file", "frames", "music_samples", "source", "provenance")
                }
            )
    except KeyError:
        return None  # written by an older bake
    files = []
    for file_record in _file_records(record, kind):
        path = out_dir / file_record["path"]
        if not path.is_file():
            return None
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != file_record["sha256"]:
            return None
        files.append(BakedFile(file_record["path"], data))
    return JobResult(kind, name, bake_key, tuple(files), record, "output", seconds)


def _read_previous(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a folder that is not an earlier bake (it would be deleted)."""
    if not out_dir.exists():
        return
    previous = _read_previous(out_dir)
    if not out_dir.is_dir() or previous is None or previous.get("format") != MANIFEST_FORMAT:
        raise BakeOutputError(
            f"{out_dir} exists and is not a baked pack (no Ostinato manifest.json): refusing "
            "to replace it; choose another --out or move it away",
            {"path": str(out_dir)},
        )


def _recover_swap(out_dir: Path, old_dir: Path) -> None:
    """Finish or undo a swap an earlier bake was killed in the middle of."""
    if old_dir.exists():
        if out_dir.exists():
            shutil.rmtree(old_dir)
        else:
            os.replace(old_dir, out_dir)


def bake_pack(
    pack: TemplatePack,
    out_root: Path,
    options: BakeOptions | None = None,
    *,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    versions: EngineVersions | None = None,
) -> BakeReport:
    """Bake `pack` into `out_root/<pack name>/`; see the module docstring for the layout.

    `versions` defaults to the installed engine's; bad packs and options raise before any
    work starts.
    """
    started = time.perf_counter()
    options = options or BakeOptions()
    plan = plan_bake(pack, options)
    out_root = Path(out_root)
    out_dir = out_root / pack.name
    notes: list[str] = []
    if options.godot and options.audio_format != "ogg":
        notes.append("Godot resources skipped: Godot reads bpm and loop points from OGG only")
    elif options.godot:
        notes.extend(godot_notes(pack))
    _check_replaceable(out_dir)
    if dry_run:
        return BakeReport(pack.name, out_dir, plan, dry_run=True, notes=tuple(notes))
    if versions is None:
        from middleware.bake.work import engine_versions

        versions = engine_versions(options.engine_factory)
    old_dir = out_root / f".{pack.name}.bake-old"
    new_dir = out_root / f".{pack.name}.bake-new"
    _recover_swap(out_dir, old_dir)
    work = _WorkDir(out_root / f".{pack.name}.bake-work")
    previous = _read_previous(out_dir)

    results: dict[str, JobResult] = {}
    pending: list[PendingJob] = []
    total = len(plan.jobs)
    for job in plan.jobs:
        job_id = _job_id(job.kind, job.name)
        key = job.bake_key(versions)
        found = _reuse_from_output(out_dir, previous, job_id, key, job.music_seconds)
        found = found or work.load(job_id, key)
        if found is not None:
            results[job_id] = found
            if progress is not None:
                progress(BakeProgress(job_id, 1.0, len(results), total, found.origin))
        else:
            pending.append(PendingJob(job_id, job, key))

    def on_progress(job_id: str, fraction: float) -> None:
        if progress is not None and fraction < 1.0:
            progress(BakeProgress(job_id, fraction, len(results), total))

    for result in run_jobs(
        pending,
        workers=options.workers,
        scheduler=options.scheduler,
        cache_dir=str(options.cache_dir) if options.cache_dir else None,
        on_progress=on_progress,
        engine_factory=options.engine_factory,
    ):
        work.save(result)
        job_id = _job_id(result.kind, result.name)
        results[job_id] = result
        if progress is not None:
            progress(BakeProgress(job_id, 1.0, len(results), total, result.origin))

    _write_output(plan, results, versions, out_dir, new_dir, old_dir)
    shutil.rmtree(work.root, ignore_errors=True)
    ordered = tuple(results[_job_id(job.kind, job.name)] for job in plan.jobs)
    return BakeReport(
        pack.name,
        out_dir,
        plan,
        ordered,
        elapsed_s=time.perf_counter() - started,
        versions=versions,
        notes=tuple(notes),
    )


def _write_output(
    plan: BakePlan,
    results: dict[str, JobResult],
    versions: EngineVersions,
    out_dir: Path,
    new_dir: Path,
    old_dir: Path,
) -> None:
    files: dict[str, bytes] = {}
    for result in results.values():
        for baked in result.files:
            files[baked.path] = baked.data
    godot_index: dict[str, Any] = {"interactive": None, "clips": [], "playlists": {}, "layers": {}}
    manifest = build_manifest(plan, results, versions, godot_index)
    if plan.options.godot and plan.options.audio_format == "ogg":
        godot_files = write_godot_resources(plan.pack, manifest)
        files.update(godot_files)
        godot_index.update(_godot_index(plan.pack.name, manifest, godot_files))
    validate_manifest(manifest)
    files[MANIFEST_NAME] = dumps_manifest(manifest)

    shutil.rmtree(new_dir, ignore_errors=True)
    try:
        for path, data in sorted(files.items()):
            target = new_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if out_dir.exists():
            os.replace(out_dir, old_dir)
        os.replace(new_dir, out_dir)
    except OSError as error:
        raise BakeOutputError(
            f"cannot write the baked pack to {out_dir}: {error}", {"path": str(out_dir)}
        ) from error
    shutil.rmtree(old_dir, ignore_errors=True)


def _godot_index(
    pack_name: str, manifest: dict[str, Any], godot_files: dict[str, bytes]
) -> dict[str, Any]:
    from middleware.bake.godot import (
        bridge_clip_name,
        clip_name,
        music_scene_name,
        stinger_clip_name,
    )

    clips = [
        clip_name(name, variant["index"])
        for name, state in manifest["states"].items()
        for variant in state["variants"]
    ] + [stinger_clip_name(name) for name in manifest["stingers"]]
    clips += [
        bridge_clip_name(bridge["source"], bridge["target"])
        for bridge in manifest.get("bridges", {}).values()
    ]
    playlists = {
        name: f"{name}.playlist.tres"
        for name in manifest["states"]
        if f"{name}.playlist.tres" in godot_files
    }
    layers = {
        name: [
            f"{name}_v{variant['index']}.layers.tres"
            for variant in state["variants"]
            if f"{name}_v{variant['index']}.layers.tres" in godot_files
        ]
        for name, state in manifest["states"].items()
    }
    return {
        "interactive": f"{pack_name}.tres",
        "clips": clips,
        "playlists": playlists,
        "layers": {name: paths for name, paths in layers.items() if paths},
        "player": music_scene_name(pack_name),
    }
