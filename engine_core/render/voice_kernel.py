"""The per-sample part of a synthesiser voice, compiled with numba (RustySynth's inner loops).

`play_voice` fills 64-sample blocks from the bank's 16-bit samples by linear interpolation
of a 24-bit fixed-point position (RustySynth's `Oscillator`: looping, loop-until-release or
one-shot), runs them through the voice's biquad low-pass (`BiQuadFilter`, direct form I,
coefficients per block) and adds them to each bus with the block's gain ramped from the
previous block's (`Synthesizer::write_block`: skipped when both gains are under 1e-3,
a straight ramp when they differ by 1e-3 or more). Arithmetic is float32 as in the
synthesiser. Everything that changes once per block (envelopes, LFOs, pitch, cutoff,
gains) is computed beforehand with numpy (`voice`).

Compiled on first use and cached on disk beside this file (numba's `cache=True`; set
`NUMBA_CACHE_DIR` where the package directory is read-only).
"""

from __future__ import annotations

import numba
import numpy as np

BLOCK = 64
FRAC_BITS = 24
FRAC_MASK = (1 << FRAC_BITS) - 1
FP_TO_SAMPLE = np.float32(1.0 / (32768 * (1 << FRAC_BITS)))
NON_AUDIBLE = np.float32(1e-3)
INVERSE_BLOCK = np.float32(1.0 / BLOCK)


@numba.njit(cache=True, nogil=True)
def play_voice(
    wave: np.ndarray,  # int16: the bank's sample data
    position: int,  # fixed point: the first sample to play
    steps: np.ndarray,  # int64 per block: the fixed-point step
    looping_blocks: int,  # blocks that loop (0: none; mode 1: all; mode 3: until release)
    start_loop: int,
    end_loop: int,
    end: int,
    coefficients: np.ndarray,  # float32 (blocks, 5): b0, b1, b2, a1, a2 (normalised)
    gains: np.ndarray,  # float32 (blocks, buses): each bus's gain per block
    scales: np.ndarray,  # float32 (buses,): applied after the gate (master volume)
    out: np.ndarray,  # float32 (frames, buses): the voice is added here
    silence: float,
) -> tuple[int, int]:
    """Play the voice into `out`; returns how many blocks it sounded (the rest: ended)
    and how many until its last block that added a value above `silence` to a bus."""
    blocks = steps.shape[0]
    buses = gains.shape[1]
    loop_length = end_loop - start_loop
    end_loop_fp = np.int64(end_loop) << FRAC_BITS
    loop_length_fp = np.int64(loop_length) << FRAC_BITS
    block = np.zeros(BLOCK, np.float32)
    x1 = np.float32(0.0)
    x2 = np.float32(0.0)
    y1 = np.float32(0.0)
    y2 = np.float32(0.0)
    pos = np.int64(position)
    loud = 0
    for j in range(blocks):
        step = steps[j]
        looping = j < looping_blocks
        for t in range(BLOCK):
            if looping:
                if pos >= end_loop_fp:
                    pos -= loop_length_fp
                index1 = pos >> FRAC_BITS
                index2 = index1 + 1
                if index2 >= end_loop:
                    index2 -= loop_length
            else:
                index1 = pos >> FRAC_BITS
                if index1 >= end:
                    if t == 0:
                        return j, loud
                    for rest in range(t, BLOCK):
                        block[rest] = np.float32(0.0)
                    break
                index2 = index1 + 1
            first = np.int64(wave[index1])
            second = np.int64(wave[index2])
            fraction = pos & FRAC_MASK
            block[t] = FP_TO_SAMPLE * np.float32((first << FRAC_BITS) + fraction * (second - first))
            pos += step
        peak = np.float32(0.0)
        b0 = coefficients[j, 0]
        b1 = coefficients[j, 1]
        b2 = coefficients[j, 2]
        a1 = coefficients[j, 3]
        a2 = coefficients[j, 4]
        for t in range(BLOCK):
            value = block[t]
            output = b0 * value + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            x2 = x1
            x1 = value
            y2 = y1
            y1 = output
            block[t] = output
            if abs(output) > peak:
                peak = abs(output)
        base = j * BLOCK
        for c in range(buses):
            current = gains[j, c]
            previous = gains[j - 1, c] if j > 0 else current
            if max(previous, current) < NON_AUDIBLE:
                continue
            scale = scales[c]
            if scale * max(previous, current) * peak > silence:
                loud = j + 1
            if abs(current - previous) < NON_AUDIBLE:
                for t in range(BLOCK):
                    out[base + t, c] += scale * (current * block[t])
            else:
                slope = INVERSE_BLOCK * (current - previous)
                gain = previous
                for t in range(BLOCK):
                    out[base + t, c] += scale * (gain * block[t])
                    gain += slope
    return blocks, loud


@numba.njit(cache=True, nogil=True)
def pack_int16(buses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 (frames, n) -> int16 (frames, n) and a float32 scale per column (its peak /
    32767), rounded to nearest."""
    frames, columns = buses.shape
    scales = np.empty(columns, np.float32)
    for c in range(columns):
        peak = np.float32(0.0)
        for i in range(frames):
            value = abs(buses[i, c])
            if value > peak:
                peak = value
        scales[c] = peak / np.float32(32767.0) if peak > 0 else np.float32(1.0 / 32767.0)
    pcm = np.empty((frames, columns), np.int16)
    for c in range(columns):
        inverse = np.float32(1.0) / scales[c]
        for i in range(frames):
            pcm[i, c] = np.int16(np.rint(buses[i, c] * inverse))
    return pcm, scales


@numba.njit(cache=True, nogil=True)
def add_packed(
    pcm: np.ndarray,
    scales: np.ndarray,
    start: int,
    stop: int,
    dry: np.ndarray,
    reverb: np.ndarray,
    chorus: np.ndarray,
) -> None:
    """Add a packed note (scaled back) into a stem's buses from frame `start` to `stop`:
    columns 0-1 to `dry`, 2 to `reverb`, 3-4 (when present) to `chorus` (which has no
    frames when the stem has no chorus)."""
    with_chorus = pcm.shape[1] == 5 and chorus.shape[0] > 0
    for i in range(stop - start):
        at = start + i
        dry[at, 0] += np.float32(pcm[i, 0]) * scales[0]
        dry[at, 1] += np.float32(pcm[i, 1]) * scales[1]
        reverb[at] += np.float32(pcm[i, 2]) * scales[2]
        if with_chorus:
            chorus[at, 0] += np.float32(pcm[i, 3]) * scales[3]
            chorus[at, 1] += np.float32(pcm[i, 4]) * scales[4]


@numba.njit(cache=True)
def freeverb_response(
    frames: int,
    combs: np.ndarray,
    allpasses: np.ndarray,
    feedback: float,
    damp: float,
    allpass_feedback: float,
) -> np.ndarray:
    """Freeverb's response to a unit impulse (one channel): `combs` parallel damped comb
    filters summed, then `allpasses` in series; float32 like the synthesiser."""
    out = np.zeros(frames, np.float32)
    fb = np.float32(feedback)
    damp1 = np.float32(damp)
    damp2 = np.float32(1.0) - damp1
    for delay in combs:
        buffer = np.zeros(delay, np.float32)
        store = np.float32(0.0)
        index = 0
        for n in range(frames):
            value = np.float32(1.0) if n == 0 else np.float32(0.0)
            output = buffer[index]
            store = output * damp2 + store * damp1
            buffer[index] = value + store * fb
            out[n] += output
            index += 1
            if index == delay:
                index = 0
    feedback_ap = np.float32(allpass_feedback)
    for delay in allpasses:
        buffer = np.zeros(delay, np.float32)
        index = 0
        for n in range(frames):
            value = out[n]
            buffered = buffer[index]
            out[n] = buffered - value
            buffer[index] = value + buffered * feedback_ap
            index += 1
            if index == delay:
                index = 0
    return out
