"""Test data for the cache and scheduler tests: real audio synthesised from a spec.

`tone_set` renders a variant set the way the engine lays one out (stems, mix, MIDI, beat
grid) with additive sine tones, so cache tests need no model. `ToneEngine` exposes the
engine interface (`generate`, `engine_version`, `weights_version`) over `tone_set` for the
scheduler tests that measure ordering, where a diffusion model's run time would only add
noise; the scheduler's real-engine tests use `engine_core.generate.Engine`.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable

import mido
import numpy as np

from engine_core.spec import GenerationSpec, StemSpec, beat_to_sample
from engine_core.variant import Variant, VariantMeta, VariantSet
from middleware.templates.model import StateTemplate


def make_state(
    name: str = "explore",
    *,
    prompt: str = "a calm forest walk",
    bpm: float = 120.0,
    bars: int = 1,
    seed: int = 7,
    variants: int = 2,
    stems: tuple[StemSpec, ...] | None = None,
) -> StateTemplate:
    spec = GenerationSpec(
        prompt=prompt,
        tags=("folk", "calm"),
        bpm=bpm,
        meter="4/4",
        key="D minor",
        bars=bars,
        stems=stems or (StemSpec("lead", "melody", program=73), StemSpec("bass", "bass", 32)),
        sample_rate=22050,
    )
    return StateTemplate(name, spec, seed, variants, f"{name}.toml")


def _midi_bytes(spec: GenerationSpec, pitches: list[int]) -> bytes:
    song = mido.MidiFile(ticks_per_beat=480)
    for channel, pitch in enumerate(pitches):
        track = mido.MidiTrack()
        track.append(mido.Message("note_on", note=pitch, velocity=90, channel=channel, time=0))
        ticks = 480 * spec.bars * spec.meter_info.beats_per_bar
        track.append(mido.Message("note_off", note=pitch, channel=channel, time=ticks))
        song.tracks.append(track)
    buffer = io.BytesIO()
    song.save(file=buffer)
    return buffer.getvalue()


def tone_variant(
    state: str, spec: GenerationSpec, seed: int, index: int, *, frames: int | None = None
) -> Variant:
    rate = spec.sample_rate
    length = frames or spec.loop_samples
    t = np.arange(length, dtype=np.float64) / rate
    rng = np.random.default_rng([seed, index])
    stems: dict[str, np.ndarray] = {}
    pitches: list[int] = []
    for number, stem in enumerate(spec.stems):
        pitch = int(rng.integers(stem.register[0], stem.register[1]))
        pitches.append(pitch)
        hz = 440.0 * 2 ** ((pitch - 69) / 12)
        mono = 0.2 * np.sin(2 * np.pi * hz * t + number)
        stems[stem.name] = np.stack([mono, mono], axis=1).astype(np.float32)
    mix = np.sum(list(stems.values()), axis=0).astype(np.float32)
    beats = spec.bars * spec.meter_info.beats_per_bar
    meta = VariantMeta(
        state=state,
        index=index,
        sample_rate=rate,
        bpm=spec.bpm,
        meter=spec.meter,
        key=spec.key,
        bars=spec.bars,
        is_loop=not spec.one_shot,
        loop_start=0,
        loop_end=length,
        beat_samples=tuple(beat_to_sample(b, spec.bpm, rate) for b in range(beats)),
        bar_samples=tuple(
            beat_to_sample(b * spec.meter_info.beats_per_bar, spec.bpm, rate)
            for b in range(spec.bars + 1)
        ),
        stem_intensity={s.name: s.intensity for s in spec.stems},
        loudness_lufs=-16.0,
        true_peak_db=-1.0,
        generation_hash=spec.generation_hash(),
        seed=seed,
        engine_version="tone-1",
        weights_version="none",
    )
    return Variant(meta, stems, mix, _midi_bytes(spec, pitches))


def tone_set(state: StateTemplate, *, frames: int | None = None) -> VariantSet:
    variants = tuple(
        tone_variant(state.name, state.spec, state.seed, i, frames=frames)
        for i in range(state.variants)
    )
    return VariantSet(state.name, state.generation_hash, state.seed, variants)


class ToneEngine:
    """The engine interface over synthesised tones; `seconds_per_variant` sets its pace.

    The pace and the frame count can be set through the environment of the worker
    processes (``TONE_ENGINE_SECONDS``, ``TONE_ENGINE_FRAMES``); a state whose prompt
    contains "fail" raises, so the scheduler's retry path runs for real, and one whose
    prompt contains "slow" takes 1.5 s more (to keep a worker busy while a test queues).
    """

    engine_version = "tone-1"
    weights_version = "none"

    def __init__(self) -> None:
        self.seconds_per_variant = float(os.environ.get("TONE_ENGINE_SECONDS", "0.05"))
        frames = os.environ.get("TONE_ENGINE_FRAMES")
        self.frames = int(frames) if frames else None

    def generate(
        self,
        spec: GenerationSpec,
        *,
        state: str,
        seed: int,
        variants: int,
        variance: float | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> VariantSet:
        if "fail" in spec.prompt:
            raise RuntimeError(f"tone engine refuses {state!r}")
        if "slow" in spec.prompt:
            time.sleep(1.5)
        made = []
        for index in range(variants):
            time.sleep(self.seconds_per_variant)
            made.append(tone_variant(state, spec, seed, index, frames=self.frames))
            if progress is not None:
                progress("render", index + 1, variants)
        return VariantSet(state, spec.generation_hash(), seed, tuple(made))


def make_tone_engine() -> ToneEngine:
    return ToneEngine()


def fill_main(argv: list[str]) -> None:
    """Child-process entry: ``fill ROOT FRAMES NAME...`` stores a tone set per name."""
    from middleware.cache import EngineKey, VariantCache

    root, frames, *names = argv
    engine = EngineKey("1.0", "weights-a", "sf-a")
    with VariantCache(root) as cache:
        for number, name in enumerate(names):
            state = make_state(name, prompt=f"theme {name}", seed=sum(map(ord, name)))
            cache.put_set(state, engine, tone_set(state, frames=int(frames) or None))
            print(f"stored {name} {number}", flush=True)


def make_chorale_engine():  # -> engine_core.generate.Engine
    """The real engine (arrangement, SoundFont rendering, loudness) over real chorale scores
    from music21's corpus in place of the diffusion model (`chorale_scores.ChoraleComposer`)."""
    from chorale_scores import ChoraleComposer

    from engine_core.generate import Engine

    return Engine(ChoraleComposer())
