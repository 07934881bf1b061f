"""Pin a variant, re-roll one or all with a new seed: the studio's side of variant slots.

The file seed's set is served by the library as usual; whenever it lands (at start, from
the cache, or after a re-roll of the whole state) and the pack's sidecar
(`variant_slots`) names other seeds for some slots, the sets of those seeds are taken
from the cache (or made by the scheduler) and the state is served the composed set.
Re-rolling one variant makes the set of a fresh seed through the scheduler (its progress
reaches the page as the state's `pregen.progress`) and takes that slot's variant from it.
The page hears `studio.variants` (the state's slots) when the served set changed and
`studio.reroll` while a single re-roll runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import TYPE_CHECKING, Any

from engine_core.errors import OstinatoError
from engine_core.variant import VariantSet
from middleware.studio import service_link
from middleware.studio.errors import StudioError
from middleware.studio.variant_slots import (
    SIDECAR_NAME,
    VariantSlots,
    VariantSlotsFileError,
    compose,
    slots_view,
)

if TYPE_CHECKING:
    from middleware.studio.app import Studio

log = logging.getLogger(__name__)


class PinnedVariantError(StudioError):
    """Re-rolling a pinned variant (unpin it first)."""

    code = "pinned"
    exit_code = 2


def new_seed() -> int:
    return secrets.randbelow(2**31)


class VariantChoices:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.problem: VariantSlotsFileError | None = None
        try:
            self.slots = VariantSlots.for_pack(studio.pack.root)
        except VariantSlotsFileError as error:
            log.warning("%s: ignored until it is fixed or removed", error)
            self.problem = error
            self.slots = VariantSlots(studio.pack.root / SIDECAR_NAME)
        self.bases: dict[str, VariantSet] = {}  # the file seed's set, as the library served it
        self._tasks: set[asyncio.Task] = set()
        service_link.listen(studio.service, self._library_note)

    # -- what the page reads ------------------------------------------------------------

    def view(self, name: str, count: int) -> list[dict[str, Any]]:
        state = self.studio.pack.state(name)
        entry = self.slots.states.get(name)
        if entry is not None and entry.generation_hash != state.generation_hash:
            entry = None
        return slots_view(entry, count)

    # -- pin / re-roll ------------------------------------------------------------------

    def pin(self, name: str, index: int, pinned: bool) -> list[dict[str, Any]]:
        self.check_file()
        state = self.studio.pack.state(name)
        count = self._count(name, index)
        self.slots.pin(name, state.generation_hash, index, state.seed, pinned)
        self.slots.tidy(name, state.generation_hash, state.seed, count)
        self.slots.write()
        return self.view(name, count)

    def after_reroll_all(self, name: str) -> None:
        """A new file seed was written: only pinned slots stay."""
        state = self.studio.pack.state(name)
        self.slots.keep_pinned(name, state.generation_hash)
        self.slots.write()

    def reroll_one(self, name: str, index: int) -> int:
        """Start making slot `index` anew with a fresh seed; returns the seed."""
        self.check_file()
        count = self._count(name, index)
        if self.view(name, count)[index]["pinned"]:
            raise PinnedVariantError(
                f"variant {index} of {name!r} is pinned: unpin it to re-roll it",
                {"state": name, "variant": index},
            )
        service_link.check_can_regenerate(self.studio.service)
        seed = new_seed()
        task = asyncio.create_task(self._reroll_one(name, index, seed))
        self._keep(task)
        return seed

    async def _reroll_one(self, name: str, index: int, seed: int) -> None:
        studio = self.studio
        studio.broadcast("studio.reroll", {"state": name, "variant": index, "seed": seed})
        try:
            state = studio.pack.state(name)
            await service_link.seed_set(studio.service, state, seed)
            state = studio.pack.state(name)  # the pack may have been edited meanwhile
            self.slots.reroll_one(name, state.generation_hash, index, seed)
            self.slots.write()
            await self.apply(name)
        except OstinatoError as error:
            log.warning("re-rolling %s/%d failed: %s", name, index, error)
            studio.broadcast(
                "studio.reroll",
                {"state": name, "variant": index, "seed": seed, "error": error.to_wire()},
            )

    # -- serving the composed set -------------------------------------------------------

    def _library_note(self, topic: str, fields: dict[str, Any]) -> None:
        if topic != "variant.ready" or fields.get("pack") != self.studio.pack_name:
            return
        name = str(fields.get("state"))
        found = service_link.variant_set(self.studio.service, self.studio.pack_name, name)
        if found is None:
            return
        self.bases[name] = found
        if name in self.slots.states:
            self._keep(asyncio.create_task(self.apply(name)))

    async def apply(self, name: str) -> None:
        """Serve `name` its file seed's set with each slot's variant put in."""
        studio = self.studio
        pack = studio.pack
        if name not in pack.states:
            return
        state = pack.state(name)
        base = self.bases.get(name)
        if base is None or base.generation_hash != state.generation_hash:
            return  # the library has not served this music yet: applied when it does
        sets: dict[int, VariantSet] = {}
        missing: set[int] = set()
        while True:
            # the slots may change while the sets are read (a pin, a re-roll): read until
            # every seed they name has been looked at
            self.slots.tidy(name, state.generation_hash, base.seed, len(base.variants))
            entry = self.slots.states[name]
            wanted = entry.seeds() - {base.seed} - set(sets) - missing
            if not wanted:
                break
            for seed in sorted(wanted):
                try:
                    sets[seed] = await service_link.seed_set(studio.service, state, seed)
                except OstinatoError as error:  # that slot plays the file seed's variant
                    log.warning("%s: the set of seed %d is not available: %s", name, seed, error)
                    missing.add(seed)
            if self.bases.get(name) is not base:
                return  # a newer set landed while these were read: it applies itself
        service_link.serve_set(studio.service, pack.name, name, compose(base, entry, sets))
        studio.broadcast(
            "studio.variants",
            {"state": name, "slots": slots_view(entry, len(base.variants))},
        )

    # -- helpers ------------------------------------------------------------------------

    def check_file(self) -> None:
        if self.problem is not None:
            raise self.problem

    def _count(self, name: str, index: int) -> int:
        from middleware.protocol.errors import BadFieldError

        count = self.studio.pack.state(name).variants
        if not 0 <= index < count:
            raise BadFieldError(
                f"variant {index} out of range: {name!r} has {count}",
                {"field": "variant", "expected": f"int in [0, {count - 1}]"},
            )
        return count

    def _keep(self, task: asyncio.Task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("variant choice failed", exc_info=task.exception())

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
