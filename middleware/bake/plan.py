"""Plan a bake: one job per state and per stinger, each with a key naming everything it makes.

Planning checks the pack for what a bake needs beyond template validation (file-safe
names, Godot's clip limit, readable stinger files, a known audio format) and raises one
`BakeError` listing every problem before any generation starts. A job's `bake_key` hashes
what determines its files (generation hash, seed, variant count, format, stems, engine and
weights versions, a stinger file's content): a job whose key is unchanged is reused.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine_core.spec import GenerationSpec
from middleware.bake.audio import AUDIO_FORMATS
from middleware.bake.errors import BakeError
from middleware.templates.model import TemplatePack
from middleware.templates.renditions import pack_renditions

#: Bumped when the bake writes different bytes for the same inputs.
BAKE_FORMAT_VERSION = 1
#: What makes the engine in every worker: `engine_core.generate.Engine()`, the shipped model.
DEFAULT_ENGINE_FACTORY = "engine_core.generate:Engine"
#: AudioStreamInteractive holds at most this many clips (Godot's MAX_CLIPS).
GODOT_MAX_CLIPS = 63
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class BakeOptions:
    """How to bake. `variants` overrides every state's variant count when set."""

    audio_format: str = "ogg"
    stems: bool = True  # write stems for layered states (states with more than one stem)
    godot: bool = True  # write Godot resources (needs OGG: only Ogg streams carry bpm/loop)
    variants: int | None = None
    workers: int = 1
    scheduler: str | None = None  # "tcp://host:8786": run on a Dask cluster
    cache_dir: Path | None = None  # a VariantCache shared by the workers
    engine_factory: str = DEFAULT_ENGINE_FACTORY  # "module:callable" returning an engine


@dataclass(frozen=True)
class EngineVersions:
    engine_version: str
    weights_version: str
    #: what the weights' training data states about its use (engine_core.data.provenance
    #: `terms_wire`); None when the engine has no learned weights. Not part of bake keys.
    data_terms: dict[str, Any] | None = None


@dataclass(frozen=True)
class BakeJob:
    """One unit of work: a state's variant set, or one stinger."""

    kind: str  # "state" | "stinger" | "rendition" (a stinger over one state)
    name: str
    spec: GenerationSpec | None  # None: a designer-supplied stinger file
    seed: int
    variants: int
    audio_format: str
    write_stems: bool
    source_file: str | None = None
    source_sha256: str | None = None
    #: a bridge job's (source end, target end, bars) (`engine_core.bridge.BridgeEnd`s)
    bridge: tuple[Any, Any, int] | None = None
    #: a state's designer choices: (slot, seed) of slots that play another seed's variant
    #: (`<pack>/studio-variants.json`, `middleware.cache.pins`)
    slots: tuple[tuple[int, int], ...] = ()

    @property
    def generation_hash(self) -> str:
        if self.spec is not None:
            return self.spec.generation_hash()
        return f"file:{(self.source_sha256 or '')[:16]}"

    @property
    def music_seconds(self) -> float:
        """Seconds of music this job produces (variants x loop length; 0 for a file)."""
        if self.spec is None:
            return 0.0
        return self.variants * self.spec.loop_samples / self.spec.sample_rate

    def bake_key(self, versions: EngineVersions) -> str:
        blob = json.dumps(
            {
                "bake_format": BAKE_FORMAT_VERSION,
                "kind": self.kind,
                "name": self.name,
                "generation_hash": self.generation_hash,
                "seed": self.seed,
                "variants": self.variants,
                "audio_format": self.audio_format,
                "stems": self.write_stems,
                **({"slots": [list(slot) for slot in self.slots]} if self.slots else {}),
                "engine_version": versions.engine_version if self.spec else "",
                "weights_version": versions.weights_version if self.spec else "",
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class BakePlan:
    pack: TemplatePack
    options: BakeOptions
    jobs: tuple[BakeJob, ...]

    @property
    def state_jobs(self) -> tuple[BakeJob, ...]:
        return tuple(job for job in self.jobs if job.kind == "state")

    @property
    def stinger_jobs(self) -> tuple[BakeJob, ...]:
        return tuple(job for job in self.jobs if job.kind == "stinger")

    @property
    def bridge_jobs(self) -> tuple[BakeJob, ...]:
        return tuple(job for job in self.jobs if job.kind == "bridge")

    @property
    def rendition_jobs(self) -> tuple[BakeJob, ...]:
        return tuple(job for job in self.jobs if job.kind == "rendition")

    @property
    def godot_clip_count(self) -> int:
        clips = sum(job.variants for job in self.state_jobs) + len(self.stinger_jobs)
        return clips + len(self.bridge_jobs)

    def describe(self) -> list[dict[str, Any]]:
        """One row per job (for `--dry-run`)."""
        rows = []
        for job in self.jobs:
            spec = job.spec
            rows.append(
                {
                    "kind": job.kind,
                    "name": job.name,
                    "variants": job.variants,
                    "bars": spec.bars if spec else None,
                    "bpm": spec.bpm if spec else None,
                    "stems": len(spec.stems) if spec and job.write_stems else 0,
                    "seed": job.seed,
                    "music_seconds": round(job.music_seconds, 3),
                    "source": "file" if spec is None else "generated",
                }
            )
        return rows


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plan_bake(pack: TemplatePack, options: BakeOptions) -> BakePlan:
    """Check the pack for baking and list its jobs (states in pack order, then stingers,
    then stinger renditions, then bridges)."""
    problems: list[str] = []
    if options.audio_format not in AUDIO_FORMATS:
        problems.append(
            f"audio format {options.audio_format!r} unknown (allowed: {', '.join(AUDIO_FORMATS)})"
        )
    if options.variants is not None and not 1 <= options.variants <= 16:
        problems.append(f"variants override {options.variants} outside 1-16")
    if options.workers < 1:
        problems.append(f"workers {options.workers} must be at least 1")
    if options.scheduler is not None and not options.scheduler.startswith(("tcp://", "tls://")):
        problems.append(f"scheduler {options.scheduler!r} is not a tcp:// or tls:// address")
    module_name, _, attribute = options.engine_factory.partition(":")
    if not module_name or not attribute:
        problems.append(f"engine factory {options.engine_factory!r} is not 'module:callable'")
    if not pack.states:
        problems.append("the pack has no states")
    jobs: list[BakeJob] = []
    from middleware.cache.pins import chosen_seeds, read_choices

    choices = read_choices(pack.root)  # a damaged sidecar: `bad_sidecar`, nothing baked
    for name, state in pack.states.items():
        if not _SAFE_NAME.match(name):
            problems.append(f"state {name!r}: names of baked files allow A-Z a-z 0-9 _ - only")
        variants = options.variants if options.variants is not None else state.variants
        layered = len(state.spec.stems) > 1
        jobs.append(
            BakeJob(
                kind="state",
                name=name,
                spec=state.spec,
                seed=state.seed,
                variants=1 if state.one_shot else variants,
                audio_format=options.audio_format,
                write_stems=options.stems and layered and not state.one_shot,
                # the designer's chosen variants (a variants override makes other sets)
                slots=chosen_seeds(choices, state) if variants == state.variants else (),
            )
        )
    jobs.extend(_stinger_jobs(pack.stingers, options, problems))
    jobs.extend(_rendition_jobs(pack, options))
    from middleware.bake.bridges import bridge_jobs

    jobs.extend(bridge_jobs(pack, options))  # after the states they connect
    plan = BakePlan(pack=pack, options=options, jobs=tuple(jobs))
    if options.godot and options.audio_format == "ogg" and plan.godot_clip_count > GODOT_MAX_CLIPS:
        problems.append(
            f"Godot's AudioStreamInteractive holds {GODOT_MAX_CLIPS} clips; this bake needs "
            f"{plan.godot_clip_count} (variants of every state + stingers): lower --variants "
            "or bake with --no-godot"
        )
    if problems:
        raise BakeError(
            f"cannot bake pack {pack.name!r}:\n" + "\n".join(f"  - {p}" for p in problems),
            {"pack": pack.name, "problems": problems},
        )
    return plan


def _stinger_jobs(
    stingers: Mapping[str, Any], options: BakeOptions, problems: list[str]
) -> list[BakeJob]:
    jobs = []
    for name, stinger in stingers.items():
        if not _SAFE_NAME.match(name):
            problems.append(f"stinger {name!r}: names of baked files allow A-Z a-z 0-9 _ - only")
        if stinger.file is not None:
            path = Path(stinger.file)
            if not path.is_file():
                problems.append(f"stinger {name!r}: file {str(path)!r} does not exist")
                continue
            jobs.append(
                BakeJob(
                    kind="stinger",
                    name=name,
                    spec=None,
                    seed=stinger.seed,
                    variants=1,
                    audio_format=options.audio_format,
                    write_stems=False,
                    source_file=str(path),
                    source_sha256=_file_sha256(path),
                )
            )
        elif stinger.spec is not None:
            jobs.append(
                BakeJob(
                    kind="stinger",
                    name=name,
                    spec=stinger.spec,
                    seed=stinger.seed,
                    variants=1,
                    audio_format=options.audio_format,
                    write_stems=False,
                )
            )
        else:
            problems.append(f"stinger {name!r} has neither a spec nor a file")
    return jobs


def _rendition_jobs(pack: TemplatePack, options: BakeOptions) -> list[BakeJob]:
    """A job per stinger rendition (`"<stinger>@<state>"`, host by host in pack order):
    baked like a generated stinger (middleware/bake/stingers.py writes their manifest)."""
    return [
        BakeJob(
            kind="rendition",
            name=item.name,
            spec=item.spec,
            seed=item.seed,
            variants=1,
            audio_format=options.audio_format,
            write_stems=False,
        )
        for item in pack_renditions(pack)
    ]
