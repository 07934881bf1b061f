"""Shared set-up for the service and client tests: a real pack with synthetic audio.

The bundled `fantasy_rpg` pack is loaded with the real loader; its states and stingers
get synthetic variant sets (sine stems with beat clicks, from the director's
`synthetic_variant_set`) with exactly the tempo, meter, length and stems the templates
ask for, so the real director and service run without waiting for the model.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from engine_core.variant import VariantSet
from middleware.director.synthetic import synthetic_variant_set
from middleware.service.config import ServiceConfig
from middleware.service.director_player import director_player_factory
from middleware.service.library import StaticLibrary
from middleware.service.server import Service
from middleware.templates.loader import load_pack
from middleware.templates.model import TemplatePack

ROOT = Path(__file__).resolve().parents[1]
PACK_DIR = ROOT / "templates" / "fantasy_rpg"


@functools.cache
def fantasy_pack() -> TemplatePack:
    return load_pack(PACK_DIR)


@functools.cache
def _stem_audio(stem: int, variant: int, frames: int, beats: tuple[int, ...]) -> np.ndarray:
    period = 48000 // (100 * (stem + 1) + 25 * variant)
    cycle = 0.08 * np.sin(2 * np.pi * np.arange(period) / period)
    mono = np.resize(cycle, frames)
    mono[np.asarray(beats, dtype=np.int64)] += 0.1
    audio = np.repeat(mono[:, None].astype(np.float32), 2, axis=1)
    audio.flags.writeable = False
    return audio


def cheap_fill(stem: int, variant: int, frames: int, beats: tuple[int, ...]) -> np.ndarray:
    """A tiled sine cycle per stem and variant (made once, shared) with beat clicks."""
    return _stem_audio(stem, variant % 2, frames, beats)


#: states of fantasy_rpg the tests never visit (left without audio: "not generated yet")
UNUSED_STATES = ("boss", "defeat")


def synthetic_sets(
    pack: TemplatePack, *, skip: Iterable[str] = UNUSED_STATES, variants: int = 2
) -> dict[tuple[str, str], VariantSet]:
    """Synthetic variant sets for the states and generated stingers of `pack`."""
    key = (pack.name, tuple(sorted(skip)), variants)
    if key not in _SETS:
        _SETS[key] = _synthetic_sets(pack, key[1], variants)
    return dict(_SETS[key])


_SETS: dict[tuple[str, tuple[str, ...], int], dict[tuple[str, str], VariantSet]] = {}


def _synthetic_sets(
    pack: TemplatePack, skip: tuple[str, ...], variants: int
) -> dict[tuple[str, str], VariantSet]:
    skipped = set(skip)
    sets: dict[tuple[str, str], VariantSet] = {}
    for name, state in pack.states.items():
        if name in skipped:
            continue
        spec = state.spec
        stems = {stem.name: stem.intensity for stem in spec.stems}
        sets[pack.name, name] = synthetic_variant_set(
            name, bpm=spec.bpm, meter=spec.meter, bars=spec.bars, variants=variants,
            sample_rate=spec.sample_rate, stems=stems, one_shot=spec.one_shot, fill=cheap_fill,
        )  # fmt: skip
    for name, stinger in pack.stingers.items():
        if name in skipped or stinger.spec is None:
            continue
        spec = stinger.spec
        sets[pack.name, name] = synthetic_variant_set(
            name, bpm=spec.bpm, meter=spec.meter, bars=spec.bars, variants=1,
            sample_rate=spec.sample_rate, stems={s.name: s.intensity for s in spec.stems},
            one_shot=True, fill=cheap_fill,
        )  # fmt: skip
    return sets


def make_service(
    pack: TemplatePack | None = None,
    *,
    skip: Iterable[str] = UNUSED_STATES,
    **config: object,
) -> Service:
    """A service on ephemeral loopback ports serving `pack` with synthetic audio."""
    pack = pack or fantasy_pack()
    settings = {"bind": "tcp://127.0.0.1:*", "pub_bind": "tcp://127.0.0.1:*", **config}
    return Service(
        [pack],
        StaticLibrary(synthetic_sets(pack, skip=skip)),
        director_player_factory,
        ServiceConfig(**settings),  # type: ignore[arg-type]
    )


class ServiceThread:
    """A service running on its own event loop in a thread (for synchronous tests)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> Service:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.service.start(), self.loop).result(timeout=30)
        return self.service

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.service.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
