"""The note renderer: notes synthesised once and reused, exact velocities, a bounded cache,
stems placed where the synthesiser places them, and loops as seamless as the reference's."""

import io

import mido
import numpy as np
import pytest

from engine_core.arrange.arranger import arrange
from engine_core.export.midi import stem_render_midi
from engine_core.generate import Engine
from engine_core.render.note_renderer import bank_context, plan_stem, synthesise
from engine_core.render.notes import NoteCache, NoteKey
from engine_core.render.seam import seam_report
from engine_core.render.soundfont import PCM_SCALE, SoundFont
from engine_core.render.stems import TAIL_SECONDS
from tests.chorale_scores import ChoraleComposer, band_spec, chorale_score


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(audio, dtype=np.float64) ** 2)))


def _error_db(reference: np.ndarray, new: np.ndarray) -> float:
    return 20.0 * np.log10(_rms(reference - new) / max(_rms(reference), 1e-12))


@pytest.fixture(scope="module")
def bank() -> SoundFont:
    return SoundFont.load()


def _key(
    bank: SoundFont, velocity: int, blocks: int = 300, pitch: int = 60, program: int = 0
) -> NoteKey:
    return NoteKey(bank.digest, program, False, 64, pitch, velocity, blocks)


def test_a_note_is_synthesised_once_and_reused_bit_identically(bank: SoundFont) -> None:
    cache = NoteCache()
    key = _key(bank, 90)
    synthesise([key, key], bank, cache)
    first = cache.get(key)
    assert first is not None and len(cache) == 1 and _rms(first[:, :2]) > 0
    assert first.shape[1] == 2  # FluidR3's piano has no chorus: dry + reverb together
    # a note with a chorus send keeps its dry sound and its reverb apart (synth strings)
    chorused = _key(bank, 127, program=50)
    synthesise([chorused], bank, cache)
    audio = cache.get(chorused)
    assert audio.shape[1] == 4 and _rms(audio[:, :2]) > 0 and _rms(audio[:, 2:]) > 0
    synthesise([key], bank, cache)  # already there: nothing new is rendered
    again = cache.get(key)
    assert again is first and not again.flags.writeable
    fresh = NoteCache()
    synthesise([key], bank, fresh)  # a second synthesis gives the same samples
    assert fresh.get(key).tobytes() == first.tobytes()


def test_each_velocity_is_its_own_render(bank: SoundFont) -> None:
    cache = NoteCache()
    soft, loud = _key(bank, 40), _key(bank, 110)
    synthesise([soft, loud], bank, cache)
    a, b = cache.get(soft).astype(np.float64), cache.get(loud).astype(np.float64)
    assert _rms(b) > 2 * _rms(a)
    # not a gain of the other velocity: the best single gain leaves a clear residual or
    # the synthesiser's velocity-dependent tail makes the lengths differ
    n = min(len(a), len(b))
    gain = float(np.sum(a[:n] * b[:n]) / np.sum(a[:n] ** 2))
    assert len(a) != len(b) or _rms(b[:n] - gain * a[:n]) > 1e-3 * _rms(b)


def test_the_cache_keeps_to_its_budget(bank: SoundFont) -> None:
    keys = [_key(bank, 100, blocks=200, pitch=p) for p in range(48, 60)]
    probe = NoteCache()
    synthesise(keys[:1], bank, probe)
    budget = 3 * probe.size_bytes + 1000
    cache = NoteCache(budget)
    synthesise(keys, bank, cache)
    assert 0 < cache.size_bytes <= budget
    assert 1 <= len(cache) < len(keys)
    assert cache.get(keys[-1]) is not None  # the most recent stay, the oldest went
    assert cache.get(keys[0]) is None
    with pytest.raises(ValueError):
        NoteCache(-1)


def test_summed_notes_equal_the_synthesisers_stem_without_chorus(bank: SoundFont) -> None:
    """Placement to the block, note-off and exclusive-class rules, and each note's own
    reverb: the overlap-add of the cached notes (dry + reverb) matches the whole stem
    rendered by the synthesiser from the bank without chorus sends."""
    spec = band_spec()
    arrangement = arrange(chorale_score(bars=4), spec, seed=0)
    cache = NoteCache()
    for index, stem in enumerate(arrangement.stems):
        placed, frames = plan_stem(arrangement, index, bank, TAIL_SECONDS)
        synthesise([p.key for p in placed], bank, cache)
        dry = np.zeros((frames, 2), dtype=np.float32)
        for note in placed:
            pcm = cache.get(note.key)
            end = min(frames, note.start + pcm.shape[0])
            if note.stop >= 0:
                end = min(end, note.stop)
            audio = pcm[: end - note.start].astype(np.float32) * PCM_SCALE
            dry[note.start : end] += audio[:, :2] + (audio[:, 2:] if audio.shape[1] == 4 else 0)
        midi = mido.MidiFile(
            file=io.BytesIO(
                stem_render_midi(arrangement, index, tail_beats=TAIL_SECONDS * spec.bpm / 60)
            )
        )
        buffer = io.BytesIO()
        midi.save(file=buffer)
        context = bank_context(str(bank.path), bank.digest)
        reference = context.reverb_only.render(buffer.getvalue())
        assert reference.shape[0] == frames
        assert _error_db(reference, dry) < -40.0, stem.stem.name


@pytest.fixture(scope="module")
def both_renderers():
    spec = band_spec()
    reference = Engine(ChoraleComposer(), renderer="reference").generate(
        spec, state="battle", seed=3, variants=2
    )
    engine = Engine(ChoraleComposer(), renderer="notes")
    notes = engine.generate(spec, state="battle", seed=3, variants=2)
    again = engine.generate(spec, state="battle", seed=3, variants=2)
    return reference, notes, again


def test_the_note_renderer_is_deterministic(both_renderers) -> None:
    _, notes, again = both_renderers
    for first, second in zip(notes.variants, again.variants, strict=True):
        assert first.mix.tobytes() == second.mix.tobytes()
        assert first.meta.engine_version.endswith("+r.notes")


def test_note_loops_are_seamless(both_renderers) -> None:
    _, notes, _ = both_renderers
    for variant in notes.variants:
        meta = variant.meta
        report = seam_report(variant.mix, meta.bar_samples, meta.sample_rate)
        assert report.passed, report.to_json()


def test_note_renderer_against_the_reference(both_renderers) -> None:
    """Every stem (dry and reverberant) and the mix within -30 dB of the reference."""
    reference, notes, _ = both_renderers
    for ours, theirs in zip(notes.variants, reference.variants, strict=True):
        for name in theirs.stems:
            assert _error_db(theirs.stems[name], ours.stems[name]) < -30.0, name
        assert _error_db(theirs.mix, ours.mix) < -30.0
        assert abs(ours.meta.loudness_lufs - theirs.meta.loudness_lufs) < 0.1


def test_an_unknown_renderer_is_refused() -> None:
    with pytest.raises(ValueError, match="renderer"):
        Engine(ChoraleComposer(), renderer="fast")


def test_the_bank_is_read_once_per_process(bank: SoundFont) -> None:
    first = bank_context(str(bank.path), bank.digest)
    assert bank_context(str(bank.path), bank.digest) is first


def test_a_stem_with_mixed_chorus_sends_falls_back_to_full_synthesis(bank: SoundFont) -> None:
    """TimGM6mb's strings layer voices with and without chorus: such a stem is synthesised
    whole; FluidR3's strings have one chorus send and are built from notes."""
    from engine_core.render.bank import fallback_bank_path
    from engine_core.render.note_renderer import from_notes

    arrangement = arrange(chorale_score(bars=4), band_spec(), seed=0)
    index = next(i for i, s in enumerate(arrangement.stems) if s.stem.program == 48)
    assert from_notes(arrangement, index, bank)
    assert not from_notes(arrangement, index, SoundFont.load(fallback_bank_path()))
