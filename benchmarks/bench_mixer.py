"""Mixer cost and transition accuracy of the director.

1. Mixer cost: one session stream during an equal-power crossfade between two states with
   4 stems each (both voices' stems mixed with their intensity gains, soft clip on), as
   x real time on one core, for several block sizes. Baseline measured in the same run:
   the same crossfade of the same 4-stem material done with pydub (stems overlaid, then
   `AudioSegment.append(..., crossfade=...)`).
2. Transition accuracy: for every sync mode, tempi 60-180 bpm and meters 3/4, 4/4, 6/8,
   the sample where the incoming state first sounds versus the sync point computed
   straight from `engine_core.spec.beat_to_sample`.

Run: `python -m benchmarks.run mixer` (or `python -m benchmarks.bench_mixer`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from engine_core.spec import GenerationSpec, Meter, StemSpec, beat_to_sample
from middleware.director.director import Director
from middleware.director.synthetic import synthetic_variant_set
from middleware.templates.model import (
    Fade,
    FadeLength,
    LeaveAt,
    LengthUnit,
    PackDefaults,
    StateTemplate,
    TemplatePack,
    TransitionRule,
)

SAMPLE_RATE = 48000
STEMS = {"pad": (0.0, 1.0), "bass": (0.0, 1.0), "melody": (0.2, 1.0), "drums": (0.6, 1.0)}
#: intensity -> what the mixer does: every stem fully on (the premixed mix is played), or
#: the drums half-way in (each of the 4 stems mixed with its own gain)
INTENSITIES = {0.8: "all 4 stems on (premixed)", 0.62: "4 stems, drums at 0.7 gain"}
FADE_BARS = 4  # 8 s at 120 bpm: every measured stretch is inside the crossfade
MEASURED_S = 2.0  # short runs, many repeats: the best one is least disturbed by other load
REPEATS = 15


def _state(
    name: str, bpm: float = 120.0, meter: str = "4/4", bars: int = 8, intensity: float = 0.8
) -> StateTemplate:
    spec = GenerationSpec(
        prompt=name,
        tags=(),
        bpm=bpm,
        meter=meter,
        key="C major",
        bars=bars,
        stems=tuple(StemSpec(n, "pad") for n in STEMS),
    )
    return StateTemplate(name, spec, 0, 3, "bench.toml", intensity=intensity)


def _pack(
    rule: TransitionRule,
    bpm: float = 120.0,
    meter: str = "4/4",
    bars: int = 8,
    intensity: float = 0.8,
):
    states = {n: _state(n, bpm, meter, bars, intensity) for n in ("a", "b")}
    return TemplatePack("bench", Path("."), "", "a", PackDefaults(), states, {}, (rule,))


def _sets(bpm: float = 120.0, meter: str = "4/4", bars: int = 8, fill=None):
    return {
        n: synthetic_variant_set(
            n, bpm=bpm, meter=meter, bars=bars, variants=3, stems=STEMS, fill=fill
        )
        for n in ("a", "b")
    }


# ------------------------------------------------------------------------- mixer cost


def director_x_realtime(block_frames: int, intensity: float) -> tuple[float, float]:
    """(x real time by CPU time of this process, x real time by wall clock), best of REPEATS."""
    rule = TransitionRule(
        "a", "b", leave_at=LeaveAt.IMMEDIATE, fade=Fade.CROSS,
        fade_length=FadeLength(FADE_BARS, LengthUnit.BARS),
    )  # fmt: skip
    sets = _sets()
    block = np.zeros((block_frames, 2), dtype=np.float32)
    blocks = int(MEASURED_S * SAMPLE_RATE) // block_frames
    cpu, wall = [], []
    for _ in range(REPEATS):
        director = Director(_pack(rule, intensity=intensity), sets.get)
        director.set_state("b")  # the crossfade starts on this very sample
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        for _ in range(blocks):
            director.render(block)
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started_wall)
        if not np.any(block):
            raise RuntimeError("the director rendered silence")
    seconds = blocks * block_frames / SAMPLE_RATE
    return seconds / min(cpu), seconds / min(wall)


def pydub_x_realtime() -> tuple[float, float]:
    from pydub import AudioSegment

    sets = _sets()
    frames = int(MEASURED_S * SAMPLE_RATE)

    def segment(audio: np.ndarray) -> AudioSegment:
        pcm = np.rint(np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
        return AudioSegment(pcm, frame_rate=SAMPLE_RATE, sample_width=2, channels=2)

    stems_a = [segment(s[:frames]) for s in sets["a"].variants[0].stems.values()]
    stems_b = [segment(s[:frames]) for s in sets["b"].variants[0].stems.values()]
    fade_ms = int(MEASURED_S * 1000)
    cpu, wall = [], []
    for _ in range(REPEATS):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        mix_a, mix_b = stems_a[0], stems_b[0]
        for stem in stems_a[1:]:
            mix_a = mix_a.overlay(stem)
        for stem in stems_b[1:]:
            mix_b = mix_b.overlay(stem)
        out = mix_a.append(mix_b, crossfade=fade_ms)
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started_wall)
        if len(out) < fade_ms:
            raise RuntimeError("pydub produced too little audio")
    return MEASURED_S / min(cpu), MEASURED_S / min(wall)


# ------------------------------------------------------------------------- accuracy


def reference_sync(position: int, bpm: float, meter: str, bars: int, mode: LeaveAt) -> int:
    if mode is LeaveAt.IMMEDIATE:
        return position
    bpb = Meter.parse(meter).beats_per_bar
    per_loop = bars * bpb
    loop = beat_to_sample(per_loop, bpm, SAMPLE_RATE)
    step = {
        LeaveAt.NEXT_BEAT: 1,
        LeaveAt.NEXT_BAR: bpb,
        LeaveAt.NEXT_PHRASE: bpb * 2,
        LeaveAt.LOOP_END: per_loop,
    }[mode]
    lines = (
        n * loop + beat_to_sample(b, bpm, SAMPLE_RATE) for n in range(8) for b in range(per_loop)
    )
    return min(line for i, line in enumerate(lines) if i % step == 0 and line >= position)


def _marker(channel: int):
    def fill(stem: int, variant: int, frames: int, beats: tuple[int, ...]) -> np.ndarray:
        audio = np.zeros((frames, 2), dtype=np.float32)
        if stem == 0:
            audio[:, channel] = 0.25
        return audio

    return fill


def transition_errors(mode: LeaveAt, bpm: float, meter: str, events: int = 3) -> list[int]:
    """Errors (samples) between where the incoming state sounds and the reference sync."""
    bars = 2
    rule = TransitionRule("a", "b", leave_at=mode, fade=Fade.CROSS, phrase_bars=2)
    pack = _pack(rule, bpm, meter, bars)
    a = synthetic_variant_set("a", bpm=bpm, meter=meter, bars=bars, variants=1,
                              stems={"pad": (0.0, 1.0)}, fill=_marker(0))  # fmt: skip
    b = synthetic_variant_set("b", bpm=bpm, meter=meter, bars=bars, variants=1,
                              stems={"pad": (0.0, 1.0)}, fill=_marker(1))  # fmt: skip
    sets = {"a": a, "b": b}
    rng = np.random.default_rng(int(bpm * 100) + len(meter))
    errors = []
    for _ in range(events):
        event_at = int(rng.integers(1, a.variants[0].meta.loop_end * 2))
        expected = reference_sync(event_at, bpm, meter, bars, mode)
        director = Director(pack, sets.get, emit_beats=False)
        director.set_state("b", at_sample=event_at)
        block = np.zeros((4096, 2), dtype=np.float32)
        rendered = []
        while director.position <= expected + 4096:
            rendered.append(director.render(block)[:, 1].copy())
        right = np.concatenate(rendered)
        errors.append(int(np.flatnonzero(right)[0]) - expected)
    return errors


def main() -> None:
    print(
        f"### Mixer cost: one stream, {MEASURED_S:g} s inside an equal-power crossfade, "
        "2 states x 4 stems\n"
    )
    print(f"x real time = audio seconds / seconds spent (best of {REPEATS}); *CPU* counts this")
    print("process's CPU time (one core), *wall* the clock (other load on the machine shows).\n")
    print("| renderer | layers | block frames | x real time (CPU) | x real time (wall) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for intensity, layers in INTENSITIES.items():
        for block_frames in (256, 1024, 4096, 8192):
            cpu, wall = director_x_realtime(block_frames, intensity)
            print(f"| director + mixer | {layers} | {block_frames} | {cpu:,.0f} | {wall:,.0f} |")
    cpu, wall = pydub_x_realtime()
    print(f"| baseline: pydub `overlay` x3 + `append(crossfade={int(MEASURED_S * 1000)})` | "
          f"4 stems | whole {MEASURED_S:g} s | "
          f"{cpu:,.0f} | {wall:,.0f} |")  # fmt: skip
    print("\n### Transition accuracy (incoming state's first sample vs `beat_to_sample`)\n")
    print("| sync mode | tempi (bpm) | meters | transitions | max abs error (samples) |")
    print("| --- | --- | --- | ---: | ---: |")
    tempi = (60.0, 75.5, 97.3, 120.0, 140.0, 180.0)
    meters = ("3/4", "4/4", "6/8")
    for mode in LeaveAt:
        errors = [e for bpm in tempi for m in meters for e in transition_errors(mode, bpm, m)]
        worst = max(abs(e) for e in errors)
        print(f"| {mode} | {', '.join(f'{t:g}' for t in tempi)} | {', '.join(meters)} | "
              f"{len(errors)} | {worst} |")  # fmt: skip


if __name__ == "__main__":
    main()
