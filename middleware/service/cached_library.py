"""The service's music in production: variant sets from the cache, filled by the scheduler.

On start the library reads the engine key recorded in the cache (no model load, no torch)
and maps every set that is already cached; only if something is missing does it start
the scheduler, whose worker processes generate the rest (most urgent first) while the
service keeps serving. Scheduler events arrive on its dispatcher thread and are handed to
the event loop with ``call_soon_threadsafe``; listeners hear `variant.ready`,
`pregen.progress` and `error` there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine_core.variant import VariantSet
from middleware.cache import EngineKey, VariantCache
from middleware.cache.engine import resolve_engine_key
from middleware.scheduler import (
    DEFAULT_ENGINE_FACTORY,
    EventKind,
    Priority,
    Scheduler,
    SchedulerEvent,
    pack_requests,
)
from middleware.service.library import LibraryListener
from middleware.templates.model import TemplatePack

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LibraryStats:
    sets_total: int
    sets_from_cache: int  # found in the cache when the service started
    sets_generated: int  # generated while it ran
    variants_total: int
    variants_ready: int


class CachedLibrary:
    def __init__(
        self,
        packs: Sequence[TemplatePack],
        cache_root: Path | None = None,
        *,
        workers: int | None = None,
        engine_factory: str = DEFAULT_ENGINE_FACTORY,
        pregenerate: bool = True,
    ) -> None:
        self.packs = {pack.name: pack for pack in packs}
        self.cache_root = cache_root
        self.workers = workers
        self.engine_factory = engine_factory
        self.pregenerate = pregenerate
        self.cache: VariantCache | None = None
        self.scheduler: Scheduler | None = None
        self.engine_key: EngineKey | None = None
        self._items: dict[tuple[str, str], Any] = {}  # (pack, name) -> StateLike
        self._sets: dict[tuple[str, str], VariantSet] = {}
        self._variants_ready: dict[tuple[str, str], int] = {}
        self._listeners: list[LibraryListener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sets_from_cache = 0
        self.sets_generated = 0
        for pack in packs:
            for item, _ in pack_requests(pack):
                self._items[pack.name, item.name] = item

    # -- MusicLibrary -------------------------------------------------------------------

    def variant_set(self, pack: str, name: str) -> VariantSet | None:
        return self._sets.get((pack, name))

    def progress(self) -> tuple[int, int]:
        return len(self._sets), len(self._items)

    def counts(self) -> dict[str, int]:
        return {"cached": self.sets_from_cache, "generated": self.sets_generated}

    def subscribe(self, listener: LibraryListener) -> None:
        self._listeners.append(listener)

    def prioritise(self, pack: str, names: Sequence[str]) -> None:
        scheduler = self.scheduler
        if scheduler is None:
            return
        for rank, name in enumerate(names):
            item = self._items.get((pack, name))
            if item is None or (pack, name) in self._sets:
                continue
            scheduler.submit(item, Priority.CURRENT if rank == 0 else Priority.REACHABLE)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.cache = VariantCache(self.cache_root) if self.cache_root else VariantCache()
        self.engine_key = resolve_engine_key(self.cache, load=False)
        if self.engine_key is not None:
            for (pack, name), item in self._items.items():
                found = self.cache.get_set(item, self.engine_key)
                if found is not None:
                    self._ready(pack, name, found, cached=True)
        missing = [key for key in self._items if key not in self._sets]
        if missing and self.pregenerate:
            log.info("%d variant sets to generate; starting the scheduler", len(missing))
            self.scheduler = await self._loop.run_in_executor(None, self._make_scheduler)
            for pack in self.packs.values():
                for item, priority in pack_requests(pack):
                    if (pack.name, item.name) not in self._sets:
                        self.scheduler.submit(item, priority)
        self._notify("pregen.progress", self._progress_fields(None))

    async def close(self) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, lambda: scheduler.close(timeout_s=10.0))
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    # -- readiness ----------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return len(self._sets) == len(self._items)

    def stats(self) -> LibraryStats:
        total = sum(getattr(item, "variants", 1) for item in self._items.values())
        ready = sum(len(s.variants) for s in self._sets.values())
        partial = sum(count for key, count in self._variants_ready.items() if key not in self._sets)
        return LibraryStats(
            len(self._items), self.sets_from_cache, self.sets_generated, total, ready + partial
        )

    def _make_scheduler(self) -> Scheduler:
        scheduler = Scheduler(
            self.cache_root, workers=self.workers, engine_factory=self.engine_factory
        )
        scheduler.add_listener(self._on_scheduler_event)
        return scheduler

    def _on_scheduler_event(self, event: SchedulerEvent) -> None:
        """Runs on the scheduler's thread: hand over to the event loop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._handle_event, event)

    def _handle_event(self, event: SchedulerEvent) -> None:
        key = next((k for k, item in self._items.items() if item.name == event.state), None)
        if key is None:
            return
        if event.kind is EventKind.VARIANT_READY:
            self._variants_ready[key] = self._variants_ready.get(key, 0) + 1
            self._notify("pregen.progress", self._progress_fields(event.state))
        elif event.kind is EventKind.PROGRESS:
            fields = self._progress_fields(event.state)
            fields.update(stage=event.stage, step=event.done, steps=event.total)
            self._notify("pregen.progress", fields)
        elif event.kind is EventKind.SET_READY:
            self._load_generated(key, generated=bool(event.generated))
        elif event.kind is EventKind.FAILED:
            self._notify(
                "error",
                {
                    "code": "generation_failed",
                    "message": f"generating {event.state!r} failed",
                    "detail": {"state": event.state, "error": event.error or ""},
                },
            )

    def _load_generated(self, key: tuple[str, str], *, generated: bool) -> None:
        scheduler, cache = self.scheduler, self.cache
        if cache is None or key in self._sets:
            return
        engine_key = self.engine_key or (scheduler.engine_key if scheduler else None)
        if engine_key is None:
            return
        self.engine_key = engine_key
        found = cache.get_set(self._items[key], engine_key)
        if found is None:
            log.warning("set %s reported ready but not found in the cache", key)
            return
        if generated:
            self.sets_generated += 1
        self._ready(key[0], key[1], found, cached=not generated)
        self._notify("pregen.progress", self._progress_fields(key[1]))

    def _ready(self, pack: str, name: str, found: VariantSet, *, cached: bool) -> None:
        self._sets[pack, name] = found
        if cached:
            self.sets_from_cache += 1
        self._notify(
            "variant.ready",
            {"pack": pack, "state": name, "variants": len(found.variants), "cached": cached},
        )

    def _progress_fields(self, state: str | None) -> dict[str, Any]:
        stats = self.stats()
        return {
            "done": len(self._sets),
            "total": len(self._items),
            "state": state,
            "variants_done": stats.variants_ready,
            "variants_total": stats.variants_total,
        }

    def _notify(self, topic: str, fields: dict[str, Any]) -> None:
        for listener in self._listeners:
            listener(topic, fields)
