"""The new meters through the whole engine (shipped weights, real SoundFont audio) and the
director: every stem sounds, the loops keep the meter's grid, and a transition on the bar
of a 7/8 loop lands on its bar line."""

from __future__ import annotations

import itertools
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from engine_core.evaluation.music import longest_hole_beats, peak_dbfs
from engine_core.generate import Engine
from engine_core.model.rebar import host_plan
from engine_core.render.seam import seam_report
from engine_core.spec import GenerationSpec, StemSpec, beat_to_sample
from engine_core.variant import VariantSet
from middleware.director import events as ev
from middleware.director.director import Director
from middleware.templates.model import (
    Fade,
    LeaveAt,
    PackDefaults,
    StateTemplate,
    TemplatePack,
    TransitionRule,
)

pytestmark = pytest.mark.slow

GUARD = 48
THRESHOLD = 0.5  # below -6 dBFS the soft clipper passes samples unchanged

#: meter -> (bpm, tags, prompt)
CASES: dict[str, tuple[float, tuple[str, ...], str]] = {
    "2/4": (112.0, ("folk", "happy"), "a village polka"),
    "12/8": (64.0, ("jazz", "melancholic"), "a slow blues shuffle"),
    "5/4": (132.0, ("orchestral", "epic", "dark"), "a boss fight"),
    "7/8": (260.0, ("rock", "tense"), "an odd-meter battle cue"),
}


def meter_spec(meter: str, bars: int = 2) -> GenerationSpec:
    bpm, tags, prompt = CASES[meter]
    return GenerationSpec(
        prompt=prompt,
        tags=tags,
        bpm=bpm,
        meter=meter,
        key="D minor",
        bars=bars,
        energy=0.6,
        stems=(
            StemSpec("lead", "melody", program=73, register=(62, 86)),
            StemSpec("strings", "pad", program=48, register=(48, 72), gain_db=-3.0),
            StemSpec("bass", "bass", program=32, register=(28, 52)),
            StemSpec("drums", "drums", program=0, intensity=(0.5, 1.0)),
        ),
    )


@lru_cache(maxsize=1)
def engine() -> Engine:
    return Engine()


@lru_cache(maxsize=8)
def generated(meter: str, bars: int = 2) -> VariantSet:
    return engine().generate(meter_spec(meter, bars), state="s", seed=5, variants=1)


@pytest.mark.parametrize("meter", list(CASES))
def test_a_new_meter_generates_seamless_loops_where_every_stem_sounds(meter: str) -> None:
    spec = meter_spec(meter)
    variant = generated(meter).variants[0]
    meta = variant.meta
    beats = spec.bars * spec.meter_info.beats_per_bar
    assert meta.meter == meter and meta.bars == 2
    assert meta.loop_end == beat_to_sample(beats, spec.bpm, spec.sample_rate) == spec.loop_samples
    assert len(meta.beat_samples) == beats and len(meta.bar_samples) == spec.bars + 1
    assert variant.mix.shape == (spec.loop_samples, 2)
    silent = [name for name, audio in variant.stems.items() if peak_dbfs(audio) < -60.0]
    assert silent == []
    # no hole in the mix longer than one quarter note (a 7/8 beat is an eighth)
    quarter_beats = 2.0 if meter == "7/8" else 1.0
    assert longest_hole_beats(variant.mix, spec.sample_rate, spec.bpm) <= quarter_beats
    report = seam_report(variant.mix, meta.bar_samples, spec.sample_rate,
                         beat_samples=meta.beat_samples)  # fmt: skip
    assert report.passed, report.to_json()
    # the score is the host's, re-barred: the meter's grid, nothing past the bar
    score = variant.score
    assert score is not None and score.meter == meter and score.bars == 2
    assert all(0 <= n.step < score.steps_per_bar for n in score.notes)
    assert {n.track for n in score.notes} >= {"melody"}


def test_the_model_composes_the_host_meter_and_the_set_is_deterministic() -> None:
    spec = meter_spec("12/8")
    composer = engine().composer
    assert composer.controls(spec).meter == "6/8"  # the model is asked for its own meter
    plan = host_plan("12/8", spec.bars)
    assert (plan.host, plan.host_bars) == ("6/8", 4)
    first = composer.compose(spec, seed=3, variants=2)
    assert first == composer.compose(spec, seed=3, variants=2)
    assert all(s.meter == "12/8" and s.bars == 2 for s in first)
    assert first[0] != first[1]


def test_a_bridge_inpaints_bars_of_a_new_meter() -> None:
    spec = meter_spec("5/4", bars=4)
    composer = engine().composer
    fixed = composer.compose(spec, seed=2, variants=1)[0]
    written = composer.inpaint(spec, fixed=fixed, keep_bars=[0, 3], seed=9)
    assert (written.meter, written.bars) == ("5/4", 4)
    for bar in (0, 3):
        assert sorted(n for n in written.notes if n.bar == bar) == sorted(
            n for n in fixed.notes if n.bar == bar
        )
    assert any(n.bar in (1, 2) for n in written.notes)


def _pack(first: GenerationSpec, second: GenerationSpec) -> TemplatePack:
    return TemplatePack(
        name="meters",
        root=Path("."),
        description="",
        start_state="dance",
        defaults=PackDefaults(),
        states={
            "dance": StateTemplate("dance", first, 1, 1, "t.toml"),
            "boss": StateTemplate("boss", second, 2, 1, "t.toml"),
        },
        transitions=(TransitionRule("dance", "boss", LeaveAt.NEXT_BAR, fade=Fade.NONE),),
    )


def test_the_director_leaves_a_seven_eight_loop_on_its_bar_line() -> None:
    dance, boss = generated("7/8"), generated("5/4")
    director = Director(
        _pack(meter_spec("7/8"), meter_spec("5/4")), {"dance": dance, "boss": boss}.get, seed=4
    )
    dance_meta = dance.variants[0].meta
    asked = dance_meta.beat_samples[2] + 10  # during the first bar's third eighth
    director.set_state("boss", at_sample=asked)
    frames = 200 * 1024
    audio = np.concatenate([director.render(np.zeros((1024, 2), np.float32)).copy()
                            for _ in range(frames // 1024)])  # fmt: skip
    events = director.drain_events()

    # The 7/8 bar is 7 eighths at 260 a minute: the change waits for bar 2's line.
    leave = dance_meta.bar_samples[1]
    assert leave == beat_to_sample(7, 260.0, 48000)
    started = [e for e in events if e.kind == ev.TRANSITION_STARTED][-1]
    assert started.sample == leave

    # Before it, the 7/8 loop sample for sample; after it the 5/4 loop from its start.
    reference = dance.variants[0].mix[GUARD:leave]
    mask = np.all(np.abs(reference) < THRESHOLD, axis=1)
    assert mask.mean() > 0.9
    assert np.array_equal(audio[GUARD:leave][mask], reference[mask])
    mix = boss.variants[0].mix
    reference = mix[GUARD:40_000]
    mask = np.all(np.abs(reference) < THRESHOLD, axis=1)
    assert np.array_equal(audio[leave + GUARD : leave + 40_000][mask], reference[mask])

    # Beat notices: every eighth of the 7/8 bar before, every quarter of 5/4 after.
    beats = [e.sample for e in events if e.kind == ev.BEAT]
    before = [b for b in beats if b < leave]
    assert before == [s for s in dance_meta.beat_samples if s < leave]  # 7 eighths
    boss_meta = boss.variants[0].meta
    after = [b - leave for b in beats if b >= leave]
    assert len(after) >= 5 and after == [s for s in boss_meta.beat_samples if s + leave < frames]
    bars = [e.sample - leave for e in events if e.kind == ev.BAR and e.sample >= leave]
    assert bars == [s for s in boss_meta.bar_samples if s + leave < frames]


@pytest.mark.parametrize(("source", "target"), [("5/4", "12/8"), ("12/8", "7/8")])
def test_a_bridge_between_new_meters_plays_in_every_bar(source: str, target: str) -> None:
    from engine_core.bridge import generate_bridge
    from engine_core.bridge.compose import BridgeEnd

    variant_set, composed = generate_bridge(
        engine(), BridgeEnd(meter_spec(source), 5, 1), BridgeEnd(meter_spec(target), 5, 1), 2,
        name="bridge", seed=3, candidates=2,
    )  # fmt: skip
    variant = variant_set.variants[0]
    assert composed.score.meter == target and composed.score.bars == 2
    bars = variant.meta.bar_samples
    assert len(bars) == 3
    for a, b in itertools.pairwise(bars):  # music in every bar
        assert float(np.sqrt(np.mean(variant.mix[a:b] ** 2))) > 0.01


@pytest.mark.parametrize("meter", ["12/8", "7/8"])
def test_a_motif_is_quoted_note_for_note_in_a_new_meter(meter: str) -> None:
    from dataclasses import replace

    from middleware.templates.loader import load_pack

    packs = Path(__file__).resolve().parents[1] / "templates"
    spec = replace(load_pack(packs / "fantasy_rpg").state("explore").spec, meter=meter, bars=8)
    assert spec.motif is not None
    scores = engine().composer.compose(spec, seed=2, variants=2)
    for score in scores:
        assert score.meter == meter and score.motif_quotes
        onsets = {score.onset_step(n) for n in score.track("melody")}
        for quote in score.motif_quotes:
            assert set(quote.onsets) <= onsets and quote.end <= score.total_steps
