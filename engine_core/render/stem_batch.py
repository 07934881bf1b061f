"""Several stems synthesised in one call, each exactly as if it had been synthesised alone.

Every synthesiser call parses the whole bank again (about 90 ms for FluidR3_GM's 148 MB,
3 ms for TimGM6mb), so rendering a variant's five stems one call each pays that five
times. `render_stems_pcm` plays the stems one after another in a single file instead:

- each stem's events are placed in the synthesiser block (64 samples) where its own file
  would have applied them (`timeline.event_blocks`), at the middle of the block before it
  in a file whose tick is one sample (so no rounding can move them), and its audio is cut
  to the length its own file would have produced;
- after a stem's last event every voice is stopped (All Sound Off) and the synthesiser
  plays silence for at least `SETTLE_SECONDS`, long enough for its reverb to decay to
  exact zero (it flushes tiny values) and its chorus delay line to empty;
- each stem starts at a multiple of `CHORUS_PERIOD` samples, so the chorus, whose phase
  follows the synthesiser's clock, is where it would be at the start of a call;
- each stem's channel gets its program, volume and pan again (nothing else is ever set).

The result is the same int16 audio, bit for bit, as one call per stem
(`tests/test_stem_batch.py` checks every stem of a set against its own call). The file's
bytes are written here directly (the same bytes `mido` would write: running status, one
end-of-track), since building a message object per event cost more than the rest of the
batching.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine_core.arrange.arranger import Arrangement
from engine_core.export.midi import (
    DRUM_CHANNEL,
    _pan_value,
    _stem_events,
    _tick,
    midi_tempo,
    variable_length,
)
from engine_core.render.soundfont import RENDER_SAMPLE_RATE, SoundFont
from engine_core.render.timeline import BLOCK, RESOLUTION, event_blocks

#: The synthesiser's chorus LFO period in samples at 48 kHz (0.4 Hz).
CHORUS_PERIOD = 120000
#: Silence played between two stems (before rounding up to the next chorus period).
SETTLE_SECONDS = 2.5
#: One tick is one sample at 48 kHz: 960 ticks per quarter at 20 000 us per quarter.
SAMPLE_TEMPO_US = 20000
ALL_SOUND_OFF = 120
#: Status bytes (the channel is added) and the file's fixed parts.
NOTE_OFF, NOTE_ON, CONTROL_CHANGE, PROGRAM_CHANGE = 0x80, 0x90, 0xB0, 0xC0
STATUS = {"note_off": NOTE_OFF, "note_on": NOTE_ON}
END_OF_TRACK = b"\x00\xff\x2f\x00"


@dataclass(frozen=True)
class StemEvents:
    """One stem's events as its own file would apply them: (block, message bytes) in
    file order, and the number of frames that file renders."""

    events: tuple[tuple[int, bytes], ...]
    frames: int
    channel: int


def stem_events(arrangement: Arrangement, index: int, tail_seconds: float) -> StemEvents:
    """The events of `stem_render_midi(arrangement, index, tail_beats=...)`, in blocks."""
    meter = arrangement.meter_info
    stem = arrangement.stems[index]
    channel = DRUM_CHANNEL if stem.is_drum else 0
    tail_beats = tail_seconds * arrangement.bpm / 60.0
    end_tick = _tick(arrangement.loop_beats + tail_beats, meter)
    notes = sorted(_stem_events(stem.notes, meter, None), key=lambda e: e[:2])
    last = max(end_tick, notes[-1][0] if notes else 0)
    ticks = np.array([0, *(e[0] for e in notes), last], dtype=np.int64)
    tempo_us = midi_tempo(arrangement.bpm, meter)
    blocks = event_blocks(ticks, tempo_us, RENDER_SAMPLE_RATE)
    setup = (
        _message(PROGRAM_CHANGE, channel, stem.stem.program),
        _message(CONTROL_CHANGE, channel, 7, 100),
        _message(CONTROL_CHANGE, channel, 10, _pan_value(stem.stem.pan)),
    )
    events: list[tuple[int, bytes]] = [(int(blocks[0]), m) for m in setup]
    for (_, _, kind, pitch, velocity), block in zip(notes, blocks[1:-1].tolist(), strict=True):
        events.append((block, bytes((STATUS[kind] | channel, pitch, velocity))))
    return StemEvents(tuple(events), _file_frames(ticks, tempo_us), channel)


def _message(status: int, channel: int, *data: int) -> bytes:
    """A channel message's bytes, its data bytes checked to be 0-127."""
    if not 0 <= channel <= 15 or not all(0 <= value <= 127 for value in data):
        raise ValueError(f"MIDI message {status:#x} on channel {channel} with data {data}")
    return bytes((status | channel, *data))


def _file_frames(ticks: np.ndarray, tempo_us: int) -> int:
    """Frames the synthesiser writes for a file whose last event is at `ticks[-1]`:
    its time accumulated over the distinct event ticks, as the MIDI reader does."""
    per_tick = 60.0 / (RESOLUTION * (60000000.0 / tempo_us))
    distinct = np.unique(ticks)
    seconds = np.add.accumulate(np.diff(distinct, prepend=0).astype(np.float64) * per_tick)
    return int(RENDER_SAMPLE_RATE * float(seconds[-1]))


def batch_file(stems: Sequence[StemEvents]) -> tuple[bytes, list[int]]:
    """One file playing `stems` one after another; returns it and each stem's first sample."""
    timed: list[tuple[int, bytes]] = []
    starts: list[int] = []
    start = 0
    for stem in stems:
        starts.append(start)
        for block, message in stem.events:
            # the middle of the block before `block`: applied exactly before `block` (at
            # tick 0 for the file's first block, which nothing can precede)
            timed.append((max(start + block * BLOCK - BLOCK // 2, 0), message))
        stop = start + -(-stem.frames // BLOCK) * BLOCK + BLOCK // 2
        timed.append((stop, _message(CONTROL_CHANGE, stem.channel, ALL_SOUND_OFF, 0)))
        settle = stop + int(SETTLE_SECONDS * RENDER_SAMPLE_RATE)
        start = -(-settle // CHORUS_PERIOD) * CHORUS_PERIOD
    track = bytearray(b"\x00\xff\x51\x03" + SAMPLE_TEMPO_US.to_bytes(3, "big"))
    now = 0
    running = None  # running status: a repeated status byte is left out
    for tick, message in timed:  # already in order: stems in turn, events in file order
        track += variable_length(tick - now)
        track += message if message[0] != running else message[1:]
        running = message[0]
        now = tick
    track += END_OF_TRACK
    header = b"MThd" + struct.pack(">Lhhh", 6, 0, 1, RESOLUTION)
    return header + b"MTrk" + struct.pack(">L", len(track)) + bytes(track), starts


def render_stems_pcm(
    arrangement: Arrangement, indices: Sequence[int], soundfont: SoundFont, tail_seconds: float
) -> list[np.ndarray]:
    """int16 (frames, 2) for each stem in `indices`, as one call per stem would give it;
    a stem without notes gives no frames (the synthesiser is not asked)."""
    sounding = [i for i in indices if arrangement.stems[i].notes]
    pcm_by_index: dict[int, np.ndarray] = {i: np.zeros((0, 2), np.int16) for i in indices}
    if sounding:
        stems = [stem_events(arrangement, i, tail_seconds) for i in sounding]
        midi, starts = batch_file(stems)
        pcm = soundfont.render_pcm(midi)
        for index, stem, start in zip(sounding, stems, starts, strict=True):
            pcm_by_index[index] = pcm[start : start + stem.frames]
    return [pcm_by_index[i] for i in indices]
