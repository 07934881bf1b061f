"""The baked pack's `manifest.json`: build it, validate it against its schema, serialise it.

The schema lives in `middleware/schemas/manifest.schema.json` (see docs/bake.md). The
serialisation is canonical (sorted keys, two-space indent, trailing newline, no
timestamps) so a re-bake of unchanged inputs writes a byte-identical manifest.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from middleware.bake.bridges import bridge_key
from middleware.bake.errors import BakeOutputError
from middleware.bake.plan import BakePlan, EngineVersions
from middleware.bake.stingers import renditions_by_stinger
from middleware.bake.work import JobResult
from middleware.templates.model import TemplatePack, TransitionRule

MANIFEST_FORMAT = "ostinato-baked-pack"
MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"


@lru_cache(maxsize=1)
def manifest_schema() -> dict[str, Any]:
    text = resources.files("middleware").joinpath("schemas/manifest.schema.json").read_text()
    return json.loads(text)


def validate_manifest(manifest: dict[str, Any]) -> None:
    """Raise `BakeOutputError` listing every place the manifest breaks its schema."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(manifest_schema())
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    if errors:
        problems = [
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
        ]
        raise BakeOutputError(
            "manifest does not match its schema:\n" + "\n".join(problems[:20]),
            {"problems": problems},
        )


def dumps_manifest(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def transition_record(rule: TransitionRule) -> dict[str, Any]:
    filler = rule.filler
    return {
        "from": rule.source,
        "to": rule.target,
        "leave_at": rule.leave_at.value,
        "enter_at": rule.enter_at.value,
        "fade": rule.fade.value,
        "fade_length": {
            "value": float(rule.fade_length.value),
            "unit": rule.fade_length.unit.value,
        },
        "phrase_bars": rule.phrase_bars,
        "filler_stinger": filler.stinger if filler else None,
        "bridge_bars": filler.bridge_bars if filler else 0,
        "hold_previous": rule.hold_previous,
    }


def _state_record(pack: TemplatePack, result: JobResult) -> dict[str, Any]:
    state = pack.states[result.name]
    spec = state.spec
    return {
        "bpm": float(spec.bpm),
        "meter": spec.meter,
        "beats_per_bar": spec.meter_info.beats_per_bar,
        "key": spec.key_info.name,
        "bars": spec.bars,
        "one_shot": state.one_shot,
        "next": state.next,
        "intensity": float(state.intensity),
        "loop_samples": spec.loop_samples,
        "variant_weights": list(state.variant_weights) if state.variant_weights else None,
        "stems": {
            stem.name: {
                "role": stem.role,
                "intensity": [float(stem.intensity[0]), float(stem.intensity[1])],
                "gain_db": float(stem.gain_db),
            }
            for stem in spec.stems
        },
        "variants": result.record["variants"],
        "generation_hash": spec.generation_hash(),
        "seed": state.seed,
        "bake_key": result.bake_key,
    }


def _stinger_record(
    pack: TemplatePack, result: JobResult, renditions: dict[str, Any]
) -> dict[str, Any]:
    stinger = pack.stingers[result.name]
    return {
        **result.record,
        "sync": stinger.sync.value,
        "duck_db": float(stinger.duck_db),
        "gain_db": float(stinger.gain_db),
        "bake_key": result.bake_key,
        "key_pinned": stinger.key_pinned,
        "renditions": renditions,
    }


def build_manifest(
    plan: BakePlan,
    results: dict[str, JobResult],
    versions: EngineVersions,
    godot: dict[str, Any],
) -> dict[str, Any]:
    """The manifest for a finished bake; `results` maps "kind:name" to each job's result."""
    pack = plan.pack
    states = {
        job.name: _state_record(pack, results[f"state:{job.name}"]) for job in plan.state_jobs
    }
    renditions = renditions_by_stinger(plan, results)
    stingers = {
        job.name: _stinger_record(
            pack, results[f"stinger:{job.name}"], renditions.get(job.name, {})
        )
        for job in plan.stinger_jobs
    }
    sample_rate = next(iter(pack.states.values())).spec.sample_rate
    manifest = {
        "format": MANIFEST_FORMAT,
        "manifest_version": MANIFEST_VERSION,
        "pack": {
            "name": pack.name,
            "description": pack.description,
            "start_state": pack.start_state,
        },
        "sample_rate": sample_rate,
        "audio_format": plan.options.audio_format,
        "engine": {
            "engine_version": versions.engine_version,
            "weights_version": versions.weights_version,
        },
        "data_terms": versions.data_terms,
        "states": states,
        "stingers": stingers,
        "transitions": [transition_record(rule) for rule in pack.transitions],
        "default_transition": transition_record(pack.default_transition),
        "godot": godot,
    }
    bridges = {
        bridge_key(job.name): {**results[f"bridge:{job.name}"].record,
                               "bake_key": results[f"bridge:{job.name}"].bake_key}
        for job in plan.bridge_jobs
    }  # fmt: skip
    if bridges:  # additive: absent from packs without bridges
        manifest["bridges"] = bridges
    return manifest
