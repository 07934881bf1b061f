"""Director snapshots: going back to a sample already rendered and rendering from there.

The property the service's `rewind` notice rests on (docs/protocol.md, "Rewind"): a
director restored to the snapshot of sample X renders exactly what a director that never
went further renders from X, and an event applied after the restore sounds exactly as
the same event applied at X the first time. Checked bit for bit on music that rotates
variants (random streams), crossfades, plays stingers with ducks, one-shots with their
continuation and a moving intensity.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from test_director import SR, counter, dc, pack, sets_for, state

from middleware.director.director import Director
from middleware.director.synthetic import sine_and_clicks
from middleware.templates.model import (
    Fade,
    LeaveAt,
    StingerTemplate,
    SyncPoint,
    TransitionRule,
)

BLOCK = 512


def make_pack():
    rules = [
        TransitionRule("*", "*", leave_at=LeaveAt.NEXT_BEAT, fade=Fade.CROSS),
        TransitionRule("*", "hit", leave_at=LeaveAt.IMMEDIATE, fade=Fade.NONE),
    ]
    stinger = StingerTemplate("ping", None, None, 0, sync=SyncPoint.NEXT_BEAT, duck_db=-6.0)
    states = [
        state("a", bars=1),
        state("b", bpm=90, bars=1),
        state("hit", one_shot=True, bars=1, next="a"),
        state("ping", bars=1, one_shot=True),
    ]
    return pack(states, rules, stingers=[stinger])


def director_for(the_pack) -> Director:
    fills = {
        "a": sine_and_clicks(SR),
        "b": counter(1),
        "hit": dc(0, 0.125),
        "ping": dc(1, 0.0625),
    }
    sets = sets_for(the_pack, fills, variants=3)
    return Director(the_pack, sets.get, seed=7)


def blocks(director: Director, count: int) -> list[np.ndarray]:
    out = []
    for _ in range(count):
        block = np.zeros((BLOCK, 2), dtype=np.float32)
        director.render(block)
        out.append(block)
    return out


Event = Callable[[Director], object]

EVENTS: dict[str, Event] = {
    "state b (crossfade on the next beat)": lambda d: d.set_state("b"),
    "one-shot hit (immediate), then back to a": lambda d: d.set_state("hit"),
    "stinger ping (next beat, ducked)": lambda d: d.play_stinger("ping"),
    "intensity ramp": lambda d: d.set_intensity(0.1),
}


@pytest.mark.parametrize("event", list(EVENTS), ids=list(EVENTS))
@pytest.mark.parametrize("at_block", [3, 181, 400])  # 181 blocks: past a loop end (rotation)
def test_a_restored_director_renders_as_if_the_event_came_at_that_sample(
    event: str, at_block: int
) -> None:
    apply = EVENTS[event]
    the_pack = make_pack()
    reference = director_for(the_pack)
    before = blocks(reference, at_block)
    apply(reference)
    after = blocks(reference, 300)
    reference_events = [(e.kind, e.sample) for e in reference.drain_events()]

    rewound = director_for(the_pack)
    assert all(np.array_equal(x, y) for x, y in zip(blocks(rewound, at_block), before, strict=True))
    mark = rewound.snapshot()
    rewound.drain_events()
    # the first time round, the session went on: other events, 4.3 s of audio (loop ends:
    # the variant rotation draws), then a state change and more
    rewound.set_intensity(0.9)
    rewound.play_stinger("ping")
    blocks(rewound, 400)
    rewound.set_state("b")
    blocks(rewound, 100)
    rewound.restore(mark)
    assert rewound.position == at_block * BLOCK
    apply(rewound)
    again = blocks(rewound, 300)
    assert all(np.array_equal(x, y) for x, y in zip(again, after, strict=True))
    events = [(e.kind, e.sample) for e in rewound.drain_events()]
    assert events == [e for e in reference_events if e[1] >= at_block * BLOCK]


def test_a_snapshot_can_be_restored_twice_and_changes_nothing_by_itself() -> None:
    the_pack = make_pack()
    director = director_for(the_pack)
    blocks(director, 50)
    director.set_state("b")
    mark = director.snapshot()
    first = blocks(director, 200)
    director.restore(mark)
    director.play_stinger("ping")
    blocks(director, 10)
    director.restore(mark)
    second = blocks(director, 200)
    assert all(np.array_equal(x, y) for x, y in zip(first, second, strict=True))
    assert director.load()["events"] > 0  # the restore dropped the stinger's events
