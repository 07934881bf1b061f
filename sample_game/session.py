"""Play the scripted session through the Python client over real sockets and record it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from middleware.client import AsyncClient, StreamPlayer
from middleware.protocol.codec import PcmHeader
from sample_game.script import SESSION, SESSION_LENGTH_S, Step

#: notifications the session keeps for its timeline
TIMELINE_TOPICS = (
    "beat",
    "bar",
    "state",
    "transition.planned",
    "transition.started",
    "stinger.planned",
    "waiting_for_audio",
)


@dataclass
class SessionReport:
    sample_rate: int
    audio: np.ndarray
    headers: list[PcmHeader]
    ack_latencies_s: list[float] = field(default_factory=list)
    ping_latencies_s: list[float] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)  # from the event replies
    started: list[dict[str, Any]] = field(default_factory=list)  # from PUB
    stingers: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (topic, body)
    beats_heard: int = 0
    underruns: int = 0
    seq_gaps: int = 0
    log: list[str] = field(default_factory=list)


async def _perform(client: AsyncClient, step: Step, report: SessionReport) -> None:
    started = time.perf_counter()
    if step.action == "event":
        ack = await client.event(step.target, intensity=step.value, params=step.params)
        if ack.transition is not None:
            report.planned.append(
                {
                    "to": ack.transition.target,
                    "at_sample": ack.transition.at_sample,
                    "leave_at": ack.transition.leave_at,
                    "fade": ack.transition.fade,
                }
            )
    elif step.action == "intensity":
        await client.intensity(float(step.value or 0.0))
    elif step.action == "stinger":
        report.stingers.append(await client.stinger(step.target))
    report.ack_latencies_s.append(time.perf_counter() - started)


async def play_session(
    client: AsyncClient,
    *,
    steps: Sequence[Step] = SESSION,
    length_s: float = SESSION_LENGTH_S,
    realtime: bool = True,
    buffer_blocks: int = 8,
    block_frames: int = 1024,
    progress: Any = None,
) -> SessionReport:
    """Run `steps` at their music times while streaming; `progress(seconds)` is called."""
    report_started: list[dict[str, Any]] = []
    heard: list[tuple[str, dict[str, Any]]] = []
    client.on("transition.started", lambda n: report_started.append(dict(n.body)))
    for topic in TIMELINE_TOPICS:
        client.on(topic, lambda n: heard.append((n.topic, dict(n.body))))
    player = StreamPlayer(
        client, block_frames=block_frames, buffer_blocks=buffer_blocks, realtime=realtime
    )
    info = await player.start()
    report = SessionReport(info.sample_rate, np.zeros((0, 2), np.float32), [])
    pending = list(steps)
    last_ping = 0.0
    while True:
        played_s = player.stats.blocks_played * block_frames / info.sample_rate
        while pending and pending[0].at_s <= played_s:
            step = pending.pop(0)
            report.log.append(f"{played_s:6.2f}s {step.action} {step.target} {step.note}")
            await _perform(client, step, report)
        if played_s >= length_s:
            break
        if played_s - last_ping >= 0.5:
            last_ping = played_s
            sent = time.perf_counter()
            await client.ping(played_s)
            report.ping_latencies_s.append(time.perf_counter() - sent)
        if progress is not None:
            progress(played_s)
        await asyncio.sleep(0.01 if realtime else 0)
    await player.stop()
    await asyncio.sleep(0.05)  # let the last notifications arrive
    report.audio = player.audio()
    report.headers = list(player.stats.headers)
    report.started = report_started
    report.notifications = heard
    report.beats_heard = sum(1 for topic, _ in heard if topic == "beat")
    report.underruns = player.stats.underruns
    report.seq_gaps = player.stats.seq_gaps
    return report


def on_plan(report: SessionReport) -> list[dict[str, Any]]:
    """Each transition that started, with the plan it followed (same target, same sample)."""
    rows = []
    plans = {(p["to"], p["at_sample"]) for p in report.planned}
    for item in report.started:
        rows.append({**item, "planned": (item.get("to"), item.get("sample")) in plans})
    return rows


def session_render(report: SessionReport, variants=None):  # -> SessionRender
    """The recorded session in the director's `SessionRender` form, for its timeline plot.

    With `variants` (state -> cached `VariantSet`, see `cached_variants`) the motif entries
    heard are marked too.
    """
    from middleware.director.events import DirectorEvent
    from middleware.director.motif_marks import motif_marks
    from middleware.director.session import SessionRender

    origin = report.headers[0].sample if report.headers else 0
    events = []
    for topic, body in report.notifications:
        data = {k: v for k, v in body.items() if k not in ("session", "t_ns", "sample")}
        if topic == "stinger.planned":
            data["at_sample"] = int(data["at_sample"]) - origin
        events.append(DirectorEvent(topic, int(body["sample"]) - origin, data))
    events.sort(key=lambda event: event.sample)
    states = [e for e in events if e.kind == "state"]
    if report.headers and (not states or states[0].sample > 0):
        # the start state was entered at `hello`, before the PUB subscription heard it:
        # the first stream block says which state and variant play from sample 0
        first = report.headers[0]
        events.insert(
            0, DirectorEvent("state", 0, {"state": first.state, "variant": first.variant})
        )
    audio = np.rint(np.clip(report.audio, -1.0, 1.0) * 32767.0).astype(np.int16)
    starts = np.asarray([h.sample - origin for h in report.headers], dtype=np.int64)
    levels = np.asarray([h.intensity for h in report.headers], dtype=np.float64)
    marks = motif_marks(events, variants, audio.shape[0]) if variants is not None else []
    return SessionRender(audio, report.sample_rate, tuple(events), starts, levels, tuple(marks))


def cached_variants(pack_path, cache_root=None):  # -> VariantLookup
    """State -> the `VariantSet` the service played, read from its cache (metadata only is
    used: the motif entries). Nothing is generated; a set not cached is None."""
    from middleware.cache import VariantCache
    from middleware.cache.engine import resolve_engine_key
    from middleware.templates.loader import load_pack

    pack = load_pack(pack_path)
    cache = VariantCache(cache_root) if cache_root else VariantCache()
    key = resolve_engine_key(cache, load=False)

    def lookup(name: str):
        state = pack.states.get(name)
        if key is None or state is None:
            return None
        return cache.get_set(state, key, verify=False)

    return lookup


def percentile_ms(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q)) if values else float("nan")
