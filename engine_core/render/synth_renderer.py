"""The synth renderer: stems from notes played by a compiled voice (`voice`), effects per stem.

For each stem: place every note where the synthesiser's sequencer starts and stops it
(`note_renderer.plan_stem`: events apply between 64-sample blocks; a note-off ends every
sounding note of its key; an exclusive-class drum note cuts the previous one), take each
note's buses (dry stereo, reverb input, chorus input) from the process-wide `NoteCache`
or synthesise them (`voice.render_note`: RustySynth's voice, its bus gains and their
per-voice gates included), add them up, and apply the stem's effects: the reverb by FFT
convolution with the synthesiser's own impulse response (`reverb`), the chorus with the
synthesiser's delay line (`effects.chorus`, which follows absolute time). No synthesiser
call is made: the bank's sample data is read in place from the bytes already loaded.

Not reproduced: voice stealing beyond 64 voices, the 16-bit clipping of a stem over full
scale, and the reverb's flushing of values under 1e-6 (a decayed tail ends a little later).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np

from engine_core.arrange.arranger import Arrangement
from engine_core.render import effects, reverb
from engine_core.render.note_renderer import plan_stem
from engine_core.render.notes import NoteCache, NoteKey
from engine_core.render.soundfont import SoundFont
from engine_core.render.voice import ChannelState, note_voices, render_note, voice_rows
from engine_core.render.voice_kernel import add_note, pack_note

#: A note's buses are kept up to the last block a voice adds more than this to (1/30 of a
#: 16-bit step).
SILENCE = 1e-6
#: The synth renderer's note cache budget per process (see `docs/engine.md`).
BUDGET_BYTES = 256 * 1024 * 1024


@functools.lru_cache(maxsize=1)
def process_cache(budget_bytes: int = BUDGET_BYTES) -> NoteCache:
    """The synth renderer's note cache, shared by everything rendering in this process."""
    return NoteCache(budget_bytes)


@dataclass(frozen=True)
class PackedNote:
    """A note's buses as the cache holds them (`voice_kernel.pack_note`): dry left, dry
    right, the reverb's input and, when the note sends to the chorus, the chorus's input
    left and right, each as 16-bit integers scaled by its own peak (a step is 1/32767 of
    the bus's peak: the rounding is 96 dB below the note)."""

    pcm: np.ndarray  # int16 (frames, 3 or 5)
    scales: np.ndarray  # float32 per bus

    @classmethod
    def pack(cls, buses: np.ndarray) -> PackedNote:
        """Pack float32 (frames, 3 or 5) buses (`voice.NoteAudio.buses`)."""
        return cls(*pack_note(np.asarray(buses, np.float32).T))

    @property
    def frames(self) -> int:
        return self.pcm.shape[0]

    @property
    def chorused(self) -> bool:
        return self.pcm.shape[1] == 5

    @property
    def nbytes(self) -> int:
        return self.pcm.nbytes + self.scales.nbytes

    def setflags(self, write: bool) -> None:
        self.pcm.setflags(write=write)
        self.scales.setflags(write=write)


@functools.lru_cache(maxsize=16384)
def _voice_rows(soundfont: SoundFont, program: int, drums: bool, pitch: int, velocity: int):
    """The rows (`voice.voice_rows`) of the voices a note starts, found once per process."""
    rows = voice_rows(note_voices(soundfont.layout, program, drums, pitch, velocity))
    rows.setflags(write=False)
    return rows


@functools.lru_cache(maxsize=4)
def _wave(soundfont: SoundFont) -> np.ndarray:
    return soundfont.layout.wave()


def note_buses(key: NoteKey, soundfont: SoundFont) -> PackedNote:
    """A note's buses (`voice.NoteAudio`), packed for the cache (`PackedNote`)."""
    note = render_note(
        _voice_rows(soundfont, key.program, key.drums, key.pitch, key.velocity),
        _wave(soundfont),
        key.pitch,
        key.velocity,
        key.blocks,
        ChannelState(pan=key.pan),
        silence=SILENCE,
    )
    return PackedNote.pack(note.buses)


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
    notes = _stem_notes([note.key for note in placed], soundfont, cache)
    dry = np.zeros((frames, 2), np.float32)
    bus = np.zeros(frames, np.float32)
    chorus_bus: np.ndarray | None = None  # made when a note sends to the chorus
    for note in placed:
        buses = notes[note.key]
        end = min(frames, note.start + buses.frames)
        if note.stop >= 0:
            end = min(end, note.stop)
        if end <= note.start:
            continue
        if buses.chorused and chorus_bus is None:
            chorus_bus = np.zeros((frames, 2), np.float32)
        chorus = chorus_bus if chorus_bus is not None else np.zeros((0, 2), np.float32)
        add_note(buses.pcm, buses.scales, note.start, end, dry, bus, chorus)
    dry += reverb.apply(bus)
    if chorus_bus is not None:
        dry += effects.chorus(chorus_bus)
    return dry


def warm_up(soundfont: SoundFont) -> None:
    """Make a process ready to render with the synth renderer: the compiled kernels
    loaded (from numba's on-disk cache; compiled there on a machine's first run), the
    bank's tables parsed and the reverb's response computed. A render worker may call it
    when it starts, so its first stem pays none of this (about 0.5 s of CPU)."""
    key = NoteKey(soundfont.digest, 0, False, 64, 60, 100, 4)
    note = note_buses(key, soundfont)
    frames = note.frames
    dry = np.zeros((frames, 2), np.float32)
    bus = np.zeros(frames, np.float32)
    add_note(note.pcm, note.scales, 0, frames, dry, bus, dry[:0])
    reverb.apply(bus)
