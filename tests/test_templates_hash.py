"""The generation hash, inheritance from pack defaults, and the transition lookup order."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_templates_support import CALM_TOML, FIGHT_TOML, PACK_TOML, write_pack

from middleware.templates.loader import load_pack
from middleware.templates.model import WILDCARD, Fade, LeaveAt, LengthUnit

REORDERED_CALM = """\
# Same music as CALM_TOML: keys, stems and tags reordered, comments and spacing added.

[stems.bass]
intensity = [0.5, 1.0]   # enters halfway
program   = 43
role      = "bass"

[stems.strings]
register = ["C3", "C5"]
instrument = "String Ensemble 1"
role = "pad"
"""
REORDERED_CALM_TOP = """\
bars = 4
tags = ["calm", "orchestral"]
prompt = \"\"\"
soft   sustained strings,
peaceful\"\"\"
"""


def hashes(root: Path) -> dict[str, str]:
    return {name: s.generation_hash for name, s in load_pack(root).states.items()}


def test_hash_ignores_key_order_stem_order_comments_and_whitespace(tmp_path: Path) -> None:
    original = hashes(write_pack(tmp_path / "a"))
    reordered = hashes(write_pack(tmp_path / "b", calm_toml=REORDERED_CALM_TOP + REORDERED_CALM))
    assert reordered == original


def test_hash_ignores_transitions_seed_variants_and_descriptions(tmp_path: Path) -> None:
    original = hashes(write_pack(tmp_path / "a"))
    pack = (
        PACK_TOML.replace('fade = "cross"', 'fade = "out"')
        .replace("seed = 7", "seed = 99")
        .replace("variants = 2", "variants = 5")
        + '\n[transitions."calm -> fight"]\nleave_at = "immediate"\nfiller = "hit"\n'
    )
    calm = 'description = "a note for the composer"\nintensity = 0.3\n' + CALM_TOML
    assert hashes(write_pack(tmp_path / "b", pack_toml=pack, calm_toml=calm)) == original


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("bars = 4", "bars = 4\nbpm = 101"),  # tempo
        ("bars = 4", 'bars = 4\nkey = "A minor"'),  # key
        ("soft sustained strings", "soft tremolo strings"),  # prompt
        ("program = 43", "program = 42"),  # a stem's instrument
        ("intensity = [0.5, 1.0]", "intensity = [0.6, 1.0]"),  # a stem's layer range
        ('role = "bass"', 'role = "harmony"'),  # a stem's role
        ('"calm"]', '"calm", "sparse"]'),  # tags
        ("bars = 4", "bars = 8"),  # loop length
    ],
)
def test_hash_changes_with_the_music(tmp_path: Path, old: str, new: str) -> None:
    assert old in CALM_TOML
    original = hashes(write_pack(tmp_path / "a"))
    changed = hashes(write_pack(tmp_path / "b", calm_toml=CALM_TOML.replace(old, new)))
    assert changed["calm"] != original["calm"]
    assert changed["fight"] == original["fight"]


def test_adding_a_stem_changes_the_hash(tmp_path: Path) -> None:
    calm = CALM_TOML + '\n[stems.harp]\nrole = "arp"\ninstrument = "Orchestral Harp"\n'
    original = hashes(write_pack(tmp_path / "a"))
    assert hashes(write_pack(tmp_path / "b", calm_toml=calm))["calm"] != original["calm"]


def test_hash_is_the_engine_spec_hash(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path))
    for state in pack.states.values():
        assert state.generation_hash == state.spec.generation_hash()
        assert len(state.generation_hash) == 16


def test_states_inherit_pack_defaults(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path))
    calm = pack.state("calm")  # sets neither bpm, key, seed nor variants
    assert (calm.spec.bpm, calm.spec.key, calm.seed, calm.variants) == (100.0, "C major", 7, 2)
    assert (calm.spec.meter, calm.spec.sample_rate, calm.spec.loudness_lufs) == (
        "4/4",
        48000,
        -16.0,
    )
    assert pack.defaults.bpm == 100.0 and pack.defaults.key == "C major"


def test_state_values_override_pack_defaults(tmp_path: Path) -> None:
    fight = FIGHT_TOML.replace(
        "bpm = 150", "bpm = 150\nseed = 3\nvariants = 4\nloudness_lufs = -12.0"
    )
    state = load_pack(write_pack(tmp_path, fight_toml=fight)).state("fight")
    assert (state.spec.bpm, state.spec.key) == (150.0, "D minor")
    assert (state.seed, state.variants, state.spec.loudness_lufs) == (3, 4, -12.0)


def test_changing_a_default_changes_only_the_states_that_inherit_it(tmp_path: Path) -> None:
    original = hashes(write_pack(tmp_path / "a"))
    changed = hashes(
        write_pack(tmp_path / "b", pack_toml=PACK_TOML.replace("bpm = 100", "bpm = 90"))
    )
    assert changed["calm"] != original["calm"]  # inherits bpm
    assert changed["fight"] == original["fight"]  # sets its own bpm


def test_stingers_inherit_defaults_and_are_one_bar_one_shots(tmp_path: Path) -> None:
    hit = load_pack(write_pack(tmp_path)).stinger("hit")
    assert hit.spec is not None and hit.file is None
    assert (hit.spec.bpm, hit.spec.key, hit.spec.bars, hit.spec.one_shot) == (
        100.0,
        "C major",
        1,
        True,
    )
    assert hit.seed == 7


RULES = """
[transitions."calm -> fight"]
leave_at = "immediate"

[transitions."calm -> *"]
leave_at = "next_beat"

[transitions."* -> fight"]
leave_at = "loop_end"

[transitions."* -> calm"]
leave_at = "next_phrase"
phrase_bars = 8
"""


def test_transition_lookup_order_exact_then_from_then_to_then_any(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path, pack_toml=PACK_TOML + RULES))
    assert pack.transition("calm", "fight").leave_at is LeaveAt.IMMEDIATE  # exact
    assert pack.transition("calm", "calm").leave_at is LeaveAt.NEXT_BEAT  # (from, *)
    assert pack.transition("fight", "fight").leave_at is LeaveAt.LOOP_END  # (*, to)
    assert pack.transition("fight", "calm").leave_at is LeaveAt.NEXT_PHRASE
    assert pack.transition("fight", "calm").phrase_bars == 8
    any_rule = pack.transition("fight", "elsewhere")  # (*, *) from the pack
    assert (any_rule.source, any_rule.target, any_rule.origin) == (WILDCARD, WILDCARD, "pack.toml")
    assert (any_rule.fade, any_rule.fade_length.value, any_rule.fade_length.unit) == (
        Fade.CROSS,
        1.0,
        LengthUnit.BARS,
    )


def test_without_a_catch_all_rule_the_built_in_default_applies(tmp_path: Path) -> None:
    pack_text = PACK_TOML.split('[transitions."* -> *"]')[0] + RULES
    pack = load_pack(write_pack(tmp_path, pack_toml=pack_text))
    rule = pack.transition("fight", "fight")
    assert rule.leave_at is LeaveAt.LOOP_END
    fallback = pack.transition("fight", "nowhere")
    assert fallback is pack.default_transition and fallback.origin == "default"


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [("2 bars", 2.0, LengthUnit.BARS), ("1 beat", 1.0, LengthUnit.BEATS),
     ("0.5 seconds", 0.5, LengthUnit.SECONDS), ("3 s", 3.0, LengthUnit.SECONDS)],
)  # fmt: skip
def test_fade_length_units(tmp_path: Path, text: str, value: float, unit: LengthUnit) -> None:
    pack_text = PACK_TOML.replace('fade_length = "1 bar"', f'fade_length = "{text}"')
    rule = load_pack(write_pack(tmp_path, pack_toml=pack_text)).transition("calm", "fight")
    assert (rule.fade_length.value, rule.fade_length.unit) == (value, unit)


def test_bridge_filler(tmp_path: Path) -> None:
    pack_text = PACK_TOML + '\n[transitions."calm -> fight"]\nfiller = { bridge_bars = 2 }\n'
    rule = load_pack(write_pack(tmp_path, pack_toml=pack_text)).transition("calm", "fight")
    assert rule.filler is not None
    assert (rule.filler.stinger, rule.filler.bridge_bars) == (None, 2)
