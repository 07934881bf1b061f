"""What the service needs from a session's music: the `SessionPlayer` protocol.

The service never mixes audio itself. Each session owns a player (in production a
`middleware.director.Director` wrapped by `middleware.service.director_player`), which
takes events and renders fixed-size float32 stereo blocks, reporting where it is (state,
variant, bar, beat, sample) and what happened inside each block (beats, bar lines,
transitions), which the service turns into PCM headers and PUB notifications.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from engine_core.variant import VariantSet
from middleware.templates.model import TemplatePack


@dataclass(frozen=True)
class Mark:
    """Something that happened inside a rendered block: a PUB topic and its fields.

    Topics: `beat`, `bar` (fields sample, bar, beat, state, variant), `transition.started`
    (from, to, sample, bar, variant) and `state` (state, variant, sample).
    """

    topic: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class BlockInfo:
    """Where the music was at a block's first frame, and what happened inside the block."""

    sample: int
    state: str
    variant: int  # -1 while the state has no audio yet (silence)
    bar: int
    beat: int
    intensity: float
    marks: tuple[Mark, ...] = field(default=())


class SessionPlayer(Protocol):
    @property
    def state(self) -> str: ...

    @property
    def intensity(self) -> float: ...

    @property
    def sample_rate(self) -> int: ...

    def position(self) -> BlockInfo:
        """Where the music is now (no marks)."""
        ...

    def pending(self) -> dict[str, Any] | None:
        """The planned transition not yet started (the `event` reply's map), or None."""
        ...

    def event(self, state: str, intensity: float | None) -> dict[str, Any] | None:
        """Head for `state`; returns the planned transition map, None if already there."""
        ...

    def set_intensity(self, value: float) -> None: ...

    def stinger(self, name: str) -> dict[str, Any]:
        """Schedule a stinger; returns `{name, at_sample, sync}`."""
        ...

    def drain(self) -> tuple[Mark, ...]:
        """Marks produced outside `render` (by events) since the last call."""
        ...

    def render(self, frames: int) -> tuple[np.ndarray, BlockInfo]:
        """The next `frames` frames of the mix, float32 (frames, 2), and where they were.

        The array is only valid until the next call (players reuse one buffer).
        """
        ...


@runtime_checkable
class RewindablePlayer(Protocol):
    """A player that can go back to a block it rendered (a stream's `rewind`)."""

    def snapshot(self) -> Any:
        """Where the player is now; the result has `sample`, the next block's first."""
        ...

    def restore(self, snapshot: Any) -> None:
        """Go back to `snapshot`; rendering from there gives the same blocks as before."""
        ...


#: (pack, variant lookup for that pack, resumed record or None) -> a new player
PlayerFactory = Callable[
    [TemplatePack, Callable[[str], VariantSet | None], Mapping[str, Any] | None], SessionPlayer
]
