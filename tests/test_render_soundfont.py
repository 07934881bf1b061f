"""SoundFont loading and synthesis: the default bank, determinism, and clear errors."""

from pathlib import Path

import mido
import numpy as np
import pytest

from engine_core.errors import SoundFontError
from engine_core.generate import Engine
from engine_core.render.soundfont import RENDER_SAMPLE_RATE, SoundFont, default_soundfont_path
from tests.chorale_scores import ChoraleComposer, band_spec


def _one_note_midi(path: Path) -> bytes:
    midi_file = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi_file.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000))
    track.append(mido.Message("note_on", note=60, velocity=100))
    track.append(mido.Message("note_off", note=60, time=480))
    midi_file.save(path)
    return path.read_bytes()


def test_default_bank_is_fluid_r3_general_midi() -> None:
    sound_font = SoundFont.load()
    assert sound_font.path == default_soundfont_path()
    assert sound_font.path.name == "FluidR3_GM.sf2"
    assert len(sound_font.digest) == 12


def test_rendering_is_stereo_48k_and_deterministic(tmp_path: Path) -> None:
    midi = _one_note_midi(tmp_path / "note.mid")
    sound_font = SoundFont.load()
    first, second = sound_font.render(midi), sound_font.render(midi)
    assert first.dtype == np.float32 and first.shape[1] == 2
    assert abs(first.shape[0] - RENDER_SAMPLE_RATE // 2) < 1000  # one beat at 120 bpm
    assert np.max(np.abs(first)) > 0.01
    assert first.tobytes() == second.tobytes()


def test_missing_soundfont_names_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sf2"
    with pytest.raises(SoundFontError, match="not found") as info:
        SoundFont.load(missing)
    assert info.value.detail["path"] == str(missing)
    assert info.value.code == "soundfont_error"


def test_a_file_that_is_not_a_soundfont_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(64))
    with pytest.raises(SoundFontError, match="sfbk") as info:
        SoundFont.load(fake)
    assert info.value.detail["path"] == str(fake)


def test_a_truncated_soundfont_fails_when_rendering(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(default_soundfont_path().read_bytes()[:200_000])
    sound_font = SoundFont.load(broken)
    with pytest.raises(SoundFontError, match=r"broken\.sf2"):
        sound_font.render(_one_note_midi(tmp_path / "note.mid"))


def test_a_spec_naming_a_missing_soundfont_fails_before_composing(tmp_path: Path) -> None:
    calls: list[str] = []
    spec = band_spec(soundfont=str(tmp_path / "missing.sf2"))
    engine = Engine(ChoraleComposer())
    with pytest.raises(SoundFontError) as info:
        engine.generate(
            spec,
            state="menu",
            seed=0,
            variants=1,
            progress=lambda stage, done, total: calls.append(stage),
        )
    assert info.value.detail["path"].endswith("missing.sf2")
    assert calls == []


def test_engine_soundfont_argument_is_checked(tmp_path: Path) -> None:
    engine = Engine(ChoraleComposer(), soundfont=tmp_path / "missing.sf2")
    with pytest.raises(SoundFontError):
        _ = engine.engine_version


def test_pcm_is_read_from_the_synthesisers_wav_without_a_copy(tmp_path: Path) -> None:
    import io
    import wave

    import midirenderer

    from engine_core.render.soundfont import _pcm_frames

    midi = _one_note_midi(tmp_path / "note.mid")
    sound_font = SoundFont.load()
    wave_bytes = midirenderer.render_wave_from(sound_font.data, midi)
    with wave.open(io.BytesIO(wave_bytes)) as reader:
        expected = np.frombuffer(reader.readframes(reader.getnframes()), "<i2").reshape(-1, 2)
    pcm = sound_font.render_pcm(midi)
    assert pcm.dtype == np.dtype("<i2") and np.array_equal(pcm, expected)
    assert pcm.base is not None and not pcm.flags.writeable  # a view of the bytes

    mono = io.BytesIO()
    with wave.open(mono, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RENDER_SAMPLE_RATE)
        writer.writeframes(b"\x00\x00" * 10)
    with pytest.raises(SoundFontError, match="1 channel"):
        _pcm_frames(mono.getvalue(), tmp_path / "bank.sf2")
    with pytest.raises(SoundFontError, match="no audio"):
        _pcm_frames(b"RIFF\x04\x00\x00\x00WAVE", tmp_path / "bank.sf2")
