"""The service's music in production: variant sets from the cache, filled by the scheduler.

On start the library reads the engine key recorded in the cache (no model load, no torch)
and finds every set that is already cached; only if something is missing does it start
the scheduler, whose worker processes generate the rest (most urgent first) while the
service keeps serving. A set becomes available once its files have been checked against
their digests (in a worker thread, the sets sessions need first); a damaged or truncated
file is quarantined by the cache, announced on PUB `cache.damaged`, and its set is
generated again at its state's priority (`fetch` answers `damaged` meanwhile).
Scheduler events arrive on its dispatcher thread and are handed to
the event loop with ``call_soon_threadsafe``; listeners hear `variant.ready`,
`pregen.progress` and `error` there.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine_core.variant import VariantSet
from middleware.cache import DamagedSetError, EngineKey, VariantCache
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
        pins: bool = False,
    ) -> None:
        self.packs = {pack.name: pack for pack in packs}
        #: serve each state the designer's chosen variants (`<pack>/studio-variants.json`,
        #: middleware.cache.pins): read when a state's set is served
        self.pins = pins
        self.cache_root = cache_root
        self.workers = workers
        self.engine_factory = engine_factory
        self.pregenerate = pregenerate
        self.cache: VariantCache | None = None
        self.scheduler: Scheduler | None = None
        self.engine_key: EngineKey | None = None
        self._items: dict[tuple[str, str], Any] = {}  # (pack, name) -> StateLike
        self._priorities: dict[tuple[str, str], Priority] = {}
        self._sets: dict[tuple[str, str], VariantSet] = {}
        self._unchecked: dict[tuple[str, str], bool] = {}  # found, not yet checked -> generated?
        self._damaged: set[tuple[str, str]] = set()
        self._check_wake: asyncio.Event | None = None
        self._checked = asyncio.Event()  # set while nothing found waits for its check
        self._checker: asyncio.Task | None = None
        self._scheduler_starting: asyncio.Task | None = None
        self._variants_ready: dict[tuple[str, str], int] = {}
        self._listeners: list[LibraryListener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sets_from_cache = 0
        self.sets_generated = 0
        self.sets_damaged = 0  # cached sets found damaged (quarantined, made again)
        for pack in packs:
            for item, priority in pack_requests(pack):
                self._items[pack.name, item.name] = item
                self._priorities[pack.name, item.name] = priority

    # -- MusicLibrary -------------------------------------------------------------------

    def variant_set(self, pack: str, name: str) -> VariantSet | None:
        return self._sets.get((pack, name))

    def progress(self) -> tuple[int, int]:
        return len(self._sets), len(self._items)

    def damaged(self, pack: str, name: str) -> bool:
        return (pack, name) in self._damaged

    def counts(self) -> dict[str, int]:
        return {
            "cached": self.sets_from_cache,
            "generated": self.sets_generated,
            "damaged": self.sets_damaged,
        }

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
            if (pack, name) in self._unchecked:
                self._unchecked[pack, name] = self._unchecked.pop((pack, name))  # check it next
                continue
            scheduler.submit(item, Priority.CURRENT if rank == 0 else Priority.REACHABLE)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.cache = VariantCache(self.cache_root) if self.cache_root else VariantCache()
        self.engine_key = resolve_engine_key(self.cache, load=False)
        if self.engine_key is not None:
            for key, item in reversed(self._items.items()):  # the last is checked first
                if self.cache.has_set(item, self.engine_key):
                    self._unchecked[key] = False
        self._check_wake = asyncio.Event()
        self._checker = asyncio.create_task(self._check_loop(), name="ostinato-cache-check")
        missing = [key for key in self._items if key not in self._unchecked]
        if missing and self.pregenerate:
            log.info("%d variant sets to generate; starting the scheduler", len(missing))
            self.scheduler = await self._loop.run_in_executor(None, self._make_scheduler)
            for pack in self.packs.values():
                for item, priority in pack_requests(pack):
                    if (pack.name, item.name) not in self._sets:
                        self.scheduler.submit(item, priority)
        self._notify("pregen.progress", self._progress_fields(None))

    async def close(self) -> None:
        for task in (self._checker, self._scheduler_starting):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
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
        self._unchecked[key] = generated  # checked (off the loop) before it is served
        self._checked.clear()
        if self._check_wake is not None:
            self._check_wake.set()

    # -- checking what the cache holds ------------------------------------------------------

    async def _check_loop(self) -> None:
        """Map and check found sets one at a time, the most recently wanted first."""
        assert self._check_wake is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._unchecked:
                self._checked.set()
                self._check_wake.clear()
                await self._check_wake.wait()
                continue
            self._checked.clear()
            key = next(reversed(self._unchecked))
            generated = self._unchecked.pop(key)
            cache, engine_key = self.cache, self.engine_key
            if cache is None or engine_key is None or key in self._sets:
                continue
            item = self._items[key]
            try:
                found = await loop.run_in_executor(
                    None, functools.partial(cache.get_set, item, engine_key, raise_damaged=True)
                )
            except DamagedSetError as error:
                self._on_damaged(key, error)
                continue
            if found is None:
                log.warning("set %s reported ready but not found in the cache", key)
                self._regenerate(key)
                continue
            self._damaged.discard(key)
            if generated:
                self.sets_generated += 1
            if self.pins:
                found = await loop.run_in_executor(None, self._with_pins, key, found)
            self._ready(key[0], key[1], found, cached=not generated)
            self._notify("pregen.progress", self._progress_fields(key[1]))

    def _with_pins(self, key: tuple[str, str], found: VariantSet) -> VariantSet:
        """`found` with the designer's chosen variants put in (their seeds' sets from the
        cache; a seed whose set is not cached keeps the file seed's variant, logged)."""
        from middleware.cache.pins import chosen_seeds, read_choices, with_choices
        from middleware.studio.variant_slots import VariantSlotsFileError

        pack = self.packs[key[0]]
        state = pack.states.get(key[1])
        if state is None or self.cache is None or self.engine_key is None:
            return found
        try:
            slots = chosen_seeds(read_choices(pack.root), state)
        except VariantSlotsFileError as error:
            log.warning("%s: the designer's variant choices are not followed", error)
            return found
        sets: dict[int, VariantSet] = {}
        for seed in sorted({seed for _, seed in slots}):
            other = self.cache.get_set(dataclasses.replace(state, seed=seed), self.engine_key)
            if other is None:
                log.warning(
                    "%s/%s: the set of seed %d (a pinned or re-rolled variant) is not in the "
                    "cache; that slot plays the file seed's variant (open the pack in the "
                    "studio with this cache, or bake, to make it)", key[0], key[1], seed,
                )  # fmt: skip
                continue
            sets[seed] = other
        return with_choices(found, slots, sets)

    async def wait_checked(self) -> None:
        """Until every set found in the cache so far has been checked (and served or
        quarantined): a warm start's sets are all available after this."""
        if self._unchecked or not self._checked.is_set():
            await self._checked.wait()

    def _on_damaged(self, key: tuple[str, str], error: DamagedSetError) -> None:
        pack, name = key
        reason = error.damaged[0].reason
        log.warning("cached set %s/%s is damaged (%s): quarantined, generating it again",
                    pack, name, reason)  # fmt: skip
        self._damaged.add(key)
        self.sets_damaged += 1
        self._notify("cache.damaged", {"pack": pack, "state": name, "reason": reason})
        self._regenerate(key)

    def _regenerate(self, key: tuple[str, str]) -> None:
        """Have the scheduler make a set again (starting it if the service had no need)."""
        if not self.pregenerate:
            return
        if self.scheduler is not None:
            self.scheduler.submit(self._items[key], self._priorities[key])
        elif self._scheduler_starting is None:
            self._scheduler_starting = asyncio.create_task(self._start_scheduler_for(key))

    async def _start_scheduler_for(self, key: tuple[str, str]) -> None:
        loop = asyncio.get_running_loop()
        self.scheduler = await loop.run_in_executor(None, self._make_scheduler)
        for other in [key, *self._damaged]:
            if other not in self._sets:
                self.scheduler.submit(self._items[other], self._priorities[other])

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
