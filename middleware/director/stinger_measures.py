"""Measures of stinger renditions over their host states (`ostinato eval-stingers`).

For each (stinger, state) pair of a pack, with real generated audio:

- **scale**: the rendition's pitched notes (its MIDI, drum kits left out) whose pitch class
  is outside the host state's scale (the host's key and mode; a stinger that pins its key
  is measured against its own key and reported as pinned). The base stinger's notes
  against the same host scale are the baseline: what was laid over the state before
  renditions.
- **onset**: the real director plays the host state, the stinger is asked for off the beat,
  and the planned onset (`stinger.planned.at_sample`) is compared with the beat clock the
  director emits for the host (`beat` events): the distance to the nearest host beat, in
  samples. The director's choice (`rendition`, `fallback`) is recorded too.
- **beats**: every beat line inside the stinger (its metadata's `beat_samples`), laid from
  the onset, against the host's beat lines: the largest distance in samples, for the
  rendition and for the base stinger (whose own tempo drifts off the host's grid).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engine_core.arrange.harmony import scale_of
from engine_core.spec import Key, beat_to_sample
from engine_core.variant import Variant, VariantSet
from middleware.director import events as ev
from middleware.director.director import Director
from middleware.templates.model import TemplatePack
from middleware.templates.renditions import rendition_name

#: General MIDI's drum channel (0-based): notes there are drum sounds, not pitches.
DRUM_CHANNEL = 9
#: Frames rendered before the stinger is asked for: off every beat of the bundled tempi.
ASK_AFTER_FRAMES = 3 * 1031


@dataclass(frozen=True)
class PairMeasure:
    pack: str
    stinger: str
    host: str
    host_key: str
    rendition_key: str
    key_pinned: bool
    notes: int  # pitched notes of the rendition
    outside: int  # ... outside the host's scale
    base_notes: int  # pitched notes of the base stinger
    base_outside: int  # ... outside the host's scale (the baseline)
    played: str  # the set the director laid
    fallback: str | None
    onset_error_samples: int  # planned onset to the nearest host beat
    beat_error_samples: int  # largest distance of a rendition beat line to a host beat
    base_beat_error_samples: int  # the same for the base stinger

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def pitched_notes(variant: Variant) -> list[int]:
    """MIDI note numbers of every pitched note-on in a variant's MIDI (drums left out)."""
    import mido

    midi = mido.MidiFile(file=io.BytesIO(variant.midi))
    return [
        message.note
        for track in midi.tracks
        for message in track
        if message.type == "note_on" and message.velocity > 0 and message.channel != DRUM_CHANNEL
    ]


def outside_scale(notes: list[int], key: Key) -> int:
    scale = set(scale_of(key))
    return sum(1 for note in notes if note % 12 not in scale)


def host_beats(variant_set: VariantSet, upto: int) -> np.ndarray:
    """Beat lines of a state's timeline started at sample 0, up to past sample `upto`: the
    loop's lines repeated (as the director repeats them), a one-shot's at its tempo."""
    meta = variant_set.variants[0].meta
    if not meta.is_loop:
        per_beat = 60 * meta.sample_rate / meta.bpm
        count = int(upto / per_beat) + 2
        return np.asarray(
            [beat_to_sample(b, meta.bpm, meta.sample_rate) for b in range(count)], dtype=np.int64
        )
    beats = np.asarray(meta.beat_samples, dtype=np.int64)
    loops = upto // meta.loop_end + 2
    return np.concatenate([beats + k * meta.loop_end for k in range(loops)])


def grid_error(lines: np.ndarray, grid: np.ndarray) -> int:
    """Largest distance from any of `lines` to the nearest line of `grid` (samples)."""
    positions = np.searchsorted(grid, lines)
    left = grid[np.clip(positions - 1, 0, len(grid) - 1)]
    right = grid[np.clip(positions, 0, len(grid) - 1)]
    return int(np.max(np.minimum(np.abs(lines - left), np.abs(right - lines))))


def stinger_beat_lines(variant: Variant, at: int) -> np.ndarray:
    """The stinger's beat lines inside its musical length, laid from session sample `at`."""
    meta = variant.meta
    end = meta.bar_samples[-1]
    return np.asarray([at + b for b in meta.beat_samples if b < end], dtype=np.int64)


def director_onset(
    pack: TemplatePack, lookup: Callable[[str], VariantSet | None], host: str, stinger: str
) -> tuple[dict[str, Any], list[int]]:
    """Play `host` in a real director, ask for `stinger` off the beat, render past its onset:
    the `stinger.planned` data and the samples of the host's `beat` events."""
    director = Director(pack, lookup, start_state=host, sample_rate=pack.defaults.sample_rate)
    block = np.zeros((1031, 2), dtype=np.float32)
    while director.position < ASK_AFTER_FRAMES:
        director.render(block)
    plan = director.play_stinger(stinger)
    if plan is None:
        raise RuntimeError(f"the director dropped {stinger!r} over {host!r}")
    while director.position <= plan.at_sample + 1031:
        director.render(block)
    events = director.drain_events()
    planned = next(e.data for e in events if e.kind == ev.STINGER_PLANNED)
    beats = [e.sample for e in events if e.kind == ev.BEAT and e.data.get("state") == host]
    return planned, beats


def measure_pair(
    pack: TemplatePack, sets: dict[str, VariantSet], stinger: str, host: str
) -> PairMeasure:
    """Every measure of one (stinger, host) pair; `sets` holds the states, the stinger and
    its renditions (real generated sets)."""
    template = pack.stinger(stinger)
    state = pack.state(host)
    name = rendition_name(stinger, host)
    rendition = sets[name].variants[0]
    base = sets[stinger].variants[0]
    host_key = state.spec.key_info
    measured_key = Key.parse(rendition.meta.key) if template.key_pinned else host_key
    notes, base_notes = pitched_notes(rendition), pitched_notes(base)
    planned, beat_events = director_onset(pack, sets.get, host, stinger)
    at = int(planned["at_sample"])
    clock = np.asarray(beat_events, dtype=np.int64)
    grid = host_beats(sets[host], at + max(rendition.meta.frames, base.meta.frames))
    onset = (
        grid_error(np.asarray([at]), clock) if len(clock) else grid_error(np.asarray([at]), grid)
    )
    return PairMeasure(
        pack=pack.name,
        stinger=stinger,
        host=host,
        host_key=host_key.name,
        rendition_key=rendition.meta.key,
        key_pinned=template.key_pinned,
        notes=len(notes),
        outside=outside_scale(notes, measured_key),
        base_notes=len(base_notes),
        base_outside=outside_scale(base_notes, host_key),
        played=str(planned.get("rendition")),
        fallback=planned.get("fallback"),
        onset_error_samples=onset,
        beat_error_samples=grid_error(stinger_beat_lines(rendition, at), grid),
        base_beat_error_samples=grid_error(stinger_beat_lines(base, at), grid),
    )
