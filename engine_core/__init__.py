"""Ostinato's generation engine: conditioning, latent diffusion, loop-aware sampling, rendering.

Importing this package is cheap (no torch): heavy modules are imported where they are used,
so a service that only plays cached audio never pays for the model.
"""

# 0.2.4: plucked and struck harmony instruments strike held chords on the beat;
# 0.2.5: the synth renderer is the default (the default audio changed);
# 0.2.6: the synth renderer plays a softer note as its velocity layer's note times a gain
# 0.2.7: the reverb's transforms are torch's (MKL) instead of scipy's, and its response is
#        cut 80 dB down instead of 90 (float32 rounding, and -80 dB of the reverb)
ENGINE_VERSION = "0.2.7"
#: The renderer `Engine` and the CLI use unless told otherwise; audio from another renderer
#: carries `+r.<renderer>` in its engine version (`Engine.engine_version`).
DEFAULT_RENDERER = "synth"
