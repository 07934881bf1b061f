"""The default bank: FluidR3_GM when installed, TimGM6mb as the announced fallback, clear
errors for a bad explicit bank, and every program the bundled packs use in tune."""

import io
import logging
from pathlib import Path

import mido
import numpy as np
import pytest

from engine_core.errors import SoundFontError
from engine_core.generate import Engine
from engine_core.render.bank import (
    FALLBACK_BANK_NAME,
    FLUID_GM_PATH,
    LOGGER_NAME,
    default_bank_path,
    fallback_bank_path,
    reset_fallback_notice,
)
from engine_core.render.soundfont import RENDER_SAMPLE_RATE, SoundFont
from middleware.templates.loader import load_pack

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_fluid_r3_is_installed_and_is_the_default_bank() -> None:
    # `make setup` installs fluid-soundfont-gm, so its absence here is a setup failure
    assert FLUID_GM_PATH.is_file()
    bank = SoundFont.load()
    assert bank.path == FLUID_GM_PATH
    assert Engine().engine_version.endswith("+sf." + bank.digest)


def test_the_fallback_is_timgm6mb_with_one_notice_per_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reset_fallback_notice()
    absent = tmp_path / "FluidR3_GM.sf2"
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        first = default_bank_path(absent)
        second = default_bank_path(absent)
    assert first == second == fallback_bank_path()
    assert first.name == FALLBACK_BANK_NAME and first.is_file()
    notices = [r for r in caplog.records if r.name == LOGGER_NAME]
    assert len(notices) == 1
    message = notices[0].getMessage()
    assert "\n" not in message and "fluid-soundfont-gm" in message and "TimGM6mb" in message
    assert SoundFont.load(first).digest != SoundFont.load(FLUID_GM_PATH).digest
    reset_fallback_notice()


def test_the_installed_bank_gives_no_notice(caplog: pytest.LogCaptureFixture) -> None:
    reset_fallback_notice()
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        assert default_bank_path() == FLUID_GM_PATH
    assert not [r for r in caplog.records if r.name == LOGGER_NAME]


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "wave"])
def test_a_bad_explicit_bank_is_a_soundfont_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "bank.sf2"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "wave":
        path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(64))
    with pytest.raises(SoundFontError) as info:
        Engine(soundfont=path).engine_version  # noqa: B018 - resolving the bank is the act
    assert info.value.code == "soundfont_error"
    assert info.value.detail["path"] == str(path)


def _pack_programs() -> tuple[dict[int, set[tuple[int, int]]], set[int]]:
    """({pitched program: registers}, drum kits) of every state and stinger of the packs."""
    pitched: dict[int, set[tuple[int, int]]] = {}
    kits: set[int] = set()
    for folder in sorted(TEMPLATES.iterdir()):
        pack = load_pack(folder)
        templates = [*pack.states.values(), *pack.stingers.values()]
        for template in templates:
            for stem in template.spec.stems:
                if stem.is_drums:
                    kits.add(stem.program)
                else:
                    pitched.setdefault(stem.program, set()).add(tuple(stem.register))
    return pitched, kits


def _test_pitches(register: tuple[int, int]) -> list[int]:
    """The A and the C nearest the register's middle, and its two ends."""
    low, high = register
    middle = (low + high) / 2
    inside = range(low, high + 1)
    a = min((p for p in inside if p % 12 == 9), key=lambda p: abs(p - middle), default=low)
    c = min((p for p in inside if p % 12 == 0), key=lambda p: abs(p - middle), default=high)
    return [a, c, low, high]


#: Each probe note sounds for 1 s in a 1.5 s slot, then All Sound Off clears the channel.
SLOT_SECONDS = 1.5


def _probe_midi(notes: list[tuple[int, int, int]]) -> bytes:
    """(channel, program, pitch) notes one after another, one slot each, at 120 bpm."""
    midi_file = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi_file.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000))
    for channel, program, pitch in notes:
        track.append(mido.Message("program_change", channel=channel, program=program))
        track.append(mido.Message("note_on", channel=channel, note=pitch, velocity=100))
        track.append(mido.Message("note_off", channel=channel, note=pitch, time=960))
        track.append(mido.Message("control_change", channel=channel, control=120, time=479))
        track.append(mido.Message("control_change", channel=channel, control=7, value=100, time=1))
    buffer = io.BytesIO()
    midi_file.save(file=buffer)
    return buffer.getvalue()


def _probe(bank: SoundFont, notes: list[tuple[int, int, int]]) -> list[np.ndarray]:
    """Each probe note's slot, rendered in one synthesiser call."""
    audio = bank.render(_probe_midi(notes)).astype(np.float64)
    slot = int(SLOT_SECONDS * RENDER_SAMPLE_RATE)
    return [audio[i * slot : (i + 1) * slot] for i in range(len(notes))]


def _fundamental_hz(mono: np.ndarray, rate: int) -> float:
    """Autocorrelation pitch of a steady stretch (50 Hz-2 kHz), parabolically refined."""
    frame = mono - mono.mean()
    spectrum = np.fft.rfft(frame * np.hanning(frame.size), 2 * frame.size)
    correlation = np.fft.irfft(np.abs(spectrum) ** 2)[: frame.size]
    low, high = rate // 2000, rate // 50
    lags = correlation[low:high]
    # the first lag within 90% of the best one (avoids picking an octave below)
    best = int(np.flatnonzero(lags >= 0.9 * lags.max())[0])
    while best + 1 < lags.size and lags[best + 1] > lags[best]:
        best += 1
    a, b, c = lags[best - 1], lags[best], lags[best + 1]
    offset = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c else 0.0
    return rate / (low + best + offset)


def _peak_hz(mono: np.ndarray, rate: int) -> float:
    """The strongest spectral peak above 40 Hz (bells and mallets: their sounding pitch)."""
    padded = 8 * mono.size
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size), padded))
    frequencies = np.fft.rfftfreq(padded, 1.0 / rate)
    spectrum[frequencies < 40.0] = 0.0
    return float(frequencies[int(np.argmax(spectrum))])


#: Timpani (GM 47): a struck membrane whose partials run about 1 : 1.5 : 2 over the note,
#: the lowest sounding a little sharp in the attack (FluidR3_GM: +30 to +50 cents). The
#: check finds the partial nearest the note's fundamental and its 3:2 partial.
TIMPANI = {47}
TIMPANI_CENTS = 60.0


def _timpani_cents_off(mono: np.ndarray, pitch: int) -> float:
    """Cents of the partial nearest `pitch`'s fundamental; inf without a 3:2 partial too."""
    padded = 8 * mono.size
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size), padded))
    frequencies = np.fft.rfftfreq(padded, 1.0 / RENDER_SAMPLE_RATE)
    target = 440.0 * 2.0 ** ((pitch - 69) / 12.0)

    def strongest_near(frequency: float) -> tuple[float, float]:
        band = (frequencies > frequency * 2 ** (-1 / 6)) & (frequencies < frequency * 2 ** (1 / 6))
        index = int(np.flatnonzero(band)[np.argmax(spectrum[band])])
        return float(frequencies[index]), float(spectrum[index])

    fundamental, level = strongest_near(target)
    _, fifth_level = strongest_near(1.5 * target)
    if level < 0.05 * spectrum.max() or fifth_level < 0.05 * spectrum.max():
        return float("inf")
    return 1200.0 * float(np.log2(fundamental / target))


def _cents_off(frequency: float, pitch: int) -> float:
    """Distance in cents from `pitch`'s pitch class (octave errors forgiven)."""
    cents = 1200.0 * np.log2(frequency / (440.0 * 2.0 ** ((pitch - 69) / 12.0)))
    return float((cents + 600.0) % 1200.0 - 600.0)


@pytest.mark.slow
def test_every_program_the_packs_use_sounds_in_tune_with_the_default_bank() -> None:
    """Each pitched program at the A and C nearest its register's middle: audible, and its
    pitch class within 25 cents (autocorrelation pitch, or for inharmonic bells and mallets
    the strongest partial); the register's two ends audible; each drum kit's core notes."""
    pitched, kits = _pack_programs()
    assert pitched and kits
    bank = SoundFont.load()
    assert bank.path == FLUID_GM_PATH
    probes = [
        (0, program, pitch, pitch in _test_pitches(register)[:2])
        for program, registers in sorted(pitched.items())
        for register in sorted(registers)
        for pitch in _test_pitches(register)
    ]
    probes += [(9, kit, note, False) for kit in sorted(kits) for note in (36, 38, 42, 47)]
    rendered = _probe(bank, [(channel, program, pitch) for channel, program, pitch, _ in probes])
    problems = []
    for (channel, program, pitch, tuned), audio in zip(probes, rendered, strict=True):
        # pitched notes over their steady part, drum hits over their first 100 ms
        start, stop = (0.1, 0.6) if channel != 9 else (0.0, 0.1)
        steady = audio[int(start * RENDER_SAMPLE_RATE) : int(stop * RENDER_SAMPLE_RATE)]
        rms = float(np.sqrt(np.mean(steady**2)))
        if rms < 1e-3:
            problems.append(("silent", channel, program, pitch, rms))
        elif tuned:
            mono = steady.mean(axis=1)
            offsets = [
                _cents_off(_fundamental_hz(mono, RENDER_SAMPLE_RATE), pitch),
                _cents_off(_peak_hz(mono, RENDER_SAMPLE_RATE), pitch),
            ]
            if program in TIMPANI:
                offsets = [_timpani_cents_off(mono, pitch)]
                limit = TIMPANI_CENTS
            else:
                limit = 25.0
            if min(abs(o) for o in offsets) > limit:
                problems.append(("out of tune", channel, program, pitch, offsets))
    assert not problems
