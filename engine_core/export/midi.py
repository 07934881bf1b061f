"""Standard MIDI Files of an arrangement, on an exact tick grid.

Two uses: the *loop file* a variant carries (one track per stem, tempo, time signature
and key signature in the first track, notes clipped at the loop end) and the *render
file* of one stem (notes run past the loop end, and a final controller event marks where
the synthesiser should stop, so releases ring out for the seam fold).

Tempo is written per quarter note, as MIDI requires: in 6/8 a beat is a dotted quarter,
so the file's tempo is 1.5 x the spec's bpm. Key signatures carry major or minor only:
a minor-third mode (minor, dorian, phrygian) is written as the tonic's minor key, the
others as its major key.

The files are the bytes mido's `MidiFile.save` writes for the same messages (running
status, an end-of-track message per track), built directly: mido encodes the few meta and
setup messages of each track, the notes' ticks are computed with numpy and their bytes
written in one loop, without a mido message object per note (most of the cost of
writing a file that way).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import mido
import numpy as np

from engine_core.arrange.arranger import ArrangedNote, ArrangedStem, Arrangement
from engine_core.spec import Key, Meter

TICKS_PER_QUARTER = 960
DRUM_CHANNEL = 9
MAJOR_KEYS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Status bytes of note messages (the channel is added).
NOTE_OFF, NOTE_ON = 0x80, 0x90
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


@dataclass(frozen=True)
class _NoteTicks:
    """A stem's notes on the tick grid, in note order: numpy arrays of equal length."""

    start: np.ndarray
    end: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray


def _note_ticks(
    notes: Sequence[ArrangedNote], meter: Meter, clip_beats: float | None
) -> _NoteTicks:
    """Each note's start and end tick (`_tick` of its start and of its end, clipped at
    `clip_beats`, at least one tick after its start), pitch and velocity (checked 0-127).

    numpy computes the same floats as `_tick` note by note (the same products in the same
    order, rounded half to even as `round` does)."""
    count = len(notes)
    starts = np.fromiter((n.start_beats for n in notes), dtype=np.float64, count=count)
    durations = np.fromiter((n.duration_beats for n in notes), dtype=np.float64, count=count)
    pitch = np.fromiter((n.pitch for n in notes), dtype=np.int64, count=count)
    velocity = np.fromiter((n.velocity for n in notes), dtype=np.int64, count=count)
    _check_data_bytes(pitch, velocity)
    ends = starts + durations
    if clip_beats is not None:
        ends = np.minimum(ends, clip_beats)
    per_beat = quarters_per_beat(meter)
    start_tick = np.rint(starts * per_beat * TICKS_PER_QUARTER).astype(np.int64)
    end_tick = np.rint(ends * per_beat * TICKS_PER_QUARTER).astype(np.int64)
    end_tick = np.where(end_tick <= start_tick, start_tick + 1, end_tick)
    return _NoteTicks(start_tick, end_tick, pitch, velocity)


def _check_data_bytes(pitch: np.ndarray, velocity: np.ndarray) -> None:
    """`_data_byte` of each note's pitch then velocity, in note order: the first value
    outside 0-127 raises."""
    bad = (pitch < 0) | (pitch > 127) | (velocity < 0) | (velocity > 127)
    if bad.any():
        first = int(np.argmax(bad))
        _data_byte(int(pitch[first]), "note")
        _data_byte(int(velocity[first]), "velocity")


def _stem_events(
    notes: Sequence[ArrangedNote], meter: Meter, clip_beats: float | None
) -> list[tuple[int, int, str, int, int]]:
    """(tick, order, type, note, velocity): note-offs sort before note-ons at a tick."""
    ticks = _note_ticks(notes, meter, clip_beats)
    events: list[tuple[int, int, str, int, int]] = []
    for start, end, pitch, velocity in zip(
        ticks.start.tolist(),
        ticks.end.tolist(),
        ticks.pitch.tolist(),
        ticks.velocity.tolist(),
        strict=True,
    ):
        events.append((start, 1, "note_on", pitch, velocity))
        events.append((end, 0, "note_off", pitch, 0))
    return events


def _sorted_note_events(ticks: _NoteTicks, channel: int) -> _ChannelEvents:
    """The notes' note-on and note-off messages in file order: by tick, note-offs before
    note-ons at a tick, else in note order (a stable sort, as `sorted` of `_stem_events`
    by (tick, order))."""
    count = len(ticks.start)
    tick = np.empty(2 * count, dtype=np.int64)
    tick[0::2], tick[1::2] = ticks.start, ticks.end
    order = np.tile(np.array([1, 0], dtype=np.int64), count)
    status = np.tile(np.array([NOTE_ON | channel, NOTE_OFF | channel], dtype=np.int64), count)
    pitch = np.repeat(ticks.pitch, 2)
    velocity = np.zeros(2 * count, dtype=np.int64)
    velocity[0::2] = ticks.velocity
    file_order = np.lexsort((order, tick))  # stable: ties keep the note order
    return _ChannelEvents(
        tick[file_order], status[file_order], pitch[file_order], velocity[file_order]
    )


@dataclass(frozen=True)
class _ChannelEvents:
    """Two-data-byte channel messages at absolute ticks, in file order (numpy arrays)."""

    tick: np.ndarray
    status: np.ndarray
    data1: np.ndarray
    data2: np.ndarray


def variable_length(value: int) -> bytes:
    """A MIDI variable-length quantity (7 bits a byte, the high bit on all but the last)."""
    if value < 0:
        raise ValueError("message time must be non-negative in MIDI file")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


class _TrackWriter:
    """One track's chunk, byte for byte as mido's `MidiFile.save` writes it: delta times
    as variable-length quantities, running status for channel messages (a meta message
    breaks it) and an end-of-track meta message last."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.running: int | None = None
        self.now = 0  # absolute tick of the last message written

    def meta(self, delta: int, message: mido.MetaMessage) -> None:
        self.data += variable_length(delta)
        self.data += bytes(message.bytes())
        self.running = None
        self.now += delta

    def message(self, delta: int, message: mido.Message) -> None:
        """One channel message, checked by mido (the few setup messages of a track)."""
        self.data += variable_length(delta)
        self._channel_bytes(message.bytes())
        self.now += delta

    def _channel_bytes(self, encoded: Sequence[int]) -> None:
        if encoded[0] == self.running:
            self.data += bytes(encoded[1:])
        else:
            self.data += bytes(encoded)
        self.running = encoded[0]

    def events(self, events: _ChannelEvents) -> None:
        """Many note messages (their data bytes already checked) at absolute ticks."""
        if not len(events.tick):
            return
        deltas = np.diff(events.tick, prepend=self.now)
        if deltas[0] < 0:
            raise ValueError("message time must be non-negative in MIDI file")
        data, running = self.data, self.running
        for delta, status, first, second in zip(
            deltas.tolist(),
            events.status.tolist(),
            events.data1.tolist(),
            events.data2.tolist(),
            strict=True,
        ):
            if delta < 0x80:
                data.append(delta)
            elif delta < 0x4000:  # two bytes: most gaps between notes
                data.append(0x80 | delta >> 7)
                data.append(delta & 0x7F)
            else:
                data += variable_length(delta)
            if status != running:
                data.append(status)
                running = status
            data.append(first)
            data.append(second)
        self.running = running
        self.now = int(events.tick[-1])

    def chunk(self) -> bytes:
        """The finished `MTrk` chunk (the end-of-track message added)."""
        self.meta(0, mido.MetaMessage("end_of_track"))
        return b"MTrk" + struct.pack(">L", len(self.data)) + bytes(self.data)


def _track(
    name: str,
    stem: ArrangedStem,
    channel: int,
    meter: Meter,
    clip_beats: float | None,
    end_tick: int | None,
) -> bytes:
    """One stem's track chunk: name, program, volume, pan, its notes, and (for the
    synthesiser) a volume controller at `end_tick` marking where its audio stops."""
    writer = _TrackWriter()
    writer.meta(0, mido.MetaMessage("track_name", name=name, time=0))
    program = stem.stem.program
    writer.message(0, mido.Message("program_change", channel=channel, program=program))
    writer.message(0, mido.Message("control_change", channel=channel, control=7, value=100))
    pan = _pan_value(stem.stem.pan)
    writer.message(0, mido.Message("control_change", channel=channel, control=10, value=pan))
    ticks = _note_ticks(stem.notes, meter, clip_beats)
    writer.events(_sorted_note_events(ticks, channel))
    if end_tick is not None:
        now = writer.now
        delta = max(end_tick, now) - now
        writer.message(delta, mido.Message("control_change", channel=channel, control=7, value=100))
    return writer.chunk()


def _conductor(arrangement: Arrangement, end_tick: int | None) -> bytes:
    """The first track: tempo, time and key signatures, and the `loop_end` marker at
    `end_tick` (the loop file's: readers see the loop's full length)."""
    meter = arrangement.meter_info
    writer = _TrackWriter()
    writer.meta(0, mido.MetaMessage("set_tempo", tempo=midi_tempo(arrangement.bpm, meter)))
    signature = mido.MetaMessage(
        "time_signature", numerator=meter.numerator, denominator=meter.denominator
    )
    writer.meta(0, signature)
    key = key_signature_name(Key.parse(arrangement.key))
    writer.meta(0, mido.MetaMessage("key_signature", key=key))
    if end_tick is not None:
        writer.meta(end_tick, mido.MetaMessage("marker", text="loop_end"))
    return writer.chunk()


def _file(tracks: Sequence[bytes]) -> bytes:
    """A type-1 Standard MIDI File of `tracks` (finished chunks)."""
    header = struct.pack(">hhh", 1, len(tracks), TICKS_PER_QUARTER)
    return b"MThd" + struct.pack(">L", len(header)) + header + b"".join(tracks)


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
    loop_beats = float(arrangement.loop_beats)
    tracks = [_conductor(arrangement, _tick(loop_beats, meter))]
    for stem, channel in zip(arrangement.stems, _channels(arrangement.stems), strict=True):
        tracks.append(_track(stem.stem.name, stem, channel, meter, loop_beats, None))
    return _file(tracks)


def stem_render_midi(arrangement: Arrangement, stem_index: int, *, tail_beats: float) -> bytes:
    """One stem for the synthesiser: unclipped notes, audio to `loop + tail_beats`."""
    meter = arrangement.meter_info
    stem = arrangement.stems[stem_index]
    channel = DRUM_CHANNEL if stem.is_drum else 0
    end_tick = _tick(arrangement.loop_beats + tail_beats, meter)
    track = _track(stem.stem.name, stem, channel, meter, None, end_tick)
    return _file([_conductor(arrangement, None), track])
