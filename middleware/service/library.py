"""Where a service's sessions get their music: variant sets by (pack, state or stinger).

`MusicLibrary` is what the service needs; `StaticLibrary` serves sets already in memory
(tests, tools), `middleware.service.cached_library.CachedLibrary` serves the variant cache
and fills it with the scheduler. Listeners hear `variant.ready` and `pregen.progress`
notifications on the service's event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from engine_core.variant import VariantSet

#: (topic, fields) -> None; topics are the PUB topics `variant.ready`, `pregen.progress`,
#: `cache.damaged`, `error`
LibraryListener = Callable[[str, dict[str, Any]], None]


class MusicLibrary(Protocol):
    def variant_set(self, pack: str, name: str) -> VariantSet | None:
        """The variant set of a state or stinger, or None while it is not generated."""
        ...

    def progress(self) -> tuple[int, int]:
        """(variant sets ready, variant sets wanted) over every served pack."""
        ...

    def damaged(self, pack: str, name: str) -> bool:
        """True while the set's cached audio failed its check and is being made again."""
        ...

    def counts(self) -> dict[str, int]:
        """`{"cached": sets found in the cache at start, "generated": sets made since,
        "damaged": cached sets found damaged (quarantined and made again)}`."""
        ...

    def prioritise(self, pack: str, names: Sequence[str]) -> None:
        """Generate these first (most urgent first): a session is in, or heading to, them."""
        ...

    def subscribe(self, listener: LibraryListener) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class StaticLibrary:
    """Variant sets held in memory; everything it has is ready, nothing is generated."""

    def __init__(self, sets: Mapping[tuple[str, str], VariantSet]) -> None:
        self._sets = dict(sets)
        self._listeners: list[LibraryListener] = []

    def variant_set(self, pack: str, name: str) -> VariantSet | None:
        return self._sets.get((pack, name))

    def progress(self) -> tuple[int, int]:
        return len(self._sets), len(self._sets)

    def damaged(self, pack: str, name: str) -> bool:
        return False

    def counts(self) -> dict[str, int]:
        return {"cached": len(self._sets), "generated": 0, "damaged": 0}

    def prioritise(self, pack: str, names: Sequence[str]) -> None:
        return None

    def subscribe(self, listener: LibraryListener) -> None:
        self._listeners.append(listener)

    async def start(self) -> None:
        for pack, name in self._sets:
            for listener in self._listeners:
                listener(
                    "variant.ready",
                    {
                        "pack": pack,
                        "state": name,
                        "variants": len(self._sets[pack, name].variants),
                        "cached": True,
                    },
                )

    async def close(self) -> None:
        return None
