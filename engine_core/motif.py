"""Motifs (leitmotifs): a short melodic idea a pack declares and states quote.

A `Motif` is a few notes on the sixteenth-note grid every meter shares, written in a key
(``key``: the key its pitches are spelled in). A `MotifUse` is a state's request to quote
it: in which voice (the melody or the bass), how often (once in the first phrase, or every
N bars) and whether variants develop it. Both are plain values inside the
`GenerationSpec`, so they are part of the generation hash: a changed motif is a new cache
key.

Two ways to write a motif (docs/templates.md):

* a note list: ``["D4 q", "F4 e", "A4 e", "r q", "D5 h"]`` -- a pitch (scientific
  name, C4 = MIDI 60; ``r`` for a rest) and a duration (``w h q e s`` = whole, half,
  quarter, eighth, sixteenth; a trailing ``.`` dots it);
* a Standard MIDI File: the non-drum track with the most notes, its top note per onset,
  onsets and durations quantised to sixteenths.

Every problem raises `MotifError` whose ``detail["problem"]`` is a stable code
(`MOTIF_PROBLEMS`). Nothing here imports torch or the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine_core.errors import InvalidSpecError

#: Duration letters in sixteenth-note steps.
DURATION_STEPS: dict[str, int] = {"w": 16, "h": 8, "q": 4, "e": 2, "s": 1}
#: Fewest pitched notes a motif may have: two notes make an interval found everywhere.
MIN_NOTES = 3
#: Most notes a motif may have (a motif is an idea, not a tune).
MAX_NOTES = 32
#: Voices a state may quote a motif in.
MOTIF_VOICES: tuple[str, ...] = ("melody", "bass")
#: Stable problem codes (``MotifError.detail["problem"]``, template problems' ``code``).
MOTIF_PROBLEMS: tuple[str, ...] = (
    "unknown_motif",
    "empty_motif",
    "motif_too_short",
    "motif_too_long",
    "motif_out_of_range",
    "bad_motif_note",
    "unreadable_midi",
    "bad_motif_use",
)

_NOTE = re.compile(r"^([A-Ga-g])([#b]?)(-?\d)$")
_LETTER = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

MotifNote = tuple[int, int, int]  # (onset step, duration steps, MIDI pitch)


class MotifError(InvalidSpecError):
    """A motif cannot be read or used; ``detail["problem"]`` says which rule it broke."""

    code = "bad_motif"
    exit_code = 2

    def __init__(self, problem: str, message: str, **detail: object) -> None:
        super().__init__(message, {"problem": problem, **detail})

    @property
    def problem(self) -> str:
        return str(self.detail["problem"])


@dataclass(frozen=True)
class Motif:
    """A named idea: notes on the sixteenth grid (onset from the motif's start) in `key`."""

    name: str
    key: str  # "<tonic> <mode>", the key its pitches are written in
    notes: tuple[MotifNote, ...]
    meter: str = "4/4"  # the meter its rhythm is written in (see `fit_meter`)

    @property
    def length_steps(self) -> int:
        """From the first onset to the end of the last note (rests inside count)."""
        return max(o + d for o, d, _ in self.notes)

    @property
    def pitches(self) -> tuple[int, ...]:
        return tuple(p for _, _, p in self.notes)

    @property
    def span(self) -> int:
        """Lowest to highest pitch in semitones."""
        return max(self.pitches) - min(self.pitches)

    def bars(self, steps_per_bar: int) -> int:
        """Whole bars the motif needs in a meter of `steps_per_bar`."""
        return -(-self.length_steps // steps_per_bar)


@dataclass(frozen=True)
class MotifUse:
    """A state's request to quote a motif.

    `every_bars` 0 quotes it once, in the first phrase; N > 0 quotes it every N bars.
    With `vary`, variant 1 moves the entry, variants 2 and 3 answer the quote with a
    sequence (a step higher) or an inversion, variant 4 with an augmentation.
    """

    motif: Motif
    voice: str = "melody"
    every_bars: int = 0
    vary: bool = True

    def validate(self, *, loop_steps: int, steps_per_bar: int, bars: int) -> None:
        """Raise `MotifError` when the motif does not fit this loop."""
        if self.voice not in MOTIF_VOICES:
            raise MotifError(
                "bad_motif_use",
                f"motif voice {self.voice!r} is not one of {', '.join(MOTIF_VOICES)}",
                field="voice",
                allowed=list(MOTIF_VOICES),
            )
        length = self.motif.length_steps
        if length > loop_steps:
            raise MotifError(
                "motif_too_long",
                f"motif {self.motif.name!r} lasts {length} sixteenths, the loop only "
                f"{loop_steps} ({bars} bars): use a longer loop or a shorter motif",
                motif=self.motif.name,
                length_steps=length,
                loop_steps=loop_steps,
            )
        if self.every_bars < 0 or (self.every_bars and bars % self.every_bars):
            raise MotifError(
                "bad_motif_use",
                f"every_bars {self.every_bars} must be 0 (once) or divide the loop's {bars} bars",
                field="every_bars",
            )
        if self.every_bars and length > self.every_bars * steps_per_bar:
            raise MotifError(
                "motif_too_long",
                f"motif {self.motif.name!r} lasts {length} sixteenths, longer than "
                f"every_bars = {self.every_bars} bars ({self.every_bars * steps_per_bar})",
                motif=self.motif.name,
                length_steps=length,
            )


def is_compound(meter: str) -> bool:
    """A meter whose beat is a dotted quarter (6/8, 12/8)."""
    numerator, denominator = (int(part) for part in meter.split("/"))
    return denominator == 8 and numerator % 3 == 0


def fit_meter(motif: Motif, meter: str) -> Motif:
    """The motif's rhythm carried into `meter`, beat for beat.

    Between simple meters (4/4, 3/4) and compound ones (6/8) a beat is 4 or 6 sixteenths:
    onsets and durations scale by 6/4 (or 4/6) and are rounded to the grid, so a quarter-note
    motif walks in dotted quarters in 6/8 and a 6/8 motif in quarters in 4/4. Between meters of
    the same kind the rhythm is unchanged (the bar lines simply fall elsewhere).
    """
    if is_compound(motif.meter) == is_compound(meter):
        return motif if motif.meter == meter else Motif(motif.name, motif.key, motif.notes, meter)
    ratio = 6 / 4 if is_compound(meter) else 4 / 6
    notes: list[MotifNote] = []
    for index, (onset, duration, pitch) in enumerate(motif.notes):
        start = round(onset * ratio)
        if notes and start <= notes[-1][0]:
            start = notes[-1][0] + 1  # never two onsets on one step
        end = round((onset + duration) * ratio)
        if index + 1 < len(motif.notes):
            end = min(end, round(motif.notes[index + 1][0] * ratio))
        notes.append((start, max(1, end - start), pitch))
    return Motif(motif.name, motif.key, tuple(notes), meter)


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


def parse_pitch(text: str) -> int:
    """MIDI number of a scientific pitch name (C4 = 60, Bb3 = 58, F#5 = 78)."""
    match = _NOTE.match(text)
    if not match:
        raise MotifError(
            "bad_motif_note",
            f"cannot read pitch {text!r}: expected a name such as C4, F#3 or Bb5 (or r)",
            value=text,
        )
    letter, accidental, octave = match.groups()
    pitch = 12 * (int(octave) + 1) + _LETTER[letter.upper()]
    pitch += {"#": 1, "b": -1, "": 0}[accidental]
    if not 0 <= pitch <= 127:
        raise MotifError("motif_out_of_range", f"pitch {text!r} is outside MIDI 0-127", value=text)
    return pitch


def parse_duration(text: str) -> int:
    """Sixteenth steps of a duration letter (``q`` = 4, ``e.`` = 3)."""
    dotted = text.endswith(".")
    letter = text[:-1] if dotted else text
    if letter not in DURATION_STEPS or (dotted and letter == "s"):
        raise MotifError(
            "bad_motif_note",
            f"cannot read duration {text!r}: expected w, h, q, e or s, optionally dotted",
            value=text,
        )
    steps = DURATION_STEPS[letter]
    return steps + steps // 2 if dotted else steps


def notes_from_text(entries: list[str]) -> tuple[MotifNote, ...]:
    """Notes from a list of "<pitch> <duration>" strings (rests advance time)."""
    notes: list[MotifNote] = []
    onset = 0
    for entry in entries:
        parts = str(entry).split()
        if len(parts) != 2:
            raise MotifError(
                "bad_motif_note",
                f"cannot read {entry!r}: write '<pitch> <duration>', e.g. 'D4 q' or 'r e'",
                value=entry,
            )
        steps = parse_duration(parts[1])
        if parts[0].lower() != "r":
            notes.append((onset, steps, parse_pitch(parts[0])))
        onset += steps
    return tuple(notes)


def notes_from_midi(path: str | Path) -> tuple[tuple[MotifNote, ...], str | None]:
    """Notes of a MIDI file's main melodic track, quantised; and its key signature, if any
    (`midi_meter` reads its time signature)."""
    import pretty_midi

    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as error:  # mido and pretty_midi raise many types on bad files
        raise MotifError(
            "unreadable_midi", f"cannot read MIDI file {str(path)!r}: {error}", file=str(path)
        ) from error
    tracks = [i for i in midi.instruments if not i.is_drum and i.notes]
    if not tracks:
        raise MotifError(
            "empty_motif", f"MIDI file {str(path)!r} has no pitched notes", file=str(path)
        )
    track = max(tracks, key=lambda i: len(i.notes))
    per_quarter = midi.resolution

    def steps(seconds: float) -> int:
        return round(midi.time_to_tick(seconds) * 4 / per_quarter)

    tops: dict[int, MotifNote] = {}
    for note in track.notes:
        onset = steps(note.start)
        duration = max(1, steps(note.end) - onset)
        if onset not in tops or note.pitch > tops[onset][2]:
            tops[onset] = (onset, duration, int(note.pitch))
    ordered = [tops[o] for o in sorted(tops)]
    first = ordered[0][0]
    notes = []
    for index, (onset, duration, pitch) in enumerate(ordered):
        if index + 1 < len(ordered):  # monophonic: a note ends where the next begins
            duration = min(duration, ordered[index + 1][0] - onset)
        notes.append((onset - first, duration, pitch))
    key = None
    if midi.key_signature_changes:
        number = midi.key_signature_changes[0].key_number
        key = f"{_NAMES[number % 12]} {'minor' if number >= 12 else 'major'}"
    return tuple(notes), key


def infer_key(pitches: tuple[int, ...]) -> str:
    """The major or minor key that holds most of `pitches`, preferring a tonic the motif
    starts or ends on (a motif is usually heard from or toward its tonic)."""
    best: tuple[float, str] | None = None
    for tonic in range(12):
        for mode, scale in (("major", _MAJOR), ("minor", _MINOR)):
            inside = sum(1 for p in pitches if (p - tonic) % 12 in scale)
            score = inside + 0.6 * (pitches[-1] % 12 == tonic) + 0.4 * (pitches[0] % 12 == tonic)
            score += 0.1 * (mode == "major")
            if best is None or score > best[0]:
                best = (score, f"{_NAMES[tonic]} {mode}")
    assert best is not None
    return best[1]


def midi_meter(path: str | Path) -> str:
    """The first time signature of a MIDI file as a meter: itself when the engine plays it,
    else the 6/8 family, 3/4 or 4/4."""
    import pretty_midi

    try:
        signatures = pretty_midi.PrettyMIDI(str(path)).time_signature_changes
    except Exception:  # reported by `notes_from_midi`
        return "4/4"
    if not signatures:
        return "4/4"
    first = signatures[0]
    meter = f"{first.numerator}/{first.denominator}"
    from engine_core.spec import SUPPORTED_METERS  # spec imports this module

    if meter in SUPPORTED_METERS:
        return meter
    return "6/8" if is_compound(meter) else "3/4" if meter == "3/4" else "4/4"


def make_motif(
    name: str, notes: tuple[MotifNote, ...], key: str | None, meter: str = "4/4"
) -> Motif:
    """A checked `Motif` (key inferred from the pitches when `key` is None)."""
    if not notes:
        raise MotifError("empty_motif", f"motif {name!r} has no notes", motif=name)
    if len(notes) < MIN_NOTES:
        raise MotifError(
            "motif_too_short",
            f"motif {name!r} has {len(notes)} note(s); a motif needs at least {MIN_NOTES}",
            motif=name,
        )
    if len(notes) > MAX_NOTES:
        raise MotifError(
            "motif_too_long",
            f"motif {name!r} has {len(notes)} notes; at most {MAX_NOTES}",
            motif=name,
        )
    for _, _, pitch in notes:
        if not 0 <= pitch <= 127:
            raise MotifError(
                "motif_out_of_range", f"motif {name!r}: pitch {pitch} outside 0-127", motif=name
            )
    return Motif(
        name=name, key=key or infer_key(tuple(p for _, _, p in notes)), notes=notes, meter=meter
    )


def motif_from_text(
    name: str, entries: list[str], key: str | None = None, meter: str = "4/4"
) -> Motif:
    return make_motif(name, notes_from_text(entries), key, meter)


def motif_from_midi(
    name: str, path: str | Path, key: str | None = None, meter: str | None = None
) -> Motif:
    notes, signature = notes_from_midi(path)
    return make_motif(name, notes, key or signature, meter or midi_meter(path))
