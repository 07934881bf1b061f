"""Standard MIDI Files of an arrangement, written with mido on an exact tick grid.

Two uses: the *loop file* a variant carries (one track per stem, tempo, time signature
and key signature in the first track, notes clipped at the loop end) and the *render
file* of one stem (notes run past the loop end, and a final controller event marks where
the synthesiser should stop, so releases ring out for the seam fold).

Tempo is written per quarter note, as MIDI requires: in 6/8 a beat is a dotted quarter,
so the file's tempo is 1.5 x the spec's bpm. Key signatures carry major or minor only:
a minor-third mode (minor, dorian, phrygian) is written as the tonic's minor key, the
others as its major key.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import mido

from engine_core.arrange.arranger import ArrangedNote, ArrangedStem, Arrangement
from engine_core.spec import Key, Meter

TICKS_PER_QUARTER = 960
DRUM_CHANNEL = 9
MAJOR_KEYS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_KEYS = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm")


def quarters_per_beat(meter: Meter) -> float:
    return 4.0 / meter.denominator * (3 if meter.compound else 1)


def midi_tempo(bpm: float, meter: Meter) -> int:
    """Microseconds per quarter note for `bpm` beats per minute in `meter`."""
    return round(60_000_000 / (bpm * quarters_per_beat(meter)))


def key_signature_name(key: Key) -> str:
    return (MINOR_KEYS if key.is_minor else MAJOR_KEYS)[key.tonic]


def _tick(beats: float, meter: Meter) -> int:
    return round(beats * quarters_per_beat(meter) * TICKS_PER_QUARTER)


def _pan_value(pan: float) -> int:
    return max(0, min(127, round(64 + 63 * pan)))


def _data_byte(value: int, what: str) -> int:
    if not 0 <= value <= 127:
        raise ValueError(f"{what} {value} is outside MIDI's 0-127")
    return value


def _stem_events(
    notes: Sequence[ArrangedNote], meter: Meter, clip_beats: float | None
) -> list[tuple[int, int, str, int, int]]:
    """(tick, order, type, note, velocity): note-offs sort before note-ons at a tick."""
    events: list[tuple[int, int, str, int, int]] = []
    for note in notes:
        end = note.start_beats + note.duration_beats
        if clip_beats is not None:
            end = min(end, clip_beats)
        start_tick, end_tick = _tick(note.start_beats, meter), _tick(end, meter)
        if end_tick <= start_tick:
            end_tick = start_tick + 1
        pitch = _data_byte(note.pitch, "note")
        events.append((start_tick, 1, "note_on", pitch, _data_byte(note.velocity, "velocity")))
        events.append((end_tick, 0, "note_off", pitch, 0))
    return events


def _track(
    name: str,
    stem: ArrangedStem,
    channel: int,
    meter: Meter,
    clip_beats: float | None,
    end_tick: int | None,
) -> mido.MidiTrack:
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    program = stem.stem.program
    track.append(mido.Message("program_change", channel=channel, program=program, time=0))
    track.append(mido.Message("control_change", channel=channel, control=7, value=100, time=0))
    track.append(
        mido.Message("control_change", channel=channel, control=10, value=_pan_value(stem.stem.pan))
    )
    events = sorted(_stem_events(stem.notes, meter, clip_beats), key=lambda e: e[:2])
    now = 0
    # every data byte was range-checked above, so mido's per-message checks (most of the
    # cost of writing a file) are skipped
    for tick, _, kind, pitch, velocity in events:
        track.append(
            mido.Message(
                kind,
                skip_checks=True,
                channel=channel,
                note=pitch,
                velocity=velocity,
                time=tick - now,
            )
        )
        now = tick
    if end_tick is not None:
        tick = max(end_tick, now)
        track.append(
            mido.Message("control_change", channel=channel, control=7, value=100, time=tick - now)
        )
    return track


def _conductor(arrangement: Arrangement) -> mido.MidiTrack:
    meter = arrangement.meter_info
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=midi_tempo(arrangement.bpm, meter), time=0))
    track.append(
        mido.MetaMessage(
            "time_signature", numerator=meter.numerator, denominator=meter.denominator, time=0
        )
    )
    track.append(
        mido.MetaMessage("key_signature", key=key_signature_name(Key.parse(arrangement.key)))
    )
    return track


def _save(midi_file: mido.MidiFile) -> bytes:
    buffer = io.BytesIO()
    midi_file.save(file=buffer)
    return buffer.getvalue()


def _channels(stems: Sequence[ArrangedStem]) -> list[int]:
    melodic = [c for c in range(16) if c != DRUM_CHANNEL]
    channels: list[int] = []
    next_melodic = 0
    for stem in stems:
        if stem.is_drum:
            channels.append(DRUM_CHANNEL)
        else:
            channels.append(melodic[next_melodic % len(melodic)])
            next_melodic += 1
    return channels


def loop_midi(arrangement: Arrangement) -> bytes:
    """The loop as a type-1 MIDI file: conductor track + one track per stem, clipped."""
    meter = arrangement.meter_info
    midi_file = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    midi_file.tracks.append(_conductor(arrangement))
    loop_beats = float(arrangement.loop_beats)
    end_tick = _tick(loop_beats, meter)
    for stem, channel in zip(arrangement.stems, _channels(arrangement.stems), strict=True):
        track = _track(stem.stem.name, stem, channel, meter, loop_beats, None)
        track.append(mido.MetaMessage("end_of_track", time=0))
        midi_file.tracks.append(track)
    # The conductor track ends at the loop end, so readers see the loop's full length.
    midi_file.tracks[0].append(mido.MetaMessage("marker", text="loop_end", time=end_tick))
    return _save(midi_file)


def stem_render_midi(arrangement: Arrangement, stem_index: int, *, tail_beats: float) -> bytes:
    """One stem for the synthesiser: unclipped notes, audio to `loop + tail_beats`."""
    meter = arrangement.meter_info
    stem = arrangement.stems[stem_index]
    channel = DRUM_CHANNEL if stem.is_drum else 0
    midi_file = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    midi_file.tracks.append(_conductor(arrangement))
    end_tick = _tick(arrangement.loop_beats + tail_beats, meter)
    midi_file.tracks.append(_track(stem.stem.name, stem, channel, meter, None, end_tick))
    return _save(midi_file)
