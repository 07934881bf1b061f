"""The director: one per session; takes game events, renders sample-accurate stereo blocks.

Events (`set_state`, `set_intensity`, `play_stinger`) are applied at a session sample:
now (the next block's first sample) or a given later sample. The director plans each
state change with the pack's transition table (when to leave, where to enter, how to
fade, what fills the gap) and carries it out on exactly the planned sample. Every gain is
a function of the session sample, so a given event log renders the same samples whatever
the block size, bit for bit. See docs/director.md for the rules (pending transitions,
one-shots, stingers, missing audio).
"""

from __future__ import annotations

import heapq
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from engine_core.variant import VariantSet
from middleware.director import events as ev
from middleware.director.errors import AudioNotReadyError, DirectorError, InvalidEventError
from middleware.director.events import Clock, DirectorEvent, StingerPlan, TransitionPlan
from middleware.director.intensity import FULL_SWEEP_S, IntensityRamp
from middleware.director.rotation import VariantRotation
from middleware.director.stinger_renditions import RenditionChoice, choose_rendition
from middleware.director.tables import SHARED_TABLES, TableMemo
from middleware.director.timing import (
    LoopGrid,
    musical_position,
    next_sync_sample,
    same_position_offset,
)
from middleware.director.voice import Duck, Envelope, Voice
from middleware.mixer import (
    MAX_BLOCK_FRAMES,
    MIN_BLOCK_FRAMES,
    BlockMixer,
    SoftClipper,
    to_int16,
)
from middleware.mixer.curves import TABLE_MAX_SAMPLES, click_guard_samples
from middleware.mixer.limiter import db_to_gain
from middleware.templates.model import EnterAt, Fade, LeaveAt, TemplatePack, TransitionRule

VariantLookup = Callable[[str], VariantSet | None]

#: Ramp time of a stinger's duck (down and back up).
DUCK_RAMP_MS = 10.0


@dataclass
class _Timeline:
    """The state that is playing now: its loop grid, its origin, its current voice."""

    state: str
    variants: VariantSet
    grid: LoopGrid
    origin: int
    voice: Voice
    bar_base: int
    one_shot: bool


def _cloned(
    voices: Sequence[Voice], current: _Timeline | None
) -> tuple[list[Voice], _Timeline | None]:
    """Copies of `voices` and of `current` whose voice is its copy among them (a snapshot
    and a restore must never share a voice the mixer goes on changing)."""
    copies = {id(voice): voice.clone() for voice in voices}
    if current is not None:
        voice = copies.get(id(current.voice)) or current.voice.clone()
        current = replace(current, voice=voice)
    return list(copies.values()), current


@dataclass(order=True)
class _Queued:
    sample: int
    seq: int
    kind: str = field(compare=False)
    args: dict[str, Any] = field(compare=False)


@dataclass(frozen=True)
class _Scratch:
    """The buffers rendering works in (allocated once, for the largest block)."""

    mixer: BlockMixer
    clipper: SoftClipper
    block: np.ndarray
    int_scratch: np.ndarray

    @classmethod
    def make(cls, max_frames: int) -> _Scratch:
        return cls(
            BlockMixer(max_frames),
            SoftClipper(max_frames),
            np.zeros((max_frames, 2), dtype=np.float32),
            np.zeros((max_frames, 2), dtype=np.float32),
        )


@dataclass
class _Pending:
    plan: TransitionPlan
    rule: TransitionRule


@dataclass(frozen=True)
class DirectorSnapshot:
    """Everything `Director.render` reads and changes, at one session sample (see
    `Director.snapshot`). Audio, tables and the variant lookup are shared, never copied."""

    position: int
    queue: tuple[_Queued, ...]
    seq: int
    current: _Timeline | None
    pending: _Pending | None
    waiting: dict[str, Any] | None
    voices: tuple[Voice, ...]
    ducks: tuple[Duck, ...]
    intensity: IntensityRamp
    rotations: dict[str, tuple[Any, int | None]]
    entry_intensity: _Queued | None


class Director:
    """Plays a template pack's states for one session.

    `variants(name)` returns the variant set of a state or stinger, or None while it is not
    generated yet; the director asks again (at block starts) until it is ready.
    """

    def __init__(
        self,
        pack: TemplatePack,
        variants: VariantLookup,
        *,
        sample_rate: int = 48000,
        seed: int = 0,
        start_state: str | None = None,
        max_block_frames: int = MAX_BLOCK_FRAMES,
        variant_fade_ms: float = 20.0,
        intensity_sweep_s: float = FULL_SWEEP_S,
        emit_beats: bool = True,
        tables: TableMemo = SHARED_TABLES,
    ) -> None:
        if not MIN_BLOCK_FRAMES <= max_block_frames <= MAX_BLOCK_FRAMES:
            raise DirectorError(
                f"max_block_frames must be {MIN_BLOCK_FRAMES}..{MAX_BLOCK_FRAMES}",
                {"value": max_block_frames},
            )
        if intensity_sweep_s <= 0:
            raise DirectorError("intensity_sweep_s must be positive")
        self.pack = pack
        self.sample_rate = sample_rate
        self.seed = seed
        self.emit_beats = emit_beats
        self._lookup = variants
        self._sets: dict[str, VariantSet] = {}
        self._broken: dict[str, DirectorError] = {}  # sets refused by `_check_set`
        self._rotations: dict[str, VariantRotation] = {}
        self._max_block_frames = max_block_frames
        self._scratch: _Scratch | None = None  # made by the first render: a director that
        # never renders (a service session without a stream) holds no mixing buffers
        self._guard = click_guard_samples(sample_rate)
        self._variant_fade = max(self._guard, round(variant_fade_ms * sample_rate / 1000))
        self._duck_ramp = max(1, round(DUCK_RAMP_MS * sample_rate / 1000))
        self._tables = tables  # fade and ramp tables, shared with every other session
        for length in (self._guard, self._variant_fade):  # used in the steady state
            self._fade(0, length, "in")
            self._fade(0, length, "out")
        self._entry_intensity: _Queued | None = None  # queued by the last filler transition
        self._position = 0
        self._queue: list[_Queued] = []
        self._seq = 0
        self._current: _Timeline | None = None
        self._pending: _Pending | None = None
        self._waiting: dict[str, Any] | None = None
        self._voices: list[Voice] = []
        self._ducks: list[Duck] = []
        step = 1.0 / (intensity_sweep_s * sample_rate)
        first = start_state or pack.start_state
        initial = pack.state(first).intensity
        self._intensity = IntensityRamp(0, initial, initial, step)
        self._events: list[DirectorEvent] = []
        self.set_state(first, at_sample=0)

    # ---------------------------------------------------------------- public: events

    @property
    def position(self) -> int:
        """Session sample of the next block's first frame."""
        return self._position

    @property
    def intensity_step(self) -> float:
        """Largest change of the smoothed intensity between two samples."""
        return self._intensity.step

    def set_state(
        self, name: str, intensity: float | None = None, at_sample: int | None = None
    ) -> TransitionPlan | None:
        """Ask for state `name`. Applied now (returns the plan, None if nothing changes) or,
        with a later `at_sample`, when rendering reaches it (the plan is reported as an event)."""
        self.pack.state(name)  # unknown state: UnknownStateError now, not later
        if intensity is not None:
            _check_unit(intensity, "intensity")
        return self._submit("state", at_sample, {"name": name, "intensity": intensity})

    def set_intensity(self, value: float, at_sample: int | None = None) -> None:
        """Move the intensity towards `value` (0..1), smoothed, from now or `at_sample`."""
        _check_unit(value, "intensity")
        self._submit("intensity", at_sample, {"value": float(value)})

    def play_stinger(self, name: str, at_sample: int | None = None) -> StingerPlan | None:
        """Lay stinger `name` over the music on its sync point (next beat or bar), in its
        rendition for the state playing there when that is ready (see docs/director.md)."""
        self.pack.stinger(name)
        now = at_sample is None or at_sample == self._position
        if now and self._variant_set(name) is None and not self._choose(name).rendition:
            if name in self._broken:
                raise self._broken[name]
            raise AudioNotReadyError(f"stinger {name!r} is not generated yet", {"name": name})
        return self._submit("stinger", at_sample, {"name": name})

    def drain_events(self) -> list[DirectorEvent]:
        """Events since the last call (beats, bars, transitions, states...), oldest first."""
        drained, self._events = self._events, []
        return drained

    def clock(self) -> Clock:
        current = self._current
        state = current.state if current else None
        variant = current.voice.index if current else -1
        bar, beat = self._bar_beat_at(self._position)
        return Clock(
            sample=self._position,
            state=state,
            variant=variant,
            bar=bar,
            beat=beat,
            intensity=self._intensity.value_at(self._position),
            pending=self._pending.plan if self._pending else None,
            waiting_for=self._waiting["name"] if self._waiting else None,
        )

    # ---------------------------------------------------------------- public: rewind

    def snapshot(self) -> DirectorSnapshot:
        """The director as it is now, to `restore` later: rendering from a restored
        snapshot gives the same samples, bit for bit, as rendering went the first time,
        and an event applied after `restore` sounds as if it had come at that sample.

        A snapshot is small: the voices are shallow copies (their audio, envelopes and
        ducks are immutable and shared), the queue and plans are shared immutable
        records, and each variant rotation keeps its random state. Events not drained
        yet are not part of it (drain them first).
        """
        voices, current = _cloned(self._voices, self._current)
        return DirectorSnapshot(
            position=self._position,
            queue=tuple(self._queue),
            seq=self._seq,
            current=current,
            pending=self._pending,
            waiting=self._waiting,
            voices=tuple(voices),
            ducks=tuple(self._ducks),
            intensity=self._intensity,
            rotations={
                name: (rotation.random_state(), rotation.last)
                for name, rotation in self._rotations.items()
            },
            entry_intensity=self._entry_intensity,
        )

    def restore(self, snapshot: DirectorSnapshot) -> None:
        """Go back to `snapshot` (taken by this director): the clock, voices, plans,
        queued events, intensity and variant rotations as they were. Undrained events are
        dropped. The snapshot stays valid: it may be restored again."""
        voices, current = _cloned(snapshot.voices, snapshot.current)
        self._position = snapshot.position
        self._queue = list(snapshot.queue)  # a heap as it was: heap order is kept
        self._seq = snapshot.seq
        self._current = current
        self._pending = snapshot.pending
        self._waiting = snapshot.waiting
        self._voices = voices
        self._ducks = list(snapshot.ducks)
        self._intensity = snapshot.intensity
        rotations: dict[str, VariantRotation] = {}
        for name, (state, last) in snapshot.rotations.items():
            rotation = self._rotation(name)
            rotation.set_random_state(state)
            rotation.last = last
            rotations[name] = rotation
        self._rotations = rotations
        self._entry_intensity = snapshot.entry_intensity
        self._events = []

    # ---------------------------------------------------------------- public: audio

    def render(self, out: np.ndarray) -> np.ndarray:
        """Fill `out` (frames, 2) float32 with the next block and advance the clock."""
        if (
            out.ndim != 2
            or out.shape[1] != 2
            or out.dtype != np.float32
            or not out.flags.c_contiguous
            or not MIN_BLOCK_FRAMES <= out.shape[0] <= self._max_block_frames
        ):
            raise DirectorError(
                f"render needs a C-contiguous float32 (frames, 2) block of {MIN_BLOCK_FRAMES}.."
                f"{self._max_block_frames} frames",
                {"shape": list(out.shape), "dtype": str(out.dtype)},
            )
        self._poll_waiting()
        out.fill(0.0)
        flat = out.reshape(-1)
        start = position = self._position
        end = start + out.shape[0]
        while position < end:
            self._apply_due(position)
            stop = min(end, self._next_break(position))
            self._mix(flat[2 * (position - start) : 2 * (stop - start)], position)
            if self.emit_beats:
                self._emit_beats(position, stop)
            position = stop
        self._position = end
        self._buffers().clipper.process(out)
        # Non-finite samples never leave the mixer (damaged audio that slipped past the
        # cache's checksums): one sum, no allocation. NaN and inf propagate into it, and
        # clipped samples cannot add up to an overflow.
        if not math.isfinite(float(np.add.reduce(flat))):
            np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            self._emit(ev.AUDIO_ERROR, start, reason="non-finite samples silenced")
        return out

    def render_int16(self, out: np.ndarray) -> np.ndarray:
        """Like `render`, into an int16 (frames, 2) block (float x 32767, rounded)."""
        scratch = self._buffers()
        block = scratch.block[: out.shape[0]]
        self.render(block)
        return to_int16(block, out, scratch.int_scratch)

    def _buffers(self) -> _Scratch:
        scratch = self._scratch
        if scratch is None:
            scratch = self._scratch = _Scratch.make(self._max_block_frames)
        return scratch

    # ---------------------------------------------------------------- events in time

    def _submit(self, kind: str, at_sample: int | None, args: dict[str, Any]) -> Any:
        if at_sample is None or at_sample == self._position:
            return self._apply(kind, self._position, args)
        if isinstance(at_sample, bool) or not isinstance(at_sample, numbers.Integral):
            raise InvalidEventError("at_sample must be an integer", {"value": repr(at_sample)})
        at_sample = int(at_sample)
        if at_sample < self._position:
            raise InvalidEventError(
                f"at_sample {at_sample} was already played (clock is at {self._position})",
                {"at_sample": at_sample, "position": self._position},
            )
        self._seq += 1
        heapq.heappush(self._queue, _Queued(at_sample, self._seq, kind, args))
        return None

    def _apply(self, kind: str, sample: int, args: dict[str, Any]) -> Any:
        if kind == "state":
            return self._request_state(args["name"], args["intensity"], sample)
        if kind == "intensity":
            self._intensity = self._intensity.retarget(sample, args["value"])
            return None
        return self._request_stinger(args["name"], sample)

    def _apply_due(self, position: int) -> None:
        while self._queue and self._queue[0].sample <= position:
            item = heapq.heappop(self._queue)
            self._apply(item.kind, position, item.args)
        if self._pending is not None and self._pending.plan.at_sample <= position:
            pending, self._pending = self._pending, None
            self._start_transition(pending, position)
        current = self._current
        if (
            current is not None
            and current.voice.looping
            and current.voice.fade_out is None
            and position > current.voice.start
            and (position - current.origin) % current.voice.length == 0
        ):
            self._rotate(current, position)
        if any(v.end <= position for v in self._voices):
            self._voices = [v for v in self._voices if v.end > position]
        if any(d.end <= position for d in self._ducks):
            self._ducks = [d for d in self._ducks if d.end > position]

    def _next_break(self, position: int) -> int:
        best = self._queue[0].sample if self._queue else math.inf
        if self._pending is not None:
            best = min(best, self._pending.plan.at_sample)
        for voice in self._voices:
            best = min(best, voice.next_break(position))
        for duck in self._ducks:
            for edge in duck.edges():
                if edge > position:
                    best = min(best, edge)
                    break
        if self._intensity.end_sample > position:
            best = min(best, self._intensity.end_sample)
        return int(best) if best != math.inf else 1 << 62

    # ---------------------------------------------------------------- state changes

    def _variant_set(self, name: str) -> VariantSet | None:
        """The ready set of a state or stinger, or None. A set the mixer cannot play is
        reported once (`audio.error`) and treated as missing: rendering never raises."""
        ready = self._sets.get(name)
        if ready is None and name not in self._broken:
            found = self._lookup(name)
            if found is not None and found.variants:
                try:
                    self._check_set(name, found)
                except DirectorError as error:
                    self._broken[name] = error
                    self._emit(ev.AUDIO_ERROR, self._position, state=name, **error.to_wire())
                    return None
                self._sets[name] = ready = found
        return ready

    def _check_set(self, name: str, variant_set: VariantSet) -> None:
        """Refuse audio the mixer cannot play as it is (rate, shape, dtype, loop points)."""
        for variant in variant_set.variants:
            meta = variant.meta
            frames = variant.mix.shape[0] if variant.mix.ndim == 2 else -1
            problem = None
            if meta.sample_rate != self.sample_rate:
                problem = f"is {meta.sample_rate} Hz, the session plays at {self.sample_rate} Hz"
            elif any(
                a.dtype != np.float32 or a.ndim != 2 or a.shape != (frames, 2)
                for a in (variant.mix, *variant.stems.values())
            ):
                problem = "needs float32 (frames, 2) mix and stems of one length"
            elif meta.is_loop and not 0 < meta.loop_end <= frames:
                problem = f"has loop_end {meta.loop_end} outside its {frames} frames"
            if problem is not None:
                raise DirectorError(
                    f"variant {meta.index} of {name!r} {problem}",
                    {"state": name, "variant": meta.index},
                )

    def _request_state(
        self, name: str, intensity: float | None, sample: int
    ) -> TransitionPlan | None:
        current, pending = self._current, self._pending
        if self._waiting is not None:
            self._waiting = None  # a newer request replaces the one waiting for audio
        if pending is not None and pending.plan.target == name and not pending.plan.automatic:
            return pending.plan
        if current is not None and current.state == name:
            if pending is not None and not pending.plan.automatic:
                self._pending = None
                self._emit(ev.TRANSITION_CANCELLED, sample, **pending.plan.to_json())
            if intensity is not None:
                self._intensity = self._intensity.retarget(sample, intensity)
            return None
        plan, rule = self._plan(name, sample, intensity)
        if plan.at_sample > sample and self._variant_set(name) is None:
            self._emit(ev.WAITING_FOR_AUDIO, sample, state=name)  # told early; planned anyway
        self._pending = _Pending(plan, rule)
        self._emit(ev.TRANSITION_PLANNED, sample, **plan.to_json())
        if plan.at_sample == sample:
            self._pending = None
            self._start_transition(_Pending(plan, rule), sample)
        return plan

    def _plan(
        self, target: str, sample: int, intensity: float | None, *, automatic: bool = False
    ) -> tuple[TransitionPlan, TransitionRule]:
        current = self._current
        if current is None:
            rule = TransitionRule("*", target, LeaveAt.IMMEDIATE, EnterAt.START, Fade.NONE)
            plan = TransitionPlan(
                None, target, sample, 0, 0, "immediate", "start", "none", self._guard,
                intensity=intensity,
            )  # fmt: skip
            return plan, rule
        rule = self.pack.transition(current.state, target)
        at = current.origin + next_sync_sample(
            sample - current.origin, rule.leave_at, current.grid, phrase_bars=rule.phrase_bars
        )
        if automatic:
            at = current.origin + current.grid.loop_samples
        meta = current.variants.variants[0].meta
        fade_samples = max(
            self._guard,
            rule.fade_length.to_samples(meta.bpm, current.grid.beats_per_bar, self.sample_rate),
        )
        bar, beat = self._bar_beat_at(at)
        filler = rule.filler
        plan = TransitionPlan(
            source=current.state,
            target=target,
            at_sample=at,
            bar=bar,
            beat=beat,
            leave_at=str(rule.leave_at) if not automatic else "loop_end",
            enter_at=str(rule.enter_at),
            fade=str(rule.fade),
            fade_samples=fade_samples,
            stinger=filler.stinger if filler else None,
            bridge_bars=filler.bridge_bars if filler else 0,
            intensity=intensity,
            automatic=automatic,
        )
        return plan, rule

    def _poll_waiting(self) -> None:
        waiting = self._waiting
        if waiting is None or self._variant_set(waiting["name"]) is None:
            return
        self._waiting = None
        self._emit(ev.AUDIO_READY, self._position, state=waiting["name"])
        self._request_state(waiting["name"], waiting["intensity"], self._position)

    def _start_transition(self, pending: _Pending, sample: int) -> None:
        plan, rule = pending.plan, pending.rule
        target_set = self._variant_set(plan.target)
        if target_set is None:
            # Keep playing what plays now; plan again once the audio is ready.
            self._waiting = {"name": plan.target, "intensity": plan.intensity}
            self._emit(ev.WAITING_FOR_AUDIO, sample, state=plan.target)
            return
        template = self.pack.state(plan.target)
        first = target_set.variants[0].meta
        grid = LoopGrid.from_meta(first)
        one_shot = template.one_shot or not first.is_loop
        current = self._current
        self._retire_unheard(sample)
        # Stingers ring on; a finished one-shot rings out its tail; fillers come after this.
        outgoing = [v for v in self._voices if v.music and not (plan.automatic and not v.looping)]
        enter = sample
        bridged = False  # a generated bridge plays: the target enters at its start, variant 0
        if plan.stinger is not None:
            stinger_voice = self._stinger_voice(plan.stinger, sample)
            if stinger_voice is None:
                self._emit(ev.BRIDGE_FALLBACK, sample, reason="filler stinger not ready")
            else:
                stinger_voice.filler = True
                enter = sample + _musical_length(stinger_voice)
        elif plan.bridge_bars > 0 and plan.source is not None:
            bridge = self._bridge_voice(plan.source, plan.target, sample)
            if bridge is None:
                self._emit(
                    ev.BRIDGE_FALLBACK, sample, reason="no bridge audio for this pair",
                    bridge=bridge_name(plan.source, plan.target),
                )  # fmt: skip
            else:
                enter = sample + _musical_length(bridge)
                bridged = True
                self._emit(
                    ev.BRIDGE_START, sample, bridge=bridge.state, **{"from": plan.source},
                    to=plan.target, bars=plan.bridge_bars, ends_at=enter,
                )  # fmt: skip
        fade = self._effective_fade(rule, plan, current, first.bpm, grid.beats_per_bar)
        offset = 0
        same_position = rule.enter_at is EnterAt.SAME_POSITION and not bridged
        if current is not None and same_position and not one_shot:
            offset = same_position_offset(enter - current.origin, current.grid, grid)
        origin = enter - offset
        for voice in outgoing:
            length = plan.fade_samples if fade in (Fade.CROSS, Fade.OUT) else self._guard
            voice.stop_with(self._fade(sample, length, "out"))
        rotation = self._rotation(plan.target)
        index = rotation.next(len(target_set.variants))
        if bridged:  # the bridge was written into variant 0's first bar
            index = rotation.last = 0
        voice = Voice(
            state=plan.target,
            index=index,
            variant=target_set.variants[index],
            origin=origin,
            start=enter,
            looping=not one_shot,
        )
        length = plan.fade_samples if fade in (Fade.CROSS, Fade.IN) else self._guard
        voice.begin_with(self._fade(enter, length, "in"))
        self._voices.append(voice)
        bar_base = self._entry_bar_base(current, sample, origin, grid)
        self._current = _Timeline(plan.target, target_set, grid, origin, voice, bar_base, one_shot)
        self._relay_stingers(enter, sample)
        level = plan.intensity if plan.intensity is not None else template.intensity
        if enter == sample:
            self._intensity = self._intensity.retarget(sample, level)
        else:  # the layers change when the incoming music enters (after a filler)
            self._seq += 1
            entry = _Queued(enter, self._seq, "intensity", {"value": level})
            heapq.heappush(self._queue, entry)
            self._entry_intensity = entry
        bar, _ = self._bar_beat_at(sample)
        self._emit(
            ev.TRANSITION_STARTED, sample, **{"from": plan.source},
            to=plan.target, bar=bar, variant=index, fade=str(fade),
        )  # fmt: skip
        self._emit(ev.STATE, enter, state=plan.target, variant=index)
        if one_shot:
            follow = template.next or (plan.source if rule.hold_previous else None)
            if follow is not None:
                next_plan, next_rule = self._plan(follow, enter, None, automatic=True)
                self._pending = _Pending(next_plan, next_rule)
                self._emit(ev.TRANSITION_PLANNED, sample, **next_plan.to_json())

    def _retire_unheard(self, sample: int) -> None:
        """Before a transition starting on `sample`: drop what an earlier transition lined
        up that has not sounded yet, and will not now.

        Music voices (and filler stingers) whose first audible sample is not before
        `sample` are cancelled rather than faded out: a state left on the very sample it
        was entered never sounds. Likewise the intensity change queued for the moment a
        filler's incoming music would have entered. With the session clock standing still
        (no stream, or a paused game) this keeps every event's cost and the session's
        memory bounded, whatever the number of events; with the clock running it changes
        nothing that is heard (such voices are rare: they need two transitions inside one
        filler or one block boundary-free instant).
        """
        if any(v.start >= sample and (v.music or v.filler) for v in self._voices):
            self._voices = [
                v for v in self._voices if not (v.start >= sample and (v.music or v.filler))
            ]
        entry, self._entry_intensity = self._entry_intensity, None
        if entry is not None and entry.sample > sample and entry in self._queue:
            self._queue.remove(entry)
            heapq.heapify(self._queue)

    def load(self) -> dict[str, int]:
        """Sizes of what the director holds now (voices, ducks, queued events, undrained
        events): bounded whatever the events and the clock do (tests, benchmarks)."""
        return {
            "voices": len(self._voices),
            "ducks": len(self._ducks),
            "queued": len(self._queue),
            "events": len(self._events),
        }

    def _effective_fade(
        self,
        rule: TransitionRule,
        plan: TransitionPlan,
        current: _Timeline | None,
        target_bpm: float,
        target_beats_per_bar: int,
    ) -> Fade:
        if current is None:
            return Fade.NONE
        if rule.fade is not Fade.AUTO:
            return rule.fade
        meta = current.variants.variants[0].meta
        same_tempo = meta.bpm == target_bpm
        same_meter = current.grid.beats_per_bar == target_beats_per_bar
        return Fade.CROSS if same_tempo and same_meter else Fade.OUT

    def _rotate(self, current: _Timeline, sample: int) -> None:
        count = len(current.variants.variants)
        index = self._rotation(current.state).next(count)
        if index == current.voice.index:
            return
        current.voice.stop_with(self._fade(sample, self._variant_fade, "out"))
        voice = Voice(
            state=current.state,
            index=index,
            variant=current.variants.variants[index],
            origin=current.origin,
            start=sample,
            looping=True,
        )
        voice.begin_with(self._fade(sample, self._variant_fade, "in"))
        self._voices.append(voice)
        current.voice = voice
        self._emit(ev.VARIANT, sample, state=current.state, variant=index)

    def _rotation(self, state: str) -> VariantRotation:
        rotation = self._rotations.get(state)
        if rotation is None:
            weights = self.pack.state(state).variant_weights
            rotation = self._rotations[state] = VariantRotation(self.seed, state, weights)
        return rotation

    def _fade(self, start: int, length: int, shape: str) -> Envelope:
        """An equal-power fade; tabulated (once per length) unless it is very long."""
        if length > TABLE_MAX_SAMPLES:
            return Envelope(start, length, shape)
        return Envelope(start, length, shape, self._tables.fade(shape, length))

    # ---------------------------------------------------------------- stingers

    def _request_stinger(self, name: str, sample: int) -> StingerPlan | None:
        template = self.pack.stinger(name)
        current = self._current
        at = sample
        if current is not None:
            at = current.origin + next_sync_sample(
                sample - current.origin, template.sync, current.grid
            )
        for laid in self._voices:
            if not laid.music and not laid.filler and laid.state == name and laid.origin == at:
                # Already laid on this very sample: the same cue twice is one cue (this keeps a
                # session whose clock stands still from piling up voices and ducks).
                plan = StingerPlan(name, at, str(template.sync), **laid.rendition)
                self._emit(ev.STINGER_PLANNED, sample, **plan.to_json())
                return plan
        return self._lay_stinger(name, at, sample)

    def _choose(self, name: str) -> RenditionChoice:
        """The set stinger `name` plays over the current state (see stinger_renditions)."""
        host = self._current.state if self._current is not None else None
        return choose_rendition(self.pack, name, host, self._variant_set)

    def _lay_stinger(self, name: str, at: int, sample: int) -> StingerPlan | None:
        """Lay stinger `name` (its rendition for the current state, or the base stinger) with
        its duck from session sample `at`; reported at `sample`."""
        template = self.pack.stinger(name)
        choice = self._choose(name)
        voice = self._stinger_voice(name, at, choice.set_name)
        if voice is None:
            self._emit(ev.STINGER_DROPPED, sample, name=name, reason="not generated yet")
            return None
        hold_end = at + _musical_length(voice)
        duck = Duck(at, hold_end, db_to_gain(template.duck_db), self._duck_ramp, self._tables)
        self._ducks.append(duck)
        voice.duck = duck
        voice.rendition = choice.to_json()
        plan = StingerPlan(name, at, str(template.sync), **voice.rendition)
        self._emit(ev.STINGER_PLANNED, sample, **plan.to_json())
        return plan

    def _relay_stingers(self, enter: int, sample: int) -> None:
        """A state entered at `enter`: stingers laid for another state that would start at or
        after it are laid again on the new state's grid, in its rendition (the stinger then
        plays over the state audible at its onset). `stinger.planned` reports the new plan
        with `replaces` = the sample it had been planned on."""
        current = self._current
        if current is None:
            return
        moved = [
            v
            for v in self._voices
            if not v.music
            and not v.filler
            and v.start >= enter
            and v.rendition.get("host") not in (None, current.state)
        ]
        for old in moved:
            self._voices.remove(old)
            if old.duck in self._ducks:
                self._ducks.remove(old.duck)
            template = self.pack.stinger(old.state)
            at = current.origin + next_sync_sample(
                old.start - current.origin, template.sync, current.grid
            )
            plan = self._lay_stinger(old.state, at, sample)
            if plan is not None:
                self._events[-1].data["replaces"] = old.start

    def _bridge_voice(self, source: str, target: str, at: int) -> Voice | None:
        """The generated bridge from `source` to `target` as a music voice, if there is one."""
        name = bridge_name(source, target)
        bridge_set = self._variant_set(name)
        if bridge_set is None:
            return None
        voice = Voice(
            state=name, index=0, variant=bridge_set.variants[0], origin=at, start=at,
            looping=False,
        )  # fmt: skip
        voice.begin_with(self._fade(at, self._guard, "in"))
        self._voices.append(voice)
        return voice

    def _stinger_voice(self, name: str, at: int, set_name: str | None = None) -> Voice | None:
        """A voice of stinger `name` from `at`: the set `set_name` (a rendition) or its own."""
        stinger_set = self._variant_set(set_name or name)
        if stinger_set is None:
            return None
        template = self.pack.stinger(name)
        variant = stinger_set.variants[0]
        voice = Voice(
            state=name,
            index=0,
            variant=variant,
            origin=at,
            start=at,
            looping=False,
            music=False,
            gain=db_to_gain(template.gain_db),
        )
        self._voices.append(voice)
        return voice

    # ---------------------------------------------------------------- mixing

    def _mix(self, out: np.ndarray, sample: int) -> None:
        """Mix session samples `sample ..` into `out`, a flat interleaved segment."""
        values = out.shape[0]
        mixer = self._buffers().mixer
        intensity_vector = None
        if sample < self._intensity.end_sample:
            self._intensity.fill(mixer.ramp64[:values], mixer.index64, sample)
            intensity_vector = mixer.ramp32[:values]
            np.copyto(intensity_vector, mixer.ramp64[:values], casting="same_kind")
        duck_scalar = 1.0
        duck_vector: np.ndarray | None = None
        for item in self._ducks:
            constant = item.gain_at(sample)
            if constant is not None:
                duck_scalar *= constant
            elif duck_vector is None:
                duck_vector = mixer.duck[:values]
                np.copyto(duck_vector, item.ramp_slice(sample, values))
            else:
                np.multiply(duck_vector, item.ramp_slice(sample, values), out=duck_vector)
        duck: float | np.ndarray = duck_scalar
        if duck_vector is not None:
            if duck_scalar != 1.0:
                np.multiply(duck_vector, np.float32(duck_scalar), out=duck_vector)
            duck = duck_vector
        for voice in self._voices:
            if voice.audible(sample):
                voice.render(
                    out,
                    sample,
                    mixer,
                    intensity=self._intensity,
                    intensity_vector=intensity_vector,
                    duck=duck,
                )

    # ---------------------------------------------------------------- clock

    def _bar_beat_at(self, sample: int) -> tuple[int, int]:
        current = self._current
        if current is None:
            return 0, 0
        where = musical_position(sample - current.origin, current.grid)
        return current.bar_base + where.bar, where.beat

    def _entry_bar_base(
        self, previous: _Timeline | None, sample: int, origin: int, grid: LoopGrid
    ) -> int:
        entry = musical_position(sample - origin, grid)
        if previous is None:
            return -entry.bar
        old = musical_position(sample - previous.origin, previous.grid)
        old_bar = previous.bar_base + old.bar
        starts_bar = entry.beat == 0 and entry.offset_samples == 0
        old_starts_bar = old.beat == 0 and old.offset_samples == 0
        bar_at_entry = old_bar + (1 if starts_bar and not old_starts_bar else 0)
        return bar_at_entry - entry.bar

    def _emit_beats(self, start: int, stop: int) -> None:
        current = self._current
        if current is None:
            return
        voice = current.voice
        first = max(start, voice.start)
        beat = current.origin + next_sync_sample(
            first - current.origin, LeaveAt.NEXT_BEAT, current.grid
        )
        while beat < stop and beat < voice.end:
            where = musical_position(beat - current.origin, current.grid)
            bar = current.bar_base + where.bar
            data = {"bar": bar, "beat": where.beat, "state": current.state, "variant": voice.index}
            if where.beat == 0:
                self._emit(ev.BAR, beat, bar=bar, state=current.state, variant=voice.index)
            self._emit(ev.BEAT, beat, **data)
            beat = current.origin + next_sync_sample(
                beat + 1 - current.origin, LeaveAt.NEXT_BEAT, current.grid
            )

    def _emit(self, kind: str, sample: int, **data: Any) -> None:
        self._events.append(DirectorEvent(kind, sample, data))


def bridge_name(source: str, target: str) -> str:
    """The name the variant lookup answers with a generated bridge from `source` to `target`
    (a one-shot set of the rule's `bridge_bars` bars, in the target's tempo)."""
    return f"bridge:{source}->{target}"


def _musical_length(voice: Voice) -> int:
    """A one-shot's length up to its last bar line (its tail may ring on past it)."""
    bars = voice.variant.meta.bar_samples
    return bars[-1] if len(bars) > 1 and bars[-1] > 0 else voice.length


def _check_unit(value: float, name: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise InvalidEventError(f"{name} must be a number in 0..1, not {value!r}", {name: value})
