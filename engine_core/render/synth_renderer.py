"""The synth renderer: stems from notes played by a compiled voice (`voice`), effects per stem.

For each stem: place every note where the synthesiser's sequencer starts and stops it
(`note_renderer.plan_stem`: events apply between 64-sample blocks; a note-off ends every
sounding note of its key; an exclusive-class drum note cuts the previous one), take each
note from the process-wide `NoteCache` or synthesise it (`voice_kernel.render_voice_signals`:
RustySynth's voice, each voice's filtered samples kept before its gains, and its gain per
block and bus), add the notes up as the synthesiser's output stage does
(`voice_kernel.add_voices`: per voice, bus and block, the gate and the held or ramped
gain), and apply the stem's effects: the reverb by FFT convolution with the synthesiser's
own impulse response (`reverb`), the chorus with the synthesiser's delay line
(`effects.chorus`, which follows absolute time). No synthesiser call is made: the bank's
sample data is read in place from the bytes already loaded.

Velocity is a gain. RustySynth's velocity picks the bank's zones (its velocity layers),
scales every voice's gain by (velocity / 127)^2, and times the modulation envelope's
attack. So a note is synthesised once per velocity layer, at the layer's top velocity
(`played_as`; at its own velocity when a voice's modulation envelope reaches its pitch or
filter and the velocity would move that sweep audibly: `_velocity_shapes`), and a
softer note of the layer is that render with every voice's gains times the ratio: the
output stage, gate and ramps included, then runs on the gains the synthesiser would have
computed (to float32 rounding). A set's 3,600 notes need about 660 renders instead of 1,900.

Not reproduced: voice stealing beyond 64 voices, the 16-bit clipping of a stem over full
scale, and the reverb's flushing of values under 1e-6 (a decayed tail ends a little later).
"""

from __future__ import annotations

import functools
import math
import os
import threading
from dataclasses import dataclass

import numpy as np

from engine_core.arrange.arranger import Arrangement
from engine_core.errors import RenderConfigError
from engine_core.render import effects, reverb
from engine_core.render.note_renderer import plan_stem
from engine_core.render.notes import NoteCache, NoteKey
from engine_core.render.soundfont import RENDER_SAMPLE_RATE, SoundFont
from engine_core.render.timeline import BLOCK
from engine_core.render.voice import ChannelState, note_voices, voice_rows
from engine_core.render.voice_kernel import add_voices, pack_voices, render_voice_signals

F32 = np.float32

#: A note's buses are kept up to the last block a voice adds more than this to (1/30 of a
#: 16-bit step).
SILENCE = 1e-6
#: The synth renderer's note cache budget per process (see `docs/engine.md`), unless
#: `ENV_NOTE_CACHE_MB` gives another (in MiB; 0 keeps no note).
BUDGET_BYTES = 256 * 1024 * 1024
ENV_NOTE_CACHE_MB = "OSTINATO_NOTE_CACHE_MB"
#: The largest budget the setting accepts (64 GiB): a larger one is surely a typo.
MAX_BUDGET_MB = 64 * 1024


def note_cache_budget() -> int:
    """The note cache's budget in bytes: `$OSTINATO_NOTE_CACHE_MB` MiB, else `BUDGET_BYTES`.

    Raises `RenderConfigError` for a value that is not a number of MiB from 0 to
    `MAX_BUDGET_MB`."""
    text = os.environ.get(ENV_NOTE_CACHE_MB, "").strip()
    if not text:
        return BUDGET_BYTES
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = math.nan
    if not 0 <= megabytes <= MAX_BUDGET_MB:
        raise RenderConfigError(
            f"{ENV_NOTE_CACHE_MB}={text!r} is not a note cache budget in MiB "
            f"(0 to {MAX_BUDGET_MB})",
            {"variable": ENV_NOTE_CACHE_MB, "value": text},
        )
    return int(megabytes * 1024 * 1024)


@functools.cache
def process_cache() -> NoteCache:
    """The synth renderer's note cache, shared by everything rendering in this process
    (its budget read once, from `note_cache_budget`)."""
    return NoteCache(note_cache_budget())


@dataclass(frozen=True)
class PackedNote:
    """A note as the cache holds it (`voice_kernel.render_voice_signals`): each voice's
    filtered samples before any gain, as 16-bit integers scaled by the voice's own peak
    (a step is 1/32767 of the peak: the rounding is 96 dB below the voice), its gain per
    64-sample block for each bus (dry left, dry right, the reverb's input and, when a
    voice sends to the chorus, the chorus's input left and right) and its length in
    blocks. `voice_kernel.add_voices` adds it to a stem as the synthesiser's output stage
    would, at the velocity it was made at or, its gains scaled, a softer one."""

    pcm: np.ndarray  # int16 (voices, frames)
    scales: np.ndarray  # float32 per voice
    gains: np.ndarray  # float32 (voices, blocks, 3 or 5)
    lengths: np.ndarray  # int64 per voice: blocks

    @classmethod
    def pack(cls, signals: np.ndarray, gains: np.ndarray, lengths: np.ndarray) -> PackedNote:
        """Pack `render_voice_signals`' output."""
        pcm, scales = pack_voices(signals, lengths)
        return cls(pcm, scales, np.ascontiguousarray(gains, np.float32), lengths)

    @property
    def frames(self) -> int:
        return self.pcm.shape[1]

    @property
    def chorused(self) -> bool:
        return self.gains.shape[2] == 5

    @property
    def nbytes(self) -> int:
        return self.pcm.nbytes + self.scales.nbytes + self.gains.nbytes + self.lengths.nbytes

    def setflags(self, write: bool) -> None:
        for array in (self.pcm, self.scales, self.gains, self.lengths):
            array.setflags(write=write)

    def add(
        self,
        ratio: np.float32,
        start: int,
        stop: int,
        dry: np.ndarray,
        reverb: np.ndarray,
        chorus: np.ndarray,
    ) -> None:
        """Add the note, its gains times `ratio`, to a stem's planar buses (`add_voices`)."""
        add_voices(
            self.pcm, self.scales, self.gains, self.lengths, ratio, start, stop, dry, reverb, chorus
        )


@functools.lru_cache(maxsize=16384)
def _voice_rows(soundfont: SoundFont, program: int, drums: bool, pitch: int, velocity: int):
    """The rows (`voice.voice_rows`) of the voices a note starts, found once per process."""
    rows = voice_rows(note_voices(soundfont.layout, program, drums, pitch, velocity))
    rows.setflags(write=False)
    return rows


#: Voice generators through which the modulation envelope, whose attack RustySynth
#: times by velocity, reaches the sound: to pitch (7) and to the filter's cutoff (11).
_MODULATION_ENVELOPE_TARGETS = (7, 11)
_MODULATION_ATTACK = 26
_MODULATION_HOLD = 27
_MODULATION_DECAY = 28
_KEY_TO_MODULATION_HOLD = 31
_KEY_TO_MODULATION_DECAY = 32
#: A modulation envelope attacking within one block (1.3 ms at 48 kHz; the bank default is
#: 1 ms) moves by less than that between velocities. When the pitch or cutoff it sweeps
#: then moves by under `_SWEEP_CENTS` (a semitone) in that time, a velocity's note is the
#: layer's note, scaled: a filter sweep a fraction of a millisecond early, -85 dB or
#: closer on FluidR3's pianos and strings; TimGM6mb's drums sweep faster and stay exact.
_SHORT_ATTACK_SECONDS = BLOCK / RENDER_SAMPLE_RATE
_SWEEP_CENTS = 100.0


def _timecents(cents: np.ndarray) -> np.ndarray:
    return 2.0 ** (cents / 1200.0)


def _velocity_shapes(rows: np.ndarray, velocity: int, pitch: int) -> bool:
    """Whether the velocity changes more than a note's gain: a voice whose modulation
    envelope reaches its pitch or filter and attacks for longer than a block, or sweeps
    so fast after it that the attack's shift between velocities moves the pitch or the
    cutoff by a semitone or more."""
    targeted = rows[:, _MODULATION_ENVELOPE_TARGETS].any(axis=1)
    if not targeted.any():
        return False
    voices = rows[targeted]
    attack = _timecents(voices[:, _MODULATION_ATTACK]) * (145 - velocity) / 144.0
    sweep = _timecents(voices[:, _MODULATION_HOLD]) * _timecents(
        voices[:, _KEY_TO_MODULATION_HOLD] * (60 - pitch)
    ) + _timecents(voices[:, _MODULATION_DECAY]) * _timecents(
        voices[:, _KEY_TO_MODULATION_DECAY] * (60 - pitch)
    )
    depth = np.abs(voices[:, _MODULATION_ENVELOPE_TARGETS]).max(axis=1)
    moved = depth * attack / np.maximum(sweep, 1e-9)
    return bool(((attack > _SHORT_ATTACK_SECONDS) | (moved >= _SWEEP_CENTS)).any())


def played_as(key: NoteKey, soundfont: SoundFont) -> tuple[NoteKey, np.float32]:
    """The note the cache keeps for `key` (the same note at the top velocity of its
    velocity layer) and the gain that makes it `key` (see the module's docstring)."""
    tops, gains = _velocity_table(soundfont, key.program, key.drums, key.pitch)
    top = int(tops[key.velocity])
    if top == key.velocity:
        return key, F32(1.0)
    return (
        NoteKey(key.bank, key.program, key.drums, key.pan, key.pitch, top, key.blocks),
        gains[key.velocity],
    )


@functools.lru_cache(maxsize=16384)
def _velocity_table(
    soundfont: SoundFont, program: int, drums: bool, pitch: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each velocity 0-127 of a key: the velocity its note is synthesised at (the top
    of its velocity layer, or itself where velocity reshapes the note) and the gain from
    that to it. Worked out once per process and key, layer by layer."""
    tops = np.arange(128)
    gains = np.ones(128, np.float32)
    velocity = 1
    while velocity <= 127:
        layer = soundfont.layout.velocity_layer(program, pitch, velocity, drums=drums)
        rows = _voice_rows(soundfont, program, drums, pitch, velocity)
        for soft in layer:
            if not _velocity_shapes(rows, soft, pitch):
                tops[soft] = layer[-1]
                gains[soft] = velocity_gain(soft) / velocity_gain(layer[-1])
        velocity = layer[-1] + 1
    tops.setflags(write=False)
    gains.setflags(write=False)
    return tops, gains


def velocity_gain(velocity: int) -> np.float32:
    """RustySynth's gain for a velocity: (velocity / 127)^2, as it computes it (in dB)."""
    decibels = F32(2.0) * F32(20.0) * F32(np.log10(F32(velocity) / F32(127.0)))
    return F32(10.0) ** (F32(0.05) * decibels)


@functools.lru_cache(maxsize=4)
def _wave(soundfont: SoundFont) -> np.ndarray:
    return soundfont.layout.wave()


def note_buses(key: NoteKey, soundfont: SoundFont) -> PackedNote:
    """A note's voices before their gains, and their gains (`render_voice_signals`),
    packed for the cache (`PackedNote`)."""
    channel = ChannelState(pan=key.pan)
    signals, gains, lengths = render_voice_signals(
        _wave(soundfont),
        _voice_rows(soundfont, key.program, key.drums, key.pitch, key.velocity),
        key.pitch,
        key.velocity,
        key.blocks,
        channel.gain(),
        channel.pan_position(),
        channel.reverb,
        channel.chorus,
        SILENCE,
    )
    return PackedNote.pack(signals, gains, lengths)


def _stem_notes(
    keys: list[NoteKey], soundfont: SoundFont, cache: NoteCache
) -> dict[NoteKey, PackedNote]:
    """Every distinct note of a stem: from the cache, or synthesised here (and put there),
    or, when another render thread is synthesising it, taken once that thread is done.
    Held here for the whole stem, so no note is made twice for it whatever the cache
    drops, and the stem adds them up in its own order (the same audio on any thread)."""
    notes: dict[NoteKey, PackedNote] = {}
    waiting: list[tuple[NoteKey, threading.Event]] = []
    for key in dict.fromkeys(keys):
        buses, making = cache.claim(key)
        if buses is not None:
            notes[key] = buses
        elif making is not None:
            waiting.append((key, making))
        else:
            notes[key] = _make(key, soundfont, cache)
    for key, making in waiting:
        buses = None
        while buses is None:
            making.wait()
            buses, making = cache.claim(key)
            if buses is None and making is None:  # dropped, or its maker failed
                buses = _make(key, soundfont, cache)
        notes[key] = buses
    return notes


def _make(key: NoteKey, soundfont: SoundFont, cache: NoteCache) -> PackedNote:
    """Synthesise a note claimed in `cache` and put it there (or give the claim up)."""
    try:
        buses = note_buses(key, soundfont)
    except BaseException:
        cache.abandon(key)
        raise
    cache.put(key, buses)
    return buses


def render_stem_audio(
    arrangement: Arrangement,
    index: int,
    soundfont: SoundFont,
    cache: NoteCache,
    tail_seconds: float,
) -> np.ndarray:
    """Stem `index` before the tail fold: float32 (frames, 2) at 48 kHz, effects included."""
    placed, frames = plan_stem(arrangement, index, soundfont, tail_seconds)
    played = [played_as(note.key, soundfont) for note in placed]
    notes = _stem_notes([key for key, _ in played], soundfont, cache)
    dry = np.zeros((2, frames), np.float32)
    bus = np.zeros(frames, np.float32)
    chorus_bus: np.ndarray | None = None  # made when a note sends to the chorus
    no_chorus = np.zeros((2, 0), np.float32)
    for note, (key, gain) in zip(placed, played, strict=True):
        buses = notes[key]
        end = min(frames, note.start + buses.frames)
        if note.stop >= 0:
            end = min(end, note.stop)
        if end <= note.start:
            continue
        if buses.chorused and chorus_bus is None:
            chorus_bus = np.zeros((2, frames), np.float32)
        chorus = chorus_bus if chorus_bus is not None else no_chorus
        buses.add(gain, note.start, end, dry, bus, chorus)
    reverb.apply(bus, into=dry)
    out = np.ascontiguousarray(dry.T)
    if chorus_bus is not None:
        out += effects.chorus(chorus_bus.T)
    return out


def warm_up(soundfont: SoundFont) -> None:
    """Make a process ready to render with the synth renderer: the compiled kernels
    loaded (from numba's on-disk cache; compiled there on a machine's first run), the
    bank's tables parsed, the reverb's response computed, and the loudness
    meter's modules (scipy.signal) imported. A render thread runs it when the pool starts
    (`RenderPool.warm`, during the model), so the first stem pays none of this (about
    1 s of CPU)."""
    from engine_core.render import loudness

    key = NoteKey(soundfont.digest, 0, False, 64, 60, 100, 4)
    note = note_buses(key, soundfont)
    frames = note.frames
    dry = np.zeros((2, frames), np.float32)
    bus = np.zeros(frames, np.float32)
    note.add(F32(0.5), 0, frames, dry, bus, dry[:, :0])
    reverb.apply(bus)
    second = np.zeros((reverb.SAMPLE_RATE, 2), np.float64)  # a variant's mix is float64
    second[::97] = 0.1
    for mix in (second, second.astype(np.float32)):
        loudness.integrated_loudness(mix, reverb.SAMPLE_RATE)
        loudness.true_peak_db(mix)
