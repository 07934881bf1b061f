"""Arrangement: a tonic-C `Score` becomes per-stem notes in the template's key.

`arranger.arrange` applies key and mode, voices each stem in its register, picks drum
grooves from the library (`grooves.toml`, read by `grooves`), sets velocities from energy
and humanises timing and velocity with a seeded generator. `instruments` resolves General
MIDI programs by number or by name.
"""
