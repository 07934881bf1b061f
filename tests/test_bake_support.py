"""Shared pieces of the bake tests: a small real template pack and an output-tree hash.

The pack is small on purpose (one- and two-bar loops, two variants, short stingers) so a
real bake with the real engine stays within the test budget, yet it has everything a
bake handles: a layered state, a plain state, a one-shot that goes on to another state,
a generated stinger used as a transition filler, a designer-supplied stinger file, and
rules with every sync mode. Every state is in 4/4: the chorale scores are.
"""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import numpy as np
import soundfile

PACK_TOML = """
[pack]
name = "tiny"
description = "A small pack for bake tests"
start_state = "menu"

[defaults]
bpm = 120
meter = "4/4"
key = "D minor"
bars = 1
seed = 11
variants = 2

[stingers.hit]
prompt = "a short bright brass hit"
tags = ["orchestral", "triumphant"]
bpm = 120
bars = 1
sync = "next_beat"
duck_db = -8.0

[stingers.hit.stems.brass]
role = "harmony"
instrument = "Brass Section"

[stingers.chime]
file = "chime.wav"
sync = "next_bar"

[transitions."* -> *"]
leave_at = "next_bar"
fade = "cross"
fade_length = "1 bar"

[transitions."menu -> battle"]
leave_at = "next_beat"
fade = "out"
fade_length = "2 beats"
filler = "hit"

[transitions."battle -> *"]
leave_at = "loop_end"
enter_at = "same_position"
fade = "cross"
fade_length = "1.5 seconds"

[transitions."* -> victory"]
leave_at = "next_phrase"
phrase_bars = 2
fade = "none"
hold_previous = true
"""

STATES = {
    "menu.toml": """
        prompt = "a calm folk tune on a plucked string"
        tags = ["folk", "calm"]

        [stems.melody]
        role = "melody"
        instrument = "Acoustic Guitar (nylon)"
    """,
    "battle.toml": """
        prompt = "driving tense battle music"
        tags = ["orchestral", "tense", "driving"]
        bpm = 140
        bars = 2
        intensity = 0.5

        [stems.bass]
        role = "bass"
        instrument = "Contrabass"

        [stems.drums]
        role = "drums"
        program = 0
        intensity = [0.5, 1.0]
    """,
    "victory.toml": """
        prompt = "a short triumphant fanfare"
        tags = ["orchestral", "triumphant"]
        one_shot = true
        next = "menu"

        [stems.lead]
        role = "melody"
        instrument = "Trumpet"
    """,
}


#: The engine the bake tests run in every worker: the real engine (arrangement, SoundFont
#: rendering, loudness) over real Bach chorales from music21's corpus in place of the
#: diffusion model's scores (`chorale_scores.ChoraleComposer`, 4/4 only).
CHORALE_ENGINE = "test_bake_support:chorale_engine"


def chorale_engine():  # -> engine_core.generate.Engine
    from chorale_scores import ChoraleComposer

    from engine_core.generate import Engine

    return Engine(ChoraleComposer())


def write_pack(root: Path) -> Path:
    """Write the test pack (and its stinger file: a real decaying sine) under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pack.toml").write_text(textwrap.dedent(PACK_TOML))
    for name, text in STATES.items():
        (root / name).write_text(textwrap.dedent(text))
    rate = 48000
    t = np.arange(rate // 2) / rate
    chime = (0.3 * np.sin(2 * np.pi * 1320 * t) * np.exp(-6 * t)).astype(np.float32)
    soundfile.write(root / "chime.wav", chime, rate, subtype="PCM_16")
    return root


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under `root`, by relative path."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
