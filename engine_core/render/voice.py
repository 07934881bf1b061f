"""One note of a SoundFont bank synthesised as RustySynth (`midirenderer`) plays it.

RustySynth renders in 64-sample blocks. Per block and per voice it advances the volume
and modulation envelopes and both LFOs once, derives the pitch (hence the oscillator's
fixed-point step) and the low-pass cutoff from them, fills the block by linear
interpolation of the bank's 16-bit samples (24-bit fractional positions), filters it
(a biquad whose coefficients change only between blocks), and adds it to the dry, chorus
and reverb buses with a gain ramped from the previous block's to this block's; a bus
skips the block when both gains are under 1e-3. Here everything that changes once per
block is computed as numpy arrays (`_plan_voice`), and the per-sample loop (oscillator,
filter, bus gains) runs compiled (`voice_kernel.play_voice`).

What a note's audio depends on: the bank, program, drum flag, the channel's controllers
(volume, pan, reverb and chorus sends: fixed per stem), pitch, velocity and the number of
blocks from note-on to note-off; not on where it starts. The result is the note alone
(`NoteAudio`): dry stereo, the mono input it gives the reverb and, when a voice sends
to the chorus, its stereo chorus input, all at the synthesiser's master volume (0.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine_core.render.sf2 import BankLayout, SampleHeader
from engine_core.render.voice_kernel import play_voice

SAMPLE_RATE = 48000
BLOCK = 64
MASTER_VOLUME = 0.5
NON_AUDIBLE = 1e-3
LOG_NON_AUDIBLE = -6.907_755_4
REVERB_INPUT_GAIN = 0.015
#: A voice never rings longer than this after its note-off (a guard; releases are shorter).
MAX_RELEASE_SECONDS = 20.0

F32 = np.float32
_FRAC_BITS = 24
_FRAC_UNIT = 1 << _FRAC_BITS
_FP_TO_SAMPLE = F32(1.0 / (32768 * _FRAC_UNIT))
_RESONANCE_PEAK_OFFSET = F32(1.0 - 1.0 / math.sqrt(2.0))

#: RustySynth's instrument-zone defaults (generator -> amount); preset zones default to 0.
_INSTRUMENT_DEFAULTS = {
    8: 13500,
    21: -12000,
    23: -12000,
    25: -12000,
    26: -12000,
    27: -12000,
    28: -12000,
    30: -12000,
    33: -12000,
    34: -12000,
    35: -12000,
    36: -12000,
    38: -12000,
    46: -1,
    47: -1,
    56: 100,
    58: -1,
}


@dataclass(frozen=True)
class ChannelState:
    """The MIDI controllers a stem's channel holds (coarse values, 0-127)."""

    volume: int = 100
    expression: int = 127
    pan: int = 64
    reverb: int = 40
    chorus: int = 0

    def gain(self) -> np.float32:
        volume = F32(1.0 / 16383.0) * F32(self.volume << 7)
        expression = F32(1.0 / 16383.0) * F32(self.expression << 7)
        level = volume * expression
        return F32(level * level)

    def pan_position(self) -> np.float32:
        return F32(100.0 / 16383.0) * F32(self.pan << 7) - F32(50.0)


@dataclass
class NoteAudio:
    """A note's contribution to each bus from its note-on sample: float32 (frames, 3) with
    dry left, dry right and the reverb's input, or (frames, 5) with the chorus's input
    left and right after them when a voice sends to the chorus."""

    buses: np.ndarray

    @property
    def frames(self) -> int:
        return self.buses.shape[0]

    @property
    def dry(self) -> np.ndarray:
        return self.buses[:, :2]

    @property
    def reverb(self) -> np.ndarray:
        return self.buses[:, 2]

    @property
    def chorus(self) -> np.ndarray | None:
        return self.buses[:, 3:5] if self.buses.shape[1] == 5 else None


def _timecents(x: float) -> np.float32:
    return F32(np.power(F32(2.0), F32(1.0 / 1200.0) * F32(x)))


def _cents_to_hertz(x: float) -> np.float32:
    return F32(8.176) * F32(np.power(F32(2.0), F32(1.0 / 1200.0) * F32(x)))


def _decibels_to_linear(x) -> np.float32:
    return np.power(F32(10.0), F32(0.05) * np.asarray(x, dtype=F32)).astype(F32)


def _key_factor(cents: int, key: int) -> np.float32:
    return _timecents(float(cents * (60 - key)))


def _exp_cutoff(x: np.ndarray) -> np.ndarray:
    return np.where(x < LOG_NON_AUDIBLE, 0.0, np.exp(np.minimum(x, 0.0)))


@dataclass(frozen=True)
class Voice:
    """One voice's generators (preset + instrument amounts) and its sample."""

    gs: np.ndarray  # int32[61]: preset + instrument amounts, as RustySynth sums them
    instrument: dict[int, int]  # the instrument zone's own amounts (with defaults)
    sample: SampleHeader

    @classmethod
    def from_zones(
        cls, preset: dict[int, int], instrument: dict[int, int], samples: list[SampleHeader]
    ) -> Voice:
        own = {**_INSTRUMENT_DEFAULTS, **instrument}
        gs = np.zeros(61, dtype=np.int32)
        for number, amount in own.items():
            if number < 61:
                gs[number] += amount
        for number, amount in preset.items():
            if number < 61 and number not in (41, 43, 44):
                gs[number] += amount
        return cls(gs, own, samples[own[53]])

    def g(self, number: int) -> int:
        return int(self.gs[number])

    def own(self, number: int) -> int:
        return int(self.instrument.get(number, 0))

    @property
    def exclusive_class(self) -> int:
        return self.own(57)


def note_voices(layout: BankLayout, program: int, drums: bool, key: int, velocity: int):
    """The voices a note-on starts, after RustySynth's exclusive-class reuse (a later
    voice of the same class takes over an earlier one of the same note)."""
    voices: list[Voice] = []
    for preset, instrument in layout.regions(program, key, velocity, drums=drums):
        voice = Voice.from_zones(preset, instrument, layout.samples)
        exclusive = voice.exclusive_class
        if exclusive:
            voices = [v for v in voices if v.exclusive_class != exclusive]
        voices.append(voice)
    return voices


def render_note(
    voices: list[Voice],
    wave: np.ndarray,
    key: int,
    velocity: int,
    blocks: int,
    channel: ChannelState,
    silence: float = 0.0,
) -> NoteAudio:
    """The note (note-on, then note-off `blocks` blocks later) on its own, every voice
    summed, up to the last block where a voice added more than `silence` to a bus."""
    plans = [_plan_voice(v, key, velocity, blocks, channel) for v in voices]
    plans = [p for p in plans if p is not None]
    chorused = any(p.gains.shape[1] == 5 for p in plans)
    buses = 5 if chorused else 3
    frames = max((p.steps.size for p in plans), default=0) * BLOCK
    out = np.zeros((frames, buses), F32)
    played = 0
    for plan in plans:
        gains = plan.gains if plan.gains.shape[1] == buses else _widen(plan.gains, buses)
        _, loud = play_voice(
            wave,
            plan.position,
            plan.steps,
            plan.looping_blocks,
            plan.start_loop,
            plan.end_loop,
            plan.end,
            plan.coefficients,
            gains,
            _SCALES[:buses],
            out,
            silence,
        )
        played = max(played, loud)
    return NoteAudio(out[: played * BLOCK])


_SCALES = np.array([1.0, 1.0, MASTER_VOLUME, MASTER_VOLUME, MASTER_VOLUME], F32)


def _widen(gains: np.ndarray, buses: int) -> np.ndarray:
    wide = np.zeros((gains.shape[0], buses), F32)
    wide[:, : gains.shape[1]] = gains
    return wide


@dataclass
class _VoicePlan:
    """Everything `play_voice` needs, per block."""

    position: int
    steps: np.ndarray
    looping_blocks: int
    start_loop: int
    end_loop: int
    end: int
    coefficients: np.ndarray
    gains: np.ndarray


def _block_times(count: int) -> np.ndarray:
    """Each block's envelope time: the sample count after the block, in seconds."""
    return (np.arange(1, count + 1, dtype=np.float64) * BLOCK) / SAMPLE_RATE


def _volume_envelope(v: Voice, key: int, t: np.ndarray, release_block: int):
    """(values float32, alive bool) per block, as VolumeEnvelope.process gives them."""
    delay = _timecents(v.g(33))
    attack = _timecents(v.g(34))
    hold = _timecents(v.g(35)) * _key_factor(v.g(39), key)
    decay = _timecents(v.g(36)) * _key_factor(v.g(40), key)
    sustain = min(max(_decibels_to_linear(-(F32(0.1) * F32(v.g(37)))), F32(0.0)), F32(1.0))
    release = max(_timecents(v.g(38)), F32(0.01))
    attack_slope = 1.0 / float(attack)
    decay_slope = -9.226 / float(decay)
    release_slope = -9.226 / float(release)
    attack_start = float(delay)
    hold_start = attack_start + float(attack)
    decay_start = hold_start + float(hold)
    value = np.where(
        t < attack_start,
        0.0,
        np.where(
            t < hold_start,
            attack_slope * (t - attack_start),
            np.where(
                t < decay_start,
                1.0,
                np.maximum(
                    _exp_cutoff(decay_slope * (t - decay_start)).astype(F32), float(sustain)
                ),
            ),
        ),
    ).astype(F32)
    alive = (t < decay_start) | (value > NON_AUDIBLE)
    if release_block < t.size:
        level = float(value[release_block - 1])
        start = BLOCK * release_block / SAMPLE_RATE
        after = t[release_block:]
        released = (level * _exp_cutoff(release_slope * (after - start))).astype(F32)
        value[release_block:] = released
        alive[release_block:] = released > NON_AUDIBLE
    return value, alive


def _modulation_envelope(v: Voice, key: int, velocity: int, t: np.ndarray, release_block: int):
    delay = _timecents(v.g(25))
    attack = _timecents(v.g(26)) * F32(F32(145 - velocity) / F32(144.0))
    hold = _timecents(v.g(27)) * _key_factor(v.g(31), key)
    decay = _timecents(v.g(28)) * _key_factor(v.g(32), key)
    sustain = min(max(F32(1.0) - F32(0.1) * F32(v.g(29)) / F32(100.0), F32(0.0)), F32(1.0))
    release = _timecents(v.g(30))
    attack_slope = 1.0 / float(attack)
    decay_slope = 1.0 / float(decay)
    release_slope = 1.0 / float(release)
    attack_start = float(delay)
    hold_start = attack_start + float(attack)
    decay_start = hold_start + float(hold)
    decay_end = decay_start + float(decay)
    value = np.where(
        t < attack_start,
        0.0,
        np.where(
            t < hold_start,
            attack_slope * (t - attack_start),
            np.where(
                t < decay_start,
                1.0,
                np.maximum((decay_slope * (decay_end - t)).astype(F32), float(sustain)),
            ),
        ),
    ).astype(F32)
    if release_block < t.size:
        level = float(value[release_block - 1])
        end = float(release) + BLOCK * release_block / SAMPLE_RATE
        after = t[release_block:]
        value[release_block:] = np.maximum(
            (level * release_slope * (end - after)).astype(F32), F32(0.0)
        )
    return value


def _lfo(delay_tc: int, frequency_cents: int, t: np.ndarray) -> np.ndarray:
    frequency = _cents_to_hertz(frequency_cents)
    if frequency <= F32(1e-3):
        return np.zeros(t.size, F32)
    delay = float(_timecents(delay_tc))
    period = 1.0 / float(frequency)
    phase = np.fmod(t - delay, period) / period
    value = np.where(
        phase < 0.25, 4.0 * phase, np.where(phase < 0.75, 4.0 * (0.5 - phase), 4.0 * (phase - 1.0))
    )
    return np.where(t < delay, 0.0, value).astype(F32)


def _coefficients(cutoff: np.ndarray, resonance: np.float32):
    """Per-block normalised biquad coefficients (b0, b1, b2, a1, a2), float64; a block whose
    cutoff is at or above 0.499 x the rate passes its input unfiltered."""
    cutoff = np.asarray(cutoff, F32)
    q = resonance - _RESONANCE_PEAK_OFFSET / (F32(1.0) + F32(6.0) * (resonance - F32(1.0)))
    w = F32(2.0) * F32(np.pi) * cutoff / F32(SAMPLE_RATE)
    cosw = np.cos(w).astype(F32)
    alpha = (np.sin(w).astype(F32) / (F32(2.0) * q)).astype(F32)
    b0 = ((F32(1.0) - cosw) / F32(2.0)).astype(F32)
    b1 = (F32(1.0) - cosw).astype(F32)
    a0 = (F32(1.0) + alpha).astype(F32)
    a1 = (F32(-2.0) * cosw).astype(F32)
    a2 = (F32(1.0) - alpha).astype(F32)
    active = cutoff < F32(0.499) * F32(SAMPLE_RATE)
    coefficients = [
        np.where(active, (b0 / a0).astype(F32), 1.0),
        np.where(active, (b1 / a0).astype(F32), 0.0),
        np.where(active, (b0 / a0).astype(F32), 0.0),
        np.where(active, (a1 / a0).astype(F32), 0.0),
        np.where(active, (a2 / a0).astype(F32), 0.0),
    ]
    return np.stack(coefficients, axis=1).astype(F32)


def _smoothed_cutoff(new: np.ndarray, start: float) -> np.ndarray:
    """RustySynth's cutoff limiter: each block's cutoff stays within x0.5..x2 of the last."""
    out = new.astype(np.float64)
    previous = np.concatenate([[start], out[:-1]])
    ratio = out / previous
    if np.all((ratio >= 0.5) & (ratio <= 2.0)):
        return out
    last = start
    for index, value in enumerate(new.tolist()):
        clamped = min(max(value, 0.5 * last), 2.0 * last)
        out[index] = clamped
        last = clamped
        if clamped == value:
            rest = new[index + 1 :].astype(np.float64)
            rest_previous = np.concatenate([[clamped], rest[:-1]])
            rest_ratio = rest / rest_previous
            if np.all((rest_ratio >= 0.5) & (rest_ratio <= 2.0)):
                out[index + 1 :] = rest
                break
    return out


def _plan_voice(
    v: Voice, key: int, velocity: int, note_blocks: int, channel: ChannelState
) -> _VoicePlan | None:
    if velocity <= 0:
        return None
    sample_attenuation = F32(0.4) * (F32(0.1) * F32(v.g(48)))
    filter_attenuation = F32(0.5) * (F32(0.1) * F32(v.g(9)))
    decibels = (
        F32(2.0) * F32(20.0) * F32(np.log10(F32(velocity) / F32(127.0)))
        - sample_attenuation
        - filter_attenuation
    )
    note_gain = _decibels_to_linear(decibels)
    if note_gain < F32(NON_AUDIBLE):
        return None
    release_block = max(note_blocks, 2)
    release_seconds = float(max(_timecents(v.g(38)), F32(0.01)))
    tail = min(release_seconds * 0.75, MAX_RELEASE_SECONDS)
    blocks = release_block + math.ceil(tail * SAMPLE_RATE / BLOCK) + 2
    t = _block_times(blocks)
    volume, alive = _volume_envelope(v, key, t, release_block)
    blocks = int(np.argmin(alive)) if not alive.all() else blocks
    if blocks == 0:
        return None
    t, volume = t[:blocks], volume[:blocks]
    modulation = _modulation_envelope(v, key, velocity, t, release_block)
    vibrato = _lfo(v.g(23), v.g(24), t)
    mod_lfo = _lfo(v.g(21), v.g(22), t)

    vib_to_pitch = F32(0.01) * F32(v.g(6))
    pitch = (
        F32(key)
        + vib_to_pitch * vibrato
        + (F32(0.01) * F32(v.g(5)) * mod_lfo + F32(0.01) * F32(v.g(7)) * modulation)
    ).astype(F32)
    root = v.own(58) if v.own(58) != -1 else v.sample.original_pitch
    tune = F32(v.g(51)) + F32(0.01) * F32(v.g(52) + v.sample.pitch_correction)
    scale = F32(0.01) * F32(v.g(56))
    change = (scale * (pitch - F32(root)) + tune).astype(F32)
    rate_ratio = F32(v.sample.sample_rate) / F32(SAMPLE_RATE)
    ratio = (rate_ratio * np.power(F32(2.0), change / F32(12.0))).astype(F32)
    steps = (float(1 << 24) * ratio.astype(np.float64)).astype(np.int64)

    cutoff = _cents_to_hertz(v.g(8))
    resonance = _decibels_to_linear(F32(0.1) * F32(v.g(9)))
    to_cutoff_lfo, to_cutoff_env = v.g(10), v.g(11)
    if to_cutoff_lfo or to_cutoff_env:
        cents = (F32(to_cutoff_lfo) * mod_lfo + F32(to_cutoff_env) * modulation).astype(F32)
        new = (np.power(F32(2.0), F32(1.0 / 1200.0) * cents) * cutoff).astype(F32)
        coefficients = _coefficients(_smoothed_cutoff(new, float(cutoff)).astype(F32), resonance)
    else:
        coefficients = np.repeat(_coefficients(np.array([cutoff]), resonance), blocks, axis=0)

    gain = (note_gain * channel.gain() * volume).astype(F32)
    to_volume = F32(0.1) * F32(v.g(13))
    if to_volume > F32(0.05):
        gain = (gain * _decibels_to_linear(to_volume * mod_lfo)).astype(F32)
    instrument_pan = min(max(F32(0.1) * F32(v.g(17)), F32(-50.0)), F32(50.0))
    angle = F32(np.pi / 200.0) * (channel.pan_position() + instrument_pan + F32(50.0))
    if angle <= 0:
        left, right = gain, np.zeros_like(gain)
    elif angle >= F32(np.pi / 2):
        left, right = np.zeros_like(gain), gain
    else:
        left = (gain * np.cos(angle).astype(F32)).astype(F32)
        right = (gain * np.sin(angle).astype(F32)).astype(F32)
    reverb_send = min(
        max(F32(channel.reverb) / F32(127.0) + F32(0.01) * (F32(0.1) * F32(v.g(16))), F32(0)),
        F32(1),
    )
    chorus_send = min(
        max(F32(channel.chorus) / F32(127.0) + F32(0.01) * (F32(0.1) * F32(v.g(15))), F32(0)),
        F32(1),
    )
    master = F32(MASTER_VOLUME)
    columns = [
        master * left,
        master * right,
        F32(REVERB_INPUT_GAIN) * reverb_send * (left + right),
    ]
    if chorus_send > 0:
        columns += [chorus_send * left, chorus_send * right]
    gains = np.stack(columns, axis=1).astype(F32)

    start = v.sample.start + 32768 * v.own(4) + v.own(0)
    end = v.sample.end + 32768 * v.own(12) + v.own(1)
    start_loop = v.sample.start_loop + 32768 * v.own(45) + v.own(2)
    end_loop = v.sample.end_loop + 32768 * v.own(50) + v.own(3)
    mode = v.own(54)
    looping = blocks if mode == 1 else (min(release_block, blocks) if mode == 3 else 0)
    return _VoicePlan(start << 24, steps, looping, start_loop, end_loop, end, coefficients, gains)
