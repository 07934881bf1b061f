"""A motif written back as template TOML (what `compose --melody --save-template` keeps).

The note list uses the format `middleware.templates.motifs` reads (`"D4 q"`, rests as
`"r e"`); a motif with a duration no letter spells (five sixteenths...) is written as a MIDI
file beside the pack instead. Either way the pack reloads to the same `Motif`, so the saved
state regenerates the same audio.
"""

from __future__ import annotations

from pathlib import Path

from engine_core.motif import Motif

#: sixteenth steps -> duration token
_TOKENS = {16: "w", 12: "h.", 8: "h", 6: "q.", 4: "q", 3: "e.", 2: "e", 1: "s"}
_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def pitch_name(pitch: int) -> str:
    """Scientific pitch name (60 -> C4)."""
    return f"{_NAMES[pitch % 12]}{pitch // 12 - 1}"


def _rests(steps: int) -> list[str]:
    rests = []
    for size in (16, 8, 4, 2, 1):
        while steps >= size:
            rests.append(f"r {_TOKENS[size]}")
            steps -= size
    return rests


def note_list(motif: Motif) -> list[str] | None:
    """The motif as "<pitch> <duration>" entries, or None when a duration has no token."""
    entries: list[str] = []
    position = 0
    for onset, duration, pitch in motif.notes:
        if duration not in _TOKENS:
            return None
        entries += _rests(onset - position)
        entries.append(f"{pitch_name(pitch)} {_TOKENS[duration]}")
        position = onset + duration
    return entries


def write_midi(motif: Motif, path: Path) -> Path:
    """The motif as a one-track MIDI file (120 bpm, its key and meter signatures)."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    lead = pretty_midi.Instrument(program=0)
    step_s = 60 / 120 / 4
    for onset, duration, pitch in motif.notes:
        lead.notes.append(pretty_midi.Note(90, pitch, onset * step_s, (onset + duration) * step_s))
    midi.instruments.append(lead)
    numerator, denominator = (int(p) for p in motif.meter.split("/"))
    midi.time_signature_changes.append(pretty_midi.TimeSignature(numerator, denominator, 0.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.write(str(path))
    return path


def motif_section(motif: Motif, name: str, folder: Path) -> tuple[str, list[Path]]:
    """A ``[motifs.<name>]`` table for `motif` (and any file it needs, written in `folder`)."""
    lines = [f"\n[motifs.{name}]"]
    written: list[Path] = []
    entries = note_list(motif)
    if entries is not None:
        lines.append("notes = [" + ", ".join(f'"{e}"' for e in entries) + "]")
    else:
        file = write_midi(motif, folder / f"{name}.mid")
        written.append(file)
        lines.append(f'file = "{file.name}"')
    lines.append(f'key = "{motif.key}"')
    lines.append(f'meter = "{motif.meter}"')
    return "\n".join(lines) + "\n", written


def with_motif_key(state_text: str, name: str) -> str:
    """A state's TOML with ``motif = "<name>"`` among its top-level keys."""
    lines = state_text.split("\n")
    first_table = next((i for i, line in enumerate(lines) if line.startswith("[")), len(lines))
    while first_table > 0 and not lines[first_table - 1].strip():
        first_table -= 1
    lines.insert(first_table, f'motif = "{name}"')
    return "\n".join(lines)
