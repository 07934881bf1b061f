"""Which SoundFont the engine renders with when a template names none.

The default is FluidR3_GM (MIT licence), the General MIDI bank Debian ships in
`fluid-soundfont-gm` (`make setup` installs it). Where it is absent the engine falls back
to the small General MIDI bank inside the `pretty_midi` wheel (TimGM6mb) and says so once
per process, as a warning on the ``ostinato.bank`` logger (shown on stderr when nothing
else is configured).

Only paths are resolved here (no bank is read, nothing heavy is imported); reading and
checking a bank is `soundfont.SoundFont.load`. The bank's digest is part of the engine
version (`Engine.engine_version`), so cached audio made with one bank is never served for
another.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from pathlib import Path

#: Where Debian's fluid-soundfont-gm package installs FluidR3_GM.
FLUID_GM_PATH = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
#: The fallback bank's file name inside the pretty_midi package.
FALLBACK_BANK_NAME = "TimGM6mb.sf2"
LOGGER_NAME = "ostinato.bank"


def fallback_bank_path() -> Path:
    """TimGM6mb inside the installed `pretty_midi` package (found without importing it)."""
    found = importlib.util.find_spec("pretty_midi")
    if found is None or not found.submodule_search_locations:
        # pretty_midi is a dependency; a broken install reports the path it should be at
        return Path("pretty_midi") / FALLBACK_BANK_NAME
    return Path(next(iter(found.submodule_search_locations))) / FALLBACK_BANK_NAME


def default_bank_path(preferred: Path = FLUID_GM_PATH) -> Path:
    """FluidR3_GM when installed, else TimGM6mb (with a one-line notice, once per process)."""
    if preferred.is_file():
        return preferred
    fallback = fallback_bank_path()
    _announce_fallback(str(preferred), str(fallback))
    return fallback


def resolve_bank_path(path: str | Path | None) -> Path:
    """An explicit bank path (user home expanded), or the default bank for `None`."""
    return default_bank_path() if path is None else Path(path).expanduser()


@functools.cache
def _announce_fallback(preferred: str, fallback: str) -> None:
    logging.getLogger(LOGGER_NAME).warning(
        "ostinato: %s not found (install Debian's fluid-soundfont-gm, or run `make setup`); "
        "rendering with the smaller TimGM6mb bank from pretty_midi (%s)",
        preferred,
        fallback,
    )


def reset_fallback_notice() -> None:
    """Let the next fallback say its notice again (for tests)."""
    _announce_fallback.cache_clear()
