"""The whole engine with the shipped weights: template specs in, seamless loops out.

These run `Engine()` as the service and the CLI do: the diffusion composer loaded from
`engine_core/weights/`, the bundled template packs, the default SoundFont.
"""

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from engine_core.generate import Engine
from engine_core.render.seam import seam_report
from engine_core.spec import beat_to_sample
from middleware.cli import main
from middleware.templates.loader import load_pack

PACKS = Path(__file__).parents[1] / "templates"

pytestmark = pytest.mark.slow


@lru_cache(maxsize=1)
def engine() -> Engine:
    return Engine()


@lru_cache(maxsize=1)
def battle():  # -> (spec, VariantSet)
    spec = load_pack(PACKS / "fantasy_rpg").state("battle").spec
    return spec, engine().generate(spec, state="battle", seed=11, variants=2)


def test_model_loops_have_exact_timing_and_the_weights_version() -> None:
    spec, variant_set = battle()
    assert engine().weights_version == engine().composer.weights_version
    for variant in variant_set.variants:
        meta = variant.meta
        assert meta.loop_end == spec.loop_samples == variant.mix.shape[0]
        assert meta.bar_samples[-1] == beat_to_sample(spec.bars * 4, spec.bpm, 48000)
        assert meta.weights_version == engine().weights_version
        assert set(variant.stems) == {s.name for s in spec.stems}
        assert np.max(np.abs(variant.mix)) > 0.01


def test_model_loops_are_seamless() -> None:
    _, variant_set = battle()
    for variant in variant_set.variants:
        meta = variant.meta
        report = seam_report(
            variant.mix, meta.bar_samples, meta.sample_rate, beat_samples=meta.beat_samples
        )
        assert report.passed, report.to_json()


def test_model_loops_meet_loudness_and_peak_targets() -> None:
    spec, variant_set = battle()
    for variant in variant_set.variants:
        assert variant.meta.true_peak_db <= spec.true_peak_db
        assert variant.meta.loudness_lufs <= spec.loudness_lufs + 0.05
        assert variant.meta.loudness_lufs > spec.loudness_lufs - 6.0


def test_model_generation_is_bit_identical_per_seed() -> None:
    spec = load_pack(PACKS / "fantasy_rpg").state("victory").spec
    first = engine().generate(spec, state="victory", seed=5, variants=1).variants[0]
    second = Engine().generate(spec, state="victory", seed=5, variants=1).variants[0]
    assert first.mix.tobytes() == second.mix.tobytes()
    assert first.midi == second.midi
    assert not first.meta.is_loop


def test_cli_writes_a_playable_set(tmp_path: Path) -> None:
    out = tmp_path / "town"
    main(
        [
            "generate",
            str(PACKS / "fantasy_rpg"),
            "--state",
            "town",
            "--variants",
            "1",
            "--seed",
            "3",
            "--out",
            str(out),
            "--plot",
            "--format",
            "ogg",
        ]
    )
    manifest = json.loads((out / "variants.json").read_text())
    entry = manifest["variants"][0]
    assert manifest["format"] == "ogg" and entry["seam"]["passed"]
    assert entry["meta"]["meter"] == "6/8"
    assert (out / entry["mix"]).stat().st_size > 10_000
    assert (out / "variant_0" / "plot.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "summary.png").read_bytes().startswith(b"\x89PNG")
