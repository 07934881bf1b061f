"""A small, valid template pack written to disk, for tests that break it one way at a time."""

from __future__ import annotations

import textwrap
from pathlib import Path

PACK_TOML = """\
[pack]
name = "tiny"
description = "Two states and a stinger."
start_state = "calm"

[defaults]
bpm = 100
key = "C major"
seed = 7
variants = 2

[stingers.hit]
prompt = "a short brass hit"
tags = ["orchestral"]

[stingers.hit.stems.brass]
role = "harmony"
instrument = "Brass Section"

[transitions."* -> *"]
leave_at = "next_bar"
fade = "cross"
fade_length = "1 bar"
"""

CALM_TOML = """\
# The quiet state.
prompt = "soft sustained strings, peaceful"
tags = ["orchestral", "calm"]
bars = 4

[stems.strings]
role = "pad"
instrument = "String Ensemble 1"
register = ["C3", "C5"]

[stems.bass]
role = "bass"
program = 43
intensity = [0.5, 1.0]
"""

FIGHT_TOML = """\
prompt = "driving drums and brass, urgent"
tags = ["orchestral", "urgent", "driving"]
bpm = 150
key = "D minor"

[stems.drums]
role = "drums"
program = 48

[stems.brass]
role = "melody"
instrument = "Brass Section"
intensity = [0.3, 1.0]
"""

FILES = {"pack.toml": PACK_TOML, "calm.toml": CALM_TOML, "fight.toml": FIGHT_TOML}


def write_pack(root: Path, **overrides: str | None) -> Path:
    """Write the tiny pack to `root`; `overrides` replace (or, with None, drop) files.

    Keyword names are file names with '.' written as '_' (``fight_toml="..."``).
    """
    root.mkdir(parents=True, exist_ok=True)
    files = dict(FILES)
    for key, text in overrides.items():
        name = key.removesuffix("_toml") + ".toml"
        if text is None:
            files.pop(name, None)
        else:
            files[name] = textwrap.dedent(text)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def line_of(text: str, fragment: str) -> int:
    """1-based line of the only line of `text` that contains `fragment`."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    if len(lines) != 1:
        raise ValueError(f"{fragment!r} found on lines {lines}")
    return lines[0]
