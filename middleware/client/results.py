"""Typed views of the service's replies and notifications (docs/protocol.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Transition:
    source: str | None
    target: str
    at_sample: int
    bar: int
    beat: int
    leave_at: str
    fade: str
    fade_samples: int
    stinger: str | None

    @classmethod
    def from_wire(cls, raw: dict[str, Any] | None) -> Transition | None:
        if raw is None:
            return None
        return cls(
            source=raw.get("from"),
            target=raw["to"],
            at_sample=int(raw["at_sample"]),
            bar=int(raw["bar"]),
            beat=int(raw["beat"]),
            leave_at=str(raw["leave_at"]),
            fade=str(raw["fade"]),
            fade_samples=int(raw["fade_samples"]),
            stinger=raw.get("stinger"),
        )


@dataclass(frozen=True)
class Hello:
    version: int
    session: str
    resumed: bool
    server: str
    pub_endpoint: str
    heartbeat_s: float
    session_timeout_s: float
    capabilities: tuple[str, ...]
    limits: dict[str, int]
    pack: dict[str, Any]
    state: str
    intensity: float
    resume_token: str | None = None  # secret: with `session`, it resumes the session
    data_terms: dict[str, Any] | None = None  # what the weights' training data states

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> Hello:
        return cls(
            version=int(raw["version"]),
            session=str(raw["session"]),
            resumed=bool(raw["resumed"]),
            server=str(raw["server"]),
            pub_endpoint=str(raw["pub_endpoint"]),
            heartbeat_s=float(raw["heartbeat_s"]),
            session_timeout_s=float(raw["session_timeout_s"]),
            capabilities=tuple(raw["capabilities"]),
            limits=dict(raw["limits"]),
            pack=dict(raw["pack"]),
            state=str(raw["state"]),
            intensity=float(raw["intensity"]),
            resume_token=raw.get("resume_token"),
            data_terms=raw.get("data_terms"),
        )


@dataclass(frozen=True)
class EventAck:
    state: str
    previous: str
    transition: Transition | None
    latency_s: float  # request sent -> reply received, measured by the client

    @classmethod
    def from_wire(cls, raw: dict[str, Any], latency_s: float) -> EventAck:
        return cls(
            state=str(raw["state"]),
            previous=str(raw["previous"]),
            transition=Transition.from_wire(raw.get("transition")),
            latency_s=latency_s,
        )


@dataclass(frozen=True)
class StreamInfo:
    stream: int
    format: str
    sample_rate: int
    channels: int
    block_frames: int
    block_bytes: int
    credits: int
    max_credits: int
    sample: int

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> StreamInfo:
        return cls(**{name: raw[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Notification:
    """A PUB message: topic (without session), session id or None, body."""

    topic: str
    session: str | None
    body: dict[str, Any]
