"""Ostinato's generation engine: conditioning, latent diffusion, loop-aware sampling, rendering.

Importing this package is cheap (no torch): heavy modules are imported where they are used,
so a service that only plays cached audio never pays for the model.
"""

ENGINE_VERSION = (
    "0.2.4"  # 0.2.4: plucked and struck harmony instruments strike held chords on the beat
)
