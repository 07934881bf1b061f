"""Block mixing: equal-power fade tables, gain ramps, a soft-clip limiter, int16 output.

The mixer never allocates per block: buffers are made once for the largest block size
and every operation writes into them (`out=`). Gains are functions of absolute sample
positions (fade tables indexed by position, ramps computed from their start), so any
block size produces the same samples bit for bit.
"""

from middleware.mixer.curves import (
    CLICK_GUARD_MS,
    equal_power_in,
    equal_power_out,
    linear_ramp,
)
from middleware.mixer.limiter import CEILING_DB, SoftClipper
from middleware.mixer.mixer import MAX_BLOCK_FRAMES, MIN_BLOCK_FRAMES, BlockMixer, to_int16

__all__ = [
    "CEILING_DB",
    "CLICK_GUARD_MS",
    "MAX_BLOCK_FRAMES",
    "MIN_BLOCK_FRAMES",
    "BlockMixer",
    "SoftClipper",
    "equal_power_in",
    "equal_power_out",
    "linear_ramp",
    "to_int16",
]
