"""Audio from arranged loops: SoundFont synthesis per stem, the seam fold, loudness.

`seam_report` is the reusable seam measure (also for audio backends that write audio
directly). Import the submodules; this package imports nothing heavy.
"""
