"""Which set a stinger plays: its rendition for the host state, or the base stinger.

The host is the state audible at the stinger's onset (the director's current state there).
A generated stinger plays its rendition for that host (`"<stinger>@<host>"`: the host's
tempo, meter and beat grid, and its key unless the stinger pins one) when the rendition's
audio is ready. Otherwise it falls back to the base stinger (its own key and tempo, as
written in the template), and the choice says why, so the director can report it on
`stinger.planned` (`fallback`). A stinger made from a designer's file has no renditions and
always plays as it is (no fallback is reported: there is nothing else to play).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from middleware.templates.model import TemplatePack
from middleware.templates.renditions import rendition_name

#: `fallback` reasons reported on `stinger.planned`.
NOT_READY = "rendition not ready"
NO_HOST = "no music playing"


@dataclass(frozen=True)
class RenditionChoice:
    stinger: str  # the stinger asked for
    set_name: str  # the variant set that plays: a rendition's name or the stinger's
    host: str | None  # the state the stinger plays over (None: nothing plays)
    fallback: str | None = None  # None, or why the base stinger plays instead

    @property
    def rendition(self) -> bool:
        return self.set_name != self.stinger

    def to_json(self) -> dict[str, Any]:
        return {"rendition": self.set_name, "host": self.host, "fallback": self.fallback}


def choose_rendition(
    pack: TemplatePack, stinger: str, host: str | None, ready: Callable[[str], Any]
) -> RenditionChoice:
    """The set `stinger` plays over `host`; `ready(name)` is None while a set is missing."""
    template = pack.stinger(stinger)
    if template.spec is None:
        return RenditionChoice(stinger, stinger, host)
    if host is None or host not in pack.states:
        return RenditionChoice(stinger, stinger, None, NO_HOST)
    name = rendition_name(stinger, host)
    if ready(name) is not None:
        return RenditionChoice(stinger, name, host)
    return RenditionChoice(stinger, stinger, host, NOT_READY)
