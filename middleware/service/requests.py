"""One function per request type (docs/protocol.md, "Requests and replies").

Each takes the service, the connection's routing id, its session (None for sessionless
requests) and the validated body, and returns the reply's `result` map (or an awaitable
of it, for `fetch`). Errors are raised as `OstinatoError`s; the service turns them into
error replies.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from middleware.director.stinger_renditions import choose_rendition
from middleware.protocol.codec import SUPPORTED_VERSIONS, block_bytes
from middleware.protocol.errors import (
    DamagedError,
    NoStreamError,
    NotReadyError,
    TooManySessionsError,
    UnsupportedVersionError,
)
from middleware.protocol.messages import FETCH_FORMATS, MAX_BLOCK_FRAMES, MIN_BLOCK_FRAMES
from middleware.service.fetch import fetch_chunk
from middleware.service.session import Session, new_resume_token, new_session_id, token_matches

if TYPE_CHECKING:
    from middleware.service.context import ServiceContext

Body = dict[str, Any]


def hello(service: ServiceContext, routing_id: bytes, session: Session | None, body: Body) -> Body:
    common = set(body["versions"]) & set(SUPPORTED_VERSIONS)
    if not common:
        raise UnsupportedVersionError(
            f"no common protocol version: client speaks {body['versions']}, "
            f"service speaks {list(SUPPORTED_VERSIONS)}",
            {"supported": list(SUPPORTED_VERSIONS)},
        )
    pack = service.pack_for(body["pack"], None)
    resumed = False
    chosen: Session | None = None
    resume_id = body["resume"]
    token = body["resume_token"]
    if resume_id and token:  # the id is public (PUB topics); the token proves ownership
        live = service.sessions.get(resume_id)
        if live is not None and live.pack == pack.name and token_matches(token, live.token_hash):
            service.stop_stream(live)
            service.sessions.rebind(live, routing_id)
            live.peer = service.peer_of(routing_id)
            chosen, resumed = live, True
        elif live is None:
            record = service.records.load(resume_id)
            if (
                record is not None
                and record.get("pack") == pack.name
                and token_matches(token, record.get("token_sha256"))
            ):
                chosen = _new_session(
                    service, routing_id, pack.name, body, resume_id, record, token, session
                )
                resumed = True
    if session is not None and session is not chosen:
        service.end_session(session)  # a second hello on one connection replaces the session
    if chosen is None:
        chosen = _new_session(
            service, routing_id, pack.name, body, new_session_id(), None, new_resume_token(),
            None,
        )  # fmt: skip
    chosen.touch()
    service.records.save(chosen)
    service.prioritise(chosen, chosen.player.state)
    config = service.config
    return {
        "version": max(common),
        "session": chosen.session_id,
        "resumed": resumed,
        "resume_token": chosen.resume_token,
        "server": config.server_name,
        "pub_endpoint": service.pub_endpoint,
        "heartbeat_s": config.heartbeat_s,
        "session_timeout_s": config.session_timeout_s,
        "capabilities": [
            "pcm.s16",
            "pcm.f32",
            *(f"fetch.{f}" for f in FETCH_FORMATS),
            "resume",
            *(["curve"] if config.curve is not None else []),
        ],
        "limits": {
            "max_message_bytes": config.max_message_bytes,
            "max_credits": config.max_credits,
            "min_block_frames": MIN_BLOCK_FRAMES,
            "max_block_frames": MAX_BLOCK_FRAMES,
            "fetch_chunk_bytes": config.fetch_chunk_bytes,
        },
        "pack": {
            "name": pack.name,
            "description": pack.description,
            "start_state": pack.start_state,
            "sample_rate": pack.defaults.sample_rate,
            "states": list(pack.states),
            "stingers": list(pack.stingers),
        },
        "state": chosen.player.state,
        "intensity": float(chosen.player.intensity),
        "data_terms": service.data_terms,
    }


def _new_session(
    service: ServiceContext,
    routing_id: bytes,
    pack_name: str,
    body: Body,
    session_id: str,
    record: dict[str, Any] | None,
    token: str,
    replacing: Session | None,
) -> Session:
    config = service.config
    others = len(service.sessions) - (replacing is not None)
    if others >= config.max_sessions:
        raise TooManySessionsError(
            f"the service already has {len(service.sessions)} sessions",
            {"limit": config.max_sessions, "scope": "service"},
        )
    peer = service.peer_of(routing_id)
    if peer and config.max_sessions_per_peer:
        mine = service.sessions.count_peer(peer) - (
            replacing is not None and replacing.peer == peer
        )
        if mine >= config.max_sessions_per_peer:
            raise TooManySessionsError(
                f"this peer already has {mine} sessions (limit {config.max_sessions_per_peer} "
                "per peer): end some with 'bye', or let idle ones expire",
                {"limit": config.max_sessions_per_peer, "scope": "peer"},
            )
    pack = service.packs[pack_name]
    player = service.player_factory(pack, service.lookup_for(pack_name), record)
    session = Session(
        session_id=session_id,
        routing_id=routing_id,
        pack=pack_name,
        client=body["client"],
        player=player,
        params=dict(record.get("params", {})) if record else {},
        resume_token=token,
        peer=peer,
    )
    service.sessions.add(session)
    return session


def ping(service: ServiceContext, routing_id: bytes, session: Session | None, body: Body) -> Body:
    return {"t": body["t"], "server_time_ns": time.monotonic_ns()}


def bye(service: ServiceContext, routing_id: bytes, session: Session | None, body: Body) -> Body:
    assert session is not None  # the service checks sessions before calling handlers
    service.end_session(session)
    return {"session": session.session_id}


def list_pack(
    service: ServiceContext, routing_id: bytes, session: Session | None, body: Body
) -> Body:
    pack = service.pack_for(body["pack"], session)
    ready = service.readiness(pack)
    states = []
    for name, state in pack.states.items():
        spec = state.spec
        states.append(
            {
                "name": name,
                "bpm": float(spec.bpm),
                "meter": spec.meter,
                "key": spec.key,
                "bars": spec.bars,
                "one_shot": spec.one_shot,
                "variants": state.variants,
                "ready_variants": ready[name],
                "stems": [stem.name for stem in spec.stems],
            }
        )
    stingers = [
        {"name": name, "ready": ready[name] > 0, "sync": str(stinger.sync)}
        for name, stinger in pack.stingers.items()
    ]
    all_ready = all(ready[n] >= s.variants for n, s in pack.states.items()) and all(
        ready[n] > 0 for n in pack.stingers
    )
    return {
        "pack": pack.name,
        "start_state": pack.start_state,
        "ready": all_ready,
        "states": states,
        "stingers": stingers,
    }


def status(service: ServiceContext, routing_id: bytes, session: Session | None, body: Body) -> Body:
    done, total = service.library.progress()
    result: Body = {
        "session": None,
        "ready": total > 0 and done >= total,
        "pregen": {"done": done, "total": total, **service.library.counts()},
        "sessions": len(service.sessions),
        "state": None,
        "target": None,
        "variant": None,
        "intensity": None,
        "sample": None,
        "bar": None,
        "beat": None,
        "stream": None,
        "pending": None,
    }
    if session is None:
        return result
    where = session.player.position()
    stream = session.stream
    result.update(
        session=session.session_id,
        state=where.state,
        target=session.player.state,
        variant=where.variant,
        intensity=float(where.intensity),
        sample=where.sample,
        bar=where.bar,
        beat=where.beat,
        pending=session.player.pending(),
        stream=None
        if stream is None
        else {
            "active": True,
            "stream": stream.stream_id,
            "format": stream.pcm_format,
            "credits": stream.credits,
            "sent": stream.sent,
        },
    )
    return result


def event(service: ServiceContext, routing_id: bytes, session: Session | None, body: Body) -> Body:
    assert session is not None
    pack = service.packs[session.pack]
    pack.state(body["state"])  # raises UnknownStateError listing the pack's states
    previous = session.player.state
    rewound = service.rewind(session, body["replace_from"])
    transition = session.player.event(body["state"], body["intensity"])
    session.params = body["params"]
    service.records.save(session)
    service.prioritise(session, body["state"])
    return {
        "state": body["state"],
        "previous": previous,
        "transition": transition,
        "rewind": rewound,
    }


def intensity(
    service: ServiceContext, routing_id: bytes, session: Session | None, body: Body
) -> Body:
    assert session is not None
    rewound = service.rewind(session, body["replace_from"])
    session.player.set_intensity(body["value"])
    service.records.save(session)
    return {"intensity": float(body["value"]), "rewind": rewound}


def stinger(
    service: ServiceContext, routing_id: bytes, session: Session | None, body: Body
) -> Body:
    assert session is not None
    name = body["name"]
    pack = service.packs[session.pack]
    pack.stinger(name)  # raises UnknownStingerError
    now = session.player.position()
    host = now.state if now.variant >= 0 else None  # the state playing now (the director's)

    def ready(set_name: str) -> object:
        return service.library.variant_set(session.pack, set_name)

    # the rendition for the state playing now plays even while the base stinger is missing
    if ready(choose_rendition(pack, name, host, ready).set_name) is None:
        if service.library.damaged(session.pack, name):
            raise DamagedError(
                f"the cached audio of stinger {name!r} was damaged; it is being generated again",
                {"name": name},
            )
        raise NotReadyError(f"stinger {name!r} is not generated yet", {"name": name})
    rewound = service.rewind(session, body["replace_from"])
    return {**session.player.stinger(name), "rewind": rewound}


def stream_start(
    service: ServiceContext, routing_id: bytes, session: Session | None, body: Body
) -> Body:
    assert session is not None
    stream = service.start_stream(
        session, body["format"], body["block_frames"], body["credits"], body["rewind"]
    )
    return {
        "stream": stream.stream_id,
        "format": stream.pcm_format,
        "sample_rate": session.player.sample_rate,
        "channels": 2,
        "block_frames": stream.block_frames,
        "block_bytes": block_bytes(stream.block_frames, stream.pcm_format),
        "credits": stream.credits,
        "max_credits": service.config.max_credits,
        "sample": session.player.position().sample,
        "rewind": stream.rewind,
    }


def credit(service: ServiceContext, routing_id: bytes, session: Session | None, body: Body) -> Body:
    assert session is not None
    stream = session.stream
    if stream is None:
        raise NoStreamError("no stream is running: send 'stream_start' first")
    if body["stream"] is None or body["stream"] == stream.stream_id:
        service.add_credits(stream, body["credits"])
    return {"stream": stream.stream_id, "credits": stream.credits}


def stream_stop(
    service: ServiceContext, routing_id: bytes, session: Session | None, body: Body
) -> Body:
    assert session is not None
    stream = service.stop_stream(session)
    if stream is None:
        raise NoStreamError("no stream is running")
    return {"stream": stream.stream_id, "sent": stream.sent}


def fetch(service: ServiceContext, routing_id: bytes, session: Session | None, body: Body) -> Any:
    assert session is not None
    return fetch_chunk(service, session.pack, body)


HANDLERS = {
    "hello": hello,
    "ping": ping,
    "bye": bye,
    "list": list_pack,
    "status": status,
    "event": event,
    "intensity": intensity,
    "stinger": stinger,
    "stream_start": stream_start,
    "credit": credit,
    "stream_stop": stream_stop,
    "fetch": fetch,
}
