"""`ostinato studio PACK`: audition a pack live in the browser (docs/studio.md).

Starts the ZeroMQ service on loopback (games may connect to it as to `ostinato serve`)
and the studio's web server beside it, in one process and one event loop. The first line
on stdout is a JSON object: ``{"event": "listening", "url": ..., "endpoint": ...}``.
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

#: the page's adaptive look-ahead may hold up to 3 s of 512-frame blocks on a busy machine
#: (a game's default cap, 64, would stop it at 0.68 s); clicks rewind, so depth is free
STUDIO_MAX_CREDITS = 320


@click.command()
@click.argument("pack", type=click.Path(exists=True, path_type=Path))
@click.option("--port", type=int, default=8765, show_default=True, help="web port (0: any)")
@click.option("--host", default="127.0.0.1", show_default=True, help="web address (loopback)")
@click.option("--open", "open_browser", is_flag=True, help="open the page in a browser")
@click.option(
    "--bind",
    default="tcp://127.0.0.1:*",
    show_default=True,
    help="the ZeroMQ service's request endpoint (games may connect here too)",
)
@click.option("--pub-bind", default="tcp://127.0.0.1:*", show_default=True)
@service_cache_option
@generation_workers_option
@click.option("--no-pregen", is_flag=True, help="play only what the cache holds")
@click.option(
    "--allow-origin",
    multiple=True,
    help="a page origin (scheme://host:port) allowed beyond loopback pages",
)
@click.option("--engine-factory", default=None, hidden=True, help="module:callable (tests)")
@click.option("-v", "--verbose", is_flag=True, help="log what the studio does")
def studio(
    pack: Path,
    port: int,
    host: str,
    open_browser: bool,
    bind: str,
    pub_bind: str,
    cache_root: Path | None,
    workers: int | None,
    no_pregen: bool,
    allow_origin: tuple[str, ...],
    engine_factory: str | None,
    verbose: bool,
) -> None:
    """Hear, see and steer PACK's music live in a web page.

    \b
    Examples:
      ostinato studio templates/fantasy_rpg --open
      ostinato studio templates/neon_runner --port 9000 --no-pregen
    """
    from middleware.service.config import ServiceConfig
    from middleware.studio.app import Studio
    from middleware.studio.service_link import build_service
    from middleware.templates.loader import load_pack

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    loaded = load_pack(pack)
    config = ServiceConfig(bind=bind, pub_bind=pub_bind, max_credits=STUDIO_MAX_CREDITS)
    service = build_service(
        loaded,
        config,
        cache_root,
        workers=workers,
        engine_factory=engine_factory,
        pregenerate=not no_pregen,
    )
    app = Studio(service, host=host, port=port, allowed_origins=allow_origin)
    asyncio.run(_run(app, open_browser))


async def _run(app, open_browser: bool) -> None:  # app: middleware.studio.app.Studio
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    url = await app.start()
    done, total = app.service.library.progress()
    _announce(
        {
            "event": "listening",
            "url": url,
            "endpoint": app.service.endpoint,
            "pub_endpoint": app.service.pub_endpoint,
            "pack": app.pack_name,
            "sets_ready": done,
            "sets_total": total,
        }
    )
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        await stop.wait()
    finally:
        await app.stop()
        _announce({"event": "stopped"})


def _announce(fields: dict) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()
