"""Export: WAV loop points read back by libsndfile, FLAC/OGG, MIDI read back, the manifest."""

import io
import json
import struct
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile

from engine_core.errors import InvalidSpecError
from engine_core.export.midi import TICKS_PER_QUARTER
from engine_core.export.variant_files import write_variant_set
from engine_core.export.wav import wav_bytes, write_audio
from engine_core.generate import Engine
from engine_core.variant import VariantMeta
from tests.chorale_scores import band_spec, band_variants, chorale_score

SFC_GET_INSTRUMENT = 0x10D0  # libsndfile: read the sampler (smpl) chunk
SF_LOOP_FORWARD = 801


def libsndfile_loops(path: Path) -> list[tuple[int, int, int]]:
    """(mode, start, end) of every loop, as libsndfile (C, independent of our writer) reads them.

    SF_INSTRUMENT: int gain; 6 chars; int loop_count; 16 x {int mode; uint start, end, count}.
    libsndfile reports `end` one past the last looped sample.
    """
    from soundfile import _ffi, _snd

    with soundfile.SoundFile(path) as audio_file:
        buffer = _ffi.new("char[]", 272)
        if not _snd.sf_command(audio_file._file, SFC_GET_INSTRUMENT, buffer, 272):
            return []
        raw = bytes(_ffi.buffer(buffer))
    count = struct.unpack_from("<i", raw, 12)[0]
    return [struct.unpack_from("<iII", raw, 16 + 16 * i) for i in range(count)]


def test_smpl_chunk_is_read_back_by_libsndfile(tmp_path: Path) -> None:
    audio = np.random.default_rng(0).uniform(-0.5, 0.5, (48000, 2)).astype(np.float32)
    path = tmp_path / "loop.wav"
    path.write_bytes(wav_bytes(audio, 48000, loop=(0, 48000)))
    assert libsndfile_loops(path) == [(SF_LOOP_FORWARD, 0, 48000)]
    data, rate = soundfile.read(path, dtype="float32")
    assert rate == 48000 and data.shape == (48000, 2)
    np.testing.assert_allclose(data, audio, atol=1 / 32768 + 1e-6)


def test_a_wav_without_a_loop_has_no_smpl_chunk(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "plain.wav", np.zeros((4800, 2), np.float32), 48000)
    assert libsndfile_loops(path) == []


def test_variant_set_files_and_manifest(tmp_path: Path) -> None:
    variant_set = band_variants()
    manifest_path = write_variant_set(variant_set, tmp_path, audio_format="wav")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["state"] == "battle" and manifest["seed"] == 3
    assert manifest["generation_hash"] == variant_set.generation_hash
    assert len(manifest["variants"]) == 3
    for entry, variant in zip(manifest["variants"], variant_set.variants, strict=True):
        assert VariantMeta.from_json(entry["meta"]) == variant.meta
        assert entry["seam"]["passed"] is True
        mix_path = tmp_path / entry["mix"]
        assert libsndfile_loops(mix_path) == [(SF_LOOP_FORWARD, 0, variant.meta.loop_end)]
        data, _ = soundfile.read(mix_path, dtype="float32")
        np.testing.assert_allclose(data, variant.mix, atol=1 / 32768 + 1e-6)
        assert set(entry["stems"]) == set(variant.stems)
        for stem_path in entry["stems"].values():
            assert libsndfile_loops(tmp_path / stem_path)[0][2] == variant.meta.loop_end
        assert (tmp_path / entry["midi"]).read_bytes() == variant.midi


@pytest.mark.parametrize(("audio_format", "tolerance"), [("flac", 1 / 32768 + 1e-6), ("ogg", None)])
def test_flac_and_ogg_read_back_at_full_length(
    tmp_path: Path, audio_format: str, tolerance: float | None
) -> None:
    variant = band_variants().variants[0]
    path = write_audio(
        tmp_path / f"mix.{audio_format}", variant.mix, 48000, audio_format=audio_format
    )
    data, rate = soundfile.read(path, dtype="float32")
    assert rate == 48000 and data.shape == variant.mix.shape
    if tolerance is not None:
        np.testing.assert_allclose(data, variant.mix, atol=tolerance)
    else:  # lossy: the decoded waveform still follows the original closely
        correlation = np.corrcoef(data[:, 0], variant.mix[:, 0])[0, 1]
        assert correlation > 0.95


def test_unknown_audio_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidSpecError, match="mp4"):
        write_variant_set(band_variants(), tmp_path, audio_format="mp4")
    assert not any(tmp_path.iterdir())


def test_midi_reads_back_with_tempo_meter_and_key_in_mido() -> None:
    variant = band_variants().variants[0]
    midi_file = mido.MidiFile(file=io.BytesIO(variant.midi))
    conductor = {m.type: m for m in midi_file.tracks[0] if m.is_meta}
    assert mido.tempo2bpm(conductor["set_tempo"].tempo) == pytest.approx(120.0)
    assert (conductor["time_signature"].numerator, conductor["time_signature"].denominator) == (
        4,
        4,
    )
    assert conductor["key_signature"].key == "Dm"
    names = [next(m.name for m in t if m.type == "track_name") for t in midi_file.tracks[1:]]
    assert names == ["lead", "strings", "bass", "drums"]
    loop_ticks = 4 * 4 * TICKS_PER_QUARTER
    for track in midi_file.tracks[1:]:
        now = 0
        for message in track:
            now += message.time
            assert now <= loop_ticks  # notes are clipped at the loop end
    assert sum(m.time for m in midi_file.tracks[0]) == loop_ticks


def test_midi_reads_back_in_music21() -> None:
    from music21 import converter, key, meter, tempo

    variant = band_variants().variants[0]
    parsed = converter.parseData(variant.midi, format="midi")
    marks = list(parsed.recurse().getElementsByClass(tempo.MetronomeMark))
    assert marks and marks[0].number == pytest.approx(120.0)
    signature = next(iter(parsed.recurse().getElementsByClass(meter.TimeSignature)))
    assert signature.ratioString == "4/4"
    keys = list(parsed.recurse().getElementsByClass(key.KeySignature))
    assert keys and keys[0].sharps == -1  # D minor: one flat
    assert len(parsed.parts) == 4


def test_compound_meter_midi_tempo_counts_quarters() -> None:
    spec = band_spec(meter="6/8", bpm=80.0, bars=1, key="E major")
    score = chorale_score(bars=1)
    from dataclasses import replace

    score = replace(score, meter="6/8", notes=tuple(n for n in score.notes if n.step < 12))
    variant = Engine().render_scores(spec, [score], state="s", seed=0).variants[0]
    conductor = mido.MidiFile(file=io.BytesIO(variant.midi)).tracks[0]
    set_tempo = next(m for m in conductor if m.type == "set_tempo")
    assert mido.tempo2bpm(set_tempo.tempo) == pytest.approx(120.0)  # 80 dotted quarters
    signature = next(m for m in conductor if m.type == "time_signature")
    assert (signature.numerator, signature.denominator) == (6, 8)
    assert next(m for m in conductor if m.type == "key_signature").key == "E"


def test_plot_writes_a_png_with_a_row_per_stem(tmp_path: Path) -> None:
    from engine_core.export.plot import plot_variant

    variant = band_variants().variants[0]
    path = plot_variant(variant, tmp_path / "plot.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    assert width == 12 * 80 and height == round(2.0 * (2 + len(variant.stems)) * 80)


def test_the_state_summary_shows_every_stem_of_every_variant(tmp_path: Path) -> None:
    from engine_core.export.plot import plot_state_summary

    variants = band_variants().variants
    path = plot_state_summary(variants, tmp_path / "summary.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    assert width == round(4.0 * len(variants) * 70)
    assert height == round(1.4 * len(variants[0].stems) * 70)
