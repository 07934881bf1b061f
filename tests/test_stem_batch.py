"""Several stems in one synthesiser call: each stem's audio is bit for bit what its own
call gives (the bank is parsed once instead of once per stem)."""

import numpy as np
import pytest

from engine_core.arrange.arranger import arrange
from engine_core.export.midi import stem_render_midi
from engine_core.render.bank import fallback_bank_path
from engine_core.render.pool import balanced_groups
from engine_core.render.soundfont import SoundFont
from engine_core.render.stem_batch import batch_file, render_stems_pcm, stem_events
from engine_core.render.stems import TAIL_SECONDS
from tests.chorale_scores import band_spec, chorale_score

pytestmark = pytest.mark.slow


def _arrangement(bpm: float = 120.0, meter: str = "4/4", seed: int = 3):
    spec = band_spec(bars=4, bpm=bpm, meter=meter)
    return arrange(chorale_score(bars=4), spec, seed=seed, variant_index=0)


def _alone(arrangement, index: int, bank: SoundFont) -> np.ndarray:
    tail_beats = TAIL_SECONDS * arrangement.bpm / 60.0
    return bank.render_pcm(stem_render_midi(arrangement, index, tail_beats=tail_beats))


@pytest.mark.parametrize(
    ("bank_path", "bpm"),
    [(None, 120.0), (None, 97.0), (str(fallback_bank_path()), 133.0)],
    ids=["default-120", "default-97", "timgm-133"],
)
def test_batched_stems_equal_their_own_calls_bit_for_bit(bank_path, bpm: float) -> None:
    bank = SoundFont.load(bank_path)
    arrangement = _arrangement(bpm=bpm)
    indices = list(range(len(arrangement.stems)))
    # twice over, the drums last and again first: every stem follows a sounding one
    order = [*indices, *reversed(indices)]
    batched = render_stems_pcm(arrangement, order, bank, TAIL_SECONDS)
    assert sum(1 for i in indices if arrangement.stems[i].notes) >= 3
    for index, audio in zip(order, batched, strict=True):
        alone = _alone(arrangement, index, bank)
        assert audio.dtype == np.int16
        assert audio.shape == alone.shape, arrangement.stems[index].stem.name
        assert np.array_equal(audio, alone), arrangement.stems[index].stem.name
        assert np.any(audio)


def test_stems_start_on_the_chorus_period_after_a_settling_silence() -> None:
    from engine_core.render.stem_batch import CHORUS_PERIOD, SETTLE_SECONDS

    arrangement = _arrangement()
    stems = [stem_events(arrangement, i, TAIL_SECONDS) for i in range(len(arrangement.stems))]
    _, starts = batch_file(stems)
    assert starts[0] == 0
    for previous, start, stem in zip(starts, starts[1:], stems, strict=False):
        assert start % CHORUS_PERIOD == 0
        assert start - (previous + stem.frames) >= SETTLE_SECONDS * 48000


def _mido_batch_file(stems) -> bytes:
    """The batch file as `mido` writes it (the writer `batch_file` replaced)."""
    import io

    import mido

    from engine_core.render.stem_batch import (
        BLOCK,
        CHORUS_PERIOD,
        RESOLUTION,
        SAMPLE_TEMPO_US,
        SETTLE_SECONDS,
    )

    timed, start = [], 0
    for stem in stems:
        for block, message in stem.events:
            timed.append(
                (max(start + block * BLOCK - BLOCK // 2, 0), mido.Message.from_bytes(message))
            )
        stop = start + -(-stem.frames // BLOCK) * BLOCK + BLOCK // 2
        timed.append((stop, mido.Message("control_change", channel=stem.channel, control=120)))
        start = -(-(stop + int(SETTLE_SECONDS * 48000)) // CHORUS_PERIOD) * CHORUS_PERIOD
    midi_file = mido.MidiFile(type=0, ticks_per_beat=RESOLUTION)
    track = mido.MidiTrack()
    midi_file.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=SAMPLE_TEMPO_US, time=0))
    now = 0
    for tick, message in timed:
        track.append(message.copy(time=tick - now))
        now = tick
    buffer = io.BytesIO()
    midi_file.save(file=buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(("bpm", "meter"), [(120.0, "4/4"), (97.0, "6/8")])
def test_the_batch_file_has_the_bytes_mido_writes(bpm: float, meter: str) -> None:
    arrangement = _arrangement(bpm=bpm, meter=meter)
    stems = [stem_events(arrangement, i, TAIL_SECONDS) for i in range(len(arrangement.stems))]
    assert any(stem.channel == 9 for stem in stems) and any(stem.channel == 0 for stem in stems)
    midi, _ = batch_file(stems)
    assert midi == _mido_batch_file(stems)
    assert batch_file(stems[-1:])[0] == _mido_batch_file(stems[-1:])


def test_a_stem_without_notes_is_not_synthesised() -> None:
    from dataclasses import replace

    arrangement = _arrangement()
    silent = replace(arrangement.stems[0], notes=())
    arrangement = replace(arrangement, stems=(silent, *arrangement.stems[1:]))
    audio = render_stems_pcm(arrangement, [0, 1], SoundFont.load(), TAIL_SECONDS)
    assert audio[0].shape == (0, 2)
    assert np.array_equal(audio[1], _alone(arrangement, 1, SoundFont.load()))


def test_balanced_groups_put_every_stem_in_exactly_one_group_costliest_first() -> None:
    costs = [0.5, 0.2, 0.3, 0.2, 0.55]
    assert balanced_groups(costs, 5) == [(4,), (0,), (2,), (1,), (3,)]
    assert balanced_groups(costs, 1) == [(0, 1, 2, 3, 4)]
    two = balanced_groups(costs, 2)
    assert sorted(i for group in two for i in group) == [0, 1, 2, 3, 4]
    totals = [sum(costs[i] for i in group) for group in two]
    assert totals == sorted(totals, reverse=True) and totals[0] - totals[1] <= 0.2 + 1e-9
    assert balanced_groups([1.0], 4) == [(0,)]
    assert balanced_groups([0.1] * 4, 3) == [(0, 3), (1,), (2,)]  # ties keep index order
