"""docs/templates.md stays true: its example pack loads, its vocabularies match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pretty_midi

from engine_core.spec import TAG_VOCABULARY
from middleware.templates.loader import load_pack
from middleware.templates.model import EnterAt, Fade, LeaveAt

DOC = Path(__file__).resolve().parent.parent / "docs" / "templates.md"


def toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_annotated_example_is_a_valid_pack(tmp_path: Path) -> None:
    pack_toml, battle_toml, victory_toml, *_ = toml_blocks()
    (tmp_path / "pack.toml").write_text(pack_toml)
    (tmp_path / "battle.toml").write_text(battle_toml)
    (tmp_path / "victory.toml").write_text(victory_toml)
    for other in ("menu", "explore", "town", "boss"):  # states the example's rules name
        (tmp_path / f"{other}.toml").write_text(battle_toml)
    pack = load_pack(tmp_path)
    battle = pack.state("battle")
    assert (battle.spec.bpm, battle.spec.bars, battle.seed, battle.variants) == (152.0, 8, 1701, 3)
    assert dict((s.name, s.intensity) for s in battle.spec.stems)["horns"] == (0.55, 1.0)
    assert pack.state("victory").next == "explore"
    assert pack.transition("explore", "battle").filler.stinger == "battle_start"


def test_the_prompt_only_example_infers_what_its_prompt_says(tmp_path: Path) -> None:
    dream_toml = next(block for block in toml_blocks() if block.startswith("# dream.toml"))
    (tmp_path / "pack.toml").write_text('[pack]\nname = "p"\n')
    (tmp_path / "dream.toml").write_text(dream_toml)
    spec = load_pack(tmp_path).state("dream").spec
    assert (spec.meter, spec.key) == ("3/4", "G minor")
    assert {10, 42} <= {s.program for s in spec.stems}
    assert not any(s.is_drums for s in spec.stems)


def test_every_tag_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for group, tags in TAG_VOCABULARY.items():
        row = f"| {group} | {', '.join(f'`{t}`' for t in tags)} |"
        assert row in text


def test_every_general_midi_name_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for program, name in enumerate(pretty_midi.constants.INSTRUMENT_MAP):
        assert f"{program} `{name}`" in text


def test_every_transition_value_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for enum in (LeaveAt, EnterAt, Fade):
        for member in enum:
            assert f"`{member.value}`" in text
