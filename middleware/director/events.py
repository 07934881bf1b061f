"""What the director tells the outside world: its clock, planned transitions, and events.

The service publishes events as PUB notifications (`beat/<sid>`, `transition.planned/<sid>`
...); the names here are the topic names of docs/protocol.md without the session suffix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Event kinds (the PUB topic prefixes).
BEAT = "beat"
BAR = "bar"
STATE = "state"
VARIANT = "variant"
TRANSITION_PLANNED = "transition.planned"
TRANSITION_STARTED = "transition.started"
TRANSITION_CANCELLED = "transition.cancelled"
STINGER_PLANNED = "stinger.planned"
STINGER_STARTED = "stinger.started"
STINGER_DROPPED = "stinger.dropped"
WAITING_FOR_AUDIO = "waiting_for_audio"
AUDIO_READY = "audio_ready"
BRIDGE_START = "bridge.start"
BRIDGE_FALLBACK = "bridge.fallback"
AUDIO_ERROR = "audio.error"


@dataclass(frozen=True)
class TransitionPlan:
    """A state change decided by the director, with the sample it starts on.

    `at_sample` is the session sample where the outgoing music starts to leave; `enter_sample`
    where the incoming loop starts (later than `at_sample` only with a filler stinger).
    `bar`/`beat` say where `at_sample` falls in the outgoing music (session bar count).
    """

    source: str | None
    target: str
    at_sample: int
    bar: int
    beat: int
    leave_at: str
    enter_at: str
    fade: str  # as written in the rule (may be "auto")
    fade_samples: int
    stinger: str | None = None
    bridge_bars: int = 0
    intensity: float | None = None
    automatic: bool = False  # a one-shot continuing to its `next` state

    def to_json(self) -> dict[str, Any]:
        """The protocol's transition map."""
        return {
            "from": self.source,
            "to": self.target,
            "at_sample": self.at_sample,
            "bar": self.bar,
            "beat": self.beat,
            "leave_at": self.leave_at,
            "fade": self.fade,
            "fade_samples": self.fade_samples,
            "stinger": self.stinger,
        }


@dataclass(frozen=True)
class StingerPlan:
    """A stinger laid over the music: `rendition` is the set that plays (the stinger's name,
    or `"<stinger>@<host>"` for its rendition over state `host`); `fallback` says why the
    base stinger plays although a rendition could (None when it does not)."""

    name: str
    at_sample: int
    sync: str
    rendition: str | None = None
    host: str | None = None
    fallback: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "at_sample": self.at_sample,
            "sync": self.sync,
            "rendition": self.rendition if self.rendition is not None else self.name,
            "host": self.host,
            "fallback": self.fallback,
        }


@dataclass(frozen=True)
class Clock:
    """The director's position: what plays at session sample `sample`.

    `bar` counts bars since the session began (0-based), `beat` is the beat in that bar;
    `variant` is -1 while nothing is ready (silence). `pending` is the planned transition
    that has not started yet, `waiting_for` a state whose audio is not ready.
    """

    sample: int
    state: str | None
    variant: int
    bar: int
    beat: int
    intensity: float
    pending: TransitionPlan | None = None
    waiting_for: str | None = None


@dataclass(frozen=True)
class DirectorEvent:
    """Something that happened (or was decided) at session sample `sample`."""

    kind: str
    sample: int
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "sample": self.sample, **self.data}
