"""The note renderer: stems built from cached dry notes, then the bank's effects per stem.

For each stem: place every note where the sequencer would start and stop it (`timeline`),
take its dry render from the process-wide `NoteCache` (synthesising the missing ones in
one batch), add them up (overlap-add), then add the chorus and reverb the synthesiser
would have added (`effects`, fed with each note's own sends from `sf2`), and fold the
tail onto the head exactly as the reference renderer does (`stems`).

What the full synthesis does that a sum of separate notes would not, and is reproduced:
a note-off ends every sounding note of that key on the channel (overlapping repeats are
cut where the synthesiser cuts them), and a drum voice with an exclusive class (open and
closed hi-hat) is silenced at the block where the next note of its class starts.
Not reproduced: voice stealing beyond the synthesiser's 64 voices, the 16-bit clipping of
a stem that would exceed full scale, and the reverb's flushing of values under 1e-6 (its
tail is kept instead); `benchmarks/bench_render.py` measures the differences.
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
RENDERERS = ("reference", "notes")


@functools.lru_cache(maxsize=1)
def process_cache(budget_bytes: int = DEFAULT_BUDGET_BYTES) -> NoteCache:
    """The note cache shared by everything rendering in this process."""
    return NoteCache(budget_bytes)


@dataclass(frozen=True)
class PlacedNote:
    key: NoteKey
    start: int  # first sample (48 kHz) in the stem
    stop: int  # sample after which the note is cut (exclusive class), or -1
    reverb: float
    chorus: float


@dataclass(frozen=True)
class BankContext:
    """A bank read once per process: its preset layout and the two variants notes are
    synthesised from (effect sends removed; chorus sends removed)."""

    layout: BankLayout
    dry: SoundFont
    reverb_only: SoundFont


@functools.lru_cache(maxsize=2)
def bank_context(path: str, digest: str) -> BankContext:
    """The bank at `path` (whose digest the caller has checked), parsed once per process."""
    bank = SoundFont.load(path)
    layout = BankLayout.parse(bank.data, path)
    return BankContext(
        layout,
        SoundFont(bank.path, layout.dry_bank()),
        SoundFont(bank.path, layout.reverb_only_bank()),
    )


def plan_stem(
    arrangement: Arrangement, index: int, soundfont: SoundFont, tail_seconds: float
) -> tuple[list[PlacedNote], int]:
    """Each note of stem `index` placed and keyed; and the stem's length (48 kHz frames)."""
    meter = arrangement.meter_info
    stem = arrangement.stems[index]
    layout = bank_context(str(soundfont.path), soundfont.digest).layout
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
        voices = layout.sends(stem.stem.program, note.pitch, note.velocity, drums=stem.is_drum)
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
            float(np.mean([v.reverb for v in voices])),
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
    """Each note's (frames, 4) int16 render: dry left/right, then its reverb left/right.

    The dry render uses the bank without effect sends and CC 91 = 0; the second uses the
    bank without chorus sends and the channel's default CC 91 (40), so the difference is
    the synthesiser's own reverb of that note, which a later sum of notes can reuse at any
    position (the reverb is time-invariant; the chorus is not, and is applied per stem).
    """
    context = bank_context(str(soundfont.path), soundfont.digest)
    release = int(MAX_RELEASE_SECONDS * RENDER_SAMPLE_RATE) // BLOCK
    midi, starts = batch_midi(batch, release, reverb_cc=0)
    dry = context.dry.render_pcm(midi)
    midi, _ = batch_midi(batch, release, reverb_cc=DEFAULT_REVERB_CC)
    wet = context.reverb_only.render_pcm(midi)
    notes = []
    for key, block in zip(batch, starts, strict=True):
        begin = block * BLOCK
        stop = begin + (key.blocks + release) * BLOCK
        reverb = wet[begin:stop].astype(np.int32) - dry[begin:stop]
        both = np.concatenate([dry[begin:stop], np.clip(reverb, -32768, 32767)], axis=1)
        notes.append(trim_silence(both.astype(np.int16)))
    return notes


def render_stem_audio(
    arrangement: Arrangement,
    index: int,
    soundfont: SoundFont,
    cache: NoteCache,
    tail_seconds: float,
) -> np.ndarray:
    """Stem `index` before the tail fold: float32 (frames, 2) at 48 kHz, effects included."""
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
        out[note.start : end] += audio[:, :2] + audio[:, 2:]
        if chorus_bus is not None and note.chorus > 0:
            chorus_bus[note.start : end] += np.float32(note.chorus) * audio[:, :2]
    if chorus_bus is not None:
        out += effects.chorus(chorus_bus)
    return out
