"""Timing maths of the director: sync points are exact samples on the engine's beat grid."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine_core.spec import Meter, beat_to_sample
from middleware.director.errors import DirectorError
from middleware.director.timing import (
    LoopGrid,
    musical_position,
    next_sync_sample,
    same_position_offset,
)
from middleware.templates.model import LeaveAt

SAMPLE_RATE = 48000
tempi = st.integers(min_value=60, max_value=180) | st.floats(min_value=60.0, max_value=180.0)
meters = st.sampled_from(["3/4", "4/4", "6/8"])
loop_bars = st.sampled_from([1, 2, 4, 8])


def reference_lines(bpm: float, meter: str, bars: int, loops: int, every_beats: int):
    """Every line on the session timeline, computed straight from `beat_to_sample`."""
    per_loop = bars * Meter.parse(meter).beats_per_bar
    loop = beat_to_sample(per_loop, bpm, SAMPLE_RATE)
    return [
        n * loop + beat_to_sample(beat, bpm, SAMPLE_RATE)
        for n in range(loops)
        for beat in range(0, per_loop, every_beats)
    ]


def test_grid_matches_beat_to_sample() -> None:
    grid = LoopGrid.from_tempo(97.0, "6/8", 2, SAMPLE_RATE)
    assert grid.beats_per_bar == 2
    assert grid.beat_samples == tuple(beat_to_sample(b, 97.0, SAMPLE_RATE) for b in range(4))
    assert grid.bar_samples == (0, beat_to_sample(2, 97.0, SAMPLE_RATE))
    assert grid.loop_samples == beat_to_sample(4, 97.0, SAMPLE_RATE)


@settings(max_examples=150, deadline=None)
@given(
    bpm=tempi,
    meter=meters,
    bars=loop_bars,
    mode=st.sampled_from([LeaveAt.NEXT_BEAT, LeaveAt.NEXT_BAR, LeaveAt.LOOP_END]),
    data=st.data(),
)
def test_next_sync_is_the_first_line_at_or_after_the_position(bpm, meter, bars, mode, data):
    grid = LoopGrid.from_tempo(bpm, meter, bars, SAMPLE_RATE)
    bpb = Meter.parse(meter).beats_per_bar
    every = {LeaveAt.NEXT_BEAT: 1, LeaveAt.NEXT_BAR: bpb, LeaveAt.LOOP_END: bars * bpb}[mode]
    lines = reference_lines(bpm, meter, bars, loops=6, every_beats=every)
    position = data.draw(st.integers(min_value=0, max_value=4 * grid.loop_samples))
    expected = min(line for line in lines if line >= position)
    assert next_sync_sample(position, mode, grid) == expected


@settings(max_examples=100, deadline=None)
@given(
    bpm=tempi,
    meter=meters,
    bars=loop_bars,
    phrase_bars=st.integers(min_value=1, max_value=8),
    data=st.data(),
)
def test_next_phrase_counts_bars_across_loops(bpm, meter, bars, phrase_bars, data):
    grid = LoopGrid.from_tempo(bpm, meter, bars, SAMPLE_RATE)
    bar_lines = reference_lines(bpm, meter, bars, loops=20, every_beats=grid.beats_per_bar)
    phrase_lines = bar_lines[::phrase_bars]
    position = data.draw(st.integers(min_value=0, max_value=8 * grid.loop_samples))
    got = next_sync_sample(position, LeaveAt.NEXT_PHRASE, grid, phrase_bars=phrase_bars)
    assert got == min(line for line in phrase_lines if line >= position)
    assert musical_position(got, grid).bar % phrase_bars == 0


@given(position=st.integers(min_value=0, max_value=10**7))
def test_immediate_leaves_on_the_event_sample(position: int) -> None:
    grid = LoopGrid.from_tempo(120, "4/4", 4, SAMPLE_RATE)
    assert next_sync_sample(position, LeaveAt.IMMEDIATE, grid) == position


@settings(max_examples=100, deadline=None)
@given(bpm=tempi, meter=meters, bars=loop_bars, data=st.data())
def test_musical_position_of_every_beat_line(bpm, meter, bars, data):
    grid = LoopGrid.from_tempo(bpm, meter, bars, SAMPLE_RATE)
    bpb = grid.beats_per_bar
    beat = data.draw(st.integers(min_value=0, max_value=3 * bars * bpb))
    lines = reference_lines(bpm, meter, bars, loops=4, every_beats=1)
    where = musical_position(lines[beat], grid)
    assert (where.bar, where.beat, where.offset_samples) == (beat // bpb, beat % bpb, 0)
    assert where.loop == beat // (bars * bpb)


@settings(max_examples=100, deadline=None)
@given(bpm=tempi, meter=meters, bars=loop_bars, data=st.data())
def test_same_position_on_an_identical_grid_is_the_identity(bpm, meter, bars, data):
    grid = LoopGrid.from_tempo(bpm, meter, bars, SAMPLE_RATE)
    position = data.draw(st.integers(min_value=0, max_value=5 * grid.loop_samples))
    assert same_position_offset(position, grid, grid) == position % grid.loop_samples


@settings(max_examples=100, deadline=None)
@given(
    source_bpm=tempi,
    target_bpm=tempi,
    source_meter=meters,
    target_meter=meters,
    data=st.data(),
)
def test_same_position_keeps_bar_and_beat_across_tempi(
    source_bpm, target_bpm, source_meter, target_meter, data
):
    source = LoopGrid.from_tempo(source_bpm, source_meter, 4, SAMPLE_RATE)
    target = LoopGrid.from_tempo(target_bpm, target_meter, 2, SAMPLE_RATE)
    beat = data.draw(st.integers(min_value=0, max_value=len(source.beat_samples) - 1))
    offset = same_position_offset(source.beat_samples[beat], source, target)
    where_source = musical_position(source.beat_samples[beat], source)
    where_target = musical_position(offset, target)
    assert where_target.offset_samples == 0
    assert where_target.bar == where_source.bar % target.bars
    assert where_target.beat == where_source.beat % target.beats_per_bar


def test_zero_phrase_length_is_a_typed_error() -> None:
    grid = LoopGrid.from_tempo(120, "4/4", 4, SAMPLE_RATE)
    with pytest.raises(DirectorError) as caught:
        next_sync_sample(10, LeaveAt.NEXT_PHRASE, grid, phrase_bars=0)
    assert caught.value.code == "bad_director_request"
