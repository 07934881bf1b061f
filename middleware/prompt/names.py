"""Display names for programs and notes (General MIDI names from pretty_midi)."""

from __future__ import annotations

from engine_core.spec import StemSpec


def program_name(program: int) -> str:
    import pretty_midi

    return str(pretty_midi.program_to_instrument_name(program))


def note_name(note: int) -> str:
    import pretty_midi

    return str(pretty_midi.note_number_to_name(note))


def instrument_label(stem: StemSpec) -> str:
    """'Orchestral Harp' for a pitched stem, 'kit 0' for a drum stem."""
    return f"kit {stem.program}" if stem.is_drums else program_name(stem.program)
