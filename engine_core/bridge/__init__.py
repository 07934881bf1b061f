"""Generated bridges: a few bars written between one state's loop and another's.

`compose_bridge` inpaints the bars (`frame`: the two loops' ends in the target's frame;
`joins`: the seam measure at both joins), `generate_bridge` arranges and renders them
with the target's stems and a tempo ramp (`tempo`). See docs/director.md#bridges.
"""

from engine_core.bridge.compose import (
    BRIDGE_BARS,
    BridgeEnd,
    ComposedBridge,
    bridge_spec,
    compose_bridge,
    generate_bridge,
)

__all__ = [
    "BRIDGE_BARS",
    "BridgeEnd",
    "ComposedBridge",
    "bridge_spec",
    "compose_bridge",
    "generate_bridge",
]
