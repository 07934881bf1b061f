"""A session's music: a `middleware.director.Director` behind the `SessionPlayer` protocol.

The director does the musical work (plans, fades, rotation, stingers); this adapter turns
its clock and its events into what the service sends: PCM header fields and PUB marks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine_core.variant import VariantSet
from middleware.director.director import Director, DirectorSnapshot
from middleware.director.events import Clock, DirectorEvent
from middleware.mixer import MAX_BLOCK_FRAMES
from middleware.service.player import BlockInfo, Mark
from middleware.templates.model import TemplatePack

#: director event kinds published under another topic (docs/protocol.md, "PUB topics")
TOPIC_OF_KIND = {"variant": "state"}


@dataclass(frozen=True)
class PlayerSnapshot:
    sample: int  # the session sample the next block starts on
    director: DirectorSnapshot
    target: str


class DirectorPlayer:
    def __init__(
        self,
        pack: TemplatePack,
        lookup: Callable[[str], VariantSet | None],
        record: Mapping[str, Any] | None = None,
        *,
        seed: int = 0,
    ) -> None:
        start = None
        if record is not None and record.get("state") in pack.states:
            start = record["state"]
        self._pack = pack
        self._target = start or pack.start_state
        self.director = Director(
            pack, lookup, sample_rate=pack.defaults.sample_rate, seed=seed, start_state=start
        )
        intensity = record.get("intensity") if record is not None else None
        if isinstance(intensity, int | float) and 0.0 <= intensity <= 1.0:
            self.director.set_intensity(float(intensity))
        self._block: np.ndarray | None = None  # made by the first render (streams only)

    @property
    def sample_rate(self) -> int:
        return self.director.sample_rate

    @property
    def state(self) -> str:
        """The state the session is in, or heading to once its audio is ready."""
        clock = self.director.clock()
        if clock.waiting_for is not None:
            return clock.waiting_for
        if clock.pending is not None and not clock.pending.automatic:
            return clock.pending.target
        return clock.state or self._target

    @property
    def intensity(self) -> float:
        return float(self.director.clock().intensity)

    def _info(self, clock: Clock, marks: tuple[Mark, ...] = ()) -> BlockInfo:
        return BlockInfo(
            sample=clock.sample,
            state=clock.state or clock.waiting_for or self._target,
            variant=clock.variant,
            bar=clock.bar,
            beat=clock.beat,
            intensity=float(clock.intensity),
            marks=marks,
        )

    def position(self) -> BlockInfo:
        return self._info(self.director.clock())

    def pending(self) -> dict[str, Any] | None:
        plan = self.director.clock().pending
        return None if plan is None else plan.to_json()

    def event(self, state: str, intensity: float | None) -> dict[str, Any] | None:
        self._target = state
        plan = self.director.set_state(state, intensity)
        return None if plan is None else plan.to_json()

    def set_intensity(self, value: float) -> None:
        self.director.set_intensity(value)

    def stinger(self, name: str) -> dict[str, Any]:
        plan = self.director.play_stinger(name)
        if plan is None:
            from middleware.protocol.errors import NotReadyError

            raise NotReadyError(f"stinger {name!r} could not be scheduled", {"name": name})
        return plan.to_json()

    def drain(self) -> tuple[Mark, ...]:
        events = self.director.drain_events()
        return tuple(_mark(event) for event in events) if events else ()

    def snapshot(self) -> PlayerSnapshot:
        return PlayerSnapshot(self.director.position, self.director.snapshot(), self._target)

    def restore(self, snapshot: PlayerSnapshot) -> None:
        self.director.restore(snapshot.director)
        self._target = snapshot.target

    def render(self, frames: int) -> tuple[np.ndarray, BlockInfo]:
        before = self.director.clock()
        if self._block is None:
            self._block = np.zeros((MAX_BLOCK_FRAMES, 2), dtype=np.float32)
        out = self._block[:frames]
        self.director.render(out)
        return out, self._info(before, self.drain())


def _mark(event: DirectorEvent) -> Mark:
    fields = dict(event.data)
    fields["sample"] = event.sample
    return Mark(TOPIC_OF_KIND.get(event.kind, event.kind), fields)


def director_player_factory(
    pack: TemplatePack,
    lookup: Callable[[str], VariantSet | None],
    record: Mapping[str, Any] | None,
) -> DirectorPlayer:
    return DirectorPlayer(pack, lookup, record)
