"""`ostinato serve PACK...`: run the ZeroMQ service (docs/protocol.md).

Loads and validates the packs, attaches to the variant cache, starts pre-generating what
is missing (scheduler worker processes; the service process never imports the model) and
serves until SIGINT/SIGTERM. The first line on stdout, once the sockets are bound, is a
machine-readable JSON object: ``{"event": "listening", "endpoint": ..., "pub_endpoint":
...}``; pre-generation continues in the background (watch `pregen.progress` on PUB).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

import click

from middleware.cli.options import generation_workers_option, service_cache_option
from middleware.protocol.codec import DEFAULT_MAX_MESSAGE_BYTES
from middleware.protocol.messages import DEFAULT_MAX_CREDITS


@click.command()
@click.argument("packs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--bind",
    default="tcp://127.0.0.1:5570",
    show_default=True,
    help="request endpoint (ROUTER); tcp://127.0.0.1:* picks a free port",
)
@click.option("--pub-bind", default=None, help="notification endpoint (PUB) [default: port+1]")
@service_cache_option
@generation_workers_option
@click.option(
    "--no-pregen",
    is_flag=True,
    help="serve only what the cache holds; generate nothing (no model is loaded)",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="record sessions here so a restarted service resumes them",
)
@click.option(
    "--curve-secret",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="server certificate with secret key (required beyond loopback)",
)
@click.option(
    "--curve-clients",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="directory of authorised client public-key certificates",
)
@click.option("--max-message-bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES, show_default=True)
@click.option("--max-credits", type=int, default=DEFAULT_MAX_CREDITS, show_default=True)
@click.option("--max-sessions", type=int, default=256, show_default=True)
@click.option(
    "--max-sessions-per-peer",
    type=int,
    default=64,
    show_default=True,
    help="sessions one peer (CurveZMQ key, else network address) may hold; 0: no cap",
)
@click.option("--heartbeat-s", type=float, default=2.0, show_default=True)
@click.option("--session-timeout-s", type=float, default=10.0, show_default=True)
@click.option(
    "--engine-factory",
    default=None,
    hidden=True,
    help="module:callable building the generation engine (tests, tools)",
)
@click.option("-v", "--verbose", is_flag=True, help="log what the service does")
def serve(
    packs: tuple[Path, ...],
    bind: str,
    pub_bind: str | None,
    cache_root: Path | None,
    workers: int | None,
    no_pregen: bool,
    state_dir: Path | None,
    curve_secret: Path | None,
    curve_clients: Path | None,
    max_message_bytes: int,
    max_credits: int,
    max_sessions: int,
    max_sessions_per_peer: int,
    heartbeat_s: float,
    session_timeout_s: float,
    engine_factory: str | None,
    verbose: bool,
) -> None:
    """Serve template PACKs to games over ZeroMQ.

    \b
    Examples:
      ostinato serve templates/fantasy_rpg
      ostinato serve templates/fantasy_rpg templates/neon_runner --bind tcp://127.0.0.1:5570
      ostinato serve templates/fantasy_rpg --no-pregen   # only what the cache holds
    """
    from middleware.service.config import CurveKeys, ServiceConfig
    from middleware.service.errors import ServiceConfigError
    from middleware.templates.loader import load_pack

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if (curve_secret is None) != (curve_clients is None):
        raise ServiceConfigError("--curve-secret and --curve-clients go together")
    curve = CurveKeys(curve_secret, curve_clients) if curve_secret and curve_clients else None
    config = ServiceConfig(
        bind=bind,
        pub_bind=pub_bind,
        max_message_bytes=max_message_bytes,
        max_credits=max_credits,
        max_sessions=max_sessions,
        max_sessions_per_peer=max_sessions_per_peer,
        heartbeat_s=heartbeat_s,
        session_timeout_s=session_timeout_s,
        state_dir=state_dir,
        curve=curve,
    )
    loaded = [load_pack(path) for path in packs]
    asyncio.run(_serve(loaded, config, cache_root, workers, engine_factory, not no_pregen))


async def _serve(
    packs: list,
    config: object,
    cache_root: Path | None,
    workers: int | None,
    engine_factory: str | None,
    pregenerate: bool,
) -> None:
    from middleware.scheduler import DEFAULT_ENGINE_FACTORY
    from middleware.service.cached_library import CachedLibrary
    from middleware.service.director_player import director_player_factory
    from middleware.service.server import Service

    library = CachedLibrary(
        packs,
        cache_root,
        workers=workers,
        engine_factory=engine_factory or DEFAULT_ENGINE_FACTORY,
        pregenerate=pregenerate,
        pins=True,  # the designer's pinned / re-rolled variants (studio-variants.json)
    )
    service = Service(packs, library, director_player_factory, config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await service.start()
    done, total = library.progress()
    _announce(
        {
            "event": "listening",
            "endpoint": service.endpoint,
            "pub_endpoint": service.pub_endpoint,
            "packs": [p.name for p in packs],
            "sets_ready": done,
            "sets_total": total,
        }
    )
    try:
        await stop.wait()
    finally:
        await service.stop()
        _announce({"event": "stopped", "requests": service.stats["requests"]})


def _announce(fields: dict) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()
