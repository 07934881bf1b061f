"""Dry notes: each distinct note synthesised once, kept in a process-wide LRU cache.

A note is identified by `NoteKey`: the bank's digest, program, drum flag, pitch, velocity,
and its length in synthesiser blocks (64 samples; see `timeline`), the last being what
"length on the grid" becomes once the sequencer has quantised it. Its audio is the
synthesiser's own output for that note alone on a channel at volume 100 and the stem's
pan, played with the bank's effect sends removed (`sf2.BankLayout.dry_bank`) and CC 91/93
at 0: the dry voice signal, int16 as the synthesiser writes it, up to the point where the
voice has died away (or `MAX_RELEASE_SECONDS` after the note-off).

Missing notes are synthesised together in one call per batch: one note per slot, each
slot starting on a block boundary and ending with All Sound Off, so slots never overlap.
Here velocity is exact: a note is only ever reused at the velocity it was rendered at. (The
synth renderer keys its notes by their velocity layer's top instead, and plays a softer
note from that one's gains: `synth_renderer.played_as`.)
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import mido
import numpy as np

from engine_core.render.timeline import BLOCK, RESOLUTION

#: The note cache's default budget (bytes of int16 audio held).
DEFAULT_BUDGET_BYTES = 256 * 1024 * 1024
#: After the note-off a slot rings this long at most before All Sound Off.
MAX_RELEASE_SECONDS = 2.0
#: The batch file's tempo: one tick is one sample at 48 kHz (20 000 us per quarter).
BATCH_TEMPO_US = 20000
#: A voice is taken to have died away once 20 ms pass under this level (int16 units).
SILENCE_LEVEL = 1
SILENCE_RUN = 960


@dataclass(frozen=True, order=True)
class NoteKey:
    bank: str
    program: int
    drums: bool
    pan: int  # the channel's CC 10
    pitch: int
    velocity: int
    blocks: int  # note-on to note-off, in synthesiser blocks


class NoteCache:
    """Rendered notes by key, least recently used dropped first beyond `budget_bytes`."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        if budget_bytes < 0:
            raise ValueError(f"note cache budget must be >= 0, got {budget_bytes}")
        self.budget_bytes = budget_bytes
        self._notes: OrderedDict[NoteKey, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._making: dict[NoteKey, threading.Event] = {}
        self.hits = 0
        self.misses = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._notes)

    def get(self, key: NoteKey) -> np.ndarray | None:
        with self._lock:
            audio = self._notes.get(key)
            if audio is None:
                self.misses += 1
                return None
            self._notes.move_to_end(key)
            self.hits += 1
            return audio

    def claim(self, key: NoteKey) -> tuple[Any, threading.Event | None]:
        """For threads sharing the cache: `(audio, None)` when the note is held; `(None,
        event)` when another thread is making it (`event` is set once it is `put` or
        `abandon`ed); `(None, None)` when the caller is to make it (then `put` or
        `abandon` it), so no note is synthesised by two threads at once."""
        with self._lock:
            audio = self._notes.get(key)
            if audio is not None:
                self._notes.move_to_end(key)
                self.hits += 1
                return audio, None
            making = self._making.get(key)
            if making is not None:
                return None, making
            self._making[key] = threading.Event()
            self.misses += 1
            return None, None

    def abandon(self, key: NoteKey) -> None:
        """A claimed note will not be made (its maker failed): waiters go on without it."""
        with self._lock:
            making = self._making.pop(key, None)
        if making is not None:
            making.set()

    def put(self, key: NoteKey, audio: Any) -> None:
        try:
            self._put(key, audio)
        finally:
            self.abandon(key)  # wakes any thread waiting for it

    def _put(self, key: NoteKey, audio: Any) -> None:
        audio.setflags(write=False)
        with self._lock:
            old = self._notes.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            if audio.nbytes > self.budget_bytes:
                return
            self._notes[key] = audio
            self._bytes += audio.nbytes
            while self._bytes > self.budget_bytes:
                _, dropped = self._notes.popitem(last=False)
                self._bytes -= dropped.nbytes

    def clear(self) -> None:
        """Drop every note and start the hit and miss counts again."""
        with self._lock:
            self._notes.clear()
            self._bytes = 0
            self.hits = 0
            self.misses = 0


def batch_midi(
    keys: Iterable[NoteKey], release_blocks: int, reverb_cc: int = 0
) -> tuple[bytes, list[int]]:
    """One file playing every note in its own slot; returns it and each slot's first block.

    Each note-on falls in the middle of its slot's first block and its note-off in the
    middle of the block `key.blocks` later, so the sequencer applies both exactly there.
    """
    midi_file = mido.MidiFile(type=0, ticks_per_beat=RESOLUTION)
    track = mido.MidiTrack()
    midi_file.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=BATCH_TEMPO_US, time=0))
    now = 0
    block = 1
    starts: list[int] = []

    def at(tick: int, message: mido.Message) -> None:
        nonlocal now
        message.time = tick - now
        track.append(message)
        now = tick

    for key in keys:
        channel = 9 if key.drums else 0
        half = BLOCK // 2
        start = block * BLOCK - half
        at(start - 4, mido.Message("control_change", channel=channel, control=121))
        at(start - 3, mido.Message("program_change", channel=channel, program=key.program))
        for control, value in ((7, 100), (10, key.pan), (91, reverb_cc), (93, 0)):
            at(
                start - 2,
                mido.Message("control_change", channel=channel, control=control, value=value),
            )
        at(start, mido.Message("note_on", channel=channel, note=key.pitch, velocity=key.velocity))
        off = (block + key.blocks) * BLOCK - half
        at(off, mido.Message("note_off", channel=channel, note=key.pitch))
        end_block = block + key.blocks + release_blocks
        at(end_block * BLOCK - half, mido.Message("control_change", channel=channel, control=120))
        starts.append(block)
        block = end_block + 1
    at(block * BLOCK, mido.Message("control_change", channel=0, control=7, value=100))
    buffer = io.BytesIO()
    midi_file.save(file=buffer)
    return buffer.getvalue(), starts


def trim_silence(pcm: np.ndarray) -> np.ndarray:
    """Cut a note's int16 render after its last frame louder than `SILENCE_LEVEL` in any
    channel (dry left/right and reverb left/right)."""
    loud = np.flatnonzero(np.abs(pcm).max(axis=1) > SILENCE_LEVEL)
    if loud.size == 0:
        return pcm[:0].copy()
    return pcm[: loud[-1] + 1].copy()
