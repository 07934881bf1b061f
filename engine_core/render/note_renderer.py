"""The note renderer: stems built from cached notes, each synthesised once per process.

For each stem: place every note where the synthesiser's sequencer would start and stop it
(`timeline`: events apply between 64-sample blocks), take its render from the
process-wide `NoteCache` (synthesising the missing ones in batches), add them up
(overlap-add), apply the chorus to the stem when its instrument has a chorus send
(`effects.chorus`, which follows absolute time), and fold the tail onto the head exactly as
the reference renderer does (`stems`). A note's render holds its dry sound and the
synthesiser's own reverb of it: the reverb is time-invariant, so it can be reused at any
position, but its input is gated per voice (a voice feeds it only while 0.015 x send x
its gain is at least 1e-3), so it cannot be rebuilt from the dry sound of a whole stem.

What the full synthesis does that a sum of separate notes would not, and is reproduced:
a note-off ends every sounding note of that key on the channel (overlapping repeats are
cut where the synthesiser cuts them), and a drum voice with an exclusive class (open and
closed hi-hat) is silenced at the block where the next note of its class starts.
Not reproduced: voice stealing beyond the synthesiser's 64 voices, the 16-bit clipping of
a stem that would exceed full scale, the reverb's flushing of values under 1e-6 (per note
its tail is flushed a little earlier than in a full mix), the chorus bus's gating of very
quiet voices, and the reverb tail of a hi-hat cut by the next one;
`benchmarks/bench_render.py` measures the differences.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine_core.arrange.arranger import Arrangement
from engine_core.export.midi import _pan_value, _tick, midi_tempo
from engine_core.render import effects
from engine_core.render.notes import (
    DEFAULT_BUDGET_BYTES,
    MAX_RELEASE_SECONDS,
    NoteCache,
    NoteKey,
    batch_midi,
    trim_silence,
)
from engine_core.render.sf2 import DEFAULT_REVERB_CC, BankLayout
from engine_core.render.soundfont import PCM_SCALE, RENDER_SAMPLE_RATE, SoundFont
from engine_core.render.timeline import BLOCK, event_blocks

#: How many missing notes one synthesiser call renders at most.
BATCH_NOTES = 400
RENDERERS = ("reference", "notes", "synth")


@functools.lru_cache(maxsize=1)
def process_cache(budget_bytes: int = DEFAULT_BUDGET_BYTES) -> NoteCache:
    """The note cache shared by everything rendering in this process."""
    return NoteCache(budget_bytes)


@dataclass(frozen=True)
class PlacedNote:
    key: NoteKey
    start: int  # first sample (48 kHz) in the stem
    stop: int  # sample after which the note is cut (exclusive class), or -1
    chorus: float  # the voices' mean chorus send


class BankContext:
    """A bank read once per process: its preset layout, the bank itself, and (made when
    first needed) the variants chorused notes are synthesised from."""

    def __init__(self, bank: SoundFont) -> None:
        self.bank = bank
        self.layout = BankLayout.parse(bank.data, str(bank.path))

    @functools.cached_property
    def dry(self) -> SoundFont:
        """The bank without effect sends."""
        return SoundFont(self.bank.path, self.layout.dry_bank())

    @functools.cached_property
    def reverb_only(self) -> SoundFont:
        """The bank without chorus sends."""
        return SoundFont(self.bank.path, self.layout.reverb_only_bank())

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one context per bank per process
    def chorus_send(self, program: int, drums: bool, pitch: int, velocity: int) -> float:
        voices = self.layout.sends(program, pitch, velocity, drums=drums)
        return float(np.mean([v.chorus for v in voices])) if voices else 0.0

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one context per bank per process
    def mixed_chorus(self, program: int, drums: bool, pitch: int, velocity: int) -> bool:
        """True when the note's voices have different chorus sends: its chorus input is
        then not its dry sound times one send, and the stem needs the full synthesis."""
        voices = self.layout.sends(program, pitch, velocity, drums=drums)
        return len({v.chorus for v in voices}) > 1


@functools.lru_cache(maxsize=16384)
def voice_sends(soundfont: SoundFont, program: int, drums: bool, pitch: int, velocity: int):
    """`BankLayout.sends` of a note, looked up once per process."""
    return tuple(soundfont.layout.sends(program, pitch, velocity, drums=drums))


@functools.lru_cache(maxsize=2)
def bank_context(path: str, digest: str) -> BankContext:
    """The bank at `path` (whose digest the caller has checked), parsed once per process."""
    return BankContext(SoundFont.load(path))


def plan_stem(
    arrangement: Arrangement, index: int, soundfont: SoundFont, tail_seconds: float
) -> tuple[list[PlacedNote], int]:
    """Each note of stem `index` placed and keyed; and the stem's length (48 kHz frames)."""
    meter = arrangement.meter_info
    stem = arrangement.stems[index]
    tempo_us = midi_tempo(arrangement.bpm, meter)
    tail_beats = tail_seconds * arrangement.bpm / 60.0
    end_tick = _tick(arrangement.loop_beats + tail_beats, meter)
    events: list[tuple[int, int, int]] = []  # (tick, order, note index); offs sort first
    for number, note in enumerate(stem.notes):
        start = _tick(note.start_beats, meter)
        stop = _tick(note.start_beats + note.duration_beats, meter)
        if stop <= start:
            stop = start + 1
        events.append((start, 1, number))
        events.append((stop, 0, number))
    events.sort(key=lambda e: e[:2])
    ticks = np.array([0, *(e[0] for e in events), max(end_tick, events[-1][0] if events else 0)])
    blocks = event_blocks(ticks, tempo_us, RENDER_SAMPLE_RATE)
    last_block = int(blocks[-1])
    frames = int(RENDER_SAMPLE_RATE * _length_seconds(ticks, tempo_us))
    on_block: dict[int, int] = {}
    off_block: dict[int, int] = {}
    playing: dict[int, list[int]] = {}
    for (_, order, number), block in zip(events, blocks[1:-1], strict=True):
        pitch = stem.notes[number].pitch
        if order == 1:
            on_block[number] = int(block)
            playing.setdefault(pitch, []).append(number)
        else:  # a note-off releases every sounding note of its key
            for sounding in playing.pop(pitch, []):
                off_block.setdefault(sounding, int(block))
    pan = 64 if stem.is_drum else _pan_value(stem.stem.pan)
    placed: dict[int, PlacedNote] = {}
    last_of_class: dict[int, int] = {}
    stops: dict[int, int] = {}
    order = sorted(on_block, key=lambda n: (on_block[n], n))
    for number in order:
        note = stem.notes[number]
        start = on_block[number]
        if start >= last_block:
            continue  # after the file's last event: never sounds
        voices = voice_sends(soundfont, stem.stem.program, stem.is_drum, note.pitch, note.velocity)
        if not voices:
            continue
        exclusive = voices[0].exclusive_class
        if exclusive:
            previous = last_of_class.get(exclusive)
            if previous is not None:
                stops[previous] = start * BLOCK
            last_of_class[exclusive] = number
        length = off_block.get(number, last_block) - start
        key = NoteKey(
            soundfont.digest,
            stem.stem.program,
            stem.is_drum,
            pan,
            note.pitch,
            note.velocity,
            max(length, 0),
        )
        placed[number] = PlacedNote(
            key,
            start * BLOCK,
            -1,
            float(np.mean([v.chorus for v in voices])),
        )
    notes = [replace(p, stop=stops.get(n, -1)) for n, p in placed.items()]
    return notes, frames


def _length_seconds(ticks: np.ndarray, tempo_us: int) -> float:
    tempo = 60000000.0 / tempo_us
    per_tick = 60.0 / (960 * tempo)
    distinct = np.unique(ticks)
    return float(np.add.accumulate(np.diff(distinct, prepend=0).astype(np.float64) * per_tick)[-1])


def synthesise(keys: Sequence[NoteKey], soundfont: SoundFont, cache: NoteCache) -> None:
    """Render every key not in `cache` (in batches of `BATCH_NOTES`) and keep them there."""
    missing = sorted({k for k in keys if cache.get(k) is None})
    for first in range(0, len(missing), BATCH_NOTES):
        batch = missing[first : first + BATCH_NOTES]
        for key, audio in zip(batch, _render_batch(batch, soundfont), strict=True):
            cache.put(key, audio)


def _render_batch(batch: Sequence[NoteKey], soundfont: SoundFont) -> list[np.ndarray]:
    """Each note's render, int16: (frames, 2) dry plus its own reverb, or for a note with
    a chorus send (frames, 4): dry left/right, then its reverb left/right.

    A note without chorus is the bank's own output with CC 93 = 0 and the channel's
    default CC 91 (40): dry plus the synthesiser's reverb of that note alone, which a sum
    of notes can reuse at any position (the reverb is time-invariant). The chorus is not
    (it follows absolute time), so a chorused note is rendered twice, from the bank
    without effect sends (dry) and without chorus sends (dry + reverb), and the chorus is
    applied to the stem (`effects.chorus`).
    """
    context = bank_context(str(soundfont.path), soundfont.digest)
    release = int(MAX_RELEASE_SECONDS * RENDER_SAMPLE_RATE) // BLOCK
    chorused = [context.chorus_send(k.program, k.drums, k.pitch, k.velocity) > 0 for k in batch]
    plain = [k for k, c in zip(batch, chorused, strict=True) if not c]
    rich = [k for k, c in zip(batch, chorused, strict=True) if c]
    renders: dict[NoteKey, np.ndarray] = {}
    if plain:
        midi, starts = batch_midi(plain, release, reverb_cc=DEFAULT_REVERB_CC)
        pcm = context.bank.render_pcm(midi)
        for key, block in zip(plain, starts, strict=True):
            begin = block * BLOCK
            renders[key] = trim_silence(pcm[begin : begin + (key.blocks + release) * BLOCK])
    if rich:
        midi, starts = batch_midi(rich, release, reverb_cc=0)
        dry = context.dry.render_pcm(midi)
        midi, _ = batch_midi(rich, release, reverb_cc=DEFAULT_REVERB_CC)
        wet = context.reverb_only.render_pcm(midi)
        for key, block in zip(rich, starts, strict=True):
            begin = block * BLOCK
            stop = begin + (key.blocks + release) * BLOCK
            reverb = np.clip(wet[begin:stop].astype(np.int32) - dry[begin:stop], -32768, 32767)
            both = np.concatenate([dry[begin:stop], reverb.astype(np.int16)], axis=1)
            renders[key] = trim_silence(both)
    return [renders[key] for key in batch]


def from_notes(arrangement: Arrangement, index: int, soundfont: SoundFont) -> bool:
    """Whether stem `index` can be built from notes (no note with mixed chorus sends)."""
    context = bank_context(str(soundfont.path), soundfont.digest)
    stem = arrangement.stems[index]
    return not any(
        context.mixed_chorus(stem.stem.program, stem.is_drum, note.pitch, note.velocity)
        for note in stem.notes
    )


def render_stem_audio(
    arrangement: Arrangement,
    index: int,
    soundfont: SoundFont,
    cache: NoteCache,
    tail_seconds: float,
) -> np.ndarray:
    """Stem `index` before the tail fold: float32 (frames, 2) at 48 kHz, effects included
    (for a stem where `from_notes` holds)."""
    placed, frames = plan_stem(arrangement, index, soundfont, tail_seconds)
    synthesise([p.key for p in placed], soundfont, cache)
    out = np.zeros((frames, 2), dtype=np.float32)
    chorus_bus = (
        np.zeros((frames, 2), dtype=np.float32) if any(p.chorus > 0 for p in placed) else None
    )
    for note in placed:
        pcm = cache.get(note.key)
        if pcm is None:  # evicted by a budget smaller than the stem: render it alone
            pcm = _render_batch([note.key], soundfont)[0]
        end = min(frames, note.start + pcm.shape[0])
        if note.stop >= 0:
            end = min(end, note.stop)
        if end <= note.start:
            continue
        audio = pcm[: end - note.start].astype(np.float32) * PCM_SCALE
        if audio.shape[1] == 2:
            out[note.start : end] += audio
            continue
        out[note.start : end] += audio[:, :2] + audio[:, 2:]
        if chorus_bus is not None:
            chorus_bus[note.start : end] += np.float32(note.chorus) * audio[:, :2]
    if chorus_bus is not None:
        out += effects.chorus(chorus_bus)
    return out
