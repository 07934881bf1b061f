"""`eval-music`: the fixed spec lists, the measures, and a fast seeded sweep with the real
model and renderer (the full sweep is `ostinato eval-music`)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from engine_core.evaluation.music import (
    beat_class,
    interval_shares,
    longest_hole_beats,
)
from engine_core.evaluation.music_sweep import run_sweep, spec_lists, summarise
from engine_core.spec import Meter
from middleware.cli import cli


def test_the_spec_lists_are_fixed_and_cover_meters_and_stem_sets() -> None:
    lists = spec_lists()
    dev, heldout = lists["dev"], lists["heldout"]
    assert len(dev) + len(heldout) >= 30
    assert not {i.label for i in dev} & {i.label for i in heldout}
    for group in (dev, heldout):
        assert {i.spec.meter for i in group} == {"4/4", "3/4", "6/8"}
        assert len({tuple(s.role for s in i.spec.stems) for i in group}) >= 5
    assert len({i.spec.key for i in heldout} - {i.spec.key for i in dev}) >= 8


def test_measures() -> None:
    rate = 1000
    mix = np.full((4 * rate, 2), 0.2, np.float32)  # 4 s at 60 bpm = 4 beats
    mix[rate : rate + 1500] = 0.0  # a 1.5-beat hole
    assert longest_hole_beats(mix, rate, 60.0) == pytest.approx(1.5, abs=0.02)
    mix[-500:] = 0.0  # 0.5 beat at the end joins 0 beats at the start: still 1.5 longest
    assert longest_hole_beats(mix, rate, 60.0) == pytest.approx(1.5, abs=0.02)
    shares = interval_shares([60, 62, 62, 67, 64, 80])
    assert (shares.steps, shares.repeats, shares.skips, shares.over_octave) == (0.2, 0.2, 0.2, 1)
    four, six = Meter.parse("4/4"), Meter.parse("6/8")
    assert [beat_class(b, four) for b in (0, 1, 2, 3, 0.5)] == [
        "strong", "weak", "medium", "weak", "off"
    ]  # fmt: skip
    assert [beat_class(b, six) for b in (0, 1 / 3, 1, 4 / 3)] == [
        "strong", "weak", "strong", "weak"
    ]  # fmt: skip


@pytest.mark.slow
def test_a_fast_seeded_sweep_has_no_silent_stem_and_no_hole() -> None:
    from engine_core.generate import Engine

    dev = spec_lists(variants=2)["dev"]
    chosen = [next(i for i in dev if i.spec.meter == m) for m in ("4/4", "3/4", "6/8")]
    with Engine() as engine:
        results = run_sweep(chosen, engine)
    figures = summarise(results["dev"])
    assert figures["silent_stems"] == 0
    assert figures["holes_over_1_beat"] == 0
    assert figures["leaps_over_octave"] == 0
    assert figures["accent_gap_pitched"] >= 8
    assert figures["arp_self_similarity"] > figures["melody_self_similarity"]


@pytest.mark.slow
def test_the_command_prints_the_figures_as_json() -> None:
    result = CliRunner().invoke(
        cli, ["eval-music", "--set", "heldout", "--limit", "1", "--variants", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["summaries"]["heldout"]["silent_stems"] == 0
    assert payload["silent"] == []
