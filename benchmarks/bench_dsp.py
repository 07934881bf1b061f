"""The synth renderer's signal processing after synthesis, new beside old, on a real set.

Renders one set with the synth renderer (bench_generate's spec: 4 variants x 16 bars at
120 bpm, seed 7, FluidR3_GM, two render threads in this process) and records each call of
`reverb.apply` (one per stem) and `pool.normalise_variant` (one per variant) with the CPU
time of its thread (`time.thread_time`, so the other render thread's work is not
counted). Then every recorded input is run again through the baseline implementations
kept below (as of ENGINE_VERSION 0.2.5: the reverb transformed segment by segment,
loudness by scipy's `sosfilt` and `resample_poly`) and through the current ones,
alternately, best of `REPEATS`, on one thread, timed by the process's CPU time (torch's
transforms may use its own threads). CPU time, not wall-clock time: steadier on a shared
machine, and what two render threads compete for. The live figures are the render
threads' own CPU time, which leaves out work torch hands to its threads.

    python -m benchmarks.bench_dsp
"""

from __future__ import annotations

import threading
import time

import numpy as np

REPEATS = 3
SAMPLE_RATE = 48000


# --- Baselines (ENGINE_VERSION 0.2.5) ------------------------------------------------


def baseline_reverb(bus: np.ndarray) -> np.ndarray:
    import scipy.fft

    from engine_core.render import reverb

    frames = bus.size
    response = reverb.impulse_response().shape[0]

    def work(n: int) -> float:  # the size of least segments x n log n, 2^17 to 2^20
        return -(-frames // (n - response + 1)) * n * np.log2(n)

    size = min((1 << bits for bits in range(17, 21)), key=lambda n: (work(n), n))
    out = np.zeros((frames + size, 2), np.float32)
    spectrum = scipy.fft.rfft(reverb.impulse_response(), size, axis=0)
    segment = size - reverb.impulse_response().shape[0] + 1
    for begin in range(0, frames, segment):
        piece = bus[begin : begin + segment]
        if not piece.any():
            continue
        wet = scipy.fft.irfft(scipy.fft.rfft(piece, size)[:, None] * spectrum, size, axis=0)
        out[begin : begin + size] += wet
    return out[:frames]


def baseline_loudness(audio: np.ndarray) -> float:
    from scipy.signal import sosfilt

    from engine_core.render import loudness as lu

    data = np.asarray(audio, dtype=np.float32)
    frames = data.shape[0]
    weighted = sosfilt(lu._k_weighting(SAMPLE_RATE).astype(np.float32), data, axis=0)
    hop = round(lu.GATE_BLOCK_SECONDS * SAMPLE_RATE / lu.GATE_HOPS_PER_BLOCK)
    blocks = round((frames / SAMPLE_RATE - lu.GATE_BLOCK_SECONDS) * SAMPLE_RATE / hop) + 1
    hops = blocks + lu.GATE_HOPS_PER_BLOCK - 1
    if hops * hop > frames:
        padding = np.zeros((hops * hop - frames, data.shape[1]), dtype=weighted.dtype)
        weighted = np.concatenate([weighted, padding])
    squares = np.square(weighted[: hops * hop], dtype=np.float32).reshape(hops, hop, -1)
    hop_energy = squares.sum(axis=1, dtype=np.float64).sum(axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(hop_energy, lu.GATE_HOPS_PER_BLOCK)
    power = windows.sum(axis=1) / (lu.GATE_HOPS_PER_BLOCK * hop)
    with np.errstate(divide="ignore"):
        block_lufs = lu.LOUDNESS_OFFSET + 10.0 * np.log10(power)
    gated = power[block_lufs >= lu.ABSOLUTE_GATE_LUFS]
    relative = lu.LOUDNESS_OFFSET + 10.0 * np.log10(gated.mean()) + lu.RELATIVE_GATE_LU
    kept = power[(block_lufs > relative) & (block_lufs > lu.ABSOLUTE_GATE_LUFS)]
    return lu.LOUDNESS_OFFSET + 10.0 * float(np.log10(kept.mean()))


def baseline_true_peak(data: np.ndarray) -> float:
    from scipy.signal import resample_poly

    from engine_core.render import loudness as lu

    pad = 64
    frames = data.shape[0]
    sample_peak = float(np.max(np.abs(data)))
    threshold = sample_peak * 10.0 ** (-lu.CANDIDATE_RANGE_DB / 20.0)
    block = lu.PEAK_BLOCK
    blocks = -(-frames // block)
    whole = (frames // block) * block
    block_peaks = np.empty(blocks)
    block_peaks[: frames // block] = np.abs(data[:whole]).reshape(frames // block, -1).max(axis=1)
    if whole < frames:
        block_peaks[-1] = np.abs(data[whole:]).max()
    chosen = np.flatnonzero(block_peaks >= threshold)
    breaks = np.flatnonzero(np.diff(chosen) != 1)
    firsts = chosen[np.concatenate(([0], breaks + 1))]
    lasts = chosen[np.concatenate((breaks, [chosen.size - 1]))]
    segments = []
    for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
        start, stop = first * block, min((last + 1) * block, frames)
        indices = np.arange(start - pad, stop + pad) % frames
        segments.append(data[indices].astype(np.float32))
    upsampled = resample_poly(np.concatenate(segments), 4, 1, axis=0)
    peak, offset, trim = sample_peak, 0, pad * 4
    for segment in segments:
        length = segment.shape[0] * 4
        peak = max(peak, float(np.max(np.abs(upsampled[offset + trim : offset + length - trim]))))
        offset += length
    return 20.0 * float(np.log10(peak))


# --- Recording a real render ---------------------------------------------------------


def record_set() -> tuple[list[np.ndarray], list[list[np.ndarray]], dict[str, list[float]]]:
    """Reverb buses, each variant's stems, and the live per-call thread CPU seconds."""
    from benchmarks.bench_generate import bench_spec, make_engine
    from engine_core.generate import Engine
    from engine_core.render import pool, reverb
    from engine_core.render.bank import default_bank_path

    buses: list[np.ndarray] = []
    stems: list[list[np.ndarray]] = []
    live: dict[str, list[float]] = {"reverb": [], "normalise": []}
    lock = threading.Lock()
    apply, normalise = reverb.apply, pool.normalise_variant

    def timed_apply(bus, sample_rate=SAMPLE_RATE, **options):
        started = time.thread_time()
        out = apply(bus, sample_rate, **options)
        spent = time.thread_time() - started
        with lock:
            buses.append(bus.copy())
            live["reverb"].append(spent)
        return out

    def timed_normalise(buffer, variant, target):
        started = time.thread_time()
        gain = normalise(buffer, variant, target)
        spent = time.thread_time() - started
        # copied after the timing (normalise leaves the stems as rendered)
        views = [np.array(buffer.view(slot)) for slot in buffer.layout.stems[variant]]
        with lock:
            stems.append(views)
            live["normalise"].append(spent)
        return gain

    base, _ = make_engine(render_workers=2)
    engine = Engine(base.composer, default_bank_path(), render_workers=2, renderer="synth")
    spec = bench_spec()
    scores = engine.composer.compose(spec, seed=7, variants=4)
    engine.render_scores(spec, scores, state="battle", seed=6)  # warm: kernels, notes
    reverb.apply, pool.normalise_variant = timed_apply, timed_normalise
    try:
        engine.render_scores(spec, scores, state="battle", seed=7)
    finally:
        reverb.apply, pool.normalise_variant = apply, normalise
        engine.close()
    return [bus for bus in buses if bus.any()], stems, live


def _cpu(function, inputs) -> float:
    """The process's CPU time for `function` over `inputs` (the process's, not this
    thread's: torch's transforms may hand work to its own threads)."""
    started = time.process_time()
    for item in inputs:
        function(item)
    return time.process_time() - started


def main() -> None:
    from engine_core.render import loudness, reverb
    from engine_core.render.pool import LoudnessTarget, normalise_variant
    from engine_core.render.set_buffer import ArraySetBuffer, SetLayout
    from engine_core.render.stems import mix_stems

    buses, stems, live = record_set()
    mixes = [mix_stems(variant) for variant in stems]
    target = LoudnessTarget(SAMPLE_RATE, -16.0, -1.0, True)

    def baseline_gain(mix):
        baseline_loudness(mix)
        baseline_true_peak(mix)

    def current_gain(mix):
        loudness.normalising_gain(mix, SAMPLE_RATE, loudness_lufs=-16.0, ceiling_db=-1.0)

    def current_normalise(variant):
        layout = SetLayout.of([variant[0].shape[0]], [len(variant)])
        buffer = ArraySetBuffer(layout)
        for slot, audio in zip(layout.stems[0], variant, strict=True):
            buffer.put(slot, audio)
        normalise_variant(buffer, 0, target)

    def baseline_normalise(variant):
        mix = mix_stems(variant)
        baseline_gain(mix)
        np.multiply(mix, 1.5, out=mix)
        mix.astype(np.float32)

    rows = [
        ("reverb.apply", buses, baseline_reverb, reverb.apply),
        ("loudness + true peak", mixes, baseline_gain, current_gain),
        ("normalise_variant (mix, gain, write)", stems, baseline_normalise, current_normalise),
    ]
    print(f"one set: {len(buses)} non-silent reverb buses, {len(stems)} variants")
    print("live, in the 2-thread render (thread CPU):")
    for name, values in live.items():
        print(f"  {name}: {sum(values):.3f} s in {len(values)} calls")
    print("\n| stage | calls | baseline CPU s per set | now CPU s per set | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, inputs, old, new in rows:
        best_old = best_new = float("inf")
        old(inputs[0]), new(inputs[0])  # compiled kernels and kept spectra loaded
        for _ in range(REPEATS):
            best_old = min(best_old, _cpu(old, inputs))
            best_new = min(best_new, _cpu(new, inputs))
        print(
            f"| {name} | {len(inputs)} | {best_old:.3f} | {best_new:.3f} "
            f"| {best_new / best_old:.2f} |"
        )
    errors = []
    for bus in buses:
        before = baseline_reverb(bus).astype(np.float64)
        difference = reverb.apply(bus).T - before
        errors.append(10 * np.log10(np.mean(difference**2) / np.mean(before**2)))
    loud = [abs(loudness.integrated_loudness(m, SAMPLE_RATE) - baseline_loudness(m)) for m in mixes]
    peak = [abs(loudness.true_peak_db(m) - baseline_true_peak(m)) for m in mixes]
    print(
        f"\nreverb: RMS(new - old) / RMS(old) at most {max(errors):.1f} dB; loudness: max "
        f"|new - old| {max(loud):.2g} LU; true peak: {max(peak):.2g} dB"
    )


if __name__ == "__main__":
    main()
