"""Drum and percussion parts: grooves chosen by style, varied per variant, in the meter.

Real grooves (the bundled library) on real arrangements (chorales from music21's corpus,
and chord progressions written out in 3/4 and 6/8); the overlap is the per-stem Jaccard
index of (sixteenth step, key) onsets (`engine_core.evaluation.stem_overlap`).
"""

import dataclasses
import itertools

import numpy as np
import pytest

from engine_core.arrange.arranger import MODE_INTERVALS, arrange
from engine_core.arrange.drums import drum_part, groove_family
from engine_core.arrange.grooves import DRUM_NOTES, load_library
from engine_core.evaluation.stem_overlap import set_stem_overlap, stem_overlap
from engine_core.score import Score, ScoreNote
from engine_core.spec import GenerationSpec, Key, Meter, StemSpec
from tests.chorale_scores import CHORALES, chorale_score

LIBRARY = load_library()
PROGRESSIONS = (  # in C: I IV V I, I vi IV V, vi IV I V
    ((0, 4, 7), (5, 9, 12), (7, 11, 14), (0, 4, 7)),
    ((0, 4, 7), (9, 12, 16), (5, 9, 12), (7, 11, 14)),
    ((9, 12, 16), (5, 9, 12), (0, 4, 7), (7, 11, 14)),
)
HAT_KEYS = {DRUM_NOTES[i] for i in ("hat", "pedal_hat", "open_hat", "ride")}
ORCHESTRA_KIT_KEYS = {35, 36, 37, 38, 57, 59, 81, *range(41, 54)}


def cadence_score(meter: str, bars: int = 8, progression: int = 0) -> Score:
    """Melody on chord tones each beat, harmony and bass held per bar, over one of
    `PROGRESSIONS` (variants of a set get different ones, as the model's would differ)."""
    info = Meter.parse(meter)
    chords = PROGRESSIONS[progression % len(PROGRESSIONS)]
    notes: list[ScoreNote] = []
    for bar in range(bars):
        chord = chords[bar % len(chords)]
        notes.append(ScoreNote(bar, 0, "bass", 36 + chord[0], info.steps_per_bar, 0.8))
        for pitch in chord:
            notes.append(ScoreNote(bar, 0, "harmony", 60 + pitch, info.steps_per_bar, 0.7))
        for beat in range(info.beats_per_bar):
            pitch = 72 + chord[(beat + bar) % 3]
            notes.append(ScoreNote(bar, beat * info.steps_per_beat, "melody", pitch, 4, 0.8))
    return Score(meter=meter, bars=bars, mode="major", notes=tuple(sorted(notes)))


def spec_for(**changes: object) -> GenerationSpec:
    fields: dict[str, object] = {
        "prompt": "",
        "tags": ("orchestral", "epic", "aggressive", "heroic", "driving", "dense"),
        "bpm": 140.0,
        "meter": "4/4",
        "key": "D minor",
        "bars": 8,
        "energy": 0.85,
        "stems": (
            StemSpec("strings", "arp", program=48, register=(50, 74)),
            StemSpec("bass", "bass", program=43, register=(26, 50)),
            StemSpec("drums", "drums", program=48),
            StemSpec("war_drums", "percussion", program=0),
            StemSpec("timpani", "percussion", program=47, register=(41, 57), pitched=True),
        ),
    }
    fields.update(changes)
    return GenerationSpec(**fields)  # type: ignore[arg-type]


def variant_set(
    spec: GenerationSpec, seed: int, count: int = 4, *, same_score: bool = False
) -> list:  # Arrangements
    if spec.meter == "4/4" and not same_score:
        scores = [chorale_score(CHORALES[i % len(CHORALES)], bars=spec.bars) for i in range(count)]
    else:
        scores = [
            cadence_score(spec.meter, spec.bars, 0 if same_score else i) for i in range(count)
        ]
    return [
        arrange(s, spec, seed=seed, variant_index=i, grooves=LIBRARY) for i, s in enumerate(scores)
    ]


def stem_notes(arrangements: list, name: str) -> list:
    return [next(s.notes for s in a.stems if s.stem.name == name) for a in arrangements]


STYLES = [
    {},
    {"tags": ("rock", "driving"), "stems": (StemSpec("drums", "drums"),)},
    {
        "tags": ("synthwave", "nostalgic"),
        "energy": 0.5,
        "stems": (StemSpec("drums", "drums", program=25),),
    },
    {"tags": ("jazz",), "energy": 0.5, "stems": (StemSpec("drums", "drums", program=32),)},
    {"tags": ("celtic", "folk"), "meter": "6/8", "energy": 0.6},
    {"tags": ("waltz", "orchestral"), "meter": "3/4", "energy": 0.5},
    {"tags": ("march",), "energy": 0.7},
    {"tags": ("ambient",), "meter": "6/8", "energy": 0.2},
    {"tags": ("horror",), "energy": 0.2},
    {"tags": ("horror",), "meter": "3/4", "energy": 0.8},
]


@pytest.mark.parametrize("style", STYLES, ids=lambda s: "-".join(s.get("tags", ("battle",))))
def test_variant_drums_differ_within_the_overlap_range(style: dict) -> None:
    spec = spec_for(**style)
    steps_per_beat = spec.meter_info.steps_per_beat
    for seed in (1, 2, 3):
        arrangements = variant_set(spec, seed)
        for stem in spec.stems:
            if stem.role not in ("drums", "percussion"):
                continue
            variants = stem_notes(arrangements, stem.name)
            if min(len(v) for v in variants) < 8:
                continue
            overlap = set_stem_overlap(variants, steps_per_beat)
            assert 0.2 <= overlap <= 0.8, (stem.name, seed, overlap)


def test_no_variance_means_identical_drums_and_overlap_falls_with_variance() -> None:
    """On one score (timpani follow the chords, so different scores change them too)."""
    means = []
    for variance in (0.0, 0.35, 0.8):
        spec = spec_for(variance=variance)
        overlaps = [
            set_stem_overlap(stem_notes(variant_set(spec, seed, same_score=True), "drums"), 4)
            for seed in (1, 2, 3)
        ]
        means.append(float(np.mean(overlaps)))
    assert means[0] == 1.0
    assert means[0] > means[1] > means[2]


def test_same_seed_and_index_give_the_same_drums() -> None:
    spec = spec_for()
    first = variant_set(spec, seed=5)
    again = variant_set(spec, seed=5)
    assert stem_notes(first, "drums") == stem_notes(again, "drums")
    other_seed = variant_set(spec, seed=6)
    assert stem_notes(first, "drums") != stem_notes(other_seed, "drums")


def test_orchestral_battle_plays_orchestral_percussion_not_a_rock_backbeat() -> None:
    spec = spec_for()
    arrangements = variant_set(spec, seed=1)
    for arrangement in arrangements:
        drums = next(s for s in arrangement.stems if s.stem.name == "drums")
        assert drums.groove.startswith("orchestral"), drums.groove
        assert {n.pitch for n in drums.notes} <= ORCHESTRA_KIT_KEYS
    on_a_standard_kit = spec_for(stems=(StemSpec("drums", "drums", program=0),))
    for arrangement in variant_set(on_a_standard_kit, seed=2):
        assert not {n.pitch for n in arrangement.stems[0].notes} & HAT_KEYS


def test_war_drums_are_drums_not_tambourine_or_cowbell() -> None:
    for meter in ("4/4", "3/4", "6/8"):
        for seed in (1, 2, 3):
            for notes in stem_notes(variant_set(spec_for(meter=meter), seed), "war_drums"):
                keys = {n.pitch for n in notes}
                assert keys and not keys & {DRUM_NOTES["tamb"], DRUM_NOTES["cowbell"]}
                assert keys <= {35, 36, 41, 43, 45, 47, 48, 50}, keys


@pytest.mark.parametrize("meter", ["4/4", "3/4", "6/8"])
def test_timpani_play_the_key_mostly_tonic_and_dominant(meter: str) -> None:
    spec = spec_for(meter=meter)
    key = Key.parse(spec.key)
    scale = {(key.tonic + i) % 12 for i in MODE_INTERVALS[key.mode]}
    pitches = [n.pitch for v in stem_notes(variant_set(spec, seed=4), "timpani") for n in v]
    assert pitches and all(41 <= p <= 57 for p in pitches)
    assert {p % 12 for p in pitches} <= scale
    home = sum(p % 12 in (key.tonic, (key.tonic + 7) % 12) for p in pitches)
    assert home / len(pitches) >= 0.6


def test_an_epic_boss_without_tags_is_orchestral() -> None:
    spec = spec_for(tags=(), prompt="an epic boss fight in a burning castle")
    assert groove_family(spec).family == "orchestral"
    untagged = spec_for(
        tags=(), prompt="the final boss", stems=(StemSpec("drums", "drums", program=0),)
    )
    choice = groove_family(untagged)
    assert choice.family == "orchestral" and choice.reason == "mood 'boss'"


@pytest.mark.parametrize(
    ("changes", "family", "groove"),
    [
        ({"tags": ("waltz",), "meter": "3/4"}, "waltz", "waltz_orchestral"),
        ({"tags": ("jig",), "meter": "6/8"}, "jig", "jig"),
        ({"tags": ("shanty",), "meter": "6/8"}, "jig", "shanty"),
        ({"tags": ("march",)}, "march", "march_snare"),
        ({"tags": ("synthwave",)}, "electronic", "four_on_the_floor"),
        ({"tags": ("tribal",)}, "tribal", "tribal_toms"),
        ({"tags": ("horror",), "meter": "6/8"}, "horror", "horror_six"),
        ({"tags": ("calm",), "prompt": "a tarantella in the square", "meter": "6/8"}, "jig", "jig"),
        ({"tags": (), "prompt": "retro synth chase"}, "electronic", "four_on_the_floor"),
    ],
)
def test_the_style_chooses_the_groove(changes: dict, family: str, groove: str) -> None:
    spec = spec_for(energy=0.6, **changes)
    part = drum_part(
        spec, spec.stems[2], library=LIBRARY, energy=0.6, seed=0, variant_index=0, stem_index=2
    )
    assert (part.family, part.groove) == (family, groove)


@pytest.mark.parametrize("meter", ["4/4", "3/4", "6/8"])
def test_ambient_drums_are_a_soft_texture(meter: str) -> None:
    spec = spec_for(tags=("ambient", "calm"), meter=meter, energy=0.2)
    for notes in stem_notes(variant_set(spec, seed=1), "drums"):
        keys = {n.pitch for n in notes}
        assert not keys & {DRUM_NOTES["snare"], DRUM_NOTES["kick"], *HAT_KEYS}
        assert all(n.velocity <= 60 for n in notes)
        assert len(notes) <= 3 * spec.bars * Meter.parse(meter).beats_per_bar


@pytest.mark.parametrize("meter", ["4/4", "3/4", "6/8"])
@pytest.mark.parametrize("energy", [0.1, 0.5, 0.9])
def test_accents_follow_the_meter(meter: str, energy: float) -> None:
    """The summed velocity per bar position is higher on the strong beats (4/4: 1 and 3;
    3/4: 1; 6/8: 1 and 4) than on the other positions that sound, for every drum groove
    of the meter (horror grooves excepted: they are meant to sit off the beat)."""
    info = Meter.parse(meter)
    strong_beats = {"4/4": (0, 2), "3/4": (0,), "6/8": (0, 1)}[meter]
    strong_steps = [b * info.steps_per_beat for b in strong_beats]
    bar = info.steps_per_bar
    for groove in LIBRARY:
        if groove.meter != meter or groove.role != "drums" or groove.family == "horror":
            continue
        spec = spec_for(
            meter=meter, groove=groove.name, variance=0.0, stems=(StemSpec("d", "drums"),)
        )
        part = drum_part(
            spec, spec.stems[0], library=LIBRARY, energy=energy, seed=0, variant_index=0,
            stem_index=0,
        )  # fmt: skip
        profile = np.zeros(bar)
        for step, _, _, velocity in part.notes:
            profile[round(step) % bar] += velocity
        weak = [profile[p] for p in range(bar) if p not in strong_steps and profile[p] > 0]
        strong = np.mean(profile[strong_steps])
        assert strong > 0 and (not weak or strong > np.mean(weak)), (groove.name, profile)


def test_every_family_has_grooves_at_every_level_in_every_meter() -> None:
    from engine_core.arrange.drums import family_grooves
    from engine_core.arrange.grooves import FAMILIES, LEVELS

    for family, meter, role in itertools.product(
        FAMILIES, ("4/4", "3/4", "6/8"), ("drums", "percussion", "pitched")
    ):
        _used, grooves = family_grooves(LIBRARY, family, role, meter)
        for groove in grooves:
            assert groove.meter == meter and groove.role == role
            for level in LEVELS:
                patterns = groove.levels[level].values()
                assert any(set(p) - {"."} for p in patterns), (groove.name, level)
        if family in ("orchestral", "march", "waltz", "tribal") and role == "percussion":
            assert not {"tamb", "cowbell"} & set().union(*(g.instruments for g in grooves))


def test_pitched_percussion_renders_on_a_melodic_channel() -> None:
    stem = StemSpec("timpani", "percussion", program=47, pitched=True)
    assert not stem.is_drums
    with pytest.raises(Exception, match="only a percussion stem can be pitched"):
        spec_for(stems=(StemSpec("t", "drums", pitched=True),))
    assert dataclasses.replace(stem, pitched=False).is_drums
    assert stem_overlap([], [], 4) == 1.0
