"""The director on synthetic variant sets: transitions land on the planned sample, fades
have the planned shape, and rendering is deterministic and block-size independent."""

from __future__ import annotations

import itertools
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine_core.spec import GenerationSpec, Meter, StemSpec, beat_to_sample
from middleware.director import events as ev
from middleware.director.director import Director, bridge_name
from middleware.director.errors import AudioNotReadyError, DirectorError, InvalidEventError
from middleware.director.intensity import stem_gain
from middleware.director.synthetic import synthetic_variant_set
from middleware.errors import UnknownStateError, UnknownStingerError
from middleware.mixer import equal_power_in, equal_power_out
from middleware.mixer.limiter import db_to_gain
from middleware.templates.model import (
    EnterAt,
    Fade,
    FadeLength,
    Filler,
    LeaveAt,
    LengthUnit,
    PackDefaults,
    StateTemplate,
    StingerTemplate,
    SyncPoint,
    TemplatePack,
    TransitionRule,
)

SR = 48000
LEVEL = 0.25
GUARD = 48  # 1 ms click guard at 48 kHz


# ------------------------------------------------------------------ fixtures (honest audio)


def dc(channel: int, level: float = LEVEL):
    """A fill: stem 0 is a constant on one channel (so each state is visible on its own)."""

    def fill(stem: int, variant: int, frames: int, beats: tuple[int, ...]) -> np.ndarray:
        audio = np.zeros((frames, 2), dtype=np.float32)
        if stem == 0:
            audio[:, channel] = level
        return audio

    return fill


def counter(channel: int):
    """A fill whose samples count the position inside the loop (exact in float32)."""

    def fill(stem: int, variant: int, frames: int, beats: tuple[int, ...]) -> np.ndarray:
        audio = np.zeros((frames, 2), dtype=np.float32)
        audio[:, channel] = (np.arange(frames) % 4096) / 16384.0
        return audio

    return fill


def state(name: str, *, bpm: float = 120, meter: str = "4/4", bars: int = 2, **more):
    spec = GenerationSpec(
        prompt=name,
        tags=(),
        bpm=bpm,
        meter=meter,
        key="C major",
        bars=bars,
        stems=(StemSpec("pad", "pad"),),
        one_shot=more.pop("one_shot", False),
    )
    return StateTemplate(name, spec, 0, 3, "test.toml", **more)


def pack(states, transitions=(), stingers=(), start: str = "a") -> TemplatePack:
    return TemplatePack(
        name="test",
        root=Path("."),
        description="",
        start_state=start,
        defaults=PackDefaults(),
        states={s.name: s for s in states},
        stingers={s.name: s for s in stingers},
        transitions=tuple(transitions),
    )


def sets_for(the_pack: TemplatePack, fills: dict, **kw) -> dict:
    made = {}
    for name, tpl in the_pack.states.items():
        made[name] = synthetic_variant_set(
            name,
            bpm=tpl.spec.bpm,
            meter=tpl.spec.meter,
            bars=tpl.spec.bars,
            variants=kw.get("variants", 1),
            stems={"pad": (0.0, 1.0)},
            fill=fills[name],
            one_shot=tpl.one_shot,
            tail_samples=kw.get("tail", 0),
        )
    return made


def render(director: Director, frames: int, block: int = 4096) -> np.ndarray:
    out = np.zeros((frames, 2), dtype=np.float32)
    buffer = np.zeros((block, 2), dtype=np.float32)
    for start in range(0, frames, block):
        n = min(block, frames - start)
        director.render(buffer[:n])
        out[start : start + n] = buffer[:n]
    return out


def reference_sync(position: int, bpm: float, meter: str, bars: int, mode: LeaveAt, phrase=4):
    """The expected sync sample, straight from `beat_to_sample` (independent of timing.py)."""
    if mode is LeaveAt.IMMEDIATE:
        return position
    bpb = Meter.parse(meter).beats_per_bar
    per_loop = bars * bpb
    loop = beat_to_sample(per_loop, bpm, SR)
    step = {
        LeaveAt.NEXT_BEAT: 1,
        LeaveAt.NEXT_BAR: bpb,
        LeaveAt.NEXT_PHRASE: bpb * phrase,
        LeaveAt.LOOP_END: per_loop,
    }[mode]
    lines = [n * loop + beat_to_sample(b, bpm, SR) for n in range(40) for b in range(per_loop)]
    return min(line for i, line in enumerate(lines) if i % step == 0 and line >= position)


def first_nonzero(channel: np.ndarray) -> int:
    return int(np.flatnonzero(channel)[0])


# ------------------------------------------------------------------ sync modes and fades


@pytest.mark.parametrize("meter", ["3/4", "4/4", "6/8"])
@pytest.mark.parametrize("bpm", [60, 97.3, 180])
@pytest.mark.parametrize("mode", list(LeaveAt))
def test_transition_starts_on_the_planned_sample(mode: LeaveAt, bpm: float, meter: str) -> None:
    rule = TransitionRule("a", "b", leave_at=mode, fade=Fade.NONE, phrase_bars=2)
    the_pack = pack([state("a", bpm=bpm, meter=meter), state("b", bpm=bpm, meter=meter)], [rule])
    sets = sets_for(the_pack, {"a": dc(0), "b": dc(1)})
    director = Director(the_pack, sets.get, sample_rate=SR)
    event_at = 12_345
    director.set_state("b", at_sample=event_at)
    expected = reference_sync(event_at, bpm, meter, 2, mode, phrase=2)
    audio = render(director, (expected // 4096 + 2) * 4096)
    planned = [e for e in director.drain_events() if e.kind == ev.TRANSITION_PLANNED][-1]
    assert planned.data["at_sample"] == expected
    assert first_nonzero(audio[:, 1]) == expected
    # the outgoing loop is cut with a 1 ms click guard that starts on the same sample
    assert audio[expected - 1, 0] == LEVEL
    assert audio[expected + GUARD, 0] == 0.0


@settings(max_examples=25, deadline=None)
@given(
    bpm=st.floats(min_value=60.0, max_value=180.0),
    meter=st.sampled_from(["3/4", "4/4", "6/8"]),
    mode=st.sampled_from(list(LeaveAt)),
    fade=st.sampled_from([Fade.NONE, Fade.CROSS, Fade.IN, Fade.OUT]),
    event_at=st.integers(min_value=1, max_value=300_000),
    block=st.sampled_from([64, 333, 1024, 8192]),
)
def test_any_transition_sounds_on_its_reference_sample(bpm, meter, mode, fade, event_at, block):
    rule = TransitionRule("a", "b", leave_at=mode, fade=fade, phrase_bars=2)
    the_pack = pack([state("a", bpm=bpm, meter=meter), state("b", bpm=bpm, meter=meter)], [rule])
    director = Director(the_pack, sets_for(the_pack, {"a": dc(0), "b": dc(1)}).get)
    director.set_state("b", at_sample=event_at)
    expected = reference_sync(event_at, bpm, meter, 2, mode, phrase=2)
    audio = render(director, (expected // block + 2) * block, block=block)
    assert first_nonzero(audio[:, 1]) == expected


@pytest.mark.parametrize(
    ("fade", "length", "fade_samples"),
    [
        (Fade.CROSS, FadeLength(1, LengthUnit.BEATS), 24000),
        (Fade.CROSS, FadeLength(1, LengthUnit.BARS), 96000),
        (Fade.CROSS, FadeLength(0.25, LengthUnit.SECONDS), 12000),
        (Fade.IN, FadeLength(2, LengthUnit.BEATS), 48000),
        (Fade.OUT, FadeLength(2, LengthUnit.BEATS), 48000),
    ],
)
def test_fade_shapes_follow_the_equal_power_tables(fade, length, fade_samples) -> None:
    rule = TransitionRule("a", "b", leave_at=LeaveAt.NEXT_BAR, fade=fade, fade_length=length)
    the_pack = pack([state("a"), state("b")], [rule])
    director = Director(the_pack, sets_for(the_pack, {"a": dc(0), "b": dc(1)}).get)
    director.set_state("b", at_sample=1000)
    audio = render(director, 4 * SR)
    at = 96000  # next bar at 120 bpm 4/4
    out_len = fade_samples if fade in (Fade.CROSS, Fade.OUT) else GUARD
    in_len = fade_samples if fade in (Fade.CROSS, Fade.IN) else GUARD
    expected_out = LEVEL * equal_power_out(out_len)
    expected_in = LEVEL * equal_power_in(in_len)
    np.testing.assert_allclose(audio[at : at + out_len, 0], expected_out, rtol=0, atol=1e-7)
    np.testing.assert_allclose(audio[at : at + in_len, 1], expected_in, rtol=0, atol=1e-7)
    assert np.all(audio[:at, 1] == 0) and np.all(audio[at + out_len :, 0] == 0)
    assert np.all(audio[at + in_len :, 1] == LEVEL)


def test_auto_fade_crosses_at_equal_tempo_and_fades_out_otherwise() -> None:
    rules = [
        TransitionRule("a", "b", leave_at=LeaveAt.NEXT_BAR, fade=Fade.AUTO),
        TransitionRule("b", "c", leave_at=LeaveAt.NEXT_BAR, fade=Fade.AUTO),
    ]
    the_pack = pack([state("a"), state("b"), state("c", bpm=90)], rules)
    director = Director(the_pack, sets_for(the_pack, {"a": dc(0), "b": dc(1), "c": dc(0)}).get)
    director.set_state("b", at_sample=100)
    director.set_state("c", at_sample=200_000)
    render(director, 7 * SR)
    started = [e.data["fade"] for e in director.drain_events() if e.kind == "transition.started"]
    assert started == ["none", "cross", "out"]  # start state, a->b, b->c (tempo differs)


def test_same_position_entry_keeps_the_bar_and_beat() -> None:
    rule = TransitionRule(
        "a", "b", leave_at=LeaveAt.NEXT_BEAT, enter_at=EnterAt.SAME_POSITION, fade=Fade.NONE
    )
    the_pack = pack([state("a", bars=4), state("b", bars=2)], [rule])
    director = Director(the_pack, sets_for(the_pack, {"a": dc(0), "b": counter(1)}).get)
    event_at = 2 * 96000 + 30_000  # bar 2 of a, past beat 1
    director.set_state("b", at_sample=event_at)
    audio = render(director, 6 * SR)
    at = 2 * 96000 + 48_000  # beat 2 of bar 2
    # b enters at its bar 0 (2 mod 2), beat 2: offset 48000 inside its loop
    sample = at + GUARD
    assert audio[sample, 1] == np.float32(((48000 + GUARD) % 4096) / 16384.0)


# ------------------------------------------------------------------ pending transitions


def test_second_request_replaces_the_pending_one() -> None:
    rule = TransitionRule("*", "*", leave_at=LeaveAt.NEXT_BAR, fade=Fade.NONE)
    the_pack = pack([state("a"), state("b"), state("c")], [rule])
    sets = sets_for(the_pack, {"a": dc(0), "b": dc(1), "c": dc(1, 0.125)})
    director = Director(the_pack, sets.get)
    director.set_state("b", at_sample=1000)
    director.set_state("c", at_sample=2000)
    audio = render(director, 3 * SR)
    assert first_nonzero(audio[:, 1]) == 96000
    assert np.all(audio[96000 + GUARD :, 1] == np.float32(0.125))  # only c ever plays


def test_returning_to_the_current_state_cancels_the_pending_transition() -> None:
    rule = TransitionRule("*", "*", leave_at=LeaveAt.NEXT_BAR, fade=Fade.CROSS)
    the_pack = pack([state("a"), state("b")], [rule])
    director = Director(the_pack, sets_for(the_pack, {"a": dc(0), "b": dc(1)}).get)
    director.set_state("b", at_sample=1000)
    director.set_state("a", at_sample=2000)
    audio = render(director, 3 * SR)
    assert np.all(audio[:, 1] == 0) and np.all(audio[GUARD:, 0] == LEVEL)
    kinds = [e.kind for e in director.drain_events()]
    assert ev.TRANSITION_CANCELLED in kinds and kinds.count(ev.TRANSITION_STARTED) == 1


def test_repeating_the_pending_target_keeps_its_plan() -> None:
    the_pack = pack([state("a"), state("b")])
    director = Director(the_pack, sets_for(the_pack, {"a": dc(0), "b": dc(1)}).get)
    render(director, 1024)
    first = director.set_state("b")
    render(director, 1024)
    again = director.set_state("b")
    assert first is not None and again == first


def test_new_target_during_a_crossfade_fades_out_both_voices() -> None:
    """battle -> victory while battle is still fading in over explore."""
    rules = [
        TransitionRule("explore", "battle", leave_at=LeaveAt.NEXT_BAR, fade=Fade.CROSS,
                       fade_length=FadeLength(2, LengthUnit.BARS)),
        TransitionRule("battle", "victory", leave_at=LeaveAt.NEXT_BEAT, fade=Fade.CROSS,
                       fade_length=FadeLength(1, LengthUnit.BEATS)),
    ]  # fmt: skip
    the_pack = pack(
        [state("explore"), state("battle"), state("victory", one_shot=True, bars=1)],
        rules,
        start="explore",
    )
    fills = {"explore": dc(0), "battle": dc(1), "victory": dc(0, 0.0625)}
    director = Director(the_pack, sets_for(the_pack, fills).get)
    director.set_state("battle", at_sample=10)  # crossfade 96000 .. 288000
    director.set_state("victory", at_sample=120_000)  # next beat of battle: 120000 itself
    audio = render(director, 6 * SR)
    at, beat = 120_000, 24_000
    out_table = equal_power_out(beat)
    # each voice keeps its own curve, scaled down by the new fade-out (no gain jump)
    explore_gain = equal_power_out(192_000)[at - 96000 : at - 96000 + beat]
    battle_gain = equal_power_in(192_000)[at - 96000 : at - 96000 + beat]
    np.testing.assert_allclose(
        audio[at : at + beat, 1], LEVEL * battle_gain * out_table, rtol=0, atol=1e-7
    )
    explore_and_victory = LEVEL * explore_gain * out_table + 0.0625 * equal_power_in(beat)
    np.testing.assert_allclose(audio[at : at + beat, 0], explore_and_victory, atol=1e-7)
    assert np.all(np.abs(np.diff(audio[at - 100 : at + 100], axis=0)) < 1e-3)
    assert np.all(audio[at + beat : at + 96000, 1] == 0)


# ------------------------------------------------------------------ one-shots and stingers


def test_one_shot_plays_once_then_continues_to_its_next_state() -> None:
    rules = [TransitionRule("*", "*", leave_at=LeaveAt.NEXT_BAR, fade=Fade.NONE)]
    the_pack = pack(
        [state("a"), state("victory", one_shot=True, bars=1, next="a", intensity=0.5)], rules
    )
    sets = sets_for(the_pack, {"a": dc(0), "victory": dc(1)}, tail=4800)
    director = Director(the_pack, sets.get)
    director.set_state("victory", at_sample=500)
    audio = render(director, 5 * SR)
    states = [(e.data["state"], e.sample) for e in director.drain_events() if e.kind == "state"]
    assert states == [("a", 0), ("victory", 96000), ("a", 96000 + 96000)]
    # the one-shot rings out its tail (not faded) over the returning loop
    assert np.all(audio[192000 : 192000 + 4800, 1] == LEVEL)
    assert np.all(audio[192000 + 4800 :, 1] == 0)
    assert audio[192000 + GUARD, 0] == LEVEL


def test_one_shot_with_hold_previous_returns_to_where_it_came_from() -> None:
    rules = [
        TransitionRule("*", "*", leave_at=LeaveAt.NEXT_BAR, fade=Fade.NONE),
        TransitionRule("*", "hit", leave_at=LeaveAt.NEXT_BEAT, fade=Fade.NONE, hold_previous=True),
    ]
    the_pack = pack([state("a"), state("b"), state("hit", one_shot=True, bars=1)], rules)
    fills = {"a": dc(0), "b": dc(1), "hit": dc(0, 0.0625)}
    director = Director(the_pack, sets_for(the_pack, fills).get)
    director.set_state("b", at_sample=10)  # b from 96000
    director.set_state("hit", at_sample=100_000)  # next beat: 120000, one bar long
    render(director, 5 * SR)
    states = [(e.data["state"], e.sample) for e in director.drain_events() if e.kind == "state"]
    assert states == [("a", 0), ("b", 96000), ("hit", 120000), ("b", 216000)]


def test_stinger_lands_on_the_next_beat_and_ducks_the_music() -> None:
    stinger = StingerTemplate("hit", None, None, 0, sync=SyncPoint.NEXT_BEAT, duck_db=-6.0)
    the_pack = pack([state("a"), state("hit", bars=1, one_shot=True)], stingers=[stinger])
    sets = sets_for(the_pack, {"a": dc(0), "hit": dc(1)})
    director = Director(the_pack, sets.get)
    render(director, 4096)
    plan = director.play_stinger("hit")
    assert plan is not None and plan.at_sample == 24000 and plan.sync == "next_beat"
    audio = np.concatenate([render(director, 4 * SR - 4096)])
    offset = 4096
    hit = 24000 - offset
    assert first_nonzero(audio[:, 1]) == hit
    duck = np.float32(LEVEL) * np.float32(db_to_gain(-6.0))
    ramp = 480  # 10 ms
    assert audio[hit - 1, 0] == LEVEL
    np.testing.assert_allclose(audio[hit + ramp : hit + 96000, 0], duck, rtol=1e-6)
    assert np.all(audio[hit + 96000 + ramp :, 0] == LEVEL)
    assert np.all(np.abs(np.diff(audio[hit : hit + 2 * ramp, 0])) < 0.001)  # no click


def test_filler_stinger_plays_between_the_states() -> None:
    stinger = StingerTemplate("fill", None, None, 0)
    rule = TransitionRule(
        "a", "b", leave_at=LeaveAt.NEXT_BAR, fade=Fade.NONE, filler=Filler(stinger="fill")
    )
    the_pack = pack([state("a"), state("b"), state("fill", bars=1, one_shot=True)], [rule],
                    stingers=[stinger])  # fmt: skip
    fills = {"a": dc(0), "b": dc(1), "fill": dc(1, 0.0625)}
    director = Director(the_pack, sets_for(the_pack, fills).get)
    director.set_state("b", at_sample=10)
    audio = render(director, 4 * SR)
    assert np.all(audio[96000 + GUARD : 192000, 1] == np.float32(0.0625))  # the filler
    assert np.all(audio[192000 + GUARD :, 1] == LEVEL)  # then b (the filler has ended)


def test_generated_bridge_plays_between_the_states() -> None:
    rule = TransitionRule("a", "b", fade=Fade.NONE, filler=Filler(bridge_bars=1))
    the_pack = pack([state("a"), state("b")], [rule])
    sets = sets_for(the_pack, {"a": dc(0), "b": dc(1)})
    sets[bridge_name("a", "b")] = synthetic_variant_set(
        "bridge", bpm=120, meter="4/4", bars=1, variants=1, one_shot=True,
        stems={"pad": (0.0, 1.0)}, fill=dc(1, 0.0625),
    )  # fmt: skip
    director = Director(the_pack, sets.get)
    director.set_state("b", at_sample=10)
    audio = render(director, 5 * SR)
    assert np.all(audio[96000 + GUARD : 192000, 1] == np.float32(0.0625))  # the bridge bar
    assert np.all(audio[192000 + GUARD :, 1] == LEVEL)  # then b
    assert ev.BRIDGE_FALLBACK not in [e.kind for e in director.drain_events()]


def test_bridge_without_audio_falls_back_to_a_crossfade() -> None:
    rule = TransitionRule("a", "b", fade=Fade.CROSS, filler=Filler(bridge_bars=2))
    the_pack = pack([state("a"), state("b")], [rule])
    director = Director(the_pack, sets_for(the_pack, {"a": dc(0), "b": dc(1)}).get)
    director.set_state("b", at_sample=10)
    audio = render(director, 5 * SR)
    kinds = [e.kind for e in director.drain_events()]
    assert ev.BRIDGE_FALLBACK in kinds
    np.testing.assert_allclose(audio[96000 : 96000 + 96000, 1], LEVEL * equal_power_in(96000),
                               atol=1e-7)  # fmt: skip


# ------------------------------------------------------------------ intensity and rotation


def test_intensity_moves_stem_gains_smoothly() -> None:
    stems = {"pad": (0.0, 1.0), "lead": (0.3, 1.0), "drums": (0.6, 1.0), "soft": (0.0, 0.4)}
    the_pack = pack([state("a", intensity=0.0)])

    def fill(stem, variant, frames, beats):
        return np.full((frames, 2), 0.1, dtype=np.float32)

    sets = {"a": synthetic_variant_set("a", bpm=120, meter="4/4", bars=2, variants=1,
                                       stems=stems, fill=fill)}  # fmt: skip
    director = Director(the_pack, sets.get)
    director.set_intensity(1.0, at_sample=1000)
    director.set_intensity(0.5, at_sample=20_000)
    audio = render(director, 2 * SR, block=512)
    bound = 0.1 * 4 * director.intensity_step / 0.1 + 1e-6  # 4 stems, edge 0.1
    steps = np.abs(np.diff(audio[GUARD:, 0]))  # after the start's 1 ms fade-in
    assert steps.max() <= bound
    assert audio[999, 0] == pytest.approx(0.2)  # pad + soft at intensity 0
    assert audio[20_000, 0] == pytest.approx(0.3)  # at 0.79: pad, lead, drums
    assert audio[-1, 0] == pytest.approx(0.2)  # back at 0.5: pad and lead


@pytest.mark.parametrize("level", [0.62, 0.45, 0.25, 1.0])  # mix-based and per-stem paths
def test_constant_intensity_weights_each_stem_by_its_range(level: float) -> None:
    stems = {"pad": (0.0, 1.0), "lead": (0.3, 1.0), "drums": (0.6, 1.0)}
    the_pack = pack([state("a", intensity=level)])
    sets = {"a": synthetic_variant_set("a", bpm=120, meter="4/4", bars=2, variants=1,
                                       stems=stems)}  # fmt: skip
    audio = render(Director(the_pack, sets.get), 4096)
    variant = sets["a"].variants[0]
    expected = sum(
        stem_gain(level, *stems[name]) * audio_of_stem
        for name, audio_of_stem in variant.stems.items()
    )
    np.testing.assert_allclose(audio[GUARD:], expected[GUARD:4096], rtol=0, atol=1e-6)


def test_variants_rotate_without_immediate_repeats() -> None:
    the_pack = pack([state("a", bars=1)])
    sets = {"a": synthetic_variant_set("a", bpm=180, meter="4/4", bars=1, variants=3)}
    director = Director(the_pack, sets.get, seed=7)
    render(director, 30 * 64000)
    played = [e.data["variant"] for e in director.drain_events() if e.kind in ("variant", "state")]
    assert len(played) >= 20
    assert all(x != y for x, y in itertools.pairwise(played))
    assert set(played) == {0, 1, 2}


def test_rotation_weights_of_zero_are_never_played() -> None:
    the_pack = pack([state("a", bars=1, variant_weights=(1.0, 1.0, 0.0))])
    sets = {"a": synthetic_variant_set("a", bpm=180, meter="4/4", bars=1, variants=3)}
    director = Director(the_pack, sets.get, seed=3)
    render(director, 10 * 64000)
    played = [e.data["variant"] for e in director.drain_events() if e.kind in ("variant", "state")]
    assert 2 not in played and len(set(played)) == 2


# ------------------------------------------------------------------ missing audio


def test_missing_target_keeps_the_current_loop_and_switches_when_ready() -> None:
    rule = TransitionRule("*", "*", leave_at=LeaveAt.NEXT_BAR, fade=Fade.NONE)
    the_pack = pack([state("a"), state("b")], [rule])
    sets = sets_for(the_pack, {"a": dc(0), "b": dc(1)})
    ready = {"a": sets["a"]}
    director = Director(the_pack, ready.get)
    director.set_state("b", at_sample=10)
    first = render(director, 2 * 96000)
    assert np.all(first[GUARD:, 0] == LEVEL) and np.all(first[:, 1] == 0)  # never silent
    assert director.clock().waiting_for == "b"
    ready["b"] = sets["b"]
    second = render(director, 2 * 96000)
    kinds = [e.kind for e in director.drain_events()]
    assert ev.WAITING_FOR_AUDIO in kinds and ev.AUDIO_READY in kinds
    assert first_nonzero(second[:, 1]) == 0  # ready at a bar line: b enters right there
    assert director.clock().state == "b"


def test_silence_only_until_the_first_state_is_ready() -> None:
    the_pack = pack([state("a")])
    sets = sets_for(the_pack, {"a": dc(0)})
    ready: dict = {}
    director = Director(the_pack, ready.get)
    assert np.all(render(director, 4096) == 0)
    assert director.clock().variant == -1
    ready["a"] = sets["a"]
    audio = render(director, 4096)
    assert audio[GUARD, 0] == LEVEL and director.clock().state == "a"


# ------------------------------------------------------------------ determinism


def scripted(block: int, seed: int = 1) -> np.ndarray:
    stinger = StingerTemplate("hit", None, None, 0, sync=SyncPoint.NEXT_BAR, duck_db=-9.0)
    rules = [
        TransitionRule("a", "b", leave_at=LeaveAt.NEXT_BEAT, fade=Fade.CROSS,
                       enter_at=EnterAt.SAME_POSITION),
        TransitionRule("b", "v", leave_at=LeaveAt.NEXT_BAR, fade=Fade.OUT),
    ]  # fmt: skip
    the_pack = pack(
        [state("a", bars=1), state("b", bpm=97, meter="3/4"),
         state("v", one_shot=True, bars=1, next="a"), state("hit", one_shot=True, bars=1)],
        rules, stingers=[stinger],
    )  # fmt: skip
    sets = {
        name: synthetic_variant_set(name, bpm=t.spec.bpm, meter=t.spec.meter, bars=t.spec.bars,
                                    one_shot=t.one_shot, tail_samples=3000)
        for name, t in the_pack.states.items()
    }  # fmt: skip
    director = Director(the_pack, sets.get, seed=seed)
    director.set_intensity(0.2, at_sample=5000)
    director.set_state("b", at_sample=70_001)
    director.play_stinger("hit", at_sample=150_000)
    director.set_intensity(0.9, at_sample=160_003)
    director.set_state("v", at_sample=230_000)
    return render(director, 12 * 32768, block=block)


def test_same_event_log_gives_identical_audio() -> None:
    assert np.array_equal(scripted(1024), scripted(1024))
    assert not np.array_equal(scripted(1024, seed=1), scripted(1024, seed=2))


def test_block_size_does_not_change_a_single_sample() -> None:
    assert np.array_equal(scripted(64), scripted(4096))


def random_session_pack():
    stinger = StingerTemplate("hit", None, None, 0, sync=SyncPoint.NEXT_BEAT, duck_db=-9.0)
    rules = [
        TransitionRule("*", "*", leave_at=LeaveAt.NEXT_BEAT, fade=Fade.CROSS,
                       fade_length=FadeLength(0.1, LengthUnit.SECONDS)),
        TransitionRule("*", "b", leave_at=LeaveAt.NEXT_BAR, fade=Fade.AUTO,
                       enter_at=EnterAt.SAME_POSITION),
        TransitionRule("*", "v", leave_at=LeaveAt.IMMEDIATE, fade=Fade.OUT,
                       filler=Filler(stinger="hit")),
    ]  # fmt: skip
    the_pack = pack(
        [state("a", bpm=150, bars=1), state("b", bpm=97, meter="6/8", bars=1),
         state("v", one_shot=True, bars=1, next="a"), state("hit", one_shot=True, bars=1)],
        rules, stingers=[stinger],
    )  # fmt: skip
    sets = {
        name: synthetic_variant_set(name, bpm=t.spec.bpm, meter=t.spec.meter, bars=t.spec.bars,
                                    one_shot=t.one_shot, tail_samples=2000)
        for name, t in the_pack.states.items()
    }  # fmt: skip
    return the_pack, sets


events_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=140_000),
        st.sampled_from(["a", "b", "v", "hit", 0.0, 0.5, 1.0]),
    ),
    max_size=6,
)


@settings(max_examples=12, deadline=None)
@given(events=events_strategy, blocks=st.sampled_from([(64, 4096), (100, 8192), (777, 1024)]))
def test_random_event_logs_render_identically_at_any_block_size(events, blocks) -> None:
    the_pack, sets = random_session_pack()
    renders = []
    for block in blocks:
        director = Director(the_pack, sets.get, seed=5)
        for at, what in sorted(events, key=lambda e: e[0]):
            at += 1  # sample 0 is the start state's
            if isinstance(what, float):
                director.set_intensity(what, at_sample=at)
            elif what == "hit":
                director.play_stinger("hit", at_sample=at)
            else:
                director.set_state(what, at_sample=at)
        renders.append(render(director, 150_000 // block * block + block, block=block))
    shortest = min(len(r) for r in renders)
    assert np.array_equal(renders[0][:shortest], renders[1][:shortest])


# ------------------------------------------------------------------ clock, errors, int16


def test_clock_reports_state_bar_beat_and_the_planned_transition() -> None:
    the_pack = pack([state("a", meter="3/4"), state("b")])
    director = Director(the_pack, sets_for(the_pack, {"a": dc(0), "b": dc(1)}).get)
    render(director, 4 * 24000 + 64)  # 4 beats of 3/4 at 120 bpm: bar 1, beat 1
    clock = director.clock()
    assert (clock.state, clock.variant, clock.bar, clock.beat) == ("a", 0, 1, 1)
    plan = director.set_state("b")
    assert director.clock().pending == plan and plan.at_sample == 6 * 24000
    beats = [e for e in director.drain_events() if e.kind == ev.BEAT]
    assert [e.sample for e in beats] == [0, 24000, 48000, 72000, 96000]
    assert [(e.data["bar"], e.data["beat"]) for e in beats][-2:] == [(1, 0), (1, 1)]


def test_bad_events_raise_typed_errors() -> None:
    stinger = StingerTemplate("hit", None, None, 0)
    the_pack = pack([state("a")], stingers=[stinger])
    director = Director(the_pack, sets_for(the_pack, {"a": dc(0)}).get)
    render(director, 1024)
    with pytest.raises(UnknownStateError):
        director.set_state("nowhere")
    with pytest.raises(UnknownStingerError):
        director.play_stinger("nowhere")
    with pytest.raises(AudioNotReadyError) as not_ready:
        director.play_stinger("hit")
    assert not_ready.value.code == "not_ready"
    with pytest.raises(InvalidEventError):
        director.set_intensity(1.5)
    with pytest.raises(InvalidEventError):
        director.set_state("a", at_sample=10)  # already played
    with pytest.raises(DirectorError):
        director.render(np.zeros((32, 2), dtype=np.float32))
    with pytest.raises(DirectorError):
        director.render(np.zeros((1024, 2), dtype=np.float64))


def test_audio_the_mixer_cannot_play_is_reported_and_never_played() -> None:
    stinger = StingerTemplate("hit", None, None, 0)
    the_pack = pack([state("a")], stingers=[stinger])
    wrong_rate = synthetic_variant_set("a", bpm=120, meter="4/4", bars=2, sample_rate=44100)
    good = synthetic_variant_set("hit", bpm=120, meter="4/4", bars=1, variants=1)
    short = replace(good.variants[0], stems={"pad": good.variants[0].mix[:-10]})
    sets = {"a": wrong_rate, "hit": replace(good, variants=(short,))}
    director = Director(the_pack, sets.get)
    assert np.all(render(director, 4096) == 0)  # rendering goes on, silent: nothing playable
    errors = [e for e in director.drain_events() if e.kind == ev.AUDIO_ERROR]
    assert len(errors) == 1 and "44100 Hz" in errors[0].data["message"]
    assert errors[0].data["code"] == "bad_director_request"
    with pytest.raises(DirectorError) as caught:
        director.play_stinger("hit")
    assert "one length" in caught.value.message and caught.value.detail["state"] == "hit"


def test_int16_render_is_the_rounded_float_render() -> None:
    the_pack = pack([state("a")])
    sets = {"a": synthetic_variant_set("a", bpm=120, meter="4/4", bars=2)}
    floats = render(Director(the_pack, sets.get), 8192)
    director = Director(the_pack, sets.get)
    ints = director.render_int16(np.zeros((8192, 2), dtype=np.int16))
    assert np.array_equal(ints, np.rint(floats * 32767).astype(np.int16))


def test_steady_state_rendering_allocates_no_audio_buffers() -> None:
    the_pack = pack([state("a", intensity=0.5)])
    sets = {"a": synthetic_variant_set("a", bpm=120, meter="4/4", bars=2, variants=3)}
    director = Director(the_pack, sets.get, emit_beats=False)
    block = np.zeros((8192, 2), dtype=np.float32)
    director.set_intensity(0.9, at_sample=30_000)  # a ramp and loop rotations while measured
    for _ in range(4):
        director.render(block)
    tracemalloc.start()
    baseline, _ = tracemalloc.get_traced_memory()
    for _ in range(40):
        director.render(block)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak - baseline < 16 * 1024  # one 8192-frame block alone would be 64 KiB
