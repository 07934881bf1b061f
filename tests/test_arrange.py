"""Arrangement: key and mode, registers, humanisation bounds, velocities, instruments."""

import itertools

import pytest

from engine_core.arrange.arranger import (
    HUMANISE_MS,
    arrange,
    fit_register,
    map_pitch,
    spec_energy,
)
from engine_core.arrange.instruments import resolve_program
from engine_core.errors import InvalidSpecError
from engine_core.spec import Key, StemSpec
from tests.chorale_scores import band_spec, chorale_score

ALL_ROLES = (
    StemSpec("tune", "melody", program=73, register=(60, 84)),
    StemSpec("second", "counter", program=71, register=(55, 76)),
    StemSpec("chords", "harmony", program=0, register=(48, 72)),
    StemSpec("pad", "pad", program=89, register=(48, 72)),
    StemSpec("arp", "arp", program=46, register=(60, 84)),
    StemSpec("bass", "bass", program=32, register=(28, 50)),
    StemSpec("drums", "drums"),
    StemSpec("hands", "percussion"),
)


@pytest.mark.parametrize(
    ("pitch", "mode", "key", "expected"),
    [
        (60, "major", "C major", 60),
        (64, "major", "D minor", 65),  # E (3rd of C major) -> F (3rd of D minor)
        (71, "major", "G mixolydian", 72 + 5 - 12),  # B (7th) -> F (flat 7th of G)
        (63, "minor", "A minor", 60),  # Eb (3rd of C minor) -> C (3rd of A minor)
        (66, "major", "C major", 66),  # F#: chromatic notes ride on their degree
    ],
)
def test_map_pitch_keeps_scale_degrees(pitch: int, mode: str, key: str, expected: int) -> None:
    assert map_pitch(pitch, mode, Key.parse(key)) == expected


def test_fit_register_moves_lines_by_octaves_into_the_range() -> None:
    fitted = fit_register([84, 86, 88, 91], 36, 60)
    assert fitted == [48, 50, 52, 55]
    assert all(36 <= p <= 60 for p in fit_register([20, 100, 60], 36, 60))


def _arranged(seed: int = 0, **changes: object):  # -> Arrangement
    spec = band_spec(stems=ALL_ROLES, **changes)
    return spec, arrange(chorale_score(bars=4), spec, seed=seed)


def test_every_role_gets_notes_inside_its_register() -> None:
    _spec, arrangement = _arranged()
    for stem in arrangement.stems:
        assert stem.notes, stem.stem.name
        if not stem.is_drum:
            low, high = stem.stem.register
            assert all(low <= n.pitch <= high for n in stem.notes), stem.stem.name
    assert arrangement.stems[6].groove == "orchestral_pulse"
    assert arrangement.stems[7].groove == "war_drums"


def test_humanised_onsets_stay_near_the_grid_and_inside_the_loop() -> None:
    spec, arrangement = _arranged(seed=11)
    loop_beats = arrangement.loop_beats
    tolerance_beats = HUMANISE_MS / 1000 * spec.bpm / 60
    for stem in arrangement.stems:
        for note in stem.notes:
            assert 0.0 <= note.start_beats < loop_beats
            if stem.stem.role in ("melody", "bass", "harmony"):
                grid = round(note.start_beats * 4) / 4  # sixteenths
                assert abs(note.start_beats - grid) <= tolerance_beats + 1e-9
            assert 1 <= note.velocity <= 127


def test_the_seed_changes_only_the_humanisation() -> None:
    """In pitched parts; drum parts also vary their groove with the seed (test_arrange_drums)."""
    _, first = _arranged(seed=1)
    _, second = _arranged(seed=2)
    _, again = _arranged(seed=1)
    assert first == again
    assert first != second
    for a, b in zip(first.stems, second.stems, strict=True):
        if a.is_drum:
            continue
        assert sorted(n.pitch for n in a.notes) == sorted(n.pitch for n in b.notes)


def test_energy_raises_velocities() -> None:
    _, calm = _arranged(energy=0.1)
    _, fierce = _arranged(energy=0.95)
    for quiet, loud in zip(calm.stems[:6], fierce.stems[:6], strict=True):
        mean = lambda stem: sum(n.velocity for n in stem.notes) / len(stem.notes)  # noqa: E731
        assert mean(loud) > mean(quiet) + 15


def test_tags_imply_energy_when_the_spec_leaves_it_open() -> None:
    assert spec_energy(band_spec(tags=("calm", "ambient"))) < 0.3
    assert spec_energy(band_spec(tags=("aggressive", "rock"))) > 0.8
    assert spec_energy(band_spec(tags=("calm",), energy=0.9)) == 0.9


def test_same_pitch_notes_never_overlap() -> None:
    _, arrangement = _arranged(seed=4)
    for stem in arrangement.stems:
        by_pitch: dict[int, list[tuple[float, float]]] = {}
        for n in stem.notes:
            by_pitch.setdefault(n.pitch, []).append((n.start_beats, n.duration_beats))
        for spans in by_pitch.values():
            spans.sort()
            for (start, length), (following, _) in itertools.pairwise(spans):
                assert start + length <= following


@pytest.mark.parametrize(
    ("name", "program"),
    [(40, 40), ("Violin", 40), ("string ensemble 1", 48), ("strings", 48), ("flute", 73)],
)
def test_instruments_resolve_by_number_or_name(name: object, program: int) -> None:
    assert resolve_program(name) == program  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [128, -1, "kazoo", True])
def test_unknown_instruments_are_refused(bad: object) -> None:
    with pytest.raises(InvalidSpecError):
        resolve_program(bad)  # type: ignore[arg-type]
