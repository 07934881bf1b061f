"""Pack motifs (``[motifs.<name>]`` in pack.toml) and a state's ``motif = ...`` key.

    [motifs.hero]
    notes = ["D4 q", "F4 e", "A4 e", "D5 h"]   # or: file = "motifs/hero.mid"
    key = "D minor"                           # optional: the key the notes are written in

    # in a state
    motif = "hero"                                      # once, in the first phrase
    motif = { name = "hero", every_bars = 4, voice = "bass", vary = false }

Every problem is reported on its key with a stable ``code`` (`engine_core.motif.MOTIF_PROBLEMS`).
The format is documented in docs/templates.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine_core.errors import InvalidSpecError
from engine_core.motif import (
    MOTIF_VOICES,
    Motif,
    MotifError,
    MotifUse,
    motif_from_midi,
    motif_from_text,
)
from engine_core.spec import SUPPORTED_METERS, GenerationSpec, Key
from middleware.templates import fields as f
from middleware.templates.fields import INVALID, FileProblems

MOTIF_KEYS = ("notes", "file", "key", "meter")
USE_KEYS = ("name", "voice", "every_bars", "vary")


def read_motifs(problems: FileProblems, section: Mapping[str, Any], root: Path) -> dict[str, Motif]:
    """The pack's motifs; each bad one is reported and left out."""
    motifs: dict[str, Motif] = {}
    for name, raw in section.items():
        path = ("motifs", name)
        table = f.table(problems, path, raw)
        if table is INVALID:
            continue
        problems.check_keys(table, MOTIF_KEYS, path)
        key = table.get("key")
        if key is not None:
            key = f.typed(problems, (*path, "key"), key, str)
            if key is INVALID:
                continue
            try:
                Key.parse(key)
            except InvalidSpecError as error:
                problems.add((*path, "key"), error.message, value=key, code="bad_motif_note")
                continue
        meter = table.get("meter")
        if meter is not None and meter not in SUPPORTED_METERS:
            problems.add(
                (*path, "meter"),
                f"{meter!r} is not a meter",
                value=meter,
                allowed=", ".join(SUPPORTED_METERS),
                code="bad_motif_note",
            )
            continue
        has_notes, has_file = "notes" in table, "file" in table
        if has_notes == has_file:
            problems.add(
                path,
                "a motif needs either 'notes' (a list of \"<pitch> <duration>\") or 'file' "
                "(a MIDI file in the pack), not both or neither",
                code="empty_motif" if not has_notes else "bad_motif_use",
            )
            continue
        try:
            if has_notes:
                notes = table["notes"]
                if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
                    problems.add(
                        (*path, "notes"),
                        'must be a list of strings such as ["D4 q", "F4 e"]',
                        value=notes,
                        code="bad_motif_note",
                    )
                    continue
                motifs[name] = motif_from_text(name, notes, key, meter or "4/4")
            else:
                file = f.typed(problems, (*path, "file"), table["file"], str)
                if file is INVALID:
                    continue
                motifs[name] = motif_from_midi(name, root / file, key, meter)
        except MotifError as error:
            where = (*path, "notes" if has_notes else "file")
            problems.add(where, error.message, code=error.problem)
    return motifs


def motif_use(
    problems: FileProblems, path: tuple[str, ...], raw: Any, motifs: Mapping[str, Motif]
) -> MotifUse | None:
    """A state's ``motif`` value as a `MotifUse` (None, reported, when it is bad)."""
    if isinstance(raw, str):
        raw = {"name": raw}
    table = f.table(problems, path, raw)
    if table is INVALID:
        return None
    problems.check_keys(table, USE_KEYS, path)
    name = table.get("name")
    if not isinstance(name, str):
        problems.add((*path, "name"), "missing: name the pack motif to quote", code="unknown_motif")
        return None
    if name not in motifs:
        problems.add(
            path,
            f"unknown motif {name!r}{f.suggest(name, motifs)}",
            value=name,
            allowed=", ".join(sorted(motifs)) or "(the pack declares no [motifs.<name>])",
            code="unknown_motif",
        )
        return None
    voice = table.get("voice", "melody")
    if voice not in MOTIF_VOICES:
        problems.add(
            (*path, "voice"),
            f"{voice!r} is not a motif voice",
            value=voice,
            allowed=", ".join(MOTIF_VOICES),
            code="bad_motif_use",
        )
        return None
    every = f.in_range(problems, (*path, "every_bars"), table.get("every_bars", 0), int, 0, 16)
    vary = f.typed(problems, (*path, "vary"), table.get("vary", True), bool)
    if INVALID in (every, vary):
        return None
    return MotifUse(motifs[name], voice=voice, every_bars=every, vary=vary)


def with_motif(
    problems: FileProblems, path: tuple[str, ...], spec: GenerationSpec, use: MotifUse
) -> GenerationSpec | None:
    """`spec` quoting `use`, or None (reported) when the motif does not fit its loop."""
    try:
        return replace(spec, motif=use)
    except MotifError as error:
        problems.add(path, error.message, code=error.problem)
    except InvalidSpecError as error:
        problems.add(path, error.message, code="bad_motif_use")
    return None
