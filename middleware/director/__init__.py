"""The music director: one per session, events in, sample-accurate stereo blocks out."""
