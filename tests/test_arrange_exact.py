"""The arranger's and the MIDI writer's quick paths give exactly what their plain forms give:
the chords' fit (numpy, every slot and chord at once) equals the note-by-note loop to the
bit, the silent-step scan equals marking each note's steps, the theme material kept for a
set does not change any variant, and the MIDI files are the bytes mido writes for the same
messages."""

from __future__ import annotations

import io
import itertools

import mido
import numpy as np
import pytest

from engine_core.arrange import arranger as arranger_module
from engine_core.arrange.arranger import Arrangement, arrange
from engine_core.arrange.harmony import _slot_fits, diatonic_chords, harmonic_slots, metric_weight
from engine_core.arrange.holes import _sounding
from engine_core.export.midi import (
    DRUM_CHANNEL,
    TICKS_PER_QUARTER,
    _channels,
    _pan_value,
    _tick,
    key_signature_name,
    loop_midi,
    midi_tempo,
    stem_render_midi,
)
from engine_core.spec import Key, Meter
from tests.chorale_scores import ChoraleComposer, band_spec


def _plain_fit(chord, start, end, notes, meter, total) -> float:  # type: ignore[no-untyped-def]
    """A chord's fit in one slot, note by note (the arithmetic `_slot_fits` reproduces)."""
    score = 0.0
    for onset, duration, pitch, weight in notes:
        stop = onset + duration
        overlap = max(0, min(stop, end) - max(onset, start))
        if stop > total:  # wraps round the seam
            overlap += max(0, min(stop - total, end) - start) if start < stop - total else 0
        if overlap <= 0:
            continue
        strength = metric_weight(max(onset, start), meter) if onset >= start else 0.6
        amount = weight * overlap * (0.5 + strength)
        score += amount if pitch % 12 in chord.tones else -0.7 * amount
    return score


@pytest.mark.parametrize("meter_text", ["4/4", "3/4", "6/8", "7/8", "5/4", "2/4"])
def test_the_chords_fit_equals_the_note_by_note_sum_to_the_bit(meter_text: str) -> None:
    meter = Meter.parse(meter_text)
    bars = 8
    total = bars * meter.steps_per_bar
    rng = np.random.default_rng(len(meter_text) + meter.numerator)
    for trial in range(5):
        count = int(rng.integers(0, 120))
        notes = [
            (
                int(rng.integers(0, total)),
                int(rng.integers(1, 3 * meter.steps_per_bar)),  # some wrap round the seam
                int(rng.integers(30, 90)),
                float(rng.choice([0.8, 1.6, rng.uniform(0.1, 2.0)])),
            )
            for _ in range(count)
        ]
        chords = diatonic_chords(Key.parse(["D minor", "C major", "F# minor"][trial % 3]))
        slots = harmonic_slots(meter, bars, density=0.7 if trial % 2 else 0.4)
        fits = _slot_fits(chords, slots, notes, meter, total)
        plain = [[_plain_fit(c, a, b, notes, meter, total) for c in chords] for a, b in slots]
        assert fits.tolist() == plain  # exact equality, not closeness


def _plain_sounding(parts, total: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    covered = np.zeros(total, dtype=bool)
    for part in parts:
        for onset, duration, _, _ in part:
            first = int(np.floor(onset))
            steps = (first + np.arange(max(1, int(np.ceil(onset + duration)) - first))) % total
            covered[steps] = True
    return covered


def test_the_silent_step_scan_marks_the_steps_each_note_covers() -> None:
    rng = np.random.default_rng(11)
    total = 64
    for _ in range(40):
        parts = [
            [
                (
                    float(rng.choice([rng.integers(0, total), rng.uniform(0, total)])),
                    float(rng.choice([rng.integers(1, 80), rng.uniform(0.05, 12.0)])),
                    60,
                    0.8,
                )
                for _ in range(int(rng.integers(0, 6)))
            ]
            for _ in range(int(rng.integers(0, 4)))
        ]
        assert np.array_equal(_sounding(parts, total), _plain_sounding(parts, total))


def test_the_kept_theme_material_changes_no_variant() -> None:
    """Variants arranged in any order, with or without the kept theme, are the same."""
    spec = band_spec(bars=8)
    scores = ChoraleComposer().compose(spec, seed=2, variants=3)

    def variant(index: int) -> Arrangement:
        return arrange(scores[index], spec, seed=2, variant_index=index, theme=scores[0])

    arranger_module._theme.cache_clear()
    in_order = [variant(i) for i in range(3)]
    for order in itertools.permutations(range(3)):
        arranger_module._theme.cache_clear()
        assert {i: variant(i) for i in order} == dict(enumerate(in_order))
    assert in_order[1] != in_order[0]


def _mido_track(
    stem, channel: int, meter: Meter, clip: float | None, end_tick: int | None
) -> mido.MidiTrack:  # type: ignore[no-untyped-def]
    """One stem's track with a mido message per event (the writer this module replaced)."""
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=stem.stem.name, time=0))
    track.append(mido.Message("program_change", channel=channel, program=stem.stem.program))
    track.append(mido.Message("control_change", channel=channel, control=7, value=100))
    pan = _pan_value(stem.stem.pan)
    track.append(mido.Message("control_change", channel=channel, control=10, value=pan))
    events = []
    for note in stem.notes:
        end = note.start_beats + note.duration_beats
        end = min(end, clip) if clip is not None else end
        on, off = _tick(note.start_beats, meter), _tick(end, meter)
        off = max(off, on + 1)
        events += [
            (on, 1, "note_on", note.pitch, note.velocity),
            (off, 0, "note_off", note.pitch, 0),
        ]
    now = 0
    for tick, _, kind, pitch, velocity in sorted(events, key=lambda e: e[:2]):
        message = mido.Message(
            kind, channel=channel, note=pitch, velocity=velocity, time=tick - now
        )
        track.append(message)
        now = tick
    if end_tick is not None:
        tick = max(end_tick, now)
        track.append(
            mido.Message("control_change", channel=channel, control=7, value=100, time=tick - now)
        )
    return track


def _mido_file(arrangement: Arrangement, stems: list[tuple[int, int]], clip, end_tick, marker):  # type: ignore[no-untyped-def]
    meter = arrangement.meter_info
    midi_file = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("set_tempo", tempo=midi_tempo(arrangement.bpm, meter)))
    conductor.append(
        mido.MetaMessage("time_signature", numerator=meter.numerator, denominator=meter.denominator)
    )
    key = key_signature_name(Key.parse(arrangement.key))
    conductor.append(mido.MetaMessage("key_signature", key=key))
    if marker is not None:
        conductor.append(mido.MetaMessage("marker", text="loop_end", time=marker))
    midi_file.tracks.append(conductor)
    for index, channel in stems:
        stem = arrangement.stems[index]
        midi_file.tracks.append(_mido_track(stem, channel, meter, clip, end_tick))
    buffer = io.BytesIO()
    midi_file.save(file=buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("meter_text", ["4/4", "6/8", "7/8"])
def test_the_midi_files_are_the_bytes_mido_writes(meter_text: str) -> None:
    spec = band_spec(meter=meter_text, bars=4)
    score = ChoraleComposer().compose(spec, seed=1, variants=1)[0]
    arrangement = arrange(score, spec, seed=1)
    meter = arrangement.meter_info
    loop_beats = float(arrangement.loop_beats)
    channels = list(enumerate(_channels(arrangement.stems)))
    expected = _mido_file(arrangement, channels, loop_beats, None, _tick(loop_beats, meter))
    assert loop_midi(arrangement) == expected
    for index, stem in enumerate(arrangement.stems):
        channel = DRUM_CHANNEL if stem.is_drum else 0
        end_tick = _tick(arrangement.loop_beats + 3.5, meter)
        expected = _mido_file(arrangement, [(index, channel)], None, end_tick, None)
        assert stem_render_midi(arrangement, index, tail_beats=3.5) == expected
