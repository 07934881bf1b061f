"""The synthesiser's reverb and chorus, applied to a whole stem with vectorised DSP.

RustySynth (inside `midirenderer`) mixes every voice three ways: dry, into a stereo chorus
bus (voice gain x chorus send) and into a mono reverb bus (0.015 x reverb send x the sum
of the voice's left and right gains); each bus is processed and added at the master
volume (0.5). With the per-note sends known (`sf2.BankLayout.sends`), a stem's buses are
the dry notes scaled by their sends, so:

- `chorus(bus)`: the synthesiser's chorus exactly: a delay line read at
  48000 x (2 ms + 1.9 ms x sin(2 pi t / 120000)) samples, linearly interpolated, the right
  channel a quarter period ahead. It follows absolute time (t = 0 at the stem's start),
  which is why it is applied to the stem and not to cached notes.
- `reverb(bus)`: the synthesiser's Freeverb (8 damped combs, room 0.84, damp 0.2, then
  4 all-passes, 23-sample stereo spread, wet 1, width 1) is linear and time-invariant but
  for flushing values under 1e-6 to zero, so it is applied as an FFT convolution with its
  own impulse response (`reverb_response`, computed once per process by running the same
  filters on an impulse, block by block with numpy).
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 48000
MASTER_VOLUME = 0.5
REVERB_INPUT_GAIN = 0.015
#: Chorus: delay 2 ms, depth 1.9 ms, 0.4 Hz, right channel a quarter period ahead.
CHORUS_DELAY = 0.002
CHORUS_DEPTH = 0.0019
CHORUS_FREQUENCY = 0.4
#: Freeverb tunings at 44.1 kHz, scaled to the rate; stereo spread 23 samples.
COMB_TUNINGS = (1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617)
ALLPASS_TUNINGS = (556, 441, 341, 225)
STEREO_SPREAD = 23
ROOM_FEEDBACK = np.float32(0.5 * 0.28 + 0.7)
DAMP = np.float32(0.5 * 0.4)
ALLPASS_FEEDBACK = np.float32(0.5)
#: Impulse response length: the combs' slowest decay reaches -140 dB by then.
REVERB_SECONDS = 3.0


@functools.cache
def _chorus_table(sample_rate: int) -> np.ndarray:
    length = round(sample_rate / CHORUS_FREQUENCY)
    phase = 2.0 * np.pi * np.arange(length) / length
    return (sample_rate * (CHORUS_DELAY + CHORUS_DEPTH * np.sin(phase))).astype(np.float32)


def chorus(bus: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The chorus output (already at master volume) of a (frames, 2) float32 bus."""
    table = _chorus_table(sample_rate).astype(np.float64)
    frames = bus.shape[0]
    out = np.empty((frames, 2), dtype=np.float32)
    t = np.arange(frames)
    for channel, start in ((0, 0), (1, table.size // 4)):
        delay = table[(t + start) % table.size]
        position = t - delay
        index = np.floor(position).astype(np.int64)
        fraction = position - index
        signal = np.concatenate([np.zeros(1, np.float64), bus[:, channel].astype(np.float64)])
        first = signal[np.clip(index, -1, frames - 1) + 1]
        second = signal[np.clip(index + 1, -1, frames - 1) + 1]
        out[:, channel] = (first + fraction * (second - first)).astype(np.float32)
    return out


def _scaled(tuning: int, sample_rate: int) -> int:
    return round(sample_rate / 44100 * tuning)


def _comb(signal: np.ndarray, delay: int) -> np.ndarray:
    """A Freeverb comb: y[n] = w[n - D], f = 0.8 y + 0.2 f[n-1], w = x + 0.84 f."""
    from scipy.signal import lfilter

    damp1, damp2 = float(DAMP), float(1 - DAMP)
    frames = signal.size
    written = np.zeros(frames + delay)
    out = np.zeros(frames)
    state = np.zeros(1)
    for start in range(0, frames, delay):
        stop = min(start + delay, frames)
        read = written[start:stop]  # w[n - D] lives at index n of `written`
        out[start:stop] = read
        store, state = lfilter([damp2], [1.0, -damp1], read, zi=state)
        written[start + delay : stop + delay] = signal[start:stop] + float(ROOM_FEEDBACK) * store
    return out


def _allpass(signal: np.ndarray, delay: int) -> np.ndarray:
    """A Freeverb all-pass: out = v[n - D] - x, v = x + 0.5 v[n - D]."""
    frames = signal.size
    held = np.zeros(frames + delay)
    out = np.empty(frames)
    for start in range(0, frames, delay):
        stop = min(start + delay, frames)
        previous = held[start:stop]
        out[start:stop] = previous - signal[start:stop]
        held[start + delay : stop + delay] = signal[start:stop] + float(ALLPASS_FEEDBACK) * previous
    return out


@functools.cache
def reverb_response(sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(frames, 2) float64 impulse response of the reverb bus to the stem (master volume in)."""
    frames = int(REVERB_SECONDS * sample_rate)
    impulse = np.zeros(frames)
    impulse[0] = 1.0
    channels = []
    for spread in (0, STEREO_SPREAD):
        summed = np.zeros(frames)
        for tuning in COMB_TUNINGS:
            summed += _comb(impulse, _scaled(tuning + spread, sample_rate))
        for tuning in ALLPASS_TUNINGS:
            summed = _allpass(summed, _scaled(tuning + spread, sample_rate))
        channels.append(summed)
    return np.stack(channels, axis=1) * MASTER_VOLUME


def reverb(bus: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The reverb output of a mono float bus, as (frames, 2) float32 (same length)."""
    from scipy import fft

    response = reverb_response(sample_rate)
    frames = bus.shape[0]
    size = fft.next_fast_len(frames + response.shape[0] - 1, real=True)
    spectrum = fft.rfft(bus.astype(np.float64), size)
    out = np.empty((frames, 2), dtype=np.float32)
    for channel in range(2):
        wet = fft.irfft(spectrum * _response_spectrum(sample_rate, size, channel), size)
        out[:, channel] = wet[:frames]
    return out


@functools.lru_cache(maxsize=8)
def _response_spectrum(sample_rate: int, size: int, channel: int) -> np.ndarray:
    from scipy import fft

    return fft.rfft(reverb_response(sample_rate)[:, channel], size)
