"""Is the motif there? A transposition-invariant, rhythm-tolerant search in arranged loops.

A line is the top note per onset of a stem (what a listener follows), read as scale
degrees of the state's key (`engine_core.arrange.motif.to_degree`), with repeated notes
merged (a re-struck note is rhythm, not melody). The motif is read the same way in its own
key. The motif is *found* when its sequence of degree steps appears as a contiguous run of
the line's degree steps, round the seam too (the loop is a circle). Degrees, not
semitones: a motif modally transposed into the state's mode keeps its degree steps; durations
and onsets are ignored.

`evaluate_motifs` generates the scores of every state of a pack (through the engine's
composer), arranges them, and reports for each state whether each variant quotes the pack's
motif; states that do not ask for it give the chance rate (the baseline).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine_core.arrange.arranger import ArrangedStem, Arrangement
from engine_core.arrange.motif import to_degree
from engine_core.motif import Motif
from engine_core.spec import Key


def degree_positions(pitches: Sequence[int], key: Key) -> list[int]:
    """Scale-degree positions (octave * 7 + degree) of a line, repeated notes merged."""
    positions: list[int] = []
    for pitch in pitches:
        position = to_degree(pitch, key)[0]
        if not positions or positions[-1] != position:
            positions.append(position)
    return positions


def degree_steps(pitches: Sequence[int], key: Key, *, circular: bool = False) -> list[int]:
    """Degree-to-degree moves of a line, repeated notes merged; with `circular`, the move
    from the last note back to the first (round a loop's seam) too."""
    positions = degree_positions(pitches, key)
    steps = [b - a for a, b in itertools.pairwise(positions)]
    if circular and len(positions) > 1 and positions[0] != positions[-1]:
        steps.append(positions[0] - positions[-1])
    return steps


def motif_steps(motif: Motif) -> list[int]:
    return degree_steps(list(motif.pitches), Key.parse(motif.key))


def stem_line(stem: ArrangedStem) -> list[int]:
    """The stem's top pitch per onset (onsets within a 32nd of a beat are one onset)."""
    tops: dict[int, int] = {}
    for note in stem.notes:
        onset = round(note.start_beats * 8)
        tops[onset] = max(tops.get(onset, note.pitch), note.pitch)
    return [tops[o] for o in sorted(tops)]


def contains(line_steps: Sequence[int], wanted: Sequence[int], *, circular: bool) -> bool:
    """`wanted` appears as a contiguous run of `line_steps` (wrapping round when circular)."""
    if not wanted:
        return False
    steps = list(line_steps)
    if circular:
        steps = steps + steps[: len(wanted) - 1]
    width = len(wanted)
    return any(steps[i : i + width] == list(wanted) for i in range(len(steps) - width + 1))


#: degree steps of the motif's head: the looser figure reported beside the full match
HEAD_STEPS = 3


def quotes_motif(
    arrangement: Arrangement, motif: Motif, roles: Sequence[str], *, head: bool = False
) -> bool:
    """Some stem of `roles` plays the motif's degree steps (in the arrangement's key);
    with `head`, only its first `HEAD_STEPS` steps."""
    key = Key.parse(arrangement.key)
    wanted = motif_steps(motif)[:HEAD_STEPS] if head else motif_steps(motif)
    for stem in arrangement.stems:
        if stem.stem.role not in roles:
            continue
        steps = degree_steps(stem_line(stem), key, circular=True)
        if contains(steps, wanted, circular=True):
            return True
    return False


@dataclass(frozen=True)
class StateMotifResult:
    name: str  # "<pack>/<state>"
    asks: bool  # the state quotes the motif
    voice: str  # where it asks for it (or where the baseline looks)
    found: tuple[bool, ...]  # one per variant
    head_found: tuple[bool, ...] = ()  # the motif's head (first HEAD_STEPS steps), per variant

    @property
    def rate(self) -> float:
        return sum(self.found) / len(self.found) if self.found else 0.0


@dataclass(frozen=True)
class MotifEvaluation:
    states: tuple[StateMotifResult, ...]

    def rate(self, asks: bool, *, head: bool = False) -> float:
        found = [
            f for s in self.states if s.asks == asks for f in (s.head_found if head else s.found)
        ]
        return sum(found) / len(found) if found else float("nan")

    def count(self, asks: bool) -> int:
        return sum(len(s.found) for s in self.states if s.asks == asks)


ProgressCallback = Callable[[str, int, int], None]


def evaluate_state(
    composer,  # engine_core.composer.Composer
    spec,  # GenerationSpec
    motif: Motif,
    *,
    name: str,
    seed: int,
    variants: int,
) -> StateMotifResult:
    """Compose and arrange one state's variants; does each one quote `motif`?"""
    from engine_core.arrange.arranger import arrange

    asks = spec.motif is not None
    voice = spec.motif.voice if spec.motif is not None else "melody"
    roles = (voice,) if asks else ("melody", "bass")
    scores = composer.compose(spec, seed=seed, variants=variants)
    found, head = [], []
    for index, score in enumerate(scores):
        arrangement = arrange(score, spec, seed=seed, variant_index=index)
        found.append(quotes_motif(arrangement, motif, roles))
        head.append(quotes_motif(arrangement, motif, roles, head=True))
    return StateMotifResult(name, asks, voice if asks else "melody+bass", tuple(found), tuple(head))


def format_table(evaluation: MotifEvaluation) -> str:
    rows = [
        "| state | asks | voice | variants found | head found |",
        "| --- | --- | --- | --- | --- |",
    ]
    for state in evaluation.states:
        rows.append(
            f"| {state.name} | {'yes' if state.asks else 'no'} | {state.voice} | "
            f"{sum(state.found)}/{len(state.found)} | "
            f"{sum(state.head_found)}/{len(state.head_found)} |"
        )
    rows.append("")
    rows.append(
        f"motif found: {evaluation.rate(True):.0%} of {evaluation.count(True)} variants of "
        f"states that ask for it (goal >= 90%); chance baseline: {evaluation.rate(False):.0%} "
        f"of {evaluation.count(False)} variants of states that do not; the head alone "
        f"(first {HEAD_STEPS} steps): {evaluation.rate(True, head=True):.0%} / "
        f"{evaluation.rate(False, head=True):.0%}"
    )
    return "\n".join(rows)
