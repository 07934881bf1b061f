"""The synth renderer: RustySynth's voice in numpy/numba, checked against `midirenderer`
itself (real bank, real audio): single notes at several velocities, a note's reverb, whole
stems and mixes, loops as seamless as the reference's, a bounded note cache."""

import itertools

import numpy as np
import pytest

from engine_core.errors import RenderConfigError
from engine_core.generate import Engine
from engine_core.render import reverb, synth_renderer
from engine_core.render.note_renderer import bank_context
from engine_core.render.notes import NoteCache, NoteKey, batch_midi
from engine_core.render.seam import seam_report
from engine_core.render.soundfont import PCM_SCALE, SoundFont
from engine_core.render.voice import ChannelState, note_voices, render_note
from engine_core.spec import StemSpec
from tests.chorale_scores import ChoraleComposer, band_spec


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(audio, dtype=np.float64) ** 2)))


def _error_db(reference: np.ndarray, new: np.ndarray) -> float:
    return 20.0 * np.log10(max(_rms(reference - new), 1e-30) / max(_rms(reference), 1e-12))


@pytest.fixture(scope="module")
def bank() -> SoundFont:
    return SoundFont.load()


def _synth_note(bank: SoundFont, key: NoteKey, release_blocks: int, reverb_cc: int):
    """The synthesiser's own render of one note (from the bank without chorus sends), and
    ours: dry + reverb, both from the note-on sample."""
    context = bank_context(str(bank.path), bank.digest)
    midi, starts = batch_midi([key], release_blocks, reverb_cc=reverb_cc)
    theirs = context.reverb_only.render_pcm(midi).astype(np.float32) * PCM_SCALE
    theirs = theirs[starts[0] * 64 :]
    voices = note_voices(context.layout, key.program, key.drums, key.pitch, key.velocity)
    note = render_note(
        voices,
        context.layout.wave(),
        key.pitch,
        key.velocity,
        key.blocks,
        ChannelState(pan=key.pan, reverb=reverb_cc),
    )
    frames = theirs.shape[0]
    ours = np.zeros((frames, 2), np.float32)
    n = min(frames, note.frames)
    ours[:n] = note.dry[:n]
    bus = np.zeros(frames, np.float32)
    bus[:n] = note.reverb[:n]
    return theirs, ours + reverb.apply(bus).T


@pytest.mark.parametrize(
    ("program", "drums", "pitch", "blocks"),
    [(0, False, 60, 200), (48, False, 55, 300), (32, False, 40, 60), (0, True, 38, 10)],
)
def test_a_note_matches_the_synthesiser_at_every_velocity(
    bank: SoundFont, program: int, drums: bool, pitch: int, blocks: int
) -> None:
    """Piano, strings, bass and a snare, soft to loud, with the channel's default reverb:
    the voice model (envelopes, filter, velocity gain, the reverb's per-voice gate) and the
    synthesiser's impulse response reproduce its output to better than -40 dB (-35 dB
    for a soft note, whose error is mostly the synthesiser's own 16-bit rounding)."""
    for velocity in (30, 80, 127):
        key = NoteKey(bank.digest, program, drums, 64, pitch, velocity, blocks)
        theirs, ours = _synth_note(bank, key, 800, reverb_cc=40)
        assert _rms(theirs) > 0
        assert _error_db(theirs, ours) < (-35.0 if velocity < 50 else -40.0), (program, velocity)


def test_velocity_is_not_a_gain(bank: SoundFont) -> None:
    """A loud piano note feeds the reverb, a soft one does not (the synthesiser's gate):
    each velocity is its own note."""
    context = bank_context(str(bank.path), bank.digest)
    voices = note_voices(context.layout, 0, False, 60, 40)
    soft = render_note(voices, context.layout.wave(), 60, 40, 100, ChannelState())
    voices = note_voices(context.layout, 0, False, 60, 127)
    loud = render_note(voices, context.layout.wave(), 60, 127, 100, ChannelState())
    assert _rms(loud.dry) > 4 * _rms(soft.dry)
    assert _rms(loud.reverb) > 0 and _rms(soft.reverb) == 0


def _added(note: synth_renderer.PackedNote, gain: np.float32) -> tuple[np.ndarray, ...]:
    """A packed note added to empty stem buses: dry (frames, 2), reverb input, chorus."""
    dry = np.zeros((2, note.frames), np.float32)
    bus = np.zeros(note.frames, np.float32)
    chorus = np.zeros((2, note.frames), np.float32)
    note.add(gain, 0, note.frames, dry, bus, chorus)
    return dry.T, bus, chorus.T


def _played(bank: SoundFont, key: NoteKey) -> tuple[np.ndarray, np.ndarray]:
    """A note as a stem plays it: the cached note of its velocity layer, its gains times
    the velocity's."""
    cached, gain = synth_renderer.played_as(key, bank)
    dry, bus, _ = _added(synth_renderer.note_buses(cached, bank), gain)
    return dry, bus


def _padded(audio: np.ndarray, frames: int) -> np.ndarray:
    out = np.zeros((frames, *audio.shape[1:]), np.float32)
    out[: min(frames, audio.shape[0])] = audio[:frames]
    return out


@pytest.mark.parametrize(
    ("program", "drums", "pitch", "velocity", "dry_db", "reverb_db"),
    [
        (32, False, 40, 90, -80.0, -80.0),  # bass, layer 65-96
        (61, False, 60, 110, -80.0, -80.0),  # brass, layer 97-112
        (0, True, 38, 30, -80.0, None),  # a snare, layer 1-80: soft, so no reverb at all
        (73, False, 72, 40, -80.0, None),  # flute, layer 1-64: soft, no reverb
        (50, False, 60, 90, -80.0, -80.0),  # synth strings: chorused, layer 1-127
    ],
)
def test_a_softer_note_is_its_velocity_layers_note_times_its_gain(
    bank: SoundFont,
    program: int,
    drums: bool,
    pitch: int,
    velocity: int,
    dry_db: float,
    reverb_db: float | None,
) -> None:
    """Velocity as a gain: one render per velocity layer (at its top velocity), a softer
    note that render with every voice's gains times (velocity / top)^2, the synthesiser's
    output stage (its gate, held or ramped gains) run on them. Against the note
    synthesised at its own velocity, dry and reverb input match to -80 dB (the cache's
    16 bits are the difference), the soft snare's and flute's reverb gated out entirely
    as the synthesiser gates it."""
    key = NoteKey(bank.digest, program, drums, 64, pitch, velocity, 120)
    cached, gain = synth_renderer.played_as(key, bank)
    layer = bank.layout.velocity_layer(program, pitch, velocity, drums=drums)
    assert cached.velocity == layer[-1] > velocity and 0 < gain < 1
    assert cached == NoteKey(bank.digest, program, drums, 64, pitch, layer[-1], 120)
    dry, bus = _played(bank, key)
    context = bank_context(str(bank.path), bank.digest)
    voices = note_voices(context.layout, program, drums, pitch, velocity)
    truth = render_note(
        voices, context.layout.wave(), pitch, velocity, 120, ChannelState(pan=64), silence=1e-6
    )
    frames = max(truth.frames, dry.shape[0])
    assert _error_db(_padded(truth.dry, frames), _padded(dry, frames)) < dry_db
    if reverb_db is None:  # the synthesiser's gate leaves the soft note's reverb out
        assert not truth.reverb.any() and not bus.any()
    else:
        assert _rms(truth.reverb) > 0
        assert _error_db(_padded(truth.reverb, frames), _padded(bus, frames)) < reverb_db


def test_a_velocity_that_reshapes_a_note_is_its_own_note(bank: SoundFont) -> None:
    """Where the velocity does more than scale, each velocity is synthesised and kept as
    itself: a modulation envelope longer than a block reaching the filter (the synth
    brass's 0.3 s sweep, GM program 62), or one whose fast sweep a velocity would move by
    a semitone (the piano's filter at middle C); the top of a layer is its own note too."""
    for program, pitch, velocity in ((62, 48, 70), (0, 60, 40), (0, 48, 127)):
        key = NoteKey(bank.digest, program, False, 64, pitch, velocity, 120)
        assert synth_renderer.played_as(key, bank) == (key, np.float32(1.0))


def test_a_note_is_synthesised_once_and_reused_bit_identically(bank: SoundFont) -> None:
    cache = NoteCache()
    key = NoteKey(bank.digest, 50, False, 64, 60, 100, 120)  # synth strings: chorus send
    first = synth_renderer.note_buses(key, bank)
    cache.put(key, first)
    assert cache.get(key) is first and not first.pcm.flags.writeable
    assert first.chorused  # dry L/R, reverb input, chorus input L/R
    again = synth_renderer.note_buses(key, bank)
    for name in ("pcm", "scales", "gains", "lengths"):
        assert getattr(again, name).tobytes() == getattr(first, name).tobytes(), name
    plain = synth_renderer.note_buses(NoteKey(bank.digest, 0, False, 64, 60, 100, 120), bank)
    assert not plain.chorused


@pytest.mark.parametrize(("program", "velocity"), [(0, 100), (50, 100), (48, 90), (0, 40)])
def test_a_packed_note_gives_back_its_buses(bank: SoundFont, program: int, velocity: int) -> None:
    """What the cache holds (each voice's samples before its gains, in 16 bits scaled by
    the voice's peak, and its gains per block) added into a stem at its own velocity
    matches the note's buses as the synthesiser's voice makes them to -80 dB, in fewer
    bytes than the float buses hold."""
    context = bank_context(str(bank.path), bank.digest)
    voices = note_voices(context.layout, program, False, 60, velocity)
    note = render_note(voices, context.layout.wave(), 60, velocity, 150, ChannelState())
    packed = synth_renderer.note_buses(
        NoteKey(bank.digest, program, False, 64, 60, velocity, 150), bank
    )
    assert packed.nbytes < note.buses.nbytes
    dry, bus, chorus = _added(packed, np.float32(1.0))
    frames = max(note.frames, packed.frames)
    assert _error_db(_padded(note.dry, frames), _padded(dry, frames)) < -80.0
    assert _error_db(_padded(note.reverb, frames), _padded(bus, frames)) < -80.0
    if note.chorus is not None:
        assert _error_db(_padded(note.chorus, frames), _padded(chorus, frames)) < -80.0
    else:
        assert not chorus.any()


def test_the_note_cache_keeps_to_its_budget(bank: SoundFont) -> None:
    keys = [NoteKey(bank.digest, 0, False, 64, p, 100, 100) for p in range(48, 60)]
    notes = [synth_renderer.note_buses(k, bank) for k in keys]
    budget = 3 * max(n.nbytes for n in notes) + 1000
    cache = NoteCache(budget)
    for key, note in zip(keys, notes, strict=True):
        cache.put(key, note)
    assert 0 < cache.size_bytes <= budget
    assert 1 <= len(cache) < len(keys)
    assert cache.get(keys[-1]) is not None and cache.get(keys[0]) is None


def _chorus_spec():
    """The band plus a synth-strings stem (FluidR3 program 50 sends 60% to the chorus)."""
    stems = (*band_spec().stems, StemSpec("synth", "harmony", program=50, register=(55, 79)))
    return band_spec(stems=stems)


@pytest.fixture(scope="module")
def both_renderers():
    synth_renderer.process_cache().clear()  # earlier tests render with it too (the default)
    spec = _chorus_spec()
    reference = Engine(ChoraleComposer(), renderer="reference").generate(
        spec, state="battle", seed=3, variants=2
    )
    engine = Engine(ChoraleComposer(), renderer="synth")
    synth = engine.generate(spec, state="battle", seed=3, variants=2)
    again = engine.generate(spec, state="battle", seed=3, variants=2)
    return reference, synth, again


def test_the_synth_renderer_is_deterministic(both_renderers) -> None:
    """Two runs give the same bytes; the synth renderer is the default, so its engine
    version has no renderer suffix and the reference's has one (their cache keys differ)."""
    reference, synth, again = both_renderers
    for first, second in zip(synth.variants, again.variants, strict=True):
        assert first.mix.tobytes() == second.mix.tobytes()
        assert "+r." not in first.meta.engine_version
    assert Engine(ChoraleComposer()).renderer == "synth"
    assert all(v.meta.engine_version.endswith("+r.reference") for v in reference.variants)


@pytest.mark.slow
def test_render_workers_give_the_same_audio(both_renderers) -> None:
    """Two render threads sharing the process's note cache, filling it in whatever order
    they run, give the bytes one thread gives: a note's render does not depend on what
    was cached before it, nor on which thread made it."""
    _, synth, _ = both_renderers
    with Engine(ChoraleComposer(), renderer="synth", render_workers=2) as engine:
        parallel = engine.generate(_chorus_spec(), state="battle", seed=3, variants=2)
    for first, second in zip(synth.variants, parallel.variants, strict=True):
        assert first.mix.tobytes() == second.mix.tobytes()
        for name, audio in first.stems.items():
            assert audio.tobytes() == second.stems[name].tobytes(), name


def test_a_set_keeps_its_notes_in_the_process_cache(both_renderers) -> None:
    """The budget holds a set's notes: each note was synthesised once and is still held
    (nothing dropped), and the repeated render took every note from the cache."""
    cache = synth_renderer.process_cache()
    assert cache.budget_bytes == synth_renderer.BUDGET_BYTES <= 256 * 1024 * 1024
    assert 0 < len(cache) == cache.misses
    assert cache.size_bytes <= cache.budget_bytes
    assert cache.hits >= cache.misses


def test_synth_loops_are_seamless(both_renderers) -> None:
    _, synth, _ = both_renderers
    for variant in synth.variants:
        meta = variant.meta
        report = seam_report(variant.mix, meta.bar_samples, meta.sample_rate)
        assert report.passed, report.to_json()


def test_effect_tails_are_folded_onto_the_head(both_renderers) -> None:
    """The loop's first half second holds the releases, reverb and chorus that ring on
    past its end (folded back as an endless repetition hears them): it matches the
    reference's there, stem by stem, to -30 dB."""
    reference, synth, _ = both_renderers
    for ours, theirs in zip(synth.variants, reference.variants, strict=True):
        head = ours.meta.sample_rate // 2
        for name in theirs.stems:
            assert _error_db(theirs.stems[name][:head], ours.stems[name][:head]) < -30.0, name


def _octave_bands_db(audio: np.ndarray, rate: int) -> np.ndarray:
    spectrum = np.abs(np.fft.rfft(audio.astype(np.float64).mean(axis=1))) ** 2
    freqs = np.fft.rfftfreq(audio.shape[0], 1.0 / rate)
    edges = 62.5 * 2.0 ** np.arange(9)  # 62.5 Hz .. 16 kHz
    return np.array(
        [
            10 * np.log10(spectrum[(freqs >= lo) & (freqs < hi)].sum() + 1e-20)
            for lo, hi in itertools.pairwise(edges)
        ]
    )


def test_synth_renderer_against_the_reference(both_renderers) -> None:
    """Every stem (dry, reverberant and chorused) and the mix within -30 dB of the
    reference; the chorused stem's spectral envelope within 1 dB per octave band."""
    reference, synth, _ = both_renderers
    for ours, theirs in zip(synth.variants, reference.variants, strict=True):
        for name in theirs.stems:
            assert _error_db(theirs.stems[name], ours.stems[name]) < -30.0, name
        assert _error_db(theirs.mix, ours.mix) < -30.0
        assert abs(ours.meta.loudness_lufs - theirs.meta.loudness_lufs) < 0.1
        rate = ours.meta.sample_rate
        bands = _octave_bands_db(ours.stems["synth"], rate)
        assert np.all(np.abs(bands - _octave_bands_db(theirs.stems["synth"], rate)) < 1.0)


@pytest.mark.parametrize("frames", [50000, 49600, 45000, 30000])
def test_the_synth_stems_fold_is_fold_tail_bit_for_bit(frames: int) -> None:
    """The synth renderer folds its float32 stems without padded float64 copies; the
    bytes are `fold_tail`'s (negative zeros and a stem shorter than loop + tail included)."""
    from engine_core.render.seam import fold_tail
    from engine_core.render.stems import _fit_tail, _folded_float_loop

    audio = (np.random.default_rng(frames).standard_normal((frames, 2)) * 0.3).astype(np.float32)
    audio[::7] = -0.0
    loop, tail = 40000, 9600
    expected = fold_tail(_fit_tail(audio, loop + tail, loop), loop)
    assert _folded_float_loop(audio, loop, tail).tobytes() == expected.tobytes()


def test_a_claimed_note_is_waited_for_not_made_again(bank: SoundFont) -> None:
    """`NoteCache.claim`: the first caller makes a missing note, a second one gets the
    maker's event (set once the note is put, or given up), and then finds it held."""
    cache = NoteCache()
    key = NoteKey(bank.digest, 0, False, 64, 60, 100, 40)
    assert cache.claim(key) == (None, None)
    held, making = cache.claim(key)
    assert held is None and making is not None and not making.is_set()
    note = synth_renderer.note_buses(key, bank)
    cache.put(key, note)
    assert making.is_set()
    assert cache.claim(key) == (note, None)
    other = NoteKey(bank.digest, 0, False, 64, 62, 100, 40)
    cache.claim(other)
    _, making = cache.claim(other)
    cache.abandon(other)  # its maker failed: a waiter is released and makes it itself
    assert making.is_set() and cache.claim(other) == (None, None)
    assert cache.misses == 3 and cache.hits == 1  # the abandoned note is claimed twice


def test_render_threads_synthesise_each_note_once(bank: SoundFont) -> None:
    """Two threads building stems that share every note at the same time (the same
    instrument in two variants, as the render pool's threads do) synthesise each distinct
    note once between them, and build the same bytes."""
    from concurrent.futures import ThreadPoolExecutor

    from engine_core.arrange.arranger import arrange
    from engine_core.render.note_renderer import plan_stem
    from tests.chorale_scores import chorale_score

    spec = band_spec(bars=2)
    arrangement = arrange(chorale_score(bars=2), spec, seed=3)
    index = next(i for i, s in enumerate(arrangement.stems) if len(s.notes) > 4)
    keys = {p.key for p in plan_stem(arrangement, index, bank, 2.0)[0]}
    cache = NoteCache()
    with ThreadPoolExecutor(2) as threads:
        stems = list(
            threads.map(
                lambda _: synth_renderer.render_stem_audio(arrangement, index, bank, cache, 2.0),
                range(2),
            )
        )
    assert cache.misses == len(keys) == len(cache)
    assert stems[0].tobytes() == stems[1].tobytes()


def test_the_note_cache_budget_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """`OSTINATO_NOTE_CACHE_MB` sets the process's note cache budget (256 MiB unset); a
    value that is not 0 to 64 GiB is a structured error naming the variable."""
    monkeypatch.delenv(synth_renderer.ENV_NOTE_CACHE_MB, raising=False)
    assert synth_renderer.note_cache_budget() == 256 * 1024 * 1024
    monkeypatch.setenv(synth_renderer.ENV_NOTE_CACHE_MB, " 96 ")
    assert synth_renderer.note_cache_budget() == 96 * 1024 * 1024
    monkeypatch.setenv(synth_renderer.ENV_NOTE_CACHE_MB, "0")
    assert synth_renderer.note_cache_budget() == 0
    for bad in ("lots", "-1", "nan", "1e9"):
        monkeypatch.setenv(synth_renderer.ENV_NOTE_CACHE_MB, bad)
        with pytest.raises(RenderConfigError) as error:
            synth_renderer.note_cache_budget()
        assert error.value.code == "render_config"
        assert error.value.detail == {"variable": "OSTINATO_NOTE_CACHE_MB", "value": bad}


def test_a_process_renders_within_its_note_cache_budget(tmp_path) -> None:
    """A fresh process with a 4 MiB budget renders a band's stems (the notes it needs
    for each stem held while it is built, then dropped) and its cache ends within 4 MiB."""
    import os
    import subprocess
    import sys

    script = (
        "from engine_core.render import synth_renderer\n"
        "from engine_core.render.soundfont import SoundFont\n"
        "from engine_core.generate import Engine\n"
        "from tests.chorale_scores import ChoraleComposer, band_spec\n"
        "spec = band_spec(bars=8)\n"
        "with Engine(ChoraleComposer(), renderer='synth') as engine:\n"
        "    engine.generate(spec, state='s', seed=1, variants=1)\n"
        "cache = synth_renderer.process_cache()\n"
        "print(cache.budget_bytes, cache.size_bytes, len(cache), cache.misses)\n"
    )
    env = {**os.environ, "OSTINATO_NOTE_CACHE_MB": "4"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    assert out.returncode == 0, out.stderr
    budget, size, kept, misses = map(int, out.stdout.split()[-4:])
    assert budget == 4 * 1024 * 1024
    assert 0 < size <= budget
    assert 0 < kept < misses  # notes were made, and some were dropped to stay in budget
