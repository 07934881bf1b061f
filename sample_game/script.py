"""The scripted play session of the headless sample game, as data.

Times are seconds of *music* (stream time), so the session sounds the same however fast
the machine is. menu -> town -> explore -> battle (intensity rising, a stinger) ->
victory (a one-shot that continues to explore by itself) -> explore.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Step:
    at_s: float
    action: str  # "event", "intensity" or "stinger"
    target: str = ""  # state or stinger name
    value: float | None = None  # intensity
    params: dict[str, Any] = field(default_factory=dict)
    note: str = ""


SESSION: tuple[Step, ...] = (
    Step(3.0, "event", "town", note="the player presses start"),
    Step(9.0, "event", "explore", 0.3, note="through the town gate"),
    Step(21.0, "event", "battle", 0.35, {"enemies": 2}, note="an encounter"),
    Step(24.0, "intensity", value=0.6, note="a third enemy joins"),
    Step(26.0, "stinger", "level_up", note="the party levels up mid-fight"),
    Step(28.0, "intensity", value=0.95, note="the party is in trouble"),
    Step(32.0, "event", "victory", params={"xp": 120}, note="the last enemy falls"),
    Step(44.0, "intensity", value=0.5, note="calm again (victory led back to explore)"),
)

#: seconds of music recorded in all
SESSION_LENGTH_S = 48.0
