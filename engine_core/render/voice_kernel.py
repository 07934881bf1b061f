"""A synthesiser voice, compiled with numba: RustySynth's per-block and per-sample loops.

`render_voices` renders a whole note in one call: for each voice `plan_voice` advances,
once per 64-sample block, the volume and modulation envelopes and both LFOs, and derives
the oscillator's fixed-point step, the low-pass biquad's coefficients and each bus's gain
(RustySynth's `Voice::process`); then `play_voice` fills the blocks from the bank's 16-bit
samples by linear interpolation of a 24-bit fixed-point position (RustySynth's
`Oscillator`: looping, loop-until-release or one-shot), runs them through the biquad
(`BiQuadFilter`, direct form I) and adds them to each bus with the block's gain ramped
from the previous block's (`Synthesizer::write_block`: skipped when both gains are under
1e-3, a straight ramp when they differ by 1e-3 or more). Arithmetic is float32 as in the
synthesiser (the block times, envelope slopes and LFO phases float64, as there).

Compiled on first use and cached on disk beside this file (numba's `cache=True`, in
`__pycache__`; set `NUMBA_CACHE_DIR` where the package directory is read-only).
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
    out: np.ndarray,  # float32 (buses, frames): the voice is added here
    silence: float,
    signal: np.ndarray,  # float32 (frames,) or (0,): see below
) -> tuple[int, int]:
    """Play the voice into `out`; returns how many blocks it sounded (the rest: ended)
    and how many until its last block that added a value above `silence` to a bus.
    With a `signal` of frames, the voice's filtered samples are written there instead,
    before any gain (`out` untouched): `add_voices` applies the gains later."""
    keep = signal.shape[0] > 0
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
        b0 = coefficients[j, 0]
        b1 = coefficients[j, 1]
        b2 = coefficients[j, 2]
        a1 = coefficients[j, 3]
        a2 = coefficients[j, 4]
        peak = np.float32(0.0)
        played = BLOCK
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
                    played = t
                    break
                index2 = index1 + 1
            first = np.int64(wave[index1])
            second = np.int64(wave[index2])
            fraction = pos & FRAC_MASK
            value = FP_TO_SAMPLE * np.float32((first << FRAC_BITS) + fraction * (second - first))
            pos += step
            output = b0 * value + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            x2 = x1
            x1 = value
            y2 = y1
            y1 = output
            block[t] = output
            if abs(output) > peak:
                peak = abs(output)
        for t in range(played, BLOCK):  # the sample ended: the filter rings on silence
            value = np.float32(0.0)
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
            if keep:
                continue
            if abs(current - previous) < NON_AUDIBLE:
                for t in range(BLOCK):
                    out[c, base + t] += scale * (current * block[t])
            else:
                slope = INVERSE_BLOCK * (current - previous)
                gain = previous
                for t in range(BLOCK):
                    out[c, base + t] += scale * (gain * block[t])
                    gain += slope
        if keep:
            for t in range(BLOCK):
                signal[base + t] = block[t]
    return blocks, loud


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


# --- A whole note in one compiled call -------------------------------------------------

SAMPLE_RATE = 48000
F32 = np.float32
_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)
_CENT = np.float32(1.0 / 1200.0)
_BASE_HERTZ = np.float32(8.176)
_TWO = np.float32(2.0)
_TEN = np.float32(10.0)
_DB_SCALE = np.float32(0.05)
_TENTH = np.float32(0.1)
_HUNDREDTH = np.float32(0.01)
_PI = np.float32(np.pi)
_HALF_PI = np.float32(np.pi / 2)
_PAN_RADIANS = np.float32(np.pi / 200.0)
_RATE = np.float32(SAMPLE_RATE)
_NYQUIST_LIMIT = np.float32(0.499) * np.float32(SAMPLE_RATE)
_RESONANCE_PEAK_OFFSET = np.float32(1.0 - 1.0 / np.sqrt(2.0))
_MASTER_VOLUME = np.float32(0.5)
_REVERB_INPUT_GAIN = np.float32(0.015)
LOG_NON_AUDIBLE = -6.907_755_4
MAX_RELEASE_SECONDS = 20.0
#: A voice's row (`voice.voice_row`): the 61 summed generators, then these of the
#: instrument zone alone, then its sample header.
ROW_OWN = 61  # own 0, 1, 2, 3, 4, 12, 45, 50, 54, 58
ROW_SAMPLE = 71  # start, end, start_loop, end_loop, sample_rate, original_pitch, correction
ROW_LENGTH = 78


@numba.njit(cache=True, nogil=True)
def _timecents(x: np.float32) -> np.float32:
    return _TWO ** (_CENT * x)


@numba.njit(cache=True, nogil=True)
def _cents_to_hertz(x: np.float32) -> np.float32:
    return _BASE_HERTZ * (_TWO ** (_CENT * x))


@numba.njit(cache=True, nogil=True)
def _decibels_to_linear(x: np.float32) -> np.float32:
    return _TEN ** (_DB_SCALE * x)


@numba.njit(cache=True, nogil=True)
def _exp_cutoff(x: float) -> float:
    if x < LOG_NON_AUDIBLE:
        return 0.0
    return np.exp(min(x, 0.0))


@numba.njit(cache=True, nogil=True)
def _lfo_value(delay: float, frequency: np.float32, t: float) -> np.float32:
    """RustySynth's triangle LFO at time `t` (0 before its delay; off under 1 mHz)."""
    if frequency <= np.float32(1e-3) or t < delay:
        return _ZERO
    period = 1.0 / np.float64(frequency)
    phase = np.fmod(t - delay, period) / period
    if phase < 0.25:
        return np.float32(4.0 * phase)
    if phase < 0.75:
        return np.float32(4.0 * (0.5 - phase))
    return np.float32(4.0 * (phase - 1.0))


@numba.njit(cache=True, nogil=True)
def _coefficients(cutoff: np.float32, resonance: np.float32, into: np.ndarray) -> None:
    """The low-pass biquad's normalised coefficients (b0, b1, b2, a1, a2) for `cutoff`;
    at or above 0.499 x the rate the block passes unfiltered."""
    if not cutoff < _NYQUIST_LIMIT:
        into[0] = _ONE
        into[1] = _ZERO
        into[2] = _ZERO
        into[3] = _ZERO
        into[4] = _ZERO
        return
    q = resonance - _RESONANCE_PEAK_OFFSET / (_ONE + np.float32(6.0) * (resonance - _ONE))
    w = _TWO * _PI * cutoff / _RATE
    cosw = np.float32(np.cos(w))
    alpha = np.float32(np.sin(w)) / (_TWO * q)
    b0 = (_ONE - cosw) / _TWO
    b1 = _ONE - cosw
    a0 = _ONE + alpha
    into[0] = b0 / a0
    into[1] = b1 / a0
    into[2] = b0 / a0
    into[3] = (np.float32(-2.0) * cosw) / a0
    into[4] = (_ONE - alpha) / a0


@numba.njit(cache=True, nogil=True)
def _clamp(x: np.float32, low: np.float32, high: np.float32) -> np.float32:
    return min(max(x, low), high)


@numba.njit(cache=True, nogil=True)
def plan_voice(
    v: np.ndarray,  # int64 (ROW_LENGTH,): the voice's row
    key: int,
    velocity: int,
    note_blocks: int,
    channel_gain: np.float32,
    pan_position: np.float32,
    reverb_cc: int,
    chorus_cc: int,
):
    """Everything `play_voice` needs, block by block, as RustySynth's voice computes it
    once per block: the volume envelope (the voice ends at the first block where it is no
    longer audible), the modulation envelope, both LFOs, the pitch (hence the oscillator's
    fixed-point step), the low-pass cutoff (limited to x0.5..x2 per block) and each bus's
    gain. Returns (steps, coefficients, gains, looping blocks, position, start_loop,
    end_loop, end, chorused); no blocks when the voice is silent."""
    empty = (
        np.zeros(0, np.int64),
        np.zeros((0, 5), np.float32),
        np.zeros((0, 5), np.float32),
        0,
        np.int64(0),
        np.int64(0),
        np.int64(0),
        np.int64(0),
        False,
    )
    if velocity <= 0:
        return empty
    sample_attenuation = np.float32(0.4) * (_TENTH * np.float32(v[48]))
    filter_attenuation = np.float32(0.5) * (_TENTH * np.float32(v[9]))
    decibels = (
        _TWO * np.float32(20.0) * np.float32(np.log10(np.float32(velocity) / np.float32(127.0)))
        - sample_attenuation
        - filter_attenuation
    )
    note_gain = _decibels_to_linear(decibels)
    if note_gain < NON_AUDIBLE:
        return empty
    release_block = max(note_blocks, 2)
    release_seconds = np.float64(max(_timecents(np.float32(v[38])), np.float32(0.01)))
    tail = min(release_seconds * 0.75, MAX_RELEASE_SECONDS)
    most = release_block + int(np.ceil(tail * SAMPLE_RATE / BLOCK)) + 2

    # volume envelope
    v_delay = _timecents(np.float32(v[33]))
    v_attack = _timecents(np.float32(v[34]))
    v_hold = _timecents(np.float32(v[35])) * _timecents(np.float32(v[39] * (60 - key)))
    v_decay = _timecents(np.float32(v[36])) * _timecents(np.float32(v[40] * (60 - key)))
    v_sustain = _clamp(_decibels_to_linear(-(_TENTH * np.float32(v[37]))), _ZERO, _ONE)
    v_release = max(_timecents(np.float32(v[38])), np.float32(0.01))
    v_attack_slope = 1.0 / np.float64(v_attack)
    v_decay_slope = -9.226 / np.float64(v_decay)
    v_release_slope = -9.226 / np.float64(v_release)
    v_attack_start = np.float64(v_delay)
    v_hold_start = v_attack_start + np.float64(v_attack)
    v_decay_start = v_hold_start + np.float64(v_hold)
    # modulation envelope
    m_delay = _timecents(np.float32(v[25]))
    m_attack = _timecents(np.float32(v[26])) * (np.float32(145 - velocity) / np.float32(144.0))
    m_hold = _timecents(np.float32(v[27])) * _timecents(np.float32(v[31] * (60 - key)))
    m_decay = _timecents(np.float32(v[28])) * _timecents(np.float32(v[32] * (60 - key)))
    m_sustain = _clamp(_ONE - _TENTH * np.float32(v[29]) / np.float32(100.0), _ZERO, _ONE)
    m_release = _timecents(np.float32(v[30]))
    m_attack_slope = 1.0 / np.float64(m_attack)
    m_decay_slope = 1.0 / np.float64(m_decay)
    m_release_slope = 1.0 / np.float64(m_release)
    m_attack_start = np.float64(m_delay)
    m_hold_start = m_attack_start + np.float64(m_attack)
    m_decay_start = m_hold_start + np.float64(m_hold)
    m_decay_end = m_decay_start + np.float64(m_decay)
    release_time = BLOCK * release_block / SAMPLE_RATE
    m_release_end = np.float64(m_release) + release_time
    # LFOs
    vib_delay = np.float64(_timecents(np.float32(v[23])))
    vib_frequency = _cents_to_hertz(np.float32(v[24]))
    mod_delay = np.float64(_timecents(np.float32(v[21])))
    mod_frequency = _cents_to_hertz(np.float32(v[22]))
    # pitch
    vib_to_pitch = _HUNDREDTH * np.float32(v[6])
    mod_to_pitch = _HUNDREDTH * np.float32(v[5])
    env_to_pitch = _HUNDREDTH * np.float32(v[7])
    root = v[ROW_OWN + 9] if v[ROW_OWN + 9] != -1 else v[ROW_SAMPLE + 5]
    tune = np.float32(v[51]) + _HUNDREDTH * np.float32(v[52] + v[ROW_SAMPLE + 6])
    scale = _HUNDREDTH * np.float32(v[56])
    rate_ratio = np.float32(v[ROW_SAMPLE + 4]) / _RATE
    # filter
    cutoff = _cents_to_hertz(np.float32(v[8]))
    resonance = _decibels_to_linear(_TENTH * np.float32(v[9]))
    to_cutoff_lfo = v[10]
    to_cutoff_env = v[11]
    # gains
    to_volume = _TENTH * np.float32(v[13])
    level_gain = note_gain * channel_gain
    instrument_pan = _clamp(_TENTH * np.float32(v[17]), np.float32(-50.0), np.float32(50.0))
    angle = _PAN_RADIANS * (pan_position + instrument_pan + np.float32(50.0))
    reverb_send = _clamp(
        np.float32(reverb_cc) / np.float32(127.0) + _HUNDREDTH * (_TENTH * np.float32(v[16])),
        _ZERO,
        _ONE,
    )
    chorus_send = _clamp(
        np.float32(chorus_cc) / np.float32(127.0) + _HUNDREDTH * (_TENTH * np.float32(v[15])),
        _ZERO,
        _ONE,
    )
    reverb_gain = _REVERB_INPUT_GAIN * reverb_send

    steps = np.empty(most, np.int64)
    coefficients = np.empty((most, 5), np.float32)
    gains = np.zeros((most, 5), np.float32)
    volume_level = _ZERO
    modulation_level = _ZERO
    last_cutoff = np.float64(cutoff)
    blocks = most
    for j in range(most):
        t = ((j + 1) * 64.0) / SAMPLE_RATE
        if j < release_block:
            if t < v_attack_start:
                volume = _ZERO
            elif t < v_hold_start:
                volume = np.float32(v_attack_slope * (t - v_attack_start))
            elif t < v_decay_start:
                volume = _ONE
            else:
                volume = max(
                    np.float32(_exp_cutoff(v_decay_slope * (t - v_decay_start))), v_sustain
                )
            alive = t < v_decay_start or volume > NON_AUDIBLE
            if t < m_attack_start:
                modulation = _ZERO
            elif t < m_hold_start:
                modulation = np.float32(m_attack_slope * (t - m_attack_start))
            elif t < m_decay_start:
                modulation = _ONE
            else:
                modulation = max(np.float32(m_decay_slope * (m_decay_end - t)), m_sustain)
            volume_level = volume
            modulation_level = modulation
        else:
            volume = np.float32(
                np.float64(volume_level) * _exp_cutoff(v_release_slope * (t - release_time))
            )
            alive = volume > NON_AUDIBLE
            modulation = max(
                np.float32(np.float64(modulation_level) * m_release_slope * (m_release_end - t)),
                _ZERO,
            )
        if not alive:
            blocks = j
            break
        vibrato = _lfo_value(vib_delay, vib_frequency, t)
        mod_lfo = _lfo_value(mod_delay, mod_frequency, t)

        pitch = (
            np.float32(key)
            + vib_to_pitch * vibrato
            + (mod_to_pitch * mod_lfo + env_to_pitch * modulation)
        )
        change = scale * (pitch - np.float32(root)) + tune
        ratio = rate_ratio * (_TWO ** (change / np.float32(12.0)))
        steps[j] = np.int64(16777216.0 * np.float64(ratio))

        if to_cutoff_lfo != 0 or to_cutoff_env != 0:
            cents = np.float32(to_cutoff_lfo) * mod_lfo + np.float32(to_cutoff_env) * modulation
            new = np.float64((_TWO ** (_CENT * cents)) * cutoff)
            limited = min(max(new, 0.5 * last_cutoff), 2.0 * last_cutoff)
            last_cutoff = limited
            _coefficients(np.float32(limited), resonance, coefficients[j])
        else:
            _coefficients(cutoff, resonance, coefficients[j])

        gain = level_gain * volume
        if to_volume > np.float32(0.05):
            gain = gain * _decibels_to_linear(to_volume * mod_lfo)
        if angle <= _ZERO:
            left = gain
            right = _ZERO
        elif angle >= _HALF_PI:
            left = _ZERO
            right = gain
        else:
            left = gain * np.float32(np.cos(angle))
            right = gain * np.float32(np.sin(angle))
        gains[j, 0] = _MASTER_VOLUME * left
        gains[j, 1] = _MASTER_VOLUME * right
        gains[j, 2] = reverb_gain * (left + right)
        if chorus_send > _ZERO:
            gains[j, 3] = chorus_send * left
            gains[j, 4] = chorus_send * right
    if blocks == 0:
        return empty

    start = v[ROW_SAMPLE] + 32768 * v[ROW_OWN + 4] + v[ROW_OWN]
    end = v[ROW_SAMPLE + 1] + 32768 * v[ROW_OWN + 5] + v[ROW_OWN + 1]
    start_loop = v[ROW_SAMPLE + 2] + 32768 * v[ROW_OWN + 6] + v[ROW_OWN + 2]
    end_loop = v[ROW_SAMPLE + 3] + 32768 * v[ROW_OWN + 7] + v[ROW_OWN + 3]
    mode = v[ROW_OWN + 8]
    looping = blocks if mode == 1 else (min(release_block, blocks) if mode == 3 else 0)
    return (
        steps[:blocks],
        coefficients[:blocks],
        gains[:blocks],
        looping,
        np.int64(start) << FRAC_BITS,
        np.int64(start_loop),
        np.int64(end_loop),
        np.int64(end),
        chorus_send > _ZERO,
    )


_SCALES = np.array([1.0, 1.0, 0.5, 0.5, 0.5], np.float32)


@numba.njit(cache=True, nogil=True)
def _plan_voices(
    rows: np.ndarray,
    key: int,
    velocity: int,
    note_blocks: int,
    channel_gain: np.float32,
    pan_position: np.float32,
    reverb_cc: int,
    chorus_cc: int,
):
    """Each sounding voice's plan (`plan_voice`), the longest one's blocks, and whether
    any voice sends to the chorus."""
    plans = []
    blocks = 0
    chorused = False
    for i in range(rows.shape[0]):
        plan = plan_voice(
            rows[i], key, velocity, note_blocks, channel_gain, pan_position, reverb_cc, chorus_cc
        )
        if plan[0].shape[0] == 0:
            continue
        plans.append(plan)
        blocks = max(blocks, plan[0].shape[0])
        chorused = chorused or plan[8]
    return plans, blocks, chorused


@numba.njit(cache=True, nogil=True)
def render_voices(
    wave: np.ndarray,
    rows: np.ndarray,  # int64 (voices, ROW_LENGTH)
    key: int,
    velocity: int,
    note_blocks: int,
    channel_gain: np.float32,
    pan_position: np.float32,
    reverb_cc: int,
    chorus_cc: int,
    silence: float,
) -> np.ndarray:
    """A note's voices (note-on, note-off `note_blocks` blocks later) summed into float32
    (3, frames) buses, or (5, frames) when a voice sends to the chorus, up to the last
    block where a voice added more than `silence` to a bus (see `voice.NoteAudio`)."""
    plans, blocks, chorused = _plan_voices(
        rows, key, velocity, note_blocks, channel_gain, pan_position, reverb_cc, chorus_cc
    )
    buses = 5 if chorused else 3
    out = np.zeros((buses, blocks * BLOCK), np.float32)
    no_signal = np.zeros(0, np.float32)
    played = 0
    for plan in plans:
        steps, coefficients, gains, looping, position, start_loop, end_loop, end, _ = plan
        _, loud = play_voice(
            wave,
            position,
            steps,
            looping,
            start_loop,
            end_loop,
            end,
            coefficients,
            gains[:, :buses],
            _SCALES[:buses],
            out,
            silence,
            no_signal,
        )
        played = max(played, loud)
    return out[:, : played * BLOCK]


# --- Notes packed for the cache ----------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def render_voice_signals(
    wave: np.ndarray,
    rows: np.ndarray,  # int64 (voices, ROW_LENGTH)
    key: int,
    velocity: int,
    note_blocks: int,
    channel_gain: np.float32,
    pan_position: np.float32,
    reverb_cc: int,
    chorus_cc: int,
    silence: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A note's voices as the synthesiser plays them before their gains: float32
    (voices, frames) filtered samples, float32 (voices, blocks, buses) each voice's gain
    per block and bus (3 buses, or 5 when a voice sends to the chorus), and each voice's
    length in blocks, up to its last block that added more than `silence` to a bus.
    `add_voices` turns them into the buses, at this velocity or a softer one."""
    plans, blocks, chorused = _plan_voices(
        rows, key, velocity, note_blocks, channel_gain, pan_position, reverb_cc, chorus_cc
    )
    buses = 5 if chorused else 3
    voices = len(plans)
    signals = np.zeros((voices, blocks * BLOCK), np.float32)
    gains_out = np.zeros((voices, blocks, buses), np.float32)
    lengths = np.zeros(voices, np.int64)
    none = np.zeros((buses, 0), np.float32)
    longest = 0
    for v in range(voices):
        steps, coefficients, gains, looping, position, start_loop, end_loop, end, _ = plans[v]
        count = steps.shape[0]
        _, loud = play_voice(
            wave,
            position,
            steps,
            looping,
            start_loop,
            end_loop,
            end,
            coefficients,
            gains[:, :buses],
            _SCALES[:buses],
            none,
            silence,
            signals[v, : count * BLOCK],
        )
        lengths[v] = loud
        longest = max(longest, loud)
        gains_out[v, :count] = gains[:, :buses]
    return signals[:, : longest * BLOCK], gains_out[:, :longest], lengths


@numba.njit(cache=True, nogil=True)
def pack_voices(signals: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voices' float32 (voices, frames) samples (`render_voice_signals`) as 16-bit
    integers for the cache, each voice scaled by its own peak over its length (scale =
    peak / 32767; 1/32767 for a silent voice), and the float32 scales."""
    voices, frames = signals.shape
    scales = np.empty(voices, np.float32)
    pcm = np.zeros((voices, frames), np.int16)
    for v in range(voices):
        length = min(frames, lengths[v] * BLOCK)
        peak = np.float32(0.0)
        for i in range(length):
            value = abs(signals[v, i])
            if value > peak:
                peak = value
        scale = peak / np.float32(32767.0) if peak > 0 else np.float32(1.0 / 32767.0)
        scales[v] = scale
        inverse = np.float32(1.0) / scale
        for i in range(length):
            pcm[v, i] = np.int16(np.rint(signals[v, i] * inverse))
    return pcm, scales


@numba.njit(cache=True, nogil=True)
def add_voices(
    pcm: np.ndarray,
    scales: np.ndarray,
    gains: np.ndarray,
    lengths: np.ndarray,
    ratio: np.float32,
    start: int,
    stop: int,
    dry: np.ndarray,
    reverb: np.ndarray,
    chorus: np.ndarray,
) -> None:
    """Add a note's voices (`pack_voices`, their gains and lengths from
    `render_voice_signals`) into a stem's buses from frame `start` to `stop`, each gain
    times `ratio` (1: the velocity it was rendered at; under 1: a softer one), exactly as
    the synthesiser's output stage adds a voice (`play_voice`): a bus's block is left out
    while both its gains are under `NON_AUDIBLE`, held at this block's gain when it moved
    by less than that, else ramped from the previous block's. Dry to `dry` (2, frames),
    the reverb's input to `reverb` (frames,), the chorus's (when the note has one and
    `chorus` has frames) to `chorus` (2, frames)."""
    with_chorus = gains.shape[2] == 5 and chorus.shape[1] > 0
    buses = 5 if with_chorus else 3
    length = stop - start
    left = dry[0]
    right = dry[1]
    firsts = np.zeros(5, np.float32)  # per bus: the block's first factor, and its step
    steps = np.zeros(5, np.float32)
    for v in range(pcm.shape[0]):
        source = pcm[v]
        sample_scale = scales[v]
        for j in range(min(lengths[v], -(-length // BLOCK))):
            audible = False
            for c in range(buses):
                current = ratio * gains[v, j, c]
                previous = ratio * gains[v, j - 1, c] if j > 0 else current
                scale = _SCALES[c] * sample_scale
                if max(previous, current) < NON_AUDIBLE:  # the gate
                    firsts[c] = 0.0
                    steps[c] = 0.0
                    continue
                audible = True
                if abs(current - previous) < NON_AUDIBLE:  # held
                    firsts[c] = scale * current
                    steps[c] = 0.0
                else:  # ramped from the previous block's gain
                    firsts[c] = scale * previous
                    steps[c] = scale * (INVERSE_BLOCK * (current - previous))
            if not audible:
                continue
            begin = j * BLOCK
            end = min(begin + BLOCK, length)
            f0, f1, f2 = firsts[0], firsts[1], firsts[2]
            s0, s1, s2 = steps[0], steps[1], steps[2]
            x = source[begin:end]  # slices: indices the compiler knows are in range
            out0 = left[start + begin : start + end]
            out1 = right[start + begin : start + end]
            out2 = reverb[start + begin : start + end]
            for i in range(end - begin):
                value = np.float32(x[i])
                k = np.float32(i)
                out0[i] += (f0 + s0 * k) * value
                out1[i] += (f1 + s1 * k) * value
                out2[i] += (f2 + s2 * k) * value
            if with_chorus and (firsts[3] != 0 or firsts[4] != 0 or steps[3] != 0 or steps[4] != 0):
                f3, f4, s3, s4 = firsts[3], firsts[4], steps[3], steps[4]
                out3 = chorus[0, start + begin : start + end]
                out4 = chorus[1, start + begin : start + end]
                for i in range(end - begin):
                    value = np.float32(x[i])
                    k = np.float32(i)
                    out3[i] += (f3 + s3 * k) * value
                    out4[i] += (f4 + s4 * k) * value
