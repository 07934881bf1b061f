"""One note of a SoundFont bank synthesised as RustySynth (`midirenderer`) plays it.

RustySynth renders in 64-sample blocks. Per block and per voice it advances the volume
and modulation envelopes and both LFOs once, derives the pitch (hence the oscillator's
fixed-point step) and the low-pass cutoff from them, fills the block by linear
interpolation of the bank's 16-bit samples (24-bit fractional positions), filters it
(a biquad whose coefficients change only between blocks), and adds it to the dry, chorus
and reverb buses with a gain ramped from the previous block's to this block's; a bus
skips the block when both gains are under 1e-3. All of it, per block and per sample,
runs compiled in one call per note (`voice_kernel.render_voices`); here the note's
voices are found in the bank (`note_voices`: preset and instrument zones, exclusive
classes) and flattened to integer rows (`voice_row`).

What a note's audio depends on: the bank, program, drum flag, the channel's controllers
(volume, pan, reverb and chorus sends: fixed per stem), pitch, velocity and the number of
blocks from note-on to note-off; not on where it starts. The result is the note alone
(`NoteAudio`): dry stereo, the mono input it gives the reverb and, when a voice sends
to the chorus, its stereo chorus input, all at the synthesiser's master volume (0.5).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from engine_core.render.sf2 import BankLayout, SampleHeader
from engine_core.render.voice_kernel import ROW_LENGTH, ROW_OWN, ROW_SAMPLE, render_voices

F32 = np.float32

#: RustySynth's instrument-zone defaults (generator -> amount); preset zones default to 0.
_INSTRUMENT_DEFAULTS = {
    8: 13500,
    21: -12000,
    23: -12000,
    25: -12000,
    26: -12000,
    27: -12000,
    28: -12000,
    30: -12000,
    33: -12000,
    34: -12000,
    35: -12000,
    36: -12000,
    38: -12000,
    46: -1,
    47: -1,
    56: 100,
    58: -1,
}


@dataclass(frozen=True)
class ChannelState:
    """The MIDI controllers a stem's channel holds (coarse values, 0-127)."""

    volume: int = 100
    expression: int = 127
    pan: int = 64
    reverb: int = 40
    chorus: int = 0

    def gain(self) -> np.float32:
        volume = F32(1.0 / 16383.0) * F32(self.volume << 7)
        expression = F32(1.0 / 16383.0) * F32(self.expression << 7)
        level = volume * expression
        return F32(level * level)

    def pan_position(self) -> np.float32:
        return F32(100.0 / 16383.0) * F32(self.pan << 7) - F32(50.0)


@dataclass
class NoteAudio:
    """A note's contribution to each bus from its note-on sample: float32 (frames, 3) with
    dry left, dry right and the reverb's input, or (frames, 5) with the chorus's input
    left and right after them when a voice sends to the chorus."""

    buses: np.ndarray

    @property
    def frames(self) -> int:
        return self.buses.shape[0]

    @property
    def dry(self) -> np.ndarray:
        return self.buses[:, :2]

    @property
    def reverb(self) -> np.ndarray:
        return self.buses[:, 2]

    @property
    def chorus(self) -> np.ndarray | None:
        return self.buses[:, 3:5] if self.buses.shape[1] == 5 else None


@dataclass(frozen=True)
class Voice:
    """One voice's generators (preset + instrument amounts) and its sample."""

    gs: np.ndarray  # int32[61]: preset + instrument amounts, as RustySynth sums them
    instrument: dict[int, int]  # the instrument zone's own amounts (with defaults)
    sample: SampleHeader

    @classmethod
    def from_zones(
        cls, preset: dict[int, int], instrument: dict[int, int], samples: list[SampleHeader]
    ) -> Voice:
        own = {**_INSTRUMENT_DEFAULTS, **instrument}
        gs = np.zeros(61, dtype=np.int32)
        for number, amount in own.items():
            if number < 61:
                gs[number] += amount
        for number, amount in preset.items():
            if number < 61 and number not in (41, 43, 44):
                gs[number] += amount
        return cls(gs, own, samples[own[53]])

    def g(self, number: int) -> int:
        return int(self.gs[number])

    def own(self, number: int) -> int:
        return int(self.instrument.get(number, 0))

    @property
    def exclusive_class(self) -> int:
        return self.own(57)


def note_voices(layout: BankLayout, program: int, drums: bool, key: int, velocity: int):
    """The voices a note-on starts, after RustySynth's exclusive-class reuse (a later
    voice of the same class takes over an earlier one of the same note)."""
    voices: list[Voice] = []
    for preset, instrument in layout.regions(program, key, velocity, drums=drums):
        voice = Voice.from_zones(preset, instrument, layout.samples)
        exclusive = voice.exclusive_class
        if exclusive:
            voices = [v for v in voices if v.exclusive_class != exclusive]
        voices.append(voice)
    return voices


_OWN_GENERATORS = (0, 1, 2, 3, 4, 12, 45, 50, 54, 58)


def voice_row(v: Voice) -> np.ndarray:
    """The voice as `voice_kernel.render_voices` reads it: int64 (ROW_LENGTH,)."""
    row = np.zeros(ROW_LENGTH, np.int64)
    row[:61] = v.gs
    row[ROW_OWN : ROW_OWN + len(_OWN_GENERATORS)] = [v.own(g) for g in _OWN_GENERATORS]
    s = v.sample
    row[ROW_SAMPLE:] = [
        s.start,
        s.end,
        s.start_loop,
        s.end_loop,
        s.sample_rate,
        s.original_pitch,
        s.pitch_correction,
    ]
    return row


@functools.lru_cache(maxsize=1024)
def _channel_levels(channel: ChannelState) -> tuple[np.float32, np.float32]:
    return channel.gain(), channel.pan_position()


def voice_rows(voices: list[Voice]) -> np.ndarray:
    """int64 (voices, ROW_LENGTH): every voice's row."""
    if not voices:
        return np.zeros((0, ROW_LENGTH), np.int64)
    return np.stack([voice_row(v) for v in voices])


def render_note(
    voices: list[Voice] | np.ndarray,
    wave: np.ndarray,
    key: int,
    velocity: int,
    blocks: int,
    channel: ChannelState,
    silence: float = 0.0,
) -> NoteAudio:
    """The note (note-on, then note-off `blocks` blocks later) on its own, every voice
    summed, up to the last block where a voice added more than `silence` to a bus.
    `voices` may be given as their rows (`voice_rows`)."""
    rows = voices if isinstance(voices, np.ndarray) else voice_rows(voices)
    gain, pan_position = _channel_levels(channel)
    out = render_voices(
        wave,
        rows,
        key,
        velocity,
        blocks,
        gain,
        pan_position,
        channel.reverb,
        channel.chorus,
        silence,
    )
    return NoteAudio(out.T)
