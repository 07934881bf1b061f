"""The committed prompt acceptance set meets its inference goals (rendering: eval-prompts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_core.errors import InvalidSpecError
from middleware.prompt.acceptance import (
    evaluate,
    load_set,
    markdown_table,
    pair_checks,
    prompt_rows,
)
from middleware.prompt.similarity import PromptScorer

REQUIRED = (
    "calm ambient music with gentle harp, suitable for main menu",
    "intense battle theme with heavy drums and brass, epic feel",
    "triumphant orchestral fanfare with choir, joyful mood",
)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory):
    scorer = PromptScorer(cache_dir=tmp_path_factory.mktemp("scores"))
    return evaluate(load_set(), render=False, scorer=scorer)


def test_the_set_has_25_prompts_or_more_including_the_three_named_ones() -> None:
    texts = [p.text for p in load_set()]
    assert len(texts) >= 25 and set(REQUIRED) <= set(texts)
    assert len(set(texts)) == len(texts)


def test_explicit_values_are_parsed_as_written(results) -> None:
    wrong = [(r.prompt.text, e) for r in results for e in r.explicit if e[1] != e[2]]
    assert wrong == []
    assert sum(len(r.explicit) for r in results) >= 15


def test_named_instruments_are_present_with_the_right_family(results) -> None:
    named = [i for r in results for i in r.instruments]
    assert sum(present for _, _, present in named) >= 0.9 * len(named)


def test_drums_follow_the_prompt_every_time(results) -> None:
    stated = [r for r in results if r.drums_ok is not None]
    assert len(stated) >= 10 and all(r.drums_ok for r in stated)


def test_calm_and_frantic_pairs_differ_the_right_way(results) -> None:
    checks = pair_checks(results)
    assert len(checks) >= 3
    assert all(all(row.values()) for row in checks.values()), checks


def test_the_per_prompt_table_has_a_row_per_prompt(results) -> None:
    table = markdown_table(("prompt", "tempo", "tags", "stems", "misses"), prompt_rows(results))
    assert len(table.splitlines()) == len(results) + 2


def test_a_set_file_with_unknown_keys_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "set.toml"
    bad.write_text('[[prompt]]\ntext = "x"\ntempo = 90\n')
    with pytest.raises(InvalidSpecError, match="tempo"):
        load_set(bad)


@pytest.mark.slow
def test_the_g_minor_waltz_is_heard_in_minor(tmp_path: Path) -> None:
    """The one mode miss was the measure: the model's seed-0 tune has no third (the key
    profiles lean major on it), while the arrangement's bass and chords, written in G minor,
    make what is heard minor. The check now judges the arranged loop."""
    from engine_core.arrange.arranger import arrange
    from engine_core.evaluation.adherence import detected_mode
    from engine_core.model.composer import DiffusionComposer
    from middleware.prompt import infer_state
    from middleware.prompt.acceptance import heard_mode

    text = "slow waltz in G minor at 84 BPM, a cello melody over a music box, no drums"
    spec = infer_state(text, scorer=PromptScorer(cache_dir=tmp_path), default_bars=8).spec()
    assert spec.key == "G minor"
    score = DiffusionComposer.load().compose(spec, seed=0, variants=1)[0]
    thirds = {3: 0, 4: 0}  # tonic-C score: Eb and E
    for note in score.notes:
        if note.pitch % 12 in thirds:
            thirds[note.pitch % 12] += 1
    assert thirds[4] == 0 and thirds[3] <= 0.05 * len(score.notes)  # barely a third
    assert detected_mode(score) == "major"  # what the old check read
    arrangement = arrange(score, spec, seed=0, variant_index=0)
    assert heard_mode(arrangement, spec.key_info) == "minor"


def test_heard_mode_reads_the_third_of_the_arranged_stems() -> None:
    from engine_core.arrange.arranger import ArrangedNote, ArrangedStem, Arrangement
    from engine_core.spec import Key, StemSpec
    from middleware.prompt.acceptance import heard_mode

    def loop(pitches: list[int]):
        stem = StemSpec(name="pad", role="pad", program=48, register=(40, 90))
        notes = tuple(ArrangedNote(float(i), 1.0, p, 80) for i, p in enumerate(pitches))
        return Arrangement(
            bpm=90.0, meter="4/4", key="G minor", bars=3, stems=(ArrangedStem(stem, notes),)
        )

    g_minor = [55, 58, 62, 67, 58, 55, 62, 60, 57, 55]  # G Bb D G Bb G D C A G
    g_major = [p + 1 if p % 12 == 10 else p for p in g_minor]  # Bb -> B
    assert heard_mode(loop(g_minor), Key.parse("G minor")) == "minor"
    assert heard_mode(loop(g_major), Key.parse("G major")) == "major"
    # D dorian with little third and its major sixth (B): heard by the third, F
    d_dorian = [50, 52, 55, 59, 57, 60, 50, 55, 53, 50]  # D E G B A C D G F D
    assert heard_mode(loop(d_dorian), Key.parse("D dorian")) == "minor"
    assert (
        heard_mode(loop([p + 1 if p % 12 == 5 else p for p in d_dorian]), Key.parse("D mixolydian"))
        == "major"
    )


def test_the_genre_and_mood_are_ones_the_dev_set_accepts(results) -> None:
    genres = [r.genre_ok for r in results if r.genre_ok is not None]
    moods = [r.mood_ok for r in results if r.mood_ok is not None]
    assert len(genres) == len(results) and sum(genres) >= 0.95 * len(genres)
    assert moods and all(moods)


def test_the_held_out_set_keeps_its_measured_accuracy(tmp_path: Path) -> None:
    """The held-out prompts (heldout.toml) were written before the genre and mood inference
    was tuned and are never tuned on: this guards the figure docs/prompts.md reports."""
    from middleware.prompt.acceptance import HELDOUT_PATH

    held_out = load_set(HELDOUT_PATH)
    assert len(held_out) >= 15
    results = evaluate(held_out, render=False, scorer=PromptScorer(cache_dir=tmp_path))
    genres = [r.genre_ok for r in results if r.genre_ok is not None]
    moods = [r.mood_ok for r in results if r.mood_ok is not None]
    assert len(genres) == len(held_out) and sum(genres) >= 0.70 * len(genres)
    assert sum(moods) >= 0.85 * len(moods)
    named = [present for r in results for _, _, present in r.instruments]
    assert all(named)
