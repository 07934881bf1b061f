"""The director on the real engine's output: SoundFont-rendered stems, the engine's own
beat grid and loop points (the scores come from music21's Bach chorales)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine_core.generate import Engine
from engine_core.spec import GenerationSpec, StemSpec
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
from tests.chorale_scores import ChoraleComposer

GUARD = 48
THRESHOLD = 0.5  # below -6 dBFS the soft clipper passes samples unchanged


def four_stem_spec(bpm: float) -> GenerationSpec:
    """Flute tune, string pad, bass, drums; the tune and the drums are intensity layers."""
    return GenerationSpec(
        prompt="a steadfast march over a chorale",
        tags=("orchestral", "heroic"),
        bpm=bpm,
        meter="4/4",
        key="D minor",
        bars=2,
        stems=(
            StemSpec("lead", "melody", program=73, register=(62, 86), intensity=(0.3, 1.0)),
            StemSpec("strings", "pad", program=48, register=(48, 72), gain_db=-3.0, pan=-0.3),
            StemSpec("bass", "bass", program=32, register=(28, 52)),
            StemSpec("drums", "drums", program=0, intensity=(0.6, 1.0)),
        ),
    )


def below_threshold(reference: np.ndarray) -> np.ndarray:
    return np.all(np.abs(reference) < THRESHOLD, axis=1)


@pytest.mark.slow
def test_director_plays_engine_loops_on_the_engines_grid() -> None:
    engine = Engine(ChoraleComposer())
    explore_spec, battle_spec = four_stem_spec(120.0), four_stem_spec(150.0)
    explore = engine.generate(explore_spec, state="explore", seed=1, variants=2)
    battle = engine.generate(battle_spec, state="battle", seed=2, variants=1)
    pack = TemplatePack(
        name="engine",
        root=Path("."),
        description="",
        start_state="explore",
        defaults=PackDefaults(),
        states={
            "explore": StateTemplate("explore", explore_spec, 1, 2, "t.toml"),
            "battle": StateTemplate("battle", battle_spec, 2, 1, "t.toml"),
        },
        transitions=(TransitionRule("explore", "battle", LeaveAt.NEXT_BAR, fade=Fade.NONE),),
    )
    director = Director(pack, {"explore": explore, "battle": battle}.get, seed=4)
    director.set_state("battle", at_sample=30_000)
    director.set_intensity(0.0, at_sample=150_000)
    frames = 240 * 1024
    audio = np.concatenate([director.render(np.zeros((1024, 2), np.float32)).copy()
                            for _ in range(frames // 1024)])  # fmt: skip
    events = director.drain_events()

    # The transition lands on the engine's own bar line of the playing loop.
    leave = explore.variants[0].meta.bar_samples[1]
    started = [e for e in events if e.kind == ev.TRANSITION_STARTED][-1]
    assert started.sample == leave == 96000

    # Before it: the explore variant's mix, sample for sample (below the clipper's knee).
    first = next(e for e in events if e.kind == ev.STATE).data["variant"]
    reference = explore.variants[first].mix[GUARD:leave]
    mask = below_threshold(reference)
    assert mask.mean() > 0.9
    assert np.array_equal(audio[GUARD:leave][mask], reference[mask])

    # After it: battle from its first sample (a 1 ms click guard, then exact).
    mix = battle.variants[0].mix
    window = slice(leave + GUARD, leave + 50_000)
    reference = mix[GUARD:50_000]
    mask = below_threshold(reference)
    assert np.array_equal(audio[window][mask], reference[mask])

    # Beats reported on the engine's beat grid of the battle loop.
    beats = [e.sample for e in events if e.kind == ev.BEAT and leave <= e.sample < 249_600]
    assert beats == [leave + s for s in battle.variants[0].meta.beat_samples]

    # Intensity 0: only the stems whose range starts at 0 (strings, bass) remain.
    stems = battle.variants[0].stems
    layered = np.zeros((60_000, 2), np.float32) + stems["strings"][84_000:144_000]
    layered += stems["bass"][84_000:144_000]
    mask = below_threshold(layered)
    assert np.array_equal(audio[180_000:240_000][mask], layered[mask])
    assert np.abs(audio[180_000:240_000] - mix[84_000:144_000]).max() > 0.01  # layers left
