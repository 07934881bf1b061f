"""Key -> line mapping for TOML text, and hash stability under any rewriting of a state file."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_templates_support import write_pack

from middleware.templates.lines import index_key_lines, line_of
from middleware.templates.loader import load_pack

TEXT = """\
# comment = 1
title = "x"   # a comment
"quoted key" = 2
dotted.inner = 3
prompt = \"\"\"
fake = 4
\"\"\"
tags = [
  "a", "b",
]
filler = { stinger = "hit", bridge_bars = 2 }

[stems.bass]
role = "bass"

[transitions."* -> boss"]
fade = "out"
"""


def test_lines_of_plain_quoted_dotted_and_inline_keys() -> None:
    index = index_key_lines(TEXT)
    assert index[("title",)] == 2
    assert index[("quoted key",)] == 3
    assert index[("dotted", "inner")] == 4
    assert index[("prompt",)] == 5
    assert ("fake",) not in index  # inside a multi-line string
    assert index[("tags",)] == 8
    assert index[("filler", "stinger")] == 11 and index[("filler", "bridge_bars")] == 11
    assert index[("stems",)] == 13 and index[("stems", "bass", "role")] == 14
    assert index[("transitions", "* -> boss", "fade")] == 17


def test_a_missing_key_falls_back_to_its_table() -> None:
    index = index_key_lines(TEXT)
    assert line_of(index, ("stems", "bass", "program")) == 13
    assert line_of(index, ("nowhere",)) is None


STATE_KEYS = {
    "prompt": '"gentle strings"',
    "tags": '["orchestral", "calm"]',
    "bars": "4",
    "energy": "0.3",
    "bpm": "90",
}
STEMS = {
    "strings": {"role": '"pad"', "instrument": '"String Ensemble 1"', "register": "[48, 72]"},
    "bass": {"role": '"bass"', "program": "43", "intensity": "[0.5, 1.0]"},
}
comments = st.lists(st.sampled_from(["", "# note", "   ", "# [stems.fake]"]), max_size=2)


def render(
    top: list[str], stems: list[str], stem_keys: dict[str, list[str]], noise: list[list[str]]
) -> str:
    lines: list[str] = []
    pad = iter(noise * 40)
    for key in top:
        lines += [*next(pad), f"{key} = {STATE_KEYS[key]}  # why"]
    for stem in stems:
        lines += [*next(pad), f"[stems.{stem}]"]
        lines += [f"{key} = {STEMS[stem][key]}" for key in stem_keys[stem]]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    top=st.permutations(list(STATE_KEYS)),
    stems=st.permutations(list(STEMS)),
    strings_keys=st.permutations(list(STEMS["strings"])),
    bass_keys=st.permutations(list(STEMS["bass"])),
    noise=st.lists(comments, min_size=1, max_size=3),
)
def test_any_rewriting_keeps_the_hash_and_every_line(
    tmp_path_factory, top, stems, strings_keys, bass_keys, noise
) -> None:
    stem_keys = {"strings": strings_keys, "bass": bass_keys}
    text = render(top, stems, stem_keys, noise)
    index = index_key_lines(text)
    lines = text.splitlines()
    for key in top:
        assert lines[index[(key,)] - 1].startswith(f"{key} = ")
    for stem in stems:
        for key in stem_keys[stem]:
            assert lines[index[("stems", stem, key)] - 1].startswith(f"{key} = ")
    tomllib.loads(text)  # the rendering is valid TOML
    root: Path = tmp_path_factory.mktemp("pack")
    rewritten = load_pack(write_pack(root, calm_toml=text)).state("calm")
    assert rewritten.generation_hash == reference_hash(tmp_path_factory)


@functools.cache
def _reference_hash(root: Path) -> str:
    canonical = render(list(STATE_KEYS), list(STEMS), {s: list(k) for s, k in STEMS.items()}, [[]])
    return load_pack(write_pack(root, calm_toml=canonical)).state("calm").generation_hash


def reference_hash(tmp_path_factory) -> str:
    return _reference_hash(tmp_path_factory.getbasetemp() / "reference_pack")
