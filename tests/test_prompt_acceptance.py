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
