"""Every use the studio makes of the service's and library's internals, in one place.

The studio runs the real `middleware.service.server.Service` (the ZeroMQ service games
use) in its own process and talks to it as a client (`middleware.studio.gateway`). Only
what the protocol cannot do goes through these small functions: building the service,
and swapping a state's template after an edit or a re-roll so the scheduler regenerates
it into the cache and new sessions hear it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from engine_core.variant import VariantSet
from middleware.scheduler import DEFAULT_ENGINE_FACTORY, Priority
from middleware.service.cached_library import CachedLibrary
from middleware.service.config import ServiceConfig
from middleware.service.director_player import director_player_factory
from middleware.service.server import Service
from middleware.studio.errors import RegenerationUnavailableError
from middleware.templates.model import StateTemplate, TemplatePack


def build_service(
    pack: TemplatePack,
    config: ServiceConfig,
    cache_root: Path | None,
    *,
    workers: int | None = None,
    engine_factory: str | None = None,
    pregenerate: bool = True,
) -> Service:
    """The service `ostinato serve` runs: the cache, filled by the scheduler, and directors."""
    library = CachedLibrary(
        [pack],
        cache_root,
        workers=workers,
        engine_factory=engine_factory or DEFAULT_ENGINE_FACTORY,
        pregenerate=pregenerate,
    )
    return Service([pack], library, director_player_factory, config)


def served_pack(service: Service, name: str) -> TemplatePack:
    return service.packs[name]


def variant_set(service: Service, pack: str, name: str) -> VariantSet | None:
    return service.library.variant_set(pack, name)


def library_of(service: Service) -> CachedLibrary:
    library = service.library
    if not isinstance(library, CachedLibrary):
        raise RegenerationUnavailableError("this studio serves fixed audio: nothing regenerates")
    return library


def check_can_regenerate(service: Service) -> None:
    """Raise `RegenerationUnavailableError` unless `regenerate` can work (checked before
    a file is written, so a save never leaves a file its music does not follow)."""
    library = library_of(service)
    if not library.pregenerate:
        raise RegenerationUnavailableError(
            "the studio was started with --no-pregen: it cannot generate"
        )


async def regenerate(service: Service, pack: TemplatePack, state: StateTemplate) -> None:
    """Serve `pack` (which holds `state` as edited or re-seeded) and have the scheduler
    make `state`'s set; `variant.ready` is published when it is in the cache.

    New sessions get the new pack; sessions already playing the state keep its old set
    (their director holds it) until the page starts a new session on `variant.ready`.
    """
    check_can_regenerate(service)
    library = library_of(service)
    key = (pack.name, state.name)
    service.packs[pack.name] = pack
    library.packs[pack.name] = pack
    library._items[key] = state
    service._reachable.clear()
    if library.scheduler is None:
        loop = asyncio.get_running_loop()
        library.scheduler = await loop.run_in_executor(None, library._make_scheduler)
    library._sets.pop(key, None)  # live directors keep the set they hold until it lands
    library._variants_ready.pop(key, None)
    found = None
    if library.cache is not None and library.engine_key is not None:
        found = library.cache.get_set(state, library.engine_key)
    if found is not None:  # edited back to something already made: no work at all
        library._ready(pack.name, state.name, found, cached=True)
        return
    library.scheduler.submit(state, Priority.CURRENT)


def serve_pack(service: Service, pack: TemplatePack) -> None:
    """Serve an edited pack whose music did not change (its rules did): new sessions
    follow the new rules; nothing regenerates."""
    service.packs[pack.name] = pack
    library = service.library
    if isinstance(library, CachedLibrary):
        library.packs[pack.name] = pack
    service._reachable.clear()


def reseeded(state: StateTemplate, seed: int) -> StateTemplate:
    return dataclasses.replace(state, seed=seed)
